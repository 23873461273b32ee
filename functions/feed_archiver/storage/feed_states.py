"""Feed state, its lease and its work record (unfinished bodies) in DynamoDB.

A feed's unfinished bodies and its lease live in one record beside its state.
See docs/archive-format.md, "The write invariant".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from feed_archiver import archive_format as fmt
from feed_archiver.feed_state import FeedState
from feed_archiver.storage.aws_errors import error_code, storage_errors
from feed_archiver.storage.batch import batch_get
from feed_archiver.storage.codec import from_dynamo, to_dynamo
from feed_archiver.storage.tables import Tables

WORK_PK_PREFIX = "WORK#"
WORK_SK = "WORK"
_PENDING_BODIES = "pending_bodies"
_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class PendingBody:
    """A fetched body under raw/ that a run started archiving and has not finished."""

    raw_key: str
    seen_at: str  # the fetch time: first_seen/last_seen of what it adds
    base_url: str  # the final URL it came from (resolves relative links)
    content_type: str | None  # the response's Content-Type (decides the encoding)

    def encode(self) -> str:
        # Canonical JSON: the same body is the same set element, so settling removes it.
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> PendingBody:
        data = json.loads(text)
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class FeedWork:
    """What a feed's work record holds: bodies still owed to the index, and who holds the feed."""

    pending: list[PendingBody]
    lease_owner: str | None
    lease_until: str | None

    def held_by_another(self, owner: str, now: str) -> bool:
        return bool(
            self.lease_owner and self.lease_owner != owner and (self.lease_until or "") >= now
        )


def _work_key(feed: str) -> dict[str, str]:
    return {fmt.PK: f"{WORK_PK_PREFIX}{feed}", fmt.SK: WORK_SK}


def _names_and_values(values: dict[str, Any], *, with_bodies: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"ExpressionAttributeValues": to_dynamo(values)}
    if with_bodies:
        kwargs["ExpressionAttributeNames"] = {"#b": _PENDING_BODIES}
    return kwargs


class FeedStates(Tables):
    """Per-feed state, lease and unfinished work."""

    def get_feed_state(self, feed_url: str) -> FeedState:
        key = fmt.feed_state_pk(fmt.feed_key(feed_url))
        with storage_errors("reading the feed state"):
            resp = self.ddb.get_item(TableName=self.table, Key=to_dynamo(key), ConsistentRead=True)
        if "Item" not in resp:
            return FeedState.new(feed_url)
        return FeedState.from_record(from_dynamo(dict(resp["Item"])))

    def put_feed_state(self, state: FeedState) -> None:
        record = {**fmt.feed_state_pk(state.feed_key), **asdict(state)}
        self.put_record(record, action="writing the feed state")

    def list_feed_states(self) -> list[FeedState]:
        return [FeedState.from_record(r) for r in self.query_partition(fmt.FEED_PK)]

    def get_feed_state_and_work(self, feed_url: str) -> tuple[FeedState, FeedWork]:
        """The feed's state, unfinished bodies and lease: one consistent BatchGetItem."""
        feed = fmt.feed_key(feed_url)
        work_key = _work_key(feed)
        records = batch_get(
            self.ddb,
            self.table,
            [fmt.feed_state_pk(feed), work_key],
            action="reading the feed state",
        )
        found = {r[fmt.PK]: r for r in records}
        state_record = found.get(fmt.FEED_PK)
        state = FeedState.from_record(state_record) if state_record else FeedState.new(feed_url)
        work = found.get(work_key[fmt.PK], {})
        bodies = sorted(
            (PendingBody.decode(e) for e in work.get(_PENDING_BODIES, ())),
            key=lambda b: (b.seen_at, b.raw_key),
        )
        return state, FeedWork(bodies, work.get("lease_owner"), work.get("lease_until"))

    def take_feed_lease(
        self, feed: str, owner: str, *, now: str, until: str, body: PendingBody | None = None
    ) -> bool:
        """Hold the feed until `until` (RFC 3339) unless another owner holds it past `now`.

        With `body`, also records it as unfinished, in the same write, before any of
        its items is written. False when another run holds the feed.
        """
        expression = "SET lease_owner = :me, lease_until = :until"
        values: dict[str, Any] = {":me": owner, ":until": until, ":now": now}
        if body is not None:
            expression += " ADD #b :b"
            values[":b"] = {body.encode()}
        with storage_errors("taking the feed's lease"):
            try:
                self.ddb.update_item(
                    TableName=self.table,
                    Key=to_dynamo(_work_key(feed)),
                    UpdateExpression=expression,
                    ConditionExpression=(
                        "attribute_not_exists(lease_until) OR lease_until < :now "
                        "OR lease_owner = :me"
                    ),
                    **_names_and_values(values, with_bodies=body is not None),
                )
            except ClientError as exc:
                if error_code(exc) == _CONDITION_FAILED:
                    return False
                raise
        return True

    def release_feed_lease(
        self, feed: str, owner: str, *, settled: Sequence[PendingBody] = ()
    ) -> None:
        """Forget the `settled` bodies (every item committed) and give the lease up.

        Bodies are removed by set arithmetic, so it is safe even when the lease was
        lost to another run meanwhile; then only the bodies are removed.
        """
        done = {b.encode() for b in settled}
        forget = " DELETE #b :b" if done else ""
        values: dict[str, Any] = {":me": owner, **({":b": done} if done else {})}
        with storage_errors("settling the feed's unfinished work"):
            try:
                self.ddb.update_item(
                    TableName=self.table,
                    Key=to_dynamo(_work_key(feed)),
                    UpdateExpression="REMOVE lease_owner, lease_until" + forget,
                    ConditionExpression="lease_owner = :me",
                    **_names_and_values(values, with_bodies=bool(done)),
                )
            except ClientError as exc:
                if error_code(exc) != _CONDITION_FAILED or not done:
                    raise
                self.ddb.update_item(
                    TableName=self.table,
                    Key=to_dynamo(_work_key(feed)),
                    UpdateExpression="DELETE #b :b",
                    **_names_and_values({":b": done}, with_bodies=True),
                )
