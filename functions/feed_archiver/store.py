"""Data access: the only module that talks to S3 and DynamoDB.

Every method maps to a handful of requests whose count is part of the design
(see docs/archive-format.md): the run's cost is what this module sends.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from feed_archiver import archive_format as fmt
from feed_archiver.aws import describe_aws_error
from feed_archiver.errors import StorageError

MAX_TRANSACTION_ACTIONS = 100
# DynamoDB's limit is 4 MB per transaction; the counter updates and key names need some room.
MAX_TRANSACTION_BYTES = 3_500_000
BATCH_GET_LIMIT = 100
TRANSACTION_CONFLICT_RETRIES = 5

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_dynamo(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in record.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


@dataclass
class FeedState:
    """What the archiver remembers about one feed between runs."""

    feed_url: str
    feed_key: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    title: str | None = None
    status: str = "never"  # never | ok | not_modified | failing | inactive
    last_attempt: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    failing_since: str | None = None
    consecutive_failures: int = 0
    next_attempt_after: str | None = None
    last_summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, feed_url: str) -> FeedState:
        return cls(feed_url=feed_url, feed_key=fmt.feed_key(feed_url))

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FeedState:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in record.items() if k in known})


@dataclass(frozen=True)
class IndexChange:
    """One item's new index record, and the record it replaces (None if new)."""

    new: dict[str, Any]
    old: dict[str, Any] | None


@dataclass
class CommitResult:
    committed: list[str] = field(default_factory=list)
    conflicted: list[str] = field(default_factory=list)
    # Keys of transactions that failed (throttled, refused...): not written, nothing counted.
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# A feed's unfinished bodies and its lease live in one record beside its state.
# See docs/archive-format.md, "The write invariant".
WORK_PK_PREFIX = "WORK#"
WORK_SK = "WORK"
_PENDING_BODIES = "pending_bodies"


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


def _cells(record: dict[str, Any]) -> list[str]:
    feed = fmt.feed_key(record["feed_url"])
    return fmt.cells_for(feed, record["month"], record["category"], list(record["regions"]))


def counter_deltas(changes: Iterable[IndexChange]) -> dict[str, int]:
    """Net change of every counter cell for a set of index changes (zeros dropped)."""
    deltas: Counter[str] = Counter()
    for change in changes:
        if change.old is not None:
            deltas.subtract(_cells(change.old))
        deltas.update(_cells(change.new))
    return {cell: n for cell, n in sorted(deltas.items()) if n != 0}


def _record_bytes(record: dict[str, Any]) -> int:
    """About the size DynamoDB counts for a record (names and values, UTF-8)."""
    return len(json.dumps(record, ensure_ascii=False, default=str).encode("utf-8"))


def pack_transactions(changes: Sequence[IndexChange]) -> list[list[IndexChange]]:
    """Greedily pack changes so each transaction's items plus distinct cells fit in 100
    actions, and its records in DynamoDB's 4 MB per transaction."""
    batches: list[list[IndexChange]] = []
    current: list[IndexChange] = []
    cells: set[str] = set()
    size = 0
    for change in changes:
        needed = set(_cells(change.new)) | (set(_cells(change.old)) if change.old else set())
        record_bytes = _record_bytes(change.new)
        if current and (
            len(current) + 1 + len(cells | needed) > MAX_TRANSACTION_ACTIONS
            or size + record_bytes > MAX_TRANSACTION_BYTES
        ):
            batches.append(current)
            current, cells, size = [], set(), 0
        current.append(change)
        cells |= needed
        size += record_bytes
    if current:
        batches.append(current)
    return batches


class RawSnapshotMissing(StorageError):
    """A raw/ snapshot no longer exists (the lifecycle rule expired it, or it was deleted)."""


def _storage_error(action: str, exc: Exception) -> StorageError:
    return StorageError(f"{action} failed: {describe_aws_error(exc)}")


class Store:
    """The archive's S3 bucket and DynamoDB table."""

    def __init__(
        self,
        bucket: str,
        table: str,
        *,
        s3_client: Any = None,
        dynamodb_client: Any = None,
    ) -> None:
        if s3_client is None or dynamodb_client is None:
            from feed_archiver.aws import make_clients

            clients = make_clients()
            s3_client = s3_client or clients.s3
            dynamodb_client = dynamodb_client or clients.dynamodb
        self.bucket = bucket
        self.table = table
        self.s3 = s3_client
        self.ddb = dynamodb_client

    # --- feed state ---------------------------------------------------------
    def get_feed_state(self, feed_url: str) -> FeedState:
        key = fmt.feed_state_pk(fmt.feed_key(feed_url))
        try:
            resp = self.ddb.get_item(TableName=self.table, Key=to_dynamo(key), ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error("reading the feed state", exc) from exc
        if "Item" not in resp:
            return FeedState.new(feed_url)
        return FeedState.from_record(from_dynamo(resp["Item"]))

    def put_feed_state(self, state: FeedState) -> None:
        record = {**fmt.feed_state_pk(state.feed_key), **asdict(state)}
        try:
            self.ddb.put_item(TableName=self.table, Item=to_dynamo(record))
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error("writing the feed state", exc) from exc

    def list_feed_states(self) -> list[FeedState]:
        return [FeedState.from_record(r) for r in self._query_pk(fmt.FEED_PK)]

    # --- a feed's unfinished work and its lease (crash, deadline and overlap safety) ----
    def get_feed_state_and_work(self, feed_url: str) -> tuple[FeedState, FeedWork]:
        """The feed's state, unfinished bodies and lease: one consistent BatchGetItem."""
        feed = fmt.feed_key(feed_url)
        state_key, work_key = fmt.feed_state_pk(feed), _work_key(feed)
        request = {
            self.table: {
                "Keys": [to_dynamo(state_key), to_dynamo(work_key)],
                "ConsistentRead": True,
            }
        }
        found: dict[str, dict[str, Any]] = {}
        for attempt in range(9):
            try:
                resp = self.ddb.batch_get_item(RequestItems=request)
            except (ClientError, BotoCoreError) as exc:
                raise _storage_error("reading the feed state", exc) from exc
            for item in resp.get("Responses", {}).get(self.table, []):
                record = from_dynamo(item)
                found[record[fmt.PK]] = record
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(2.0, 0.05 * 2**attempt))
        else:
            raise StorageError("reading the feed state: DynamoDB kept keys unprocessed")
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
        try:
            self.ddb.update_item(
                TableName=self.table,
                Key=to_dynamo(_work_key(feed)),
                UpdateExpression=expression,
                ConditionExpression=(
                    "attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :me"
                ),
                **_names_and_values(values, with_bodies=body is not None),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise _storage_error("taking the feed's lease", exc) from exc
        except BotoCoreError as exc:
            raise _storage_error("taking the feed's lease", exc) from exc
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
        try:
            try:
                self.ddb.update_item(
                    TableName=self.table,
                    Key=to_dynamo(_work_key(feed)),
                    UpdateExpression="REMOVE lease_owner, lease_until" + forget,
                    ConditionExpression="lease_owner = :me",
                    **_names_and_values(values, with_bodies=bool(done)),
                )
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code != "ConditionalCheckFailedException" or not done:
                    raise
                self.ddb.update_item(
                    TableName=self.table,
                    Key=to_dynamo(_work_key(feed)),
                    UpdateExpression="DELETE #b :b",
                    **_names_and_values({":b": done}, with_bodies=True),
                )
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error("settling the feed's unfinished work", exc) from exc

    # --- item index -----------------------------------------------------------
    def get_index_records(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Index records by item key, read consistently in batches of 100."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            request = {
                self.table: {
                    "Keys": [
                        to_dynamo(fmt.item_pk(k)) for k in wanted[start : start + BATCH_GET_LIMIT]
                    ],
                    "ConsistentRead": True,
                }
            }
            attempt = 0
            while request:
                try:
                    resp = self.ddb.batch_get_item(RequestItems=request)
                except (ClientError, BotoCoreError) as exc:
                    raise _storage_error("reading the item index", exc) from exc
                for item in resp.get("Responses", {}).get(self.table, []):
                    record = from_dynamo(item)
                    found[record["key"]] = record
                request = resp.get("UnprocessedKeys") or {}
                attempt += 1
                if request:
                    if attempt > 8:
                        raise StorageError("reading the item index: DynamoDB kept keys unprocessed")
                    time.sleep(min(2.0, 0.05 * 2**attempt))
        return found

    def commit(self, changes: Sequence[IndexChange]) -> CommitResult:
        """Write index records and move their counts, atomically per transaction.

        Each record is conditional on the revision it replaces, so a concurrent
        writer makes the transaction fail as a whole: its keys come back as
        conflicted for the caller to re-plan, and no count moves twice.
        """
        result = CommitResult()
        for batch in pack_transactions(changes):
            keys = [c.new["key"] for c in batch]
            try:
                done = self._transact(batch)
            except StorageError as exc:
                # Nothing of this batch was written; the batches before it were and stay counted.
                result.failed.extend(keys)
                result.errors.append(str(exc))
                continue
            if done:
                result.committed.extend(keys)
            else:
                result.conflicted.extend(keys)
        return result

    def _transact(self, batch: list[IndexChange]) -> bool:
        actions: list[dict[str, Any]] = []
        for change in batch:
            put: dict[str, Any] = {"TableName": self.table, "Item": to_dynamo(change.new)}
            if change.old is None:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put["ConditionExpression"] = "revision = :rev"
                put["ExpressionAttributeValues"] = {":rev": {"N": str(change.old["revision"])}}
                version = change.old.get("s3_version_id")
                if isinstance(version, str):
                    # Also the S3 version read: a re-store of the acknowledged document
                    # (same revision) must not cross another one.
                    put["ConditionExpression"] += " AND s3_version_id = :ver"
                    put["ExpressionAttributeValues"][":ver"] = {"S": version}
            actions.append({"Put": put})
        for cell, delta in counter_deltas(batch).items():
            actions.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": to_dynamo({fmt.PK: fmt.COUNT_PK, fmt.SK: cell}),
                        "UpdateExpression": "ADD n :d",
                        "ExpressionAttributeValues": {":d": {"N": str(delta)}},
                    }
                }
            )
        # One token per transaction attempt-set: botocore's own retries of a call whose
        # response was lost re-send it, and DynamoDB applies the transaction once.
        token = str(uuid.uuid4())
        for attempt in range(TRANSACTION_CONFLICT_RETRIES + 1):
            try:
                self.ddb.transact_write_items(TransactItems=actions, ClientRequestToken=token)
                return True
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code != "TransactionCanceledException":
                    raise _storage_error("committing the item index", exc) from exc
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons:
                    return False
                if attempt == TRANSACTION_CONFLICT_RETRIES:
                    raise _storage_error("committing the item index", exc) from exc
                time.sleep(min(1.0, 0.05 * 2**attempt))
            except BotoCoreError as exc:
                raise _storage_error("committing the item index", exc) from exc
        return False  # pragma: no cover - the loop returns or raises

    def query_month(
        self, month: str, *, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Index records of one month, newest first, one page."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": fmt.BY_MONTH_INDEX,
            "KeyConditionExpression": "gsi1pk = :m",
            "ExpressionAttributeValues": {":m": {"S": f"MONTH#{month}"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        try:
            resp = self.ddb.query(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error("listing items", exc) from exc
        return [from_dynamo(i) for i in resp.get("Items", [])], resp.get("LastEvaluatedKey")

    def scan_index(self) -> Iterator[dict[str, Any]]:
        """Every index record. Only `verify` uses this: reading counts never scans."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "begins_with(pk, :p)",
            "ExpressionAttributeValues": {":p": {"S": fmt.ITEM_PK_PREFIX}},
        }
        paginator = self.ddb.get_paginator("scan")
        try:
            for page in paginator.paginate(**kwargs):
                for item in page.get("Items", []):
                    yield from_dynamo(item)
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error("scanning the item index", exc) from exc

    # --- counts ----------------------------------------------------------------
    def read_cells(self) -> dict[str, int]:
        """Every non-zero counter cell: one query, paginated."""
        return {r[fmt.SK]: int(r.get("n", 0)) for r in self._query_pk(fmt.COUNT_PK) if r.get("n")}

    def _query_pk(self, pk: str) -> Iterator[dict[str, Any]]:
        paginator = self.ddb.get_paginator("query")
        try:
            for page in paginator.paginate(
                TableName=self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
                ConsistentRead=True,
            ):
                for item in page.get("Items", []):
                    yield from_dynamo(item)
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(f"reading {pk.lower()} records", exc) from exc

    # --- S3 ---------------------------------------------------------------------
    def put_document(self, document: dict[str, Any]) -> str | None:
        """Write one item document; returns its S3 version id."""
        body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        try:
            resp = self.s3.put_object(
                Bucket=self.bucket,
                Key=fmt.item_s3_key(document["key"]),
                Body=body,
                ContentType="application/json; charset=utf-8",
            )
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(f"writing item {document['key']}", exc) from exc
        version: str | None = resp.get("VersionId")
        return version

    def get_document(self, key: str, version_id: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": fmt.item_s3_key(key)}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            body = self.s3.get_object(**kwargs)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(f"reading item {key}", exc) from exc
        document: dict[str, Any] = json.loads(body)
        return document

    def list_document_keys(self) -> Iterator[str]:
        """Item keys of every document under items/ (latest versions)."""
        paginator = self.s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=fmt.ITEMS_PREFIX):
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(fmt.ITEMS_PREFIX) :]
                    if name.endswith(".json"):
                        yield name[: -len(".json")]
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error("listing item documents", exc) from exc

    def put_raw(self, feed: str, fetched_at: str, body: bytes, body_hash: str) -> str:
        """Keep a changed feed body, gzipped, under raw/."""
        key = fmt.raw_s3_key(feed, fetched_at, body_hash)
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=gzip.compress(body, mtime=0),
                ContentType="application/xml",
                ContentEncoding="gzip",
            )
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error("writing the raw feed snapshot", exc) from exc
        return key

    def list_raw_keys(self, feed: str | None = None) -> Iterator[str]:
        prefix = fmt.RAW_PREFIX + (f"{feed}/" if feed else "")
        paginator = self.s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield obj["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error("listing raw snapshots", exc) from exc

    def get_raw(self, key: str) -> bytes:
        try:
            data: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise RawSnapshotMissing(f"{key} is gone (expired or deleted)") from exc
            raise _storage_error(f"reading {key}", exc) from exc
        except BotoCoreError as exc:
            raise _storage_error(f"reading {key}", exc) from exc
        return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data

    # --- web-archive captures (history backfill) ------------------------------------
    def known_captures(self, feed: str) -> list[dict[str, Any]]:
        """Every capture record of a feed: the captures backfill-wayback imported or found broken."""
        return list(self._query_pk(f"{fmt.CAPTURE_PK_PREFIX}{feed}"))

    def remember_capture(self, feed: str, capture: str, attributes: dict[str, Any]) -> None:
        """Record one capture (`capture` = <timestamp>#<digest>), replacing an earlier record."""
        record = {fmt.PK: f"{fmt.CAPTURE_PK_PREFIX}{feed}", fmt.SK: capture, **attributes}
        try:
            self.ddb.put_item(TableName=self.table, Item=to_dynamo(record))
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error("recording a web-archive capture", exc) from exc
