"""`feed-archiver retag`: re-run tagging over items tagged by another tagger version.

Candidates are the index records whose `tagger_version` is not the current
one (found by scanning the index: retag is maintenance, like verify). Each
candidate's document is read and tagged again; only documents whose tags
changed are rewritten (a new S3 version, `revision + 1`, the new
`tagger_version`) through `write_planned`, so every count moves in the same
transaction as its record, conditional on the revision read.

An item whose tags come out the same is not rewritten: it keeps its old
`tagger_version` and is examined again (one S3 read, no write) by the next
retag. Bumping its version would cost a write per item and a new revision
that changes nothing. A stopped retag is resumed by running it again: the
items it rewrote carry the new version and are not candidates any more.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from feed_archiver.archive import Pending, write_planned
from feed_archiver.capture.document import feed_tags, retag_capture
from feed_archiver.capture.tags import counted_tags
from feed_archiver.errors import FeedArchiverError
from feed_archiver.items import retagged_document as retag_document
from feed_archiver.progress import ProgressFactory, no_progress
from feed_archiver.storage import Store
from feed_archiver.tag import tagger_version

SET_FIELDS = ("regions", "countries", "programmes")
BATCH_SIZE = 100
ADDED, REMOVED = "+", "−"


@dataclass(frozen=True)
class TagDiff:
    """How one item's tags change: (field, sign, value) moves, and whether the headline did."""

    moves: tuple[tuple[str, str, str], ...]
    headline_changed: bool
    revision: int  # the revision the rewritten document gets


@dataclass
class RetagReport:
    candidates: int = 0  # index records with another tagger_version
    retagged: int = 0  # rewritten (dry run: would be)
    same_tags: int = 0  # examined, tags unchanged: not rewritten
    errors: list[str] = field(default_factory=list)
    moves: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    headlines: int = 0
    dry_run: bool = False

    def add(self, diff: TagDiff) -> None:
        self.retagged += 1
        self.moves.update(diff.moves)
        self.headlines += diff.headline_changed

    def lines(self) -> list[str]:
        """What changed, e.g. '14 items retagged', '  regions: +Silk Routes 9, −Unspecified 9'."""
        verb = "would be retagged" if self.dry_run else "retagged"
        lines = [
            f"{self.retagged} items {verb} (of {self.candidates} tagged by another tagger version; "
            f"{self.same_tags} came out the same and were left as they are)"
        ]
        for name in ("category", *SET_FIELDS):
            moves = [(sign, value, n) for (f, sign, value), n in self.moves.items() if f == name]
            if moves:
                moves.sort(key=lambda m: (-m[2], m[1], m[0]))
                lines.append(f"  {name}: " + ", ".join(f"{s}{v} {n}" for s, v, n in moves))
        if self.headlines:
            lines.append(f"  headline: {self.headlines} changed")
        lines += [f"  error: {e}" for e in self.errors]
        return lines


def tag_diff(old: dict[str, Any], new: dict[str, Any]) -> TagDiff | None:
    """How the tags moved from `old` to `new`; None when they did not."""
    moves: list[tuple[str, str, str]] = []
    if old["category"] != new["category"]:
        moves += [("category", ADDED, new["category"]), ("category", REMOVED, old["category"])]
    for name in SET_FIELDS:
        before, after = set(old[name]), set(new[name])
        moves += [(name, ADDED, v) for v in sorted(after - before)]
        moves += [(name, REMOVED, v) for v in sorted(before - after)]
    headline_changed = old["headline"] != new["headline"]
    if not moves and not headline_changed:
        return None
    return TagDiff(tuple(moves), headline_changed, new["revision"])


class _Planner:
    """Plans one batch for write_planned: reads documents, tags them again, keeps the diffs."""

    def __init__(self, store: Store, version: str, report: RetagReport, pool_size: int):
        self.store = store
        self.version = version
        self.report = report
        self.pool_size = pool_size
        self.diffs: dict[str, TagDiff] = {}

    def __call__(
        self, keys: Sequence[str], records: dict[str, dict[str, Any]]
    ) -> tuple[list[Pending], int]:
        # Gone, or retagged by a concurrent run since the scan: nothing to do.
        todo = [
            records[k]
            for k in keys
            if records.get(k, {}).get("tagger_version") not in (None, self.version)
        ]
        skipped = len(keys) - len(todo)
        pending: list[Pending] = []
        with ThreadPoolExecutor(max_workers=max(1, min(self.pool_size, len(todo)))) as pool:
            documents = list(pool.map(self._read, todo))
        for record, read in zip(todo, documents, strict=True):
            if read is None:
                continue
            document, capture = read
            # Counted under the feed's and the article's tags (capture/tags.py), both tagged again.
            tags = counted_tags(feed_tags(document), capture)
            new = retag_document(document, tags, self.version)
            if capture is not None:
                new["capture"] = capture
            diff = tag_diff(document, new)
            if diff is None and capture != document.get("capture"):
                diff = TagDiff((), False, new["revision"])  # only the article's own tags moved
            if diff is None:
                self.report.same_tags += 1
                self.diffs.pop(record["key"], None)
                continue
            self.diffs[record["key"]] = diff
            pending.append((new, record))
        return pending, skipped

    def _read(self, record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """The document and its capture with the article tagged again (None: not readable)."""
        try:
            document = self.store.get_document(record["key"], record.get("s3_version_id"))
            capture = retag_capture(self.store, document)
        except FeedArchiverError as exc:
            self.report.errors.append(str(exc))
            return None
        if document.get("revision") != record["revision"]:
            self.report.errors.append(
                f"item {record['key']}: document and index disagree on the revision (run verify)"
            )
            return None
        return document, capture


def retag(
    store: Store,
    *,
    dry_run: bool = False,
    pool_size: int = 16,
    batch_size: int = BATCH_SIZE,
    progress: ProgressFactory = no_progress,
) -> RetagReport:
    """Tag again every item tagged by another tagger version; rewrite those whose tags changed."""
    version = tagger_version()
    keys = [r["key"] for r in store.scan_index() if r.get("tagger_version") != version]
    report = RetagReport(candidates=len(keys), dry_run=dry_run)
    bar = progress(len(keys), "item")
    try:
        for start in range(0, len(keys), batch_size):
            batch = keys[start : start + batch_size]
            _retag_batch(store, batch, _Planner(store, version, report, pool_size), dry_run)
            bar.update(len(batch))
            bar.set_postfix({"retagged": report.retagged, "same": report.same_tags})
    finally:
        bar.close()
    return report


def _retag_batch(store: Store, keys: list[str], planner: _Planner, dry_run: bool) -> None:
    report = planner.report
    if dry_run:
        planner(keys, store.get_index_records(keys))
        for diff in planner.diffs.values():
            report.add(diff)
        return
    outcome = write_planned(store, keys, planner, pool_size=planner.pool_size)
    report.errors.extend(outcome.errors)
    if not planner.diffs:
        return
    # Count what committed: the records that now carry the planned revision.
    committed = store.get_index_records(planner.diffs)
    for key, diff in planner.diffs.items():
        record = committed.get(key)
        if (
            record
            and record["revision"] == diff.revision
            and record["tagger_version"] == planner.version
        ):
            report.add(diff)
