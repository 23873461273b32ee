"""The item index and the exact counters in DynamoDB, moved together in one transaction."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from feed_archiver import archive_format as fmt
from feed_archiver.errors import StorageError
from feed_archiver.storage.aws_errors import error_code, storage_errors
from feed_archiver.storage.batch import batch_get
from feed_archiver.storage.codec import from_dynamo, to_dynamo
from feed_archiver.storage.tables import Tables

MAX_TRANSACTION_ACTIONS = 100
# DynamoDB's limit is 4 MB per transaction; the counter updates and key names need some room.
MAX_TRANSACTION_BYTES = 3_500_000
TRANSACTION_CONFLICT_RETRIES = 5


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


def _transaction_actions(table: str, batch: list[IndexChange]) -> list[dict[str, Any]]:
    """Each record conditional on the revision it replaces, then every counter's move."""
    actions: list[dict[str, Any]] = []
    for change in batch:
        put: dict[str, Any] = {"TableName": table, "Item": to_dynamo(change.new)}
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
                    "TableName": table,
                    "Key": to_dynamo({fmt.PK: fmt.COUNT_PK, fmt.SK: cell}),
                    "UpdateExpression": "ADD n :d",
                    "ExpressionAttributeValues": {":d": {"N": str(delta)}},
                }
            }
        )
    return actions


class Index(Tables):
    """Index records (one per item) and the counter cells they move."""

    def get_index_records(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Index records by item key, read consistently in batches of 100."""
        wanted = [fmt.item_pk(k) for k in dict.fromkeys(keys)]
        records = batch_get(self.ddb, self.table, wanted, action="reading the item index")
        return {r["key"]: r for r in records}

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
            (result.committed if done else result.conflicted).extend(keys)
        return result

    def _transact(self, batch: list[IndexChange]) -> bool:
        actions: Any = _transaction_actions(self.table, batch)
        # One token per transaction attempt-set: botocore's own retries of a call whose
        # response was lost re-send it, and DynamoDB applies the transaction once.
        token = str(uuid.uuid4())
        for attempt in range(TRANSACTION_CONFLICT_RETRIES + 1):
            with storage_errors("committing the item index"):
                try:
                    self.ddb.transact_write_items(TransactItems=actions, ClientRequestToken=token)
                    return True
                except ClientError as exc:
                    if error_code(exc) != "TransactionCanceledException":
                        raise
                    reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                    if "ConditionalCheckFailed" in reasons:
                        return False
                    if attempt == TRANSACTION_CONFLICT_RETRIES:
                        raise
            time.sleep(min(1.0, 0.05 * 2**attempt))
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
        with storage_errors("listing items"):
            resp = self.ddb.query(**kwargs)
        items = [from_dynamo(dict(i)) for i in resp.get("Items", [])]
        last: dict[str, Any] | None = resp.get("LastEvaluatedKey")
        return items, last

    def scan_index(self) -> Iterator[dict[str, Any]]:
        """Every index record. Only `verify` uses this: reading counts never scans."""
        paginator = self.ddb.get_paginator("scan")
        with storage_errors("scanning the item index"):
            for page in paginator.paginate(
                TableName=self.table,
                FilterExpression="begins_with(pk, :p)",
                ExpressionAttributeValues={":p": {"S": fmt.ITEM_PK_PREFIX}},
            ):
                for item in page.get("Items", []):
                    yield from_dynamo(dict(item))

    def read_cells(self) -> dict[str, int]:
        """Every non-zero counter cell: one query, paginated."""
        return {
            r[fmt.SK]: int(r.get("n", 0)) for r in self.query_partition(fmt.COUNT_PK) if r.get("n")
        }
