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

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from feed_archiver import archive_format as fmt
from feed_archiver.aliases import aliased_entries, keep_first
from feed_archiver.capture.queue import CaptureRequest, requests_for
from feed_archiver.counts import ItemCounts
from feed_archiver.errors import StorageError
from feed_archiver.items import build_document, feed_hashes_of, feed_urls_of, index_record
from feed_archiver.storage import IndexChange, Store

if TYPE_CHECKING:
    from feed_archiver.parse import Entry

CHUNK_SIZE = 250
MAX_CONFLICT_ROUNDS = 5
# DynamoDB refuses an item over 400 KB and fails the whole transaction with it, so
# one hostile entry could block every item of its batch on every run. Index records
# are bounded (the S3 document keeps the full text); an id this long is no id at all.
MAX_ID_CHARS = 8192
INDEX_TEXT_CHARS = 2000


@dataclass
class ArchiveOutcome(ItemCounts):
    """What one archive pass did. `complete` is false when anything is left for a later run."""

    errors: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # entries that can never be archived
    stopped_early: bool = False
    # Committed items to capture (new, or their link changed): run.py hands them to the queue.
    to_capture: list[CaptureRequest] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.errors and not self.stopped_early

    def add(self, other: ItemCounts) -> None:
        super().add(other)
        if not isinstance(other, ArchiveOutcome):
            return
        self.errors.extend(other.errors)
        self.rejected.extend(other.rejected)
        self.stopped_early = self.stopped_early or other.stopped_early
        self.to_capture.extend(other.to_capture)


# A pending write: the document to store and the index record it replaces.
Pending = tuple[Mapping[str, Any], dict[str, Any] | None]
# Given item keys and their current index records, returns the writes needed and
# how many of the keys need none.
Planner = Callable[[Sequence[str], dict[str, dict[str, Any]]], tuple[list[Pending], int]]


def unique_entries(entries: Iterable[Entry], outcome: ArchiveOutcome) -> dict[str, Entry]:
    """The entries by item key, each once (the first wins); counts seen, duplicates, rejected."""
    # Imported here, not at module level: it loads the parser (feedparser), which a
    # run whose feed is unchanged never needs, so the Lambda's cold start skips it.
    from feed_archiver.identity import item_id

    unique: dict[str, Entry] = {}
    for entry in entries:
        outcome.seen += 1
        ident = item_id(entry)
        if len(ident) > MAX_ID_CHARS:
            outcome.rejected.append(
                f"an entry's id (guid or link) has {len(ident):,} characters, over the "
                f"{MAX_ID_CHARS:,} limit: not archived"
            )
            continue
        keep_first(unique, fmt.item_key(ident), entry, outcome)
    return unique


@dataclass
class EntryPlanner:
    """The archive's rules for one body's entries: new, edited, unchanged, or older.

    Called with item keys and their current index records; returns the writes
    needed and how many keys need none. The live run, history imports and their
    dry runs all plan with it, so a dry run reports what the real run would do.

    An item in several feeds is one item, counted under the feed it was first seen
    in. Each feed's rendering is compared with what that feed showed last
    (`feed_hashes`), so two feeds that render it differently do not make a revision
    on every run; a feed that first shows an item already archived only adds
    itself to `feed_urls` (the document is read back by `read_document` for that).
    """

    entries: dict[str, Entry]
    feed_url: str
    seen_at: str
    via: str = "feed"
    read_document: Callable[[str, str | None], dict[str, Any]] | None = None
    older: int = 0  # the index holds a revision seen after this copy: left alone
    errors: list[str] = field(default_factory=list)

    def __call__(
        self, keys: Sequence[str], records: dict[str, dict[str, Any]]
    ) -> tuple[list[Pending], int]:
        from feed_archiver.identity import content_hash

        pending: list[Pending] = []
        unchanged = 0
        for key in keys:
            entry = self.entries[key]
            previous = records.get(key)
            digest = content_hash(entry)
            if previous and self.feed_url not in feed_hashes_of(previous):
                unchanged += 1  # first seen in this feed: recorded, no revision
                self._add_feed(previous, digest, pending)
                continue
            if previous and feed_hashes_of(previous)[self.feed_url] == digest:
                unchanged += 1
                continue
            if previous and str(previous.get("last_seen") or "") > self.seen_at:
                # A later fetch (an overlapping run, or this feed after an unfinished
                # body) already stored a newer text: an older copy never rolls it back.
                self.older += 1
                continue
            document = build_document(
                entry, feed_url=self.feed_url, seen_at=self.seen_at, previous=previous, via=self.via
            )
            pending.append((document, previous))
        return pending, unchanged

    def _add_feed(self, record: dict[str, Any], digest: str, pending: list[Pending]) -> None:
        """The acknowledged document with this feed added (same revision: nothing counted)."""
        if self.read_document is None:
            self.errors.append(f"item {record['key']}: no document reader to add a feed")
            return
        try:
            document = self.read_document(record["key"], record.get("s3_version_id"))
        except StorageError as exc:
            self.errors.append(str(exc))  # the body stays unfinished: tried again next run
            return
        document["feed_urls"] = [*feed_urls_of(record), self.feed_url]
        document["feed_hashes"] = {**feed_hashes_of(record), self.feed_url: digest}
        pending.append((document, record))


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
    unique = unique_entries(entries, outcome)
    try:
        unique = aliased_entries(store, unique, outcome, feed_url=feed_url, seen_at=seen_at)
    except StorageError as exc:
        outcome.errors.append(str(exc))  # nothing written: the body is finished next run
        return outcome
    keys = list(unique)
    for start in range(0, len(keys), CHUNK_SIZE):
        if out_of_time():
            outcome.stopped_early = True
            break
        chunk = keys[start : start + CHUNK_SIZE]
        planner = EntryPlanner(
            {k: unique[k] for k in chunk}, feed_url, seen_at, via, store.get_document
        )
        outcome.add(
            write_planned(store, chunk, planner, pool_size=pool_size, out_of_time=out_of_time)
        )
        outcome.older += planner.older
        outcome.errors.extend(planner.errors)
    return outcome


def write_planned(
    store: Store,
    keys: Sequence[str],
    plan: Planner,
    *,
    pool_size: int = 16,
    out_of_time: Callable[[], bool] = lambda: False,
) -> ArchiveOutcome:
    """Read the index for `keys`, let `plan` decide what to write, write it; re-plan conflicts.

    No new document PUT starts once `out_of_time()` is true; what was PUT is still
    committed, and the rest is left (`stopped_early`) for the next run.
    """
    outcome = ArchiveOutcome()
    remaining = list(keys)
    lost: dict[str, Mapping[str, Any]] = {}  # documents stored, then beaten to the index
    for _ in range(MAX_CONFLICT_ROUNDS):
        if not remaining:
            return outcome
        if out_of_time():
            outcome.stopped_early = True
            return outcome
        try:
            records = store.get_index_records(remaining)
        except StorageError as exc:
            outcome.errors.append(str(exc))
            return outcome
        pending, unchanged = plan(remaining, records)
        outcome.unchanged += unchanged
        planned = {document["key"] for document, _ in pending}
        shadowing = {k: d for k, d in lost.items() if k not in planned and k in records}
        repairs = _repairs(store, shadowing, records, outcome)
        remaining, lost = _write(store, pending + repairs, outcome, pool_size, out_of_time)
    if remaining:
        outcome.errors.append(f"{len(remaining)} items kept conflicting with concurrent writers")
    return outcome


def _write(
    store: Store,
    pending: list[Pending],
    outcome: ArchiveOutcome,
    pool_size: int,
    out_of_time: Callable[[], bool],
) -> tuple[list[str], dict[str, Mapping[str, Any]]]:
    """PUT documents concurrently, then commit those that were stored.

    Returns the conflicted keys, and the documents stored for them.
    """
    if not pending:
        return [], {}

    def put(document: dict[str, Any]) -> tuple[str | None, str | None, bool]:
        if out_of_time():
            return None, None, False  # not started: left for the next run
        return (*_put(store, document), True)

    with ThreadPoolExecutor(max_workers=max(1, min(pool_size, len(pending)))) as pool:
        results = list(pool.map(lambda p: put(p[0]), pending))
    changes: list[IndexChange] = []
    for (document, previous), (version, error, started) in zip(pending, results, strict=True):
        if not started:
            outcome.stopped_early = True
            continue
        if error:
            outcome.errors.append(error)
            continue
        changes.append(IndexChange(new=_bounded(index_record(document, version)), old=previous))
    if not changes:
        return [], {}
    # Committed even when out of time: a stored document must not wait for its index record.
    try:
        result = store.commit(changes)
    except StorageError as exc:
        outcome.errors.append(str(exc))
        return [], {}
    outcome.errors.extend(result.errors)
    committed = set(result.committed)
    for change in changes:
        if change.new["key"] in committed and not _is_repair(change):
            if change.old is None:
                outcome.new += 1
            else:
                outcome.updated += 1
    outcome.to_capture += requests_for([(d, p) for d, p in pending if d["key"] in committed])
    conflicted = set(result.conflicted)
    stored = {d["key"]: d for d, _ in pending if d["key"] in conflicted}
    return result.conflicted, stored


# Document fields that say what the index acknowledged (who, when, which revision, the tags).
_ACKNOWLEDGED_FIELDS = (
    "feed_url", "category", "published", "date_estimated", "month", "countries", "regions",
    "programmes", "content_hash", "revision", "first_seen", "first_seen_via", "last_seen",
    "tagger_version", "capture", "feed_urls", "feed_hashes",
)  # fmt: skip


def _repairs(
    store: Store,
    shadowing: dict[str, Mapping[str, Any]],
    records: dict[str, dict[str, Any]],
    outcome: ArchiveOutcome,
) -> list[Pending]:
    """Documents to store again so that the latest S3 version is the acknowledged one.

    `shadowing` holds documents this call stored, then lost to another writer's
    commit, and that need no write of their own now: each may be the latest S3
    version of its item while the index names the winner's. The acknowledged
    document is stored again on top (built from ours when the content is the
    same, else read back by version) and the index re-pointed at it.
    """
    repairs: list[Pending] = []
    for key, ours in shadowing.items():
        record = records[key]
        if ours.get("content_hash") == record.get("content_hash"):
            repairs.append((acknowledged_document(ours, record), record))
            continue
        version = record.get("s3_version_id")
        try:
            if not isinstance(version, str):
                raise StorageError("the index names no S3 version to restore")
            repairs.append((store.get_document(key, version), record))
        except StorageError as exc:
            outcome.errors.append(f"item {key}: an older copy may hide the stored revision: {exc}")
    return repairs


def acknowledged_document(document: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """`document` (same content as `record`) as the index acknowledged it."""
    return {**document, **{f: record[f] for f in _ACKNOWLEDGED_FIELDS if f in record}}


def _is_repair(change: IndexChange) -> bool:
    """A re-store of the acknowledged document: same revision, nothing counted."""
    return change.old is not None and change.old.get("revision") == change.new.get("revision")


def _bounded(indexed: fmt.IndexRecord) -> dict[str, Any]:
    """The index record with its free texts cut short enough for DynamoDB (see MAX_ID_CHARS)."""
    record = dict(indexed)
    for name in ("title", "headline"):
        text = record.get(name)
        if isinstance(text, str) and len(text) > INDEX_TEXT_CHARS:
            record[name] = text[: INDEX_TEXT_CHARS - 1] + "…"
    link = record.get("link")
    if isinstance(link, str) and len(link) > MAX_ID_CHARS:
        record["link"] = None  # a cut link is a wrong link; the document keeps it whole
    return record


def _put(store: Store, document: dict[str, Any]) -> tuple[str | None, str | None]:
    try:
        return store.put_document(document), None
    except StorageError as exc:
        return None, str(exc)
