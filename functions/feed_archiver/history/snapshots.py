"""History: archive saved copies of a feed (files, web-archive captures, raw/ snapshots).

Every copy goes through the live path, parse → tag → `archive_entries`, with
one extra rule: a copy never replaces a newer revision. Each index record keeps
`last_seen`, the time of the copy that produced its revision; an entry whose
content differs from the stored revision is skipped ("older") when that
revision was seen after this copy. So importing an old capture after the live
archiver stored the current text cannot roll an item back, whatever the order
of runs, and within a run copies go oldest first so later edits win.
(The rule reads the index just before `archive_entries` does; a live run that
commits a newer revision of the same item in between is not seen. Moving the
rule into archive_entries' planner would close that gap: it re-plans on conflict.)

A copy's time (`seen_at`) becomes `first_seen`/`last_seen` of what it adds, so
an undated item is counted in the month the copy shows it, not the import's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from feed_archiver.aliases import aliased_entries
from feed_archiver.archive import ArchiveOutcome, EntryPlanner, archive_entries, unique_entries
from feed_archiver.clock import DATE_FLOOR
from feed_archiver.counts import ItemCounts
from feed_archiver.errors import FeedArchiverError, FeedParseError
from feed_archiver.items import index_record
from feed_archiver.parse import Entry, parse_feed
from feed_archiver.storage import Store

VIA_IMPORT, VIA_WAYBACK, VIA_REPROCESS = "import", "wayback", "reprocess"
# What became of one snapshot (HistoryRun.add).
ARCHIVED, NOT_A_FEED, WRITE_FAILED = "archived", "not_a_feed", "write_failed"

# Feed-level dates, looked for before the first item/entry (RSS 2.0, RSS 1.0 dc:date, Atom).
_FEED_DATE = re.compile(
    rb"<(lastBuildDate|pubDate|dc:date|updated)(?:\s[^>]*)?>\s*([^<]{6,64}?)\s*</\1>", re.I
)
_FIRST_ENTRY = re.compile(rb"<(item|entry)[\s>]", re.I)
_HEAD_BYTES = 65536


class HistoryError(FeedArchiverError):
    """A history command cannot start: a bad path, argument or setting."""


@dataclass(frozen=True)
class Snapshot:
    """One saved copy of a feed body and when it was current."""

    name: str  # for messages: a path, a capture URL, a raw/ key
    seen_at: str  # RFC 3339 UTC
    body: bytes
    base_url: str  # resolves relative links: the URL the body was retrieved from (never ids)
    headers: Mapping[str, str] = field(default_factory=dict)
    # The parser's clock for its "date in the future" check; None means the current time.
    now: datetime | None = None


@dataclass
class HistoryTally(ItemCounts):
    """What a history command did, over all its snapshots."""

    snapshots: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (snapshot name, error)
    notes: list[str] = field(default_factory=list)  # repaired/malformed feeds

    def postfix(self) -> dict[str, int]:
        """The counters a progress bar shows."""
        return {"new": self.new, "updated": self.updated, "unchanged": self.unchanged}

    def summary(self, *, dry_run: bool = False) -> str:
        verb = "would archive" if dry_run else "archived"
        text = (
            f"{self.snapshots} snapshots {verb}: {self.seen} items seen, {self.new} new, "
            f"{self.updated} updated, {self.unchanged} unchanged"
        )
        if self.older:
            text += f", {self.older} older than the stored revision (kept the newer)"
        if self.aliased:
            text += f", {self.aliased} found under their old resolved id (alias written)"
        if self.duplicates_conflicting:
            text += f", {self.duplicates_conflicting} conflicting duplicates dropped (noted)"
        if self.failed:
            text += f"; {len(self.failed)} failed"
        return text


def feed_time(body: bytes) -> datetime | None:
    """The feed's own date (lastBuildDate, channel pubDate, dc:date, Atom updated), if any.

    Only the channel head is searched, so an item's date is never taken for the feed's.
    """
    head = body[:_HEAD_BYTES]
    first_entry = _FIRST_ENTRY.search(head)
    if first_entry:
        head = head[: first_entry.start()]
    for match in _FEED_DATE.finditer(head):
        moment = _parse_date(match.group(2).decode("ascii", "replace"))
        if moment is not None and moment >= DATE_FLOOR:  # 0001-01-01 is "no date"
            return moment
    return None


def _parse_date(text: str) -> datetime | None:
    """An RFC 822 date (RSS) or an ISO 8601 one (Atom, dc:date), made aware."""
    moment: datetime | None = None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class HistoryRun:
    """Archives snapshots one after another and keeps the tally.

    With `dry_run` nothing is written: each snapshot is planned against the
    index plus what earlier snapshots of this run would have written.
    """

    def __init__(self, store: Store, *, via: str, dry_run: bool = False, pool_size: int = 16):
        self.store = store
        self.via = via
        self.dry_run = dry_run
        self.pool_size = pool_size
        self.tally = HistoryTally()
        self._planned: dict[str, dict[str, Any]] = {}  # dry run: key -> would-be record

    def add(self, snapshot: Snapshot, feed_url: str) -> tuple[str, str | None]:
        """Archive one snapshot: (ARCHIVED, None), or (NOT_A_FEED | WRITE_FAILED, error).

        A failure is also recorded in the tally; nothing is raised for the snapshot's own faults.
        """
        try:
            parsed = parse_feed(
                snapshot.body,
                headers=snapshot.headers,
                base_url=snapshot.base_url,
                now=snapshot.now,
            )
        except FeedParseError as exc:
            self.tally.failed.append((snapshot.name, str(exc)))
            return NOT_A_FEED, str(exc)
        if parsed.error:
            self.tally.notes.append(f"{snapshot.name}: {parsed.error}")
        try:
            error = self._archive(parsed.entries, feed_url, snapshot.seen_at)
        except FeedArchiverError as exc:
            error = str(exc)
        if error:
            self.tally.failed.append((snapshot.name, error))
            return WRITE_FAILED, error
        self.tally.snapshots += 1
        return ARCHIVED, None

    def _archive(self, entries: Iterable[Entry], feed_url: str, seen_at: str) -> str | None:
        if self.dry_run:
            self.tally.add(self._plan(entries, feed_url, seen_at))
            return None
        # archive_entries' planner leaves alone what a newer copy already stored ("older").
        outcome = archive_entries(
            self.store,
            entries,
            feed_url=feed_url,
            seen_at=seen_at,
            via=self.via,
            pool_size=self.pool_size,
        )
        self.tally.add(outcome.counts())
        if outcome.errors:
            return f"{len(outcome.errors)} item writes failed; first: {outcome.errors[0]}"
        return None

    def _plan(self, entries: Iterable[Entry], feed_url: str, seen_at: str) -> ItemCounts:
        """A dry run: ask the archive's planner what it would write, and remember it, so
        later snapshots of this run are planned against what this one would have written."""
        counts = ArchiveOutcome()
        unique = unique_entries(entries, counts)
        unique = aliased_entries(
            self.store, unique, counts, feed_url=feed_url, seen_at=seen_at, write=False
        )
        keys = list(unique)
        records = self.store.get_index_records(keys)
        records.update({k: self._planned[k] for k in keys if k in self._planned})
        # A feed added to an item rewrites its document unchanged: the record stands in for it.
        planner = EntryPlanner(
            unique, feed_url, seen_at, self.via, lambda key, _version: dict(records[key])
        )
        pending, counts.unchanged = planner(keys, records)
        counts.older = planner.older
        for document, previous in pending:
            if previous is None:
                counts.new += 1
            elif document["revision"] != previous["revision"]:
                counts.updated += 1
            self._planned[document["key"]] = dict(index_record(document, None))
        return counts.counts()
