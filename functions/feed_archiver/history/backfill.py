"""`feed-archiver backfill-wayback`: import a feed's web-archive captures, oldest first, resumably.

Every capture handled is remembered under CAPTURE#<feed key> (sk
<timestamp>#<digest>), and later runs skip every digest remembered, so a run
that stops half-way continues where it stopped and a second run downloads nothing:

- imported: its items were all committed (the record is written only then);
- failed: the capture can never import as it is: its bytes are not a feed, or the
  archive answers 4xx for it. The digest fixes the bytes, so a retry would give
  the same answer; it is reported on every run and retried with --retry-failed
  (for example after the parser improved).

A network error, a timeout, 429/5xx after fetch_feed's retries or a failed
write is not remembered: the next run tries that capture again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from feed_archiver import archive_format as fmt
from feed_archiver.clock import rfc3339
from feed_archiver.errors import FetchError
from feed_archiver.fetch import FetchResult, fetch_feed
from feed_archiver.history.snapshots import (
    NOT_A_FEED,
    VIA_WAYBACK,
    HistoryRun,
    HistoryTally,
    Snapshot,
)
from feed_archiver.history.wayback import (
    Capture,
    PoliteClient,
    is_permanent,
    known_by_digest,
    list_captures,
)
from feed_archiver.progress import ProgressFactory, no_progress
from feed_archiver.settings import FetchOptions, WaybackOptions
from feed_archiver.storage import Store

IMPORTED, FAILED = "imported", "failed"


@dataclass
class BackfillReport:
    listed: int = 0  # status-200 rows in the CDX listing
    distinct: int = 0  # after de-duplication by digest
    already_imported: int = 0  # skipped: imported by an earlier run
    known_failed: list[tuple[Capture, str]] = field(default_factory=list)  # skipped
    to_fetch: list[Capture] = field(default_factory=list)
    downloaded: int = 0
    imported: int = 0
    failed: list[tuple[Capture, str]] = field(default_factory=list)  # remembered as failed
    retry_later: list[tuple[Capture, str]] = field(default_factory=list)  # not remembered
    tally: HistoryTally = field(default_factory=HistoryTally)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.retry_later

    def lines(self, *, dry_run: bool = False) -> list[str]:
        """The summary for stdout; with `dry_run`, the captures it would fetch."""
        lines = [
            f"{self.listed} captures listed, {self.distinct} distinct by content; "
            f"{self.already_imported} already imported, {len(self.known_failed)} known broken"
        ]
        if dry_run:
            lines.append(f"would fetch {len(self.to_fetch)} captures:")
            lines += [f"  {c.timestamp}  {c.original}  {c.digest}" for c in self.to_fetch]
            return lines
        lines.append(
            f"{self.downloaded} downloaded, {self.imported} imported, {len(self.failed)} broken, "
            f"{len(self.retry_later)} to retry on the next run"
        )
        lines.append(self.tally.summary())
        return lines

    def problems(self) -> list[str]:
        """One line per capture that did not import, for stderr."""
        lines = [f"broken (remembered): {c.timestamp} {c.original}: {e}" for c, e in self.failed]
        lines += [
            f"not imported, retried next run: {c.timestamp} {c.original}: {e}"
            for c, e in self.retry_later
        ]
        lines += [
            f"known broken, skipped (--retry-failed tries again): {c.timestamp} {c.original}: {e}"
            for c, e in self.known_failed
        ]
        return lines


def backfill_wayback(
    store: Store,
    feed_url: str,
    *,
    count_as: str | None = None,
    options: WaybackOptions,
    fetch_options: FetchOptions,
    month_from: str | None = None,
    month_to: str | None = None,
    dry_run: bool = False,
    retry_failed: bool = False,
    pool_size: int = 16,
    sleep: Callable[[float], None] = time.sleep,
    fetch: Callable[..., FetchResult] = fetch_feed,
    progress: ProgressFactory = no_progress,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackfillReport:
    """Import the captures of `feed_url` (items count under `count_as`, default `feed_url`).

    With `dry_run` only the CDX listing is requested and nothing is written.
    """
    target = count_as or feed_url
    feed = fmt.feed_key(target)
    client = PoliteClient(fetch_options, options.pause_seconds, sleep=sleep, fetch=fetch)
    report = BackfillReport()
    report.listed, captures = list_captures(
        client, options, feed_url, month_from=month_from, month_to=month_to
    )
    report.distinct = len(captures)
    known = known_by_digest(store.known_captures(feed))
    for capture in captures:
        record = known.get(capture.digest)
        if record is None:
            report.to_fetch.append(capture)
        elif record.get("status") == IMPORTED:
            report.already_imported += 1
        elif retry_failed:
            report.to_fetch.append(capture)
        else:
            report.known_failed.append((capture, str(record.get("error", "failed"))))
    if dry_run:
        return report

    run = HistoryRun(store, via=VIA_WAYBACK, pool_size=pool_size)
    report.tally = run.tally
    bar = progress(len(report.to_fetch), "capture")
    try:
        for capture in report.to_fetch:
            _backfill_one(store, client, options, run, report, capture, feed, target, now)
            bar.update(1)
            bar.set_postfix(run.tally.postfix())
    finally:
        bar.close()
    return report


def _backfill_one(
    store: Store,
    client: PoliteClient,
    options: WaybackOptions,
    run: HistoryRun,
    report: BackfillReport,
    capture: Capture,
    feed: str,
    target: str,
    now: Callable[[], datetime],
) -> None:
    url = capture.download_url(options)
    try:
        result = client.get(url)
    except FetchError as exc:
        if is_permanent(exc):
            _remember(store, feed, capture, now, FAILED, error=str(exc))
            report.failed.append((capture, str(exc)))
        else:
            report.retry_later.append((capture, str(exc)))
        return
    report.downloaded += 1
    snapshot = Snapshot(
        name=url,
        seen_at=rfc3339(capture.moment),
        body=result.body,
        base_url=capture.original,
        headers=result.headers,
        now=capture.moment,  # the feed as served then: a later-dated item is not believed
    )
    items_before = run.tally.seen
    status, error = run.add(snapshot, target)
    if status == NOT_A_FEED:
        _remember(store, feed, capture, now, FAILED, error=error)
        report.failed.append((capture, error or "not a feed"))
    elif error:
        report.retry_later.append((capture, error))
    else:
        _remember(store, feed, capture, now, IMPORTED, items=run.tally.seen - items_before)
        report.imported += 1


def _remember(
    store: Store,
    feed: str,
    capture: Capture,
    now: Callable[[], datetime],
    status: str,
    **extra: object,
) -> None:
    attributes = {
        "status": status,
        "digest": capture.digest,
        "timestamp": capture.timestamp,
        "original": capture.original,
        "recorded_at": rfc3339(now()),
        **{k: v for k, v in extra.items() if v is not None},
    }
    store.remember_capture(feed, capture.record_key, attributes)
