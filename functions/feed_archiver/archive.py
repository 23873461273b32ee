"""The archive step: write new and edited items, exactly once, with exact counts.

Order of writes, per item (the invariant in docs/archive-format.md):
1. the S3 document is PUT (a new S3 version for an edit);
2. the index record and its counter moves commit in one DynamoDB transaction,
   conditional on the revision the plan read.
An item is acknowledged only at step 2. A crash between 1 and 2 leaves a
document the index does not point at; the feed state is not advanced, so the
next run sees the item again and commits it. A concurrent writer makes the
transaction fail as a whole; the item is re-read and re-planned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from feed_archiver import archive_format as fmt
from feed_archiver.errors import StorageError
from feed_archiver.identity import content_hash, item_id
from feed_archiver.items import build_document, index_record
from feed_archiver.parse import Entry
from feed_archiver.store import IndexChange, Store

CHUNK_SIZE = 250
MAX_CONFLICT_ROUNDS = 5


@dataclass
class ArchiveOutcome:
    """What one archive pass did. `complete` is false when anything is left for a later run."""

    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def complete(self) -> bool:
        return not self.errors and not self.stopped_early

    def add(self, other: ArchiveOutcome) -> None:
        self.seen += other.seen
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.duplicates += other.duplicates
        self.errors.extend(other.errors)
        self.stopped_early = self.stopped_early or other.stopped_early


# A pending write: the document to store and the index record it replaces.
Pending = tuple[dict[str, Any], dict[str, Any] | None]
# Given item keys and their current index records, returns the writes needed and
# how many of the keys need none.
Planner = Callable[[Sequence[str], dict[str, dict[str, Any]]], tuple[list[Pending], int]]


def archive_entries(
    store: Store,
    entries: Iterable[Entry],
    *,
    feed_url: str,
    seen_at: str,
    via: str = "feed",
    out_of_time: Callable[[], bool] = lambda: False,
    pool_size: int = 16,
) -> ArchiveOutcome:
    """Archive parsed entries: new ones are added, edited ones get a new revision."""
    outcome = ArchiveOutcome()
    unique: dict[str, Entry] = {}
    for entry in entries:
        outcome.seen += 1
        key = fmt.item_key(item_id(entry))
        if key in unique:
            outcome.duplicates += 1  # the feed lists one item twice: keep the first
            continue
        unique[key] = entry

    keys = list(unique)
    for start in range(0, len(keys), CHUNK_SIZE):
        if out_of_time():
            outcome.stopped_early = True
            break
        chunk = {k: unique[k] for k in keys[start : start + CHUNK_SIZE]}

        def plan(
            keys: Sequence[str], records: dict[str, dict[str, Any]], chunk: dict[str, Entry] = chunk
        ) -> tuple[list[Pending], int]:
            pending: list[Pending] = []
            unchanged = 0
            for key in keys:
                entry = chunk[key]
                previous = records.get(key)
                if previous and previous["content_hash"] == content_hash(entry):
                    unchanged += 1
                    continue
                document = build_document(
                    entry, feed_url=feed_url, seen_at=seen_at, previous=previous, via=via
                )
                pending.append((document, previous))
            return pending, unchanged

        outcome.add(write_planned(store, list(chunk), plan, pool_size=pool_size))
    return outcome


def write_planned(
    store: Store, keys: Sequence[str], plan: Planner, *, pool_size: int = 16
) -> ArchiveOutcome:
    """Read the index for `keys`, let `plan` decide what to write, write it; re-plan conflicts."""
    outcome = ArchiveOutcome()
    remaining = list(keys)
    for _ in range(MAX_CONFLICT_ROUNDS):
        if not remaining:
            return outcome
        try:
            records = store.get_index_records(remaining)
        except StorageError as exc:
            outcome.errors.append(str(exc))
            return outcome
        pending, unchanged = plan(remaining, records)
        outcome.unchanged += unchanged
        remaining = _write(store, pending, outcome, pool_size)
    if remaining:
        outcome.errors.append(f"{len(remaining)} items kept conflicting with concurrent writers")
    return outcome


def _write(
    store: Store, pending: list[Pending], outcome: ArchiveOutcome, pool_size: int
) -> list[str]:
    """PUT documents concurrently, then commit those that were stored. Returns conflicted keys."""
    if not pending:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(pool_size, len(pending)))) as pool:
        results = list(pool.map(lambda p: _put(store, p[0]), pending))
    changes: list[IndexChange] = []
    for (document, previous), (version, error) in zip(pending, results, strict=True):
        if error:
            outcome.errors.append(error)
            continue
        changes.append(IndexChange(new=index_record(document, version), old=previous))
    if not changes:
        return []
    try:
        result = store.commit(changes)
    except StorageError as exc:
        outcome.errors.append(str(exc))
        return []
    committed = set(result.committed)
    for change in changes:
        if change.new["key"] in committed:
            if change.old is None:
                outcome.new += 1
            else:
                outcome.updated += 1
    return result.conflicted


def _put(store: Store, document: dict[str, Any]) -> tuple[str | None, str | None]:
    try:
        return store.put_document(document), None
    except StorageError as exc:
        return None, str(exc)
