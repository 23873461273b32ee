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
    return fmt.record_cells(record)


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
        # The cells this change moves on its own: a batch sends only non-zero net moves,
        # and a cell that nets to zero for every change of the batch nets to zero for it.
        needed = set(counter_deltas([change]))
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


def counter_version_condition(record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A condition that holds while `record` is still counted at the counter version read."""
    version = fmt.counter_version(record)
    if version == 1:
        return f"attribute_not_exists({fmt.COUNTER_VERSION_FIELD})", {}
    return f"{fmt.COUNTER_VERSION_FIELD} = :cv", {":cv": {"N": str(version)}}


def _read_state_condition(old: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A condition that holds while the index record is still `old`, as far as counts go."""
    condition = "revision = :rev"
    values: dict[str, Any] = {":rev": {"N": str(old["revision"])}}
    version = old.get("s3_version_id")
    if isinstance(version, str):
        # Also the S3 version read: a re-store of the acknowledged document
        # (same revision) must not cross another one.
        condition += " AND s3_version_id = :ver"
        values[":ver"] = {"S": version}
    # And the counter version read: the cells subtracted are the ones the record
    # is counted in, even if backfill-counters moved it on meanwhile.
    counted, counted_values = counter_version_condition(old)
    return f"{condition} AND {counted}", {**values, **counted_values}


def _cell_updates(table: str, batch: list[IndexChange]) -> list[dict[str, Any]]:
    return [
        {
            "Update": {
                "TableName": table,
                "Key": to_dynamo({fmt.PK: fmt.COUNT_PK, fmt.SK: cell}),
                "UpdateExpression": "ADD n :d",
                "ExpressionAttributeValues": {":d": {"N": str(delta)}},
            }
        }
        for cell, delta in counter_deltas(batch).items()
    ]


def _transaction_actions(table: str, batch: list[IndexChange]) -> list[dict[str, Any]]:
    """Each record conditional on the revision it replaces, then every counter's move."""
    actions: list[dict[str, Any]] = []
    for change in batch:
        put: dict[str, Any] = {"TableName": table, "Item": to_dynamo(change.new)}
        if change.old is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            condition, values = _read_state_condition(change.old)
            put["ConditionExpression"] = condition
            put["ExpressionAttributeValues"] = values
        actions.append({"Put": put})
    return actions + _cell_updates(table, batch)


def _upgrade_actions(table: str, batch: list[IndexChange]) -> list[dict[str, Any]]:
    """Each record's counter version set (nothing else of it is rewritten), conditional on
    the state read, then the moves from its old cells to its new ones."""
    actions: list[dict[str, Any]] = []
    for change in batch:
        assert change.old is not None
        condition, values = _read_state_condition(change.old)
        values[":new_cv"] = {"N": str(fmt.counter_version(change.new))}
        update: dict[str, Any] = {
            "TableName": table,
            "Key": to_dynamo(fmt.item_pk(change.new["key"])),
            "UpdateExpression": f"SET {fmt.COUNTER_VERSION_FIELD} = :new_cv",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        actions.append({"Update": update})
    return actions + _cell_updates(table, batch)


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
            if done:  # noted for feed_archiver.publish: these months' exports are out of date
                self.journal.committed((c.new, c.old) for c in batch)
        return result

    def upgrade_counters(self, records: Sequence[dict[str, Any]]) -> CommitResult:
        """Count index records in the cells of the current counter version.

        Only `counter_version` is set on each record, conditional on its revision,
        S3 version and counter version as read, in the same transaction as the
        cells that moves; a record changed since (by a running archiver) conflicts
        and comes back for the caller to read again. Nothing is counted twice.
        """
        result = CommitResult()
        changes = [
            IndexChange(new={**r, fmt.COUNTER_VERSION_FIELD: fmt.COUNTER_VERSION}, old=r)
            for r in records
        ]
        for batch in pack_transactions(changes):
            keys = [c.new["key"] for c in batch]
            try:
                done = self._transact(batch, upgrade=True)
            except StorageError as exc:
                result.failed.extend(keys)
                result.errors.append(str(exc))
                continue
            (result.committed if done else result.conflicted).extend(keys)
        return result

    def _transact(self, batch: list[IndexChange], *, upgrade: bool = False) -> bool:
        build = _upgrade_actions if upgrade else _transaction_actions
        actions: Any = build(self.table, batch)
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
