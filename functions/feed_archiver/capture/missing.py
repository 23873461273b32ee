"""`feed-archiver capture --missing`: capture every item that has no capture yet.

Candidates are the index records with a link whose `capture` is absent (an item
archived before captures, or without a queue), `pending` or `failed`; a
`captured`, `robots_disallowed`, `not_html` or `gone` item is not asked again
(`capture --item ID` does that). Found by scanning the index, as retag does:
this is maintenance, not the archiver's path. Items are captured one at a time
through one `Politeness`, so robots.txt is read once per site and the pause
between two requests to one host holds across items. Run twice, the second
run finds nothing to capture: it writes no WARC.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feed_archiver.capture.article import PENDING, STATUSES, CaptureResult, capture_item
from feed_archiver.capture.sources import FAILED
from feed_archiver.errors import FeedArchiverError
from feed_archiver.fetch.polite import Politeness
from feed_archiver.progress import ProgressFactory, no_progress
from feed_archiver.settings import Settings
from feed_archiver.storage import Store

RETRIED = frozenset({PENDING, FAILED})


def capture_status(record: dict[str, Any]) -> str:
    """An item's capture status; no `capture` object means pending."""
    capture = record.get("capture")
    status = capture.get("status") if isinstance(capture, dict) else None
    return status if status in STATUSES else PENDING


def needs_capture(record: dict[str, Any]) -> bool:
    return bool(record.get("link")) and capture_status(record) in RETRIED


@dataclass
class CaptureReport:
    """What one capture command did."""

    candidates: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    new_warcs: int = 0
    unchanged: int = 0
    written: int = 0
    dry_run: bool = False
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: CaptureResult) -> None:
        self.statuses[result.status] += 1
        self.new_warcs += result.new_warc
        self.unchanged += result.unchanged
        self.written += result.written
        self.items.append(result.as_dict())

    @property
    def failed(self) -> int:
        return self.statuses[FAILED]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "candidates": self.candidates,
            "statuses": {status: self.statuses[status] for status in STATUSES},
            "new_warcs": self.new_warcs,
            "unchanged": self.unchanged,
            "items_updated": self.written,
            "items": self.items,
        }


def capture_missing(
    store: Store,
    settings: Settings,
    *,
    dry_run: bool = False,
    progress: ProgressFactory = no_progress,
    politeness: Politeness | None = None,
    now: datetime | None = None,
) -> CaptureReport:
    """Capture every item that is pending or failed (see the module docstring)."""
    records = sorted(
        (r for r in store.scan_index() if needs_capture(r)),
        key=lambda r: (str(r.get("published") or r.get("first_seen") or ""), r["key"]),
    )
    return capture_records(
        store, settings, records, dry_run=dry_run, progress=progress, politeness=politeness, now=now
    )


def capture_keys(
    store: Store,
    settings: Settings,
    keys: Sequence[str],
    *,
    dry_run: bool = False,
    progress: ProgressFactory = no_progress,
    politeness: Politeness | None = None,
    now: datetime | None = None,
) -> CaptureReport:
    """Capture these items, whatever their status (a re-capture is conditional)."""
    found = store.get_index_records(keys)
    report = CaptureReport(dry_run=dry_run)
    for key in keys:
        if key not in found:
            report.add(CaptureResult(key, FAILED, error="no such item in the index"))
    records = [found[k] for k in dict.fromkeys(keys) if k in found]
    return capture_records(
        store,
        settings,
        records,
        dry_run=dry_run,
        progress=progress,
        politeness=politeness,
        now=now,
        report=report,
    )


def capture_records(
    store: Store,
    settings: Settings,
    records: Iterable[dict[str, Any]],
    *,
    dry_run: bool = False,
    progress: ProgressFactory = no_progress,
    politeness: Politeness | None = None,
    now: datetime | None = None,
    report: CaptureReport | None = None,
) -> CaptureReport:
    records = list(records)
    report = report or CaptureReport(dry_run=dry_run)
    report.candidates += len(records)
    if dry_run:
        for record in records:
            report.add(CaptureResult(record["key"], capture_status(record), record.get("link")))
        return report
    politeness = politeness or Politeness.from_settings(settings)
    bar = progress(len(records), "item")
    try:
        for record in records:
            report.add(_capture_one(store, record, settings, politeness, now))
            bar.update(1)
            bar.set_postfix({"captured": report.statuses["captured"], "failed": report.failed})
    finally:
        bar.close()
    return report


def _capture_one(
    store: Store,
    record: dict[str, Any],
    settings: Settings,
    politeness: Politeness,
    now: datetime | None,
) -> CaptureResult:
    try:
        return capture_item(store, record["key"], settings, politeness=politeness, now=now)
    except FeedArchiverError as exc:  # a storage failure: this item waits for the next run
        return CaptureResult(record["key"], FAILED, record.get("link"), error=str(exc))
