"""One archiving run: for every feed, fetch → parse → tag → archive, then record the feed state.

A feed's failure is recorded in its state and its summary; it never stops the
other feeds. The feed's validators (ETag, Last-Modified, body hash) advance
only when every item of the body is committed, so anything left undone is
seen again by the next run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from feed_archiver.archive import archive_entries
from feed_archiver.archive_format import sha256_hex
from feed_archiver.errors import FeedArchiverError, FetchError
from feed_archiver.fetch import Validators, fetch_feed
from feed_archiver.items import rfc3339
from feed_archiver.parse import parse_feed
from feed_archiver.settings import Settings
from feed_archiver.store import FeedState, Store

OK, NOT_MODIFIED, FAILED, PARTIAL, BACKING_OFF, INACTIVE = (
    "ok",
    "not_modified",
    "failed",
    "partial",
    "backing_off",
    "inactive",
)


@dataclass
class FeedSummary:
    """The outcome of one feed in one run, as returned by the handler and the CLI."""

    feed_url: str
    status: str
    http_status: int | None = None
    items_seen: int = 0
    items_new: int = 0
    items_updated: int = 0
    items_unchanged: int = 0
    duplicates: int = 0
    items_with_problems: int = 0
    bytes_fetched: int = 0
    http_requests: int = 0
    error: str | None = None
    parse_error: str | None = None
    last_success: str | None = None
    next_attempt_after: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunSummary:
    feeds: list[FeedSummary] = field(default_factory=list)

    @property
    def failed(self) -> list[FeedSummary]:
        return [f for f in self.feeds if f.status in (FAILED, PARTIAL) and f.error]

    @property
    def all_failed(self) -> bool:
        attempted = [f for f in self.feeds if f.status not in (BACKING_OFF, INACTIVE)]
        return bool(attempted) and len(self.failed) == len(attempted)

    def as_dict(self) -> dict[str, Any]:
        return {"feeds": [f.as_dict() for f in self.feeds]}


def utcnow() -> datetime:
    return datetime.now(UTC)


def run_feeds(
    store: Store,
    settings: Settings,
    feed_urls: Sequence[str] | None = None,
    *,
    out_of_time: Callable[[], bool] = lambda: False,
    now: Callable[[], datetime] = utcnow,
    force: bool = False,
    fetch: Callable[..., Any] = fetch_feed,
) -> RunSummary:
    """Archive every feed; `force` ignores back-off (not inactivity)."""
    summary = RunSummary()
    for url in feed_urls or settings.feed_urls:
        if out_of_time():
            summary.feeds.append(FeedSummary(url, PARTIAL, error="not started: out of time"))
            continue
        summary.feeds.append(
            archive_feed(
                store, settings, url, out_of_time=out_of_time, now=now, force=force, fetch=fetch
            )
        )
    return summary


def archive_feed(
    store: Store,
    settings: Settings,
    url: str,
    *,
    out_of_time: Callable[[], bool] = lambda: False,
    now: Callable[[], datetime] = utcnow,
    force: bool = False,
    fetch: Callable[..., Any] = fetch_feed,
) -> FeedSummary:
    """Run one feed end to end and record its state. Never raises for the feed's own faults."""
    started = time.monotonic()
    try:
        state = store.get_feed_state(url)
    except FeedArchiverError as exc:
        return FeedSummary(url, FAILED, error=str(exc), seconds=time.monotonic() - started)
    summary = FeedSummary(url, OK, last_success=state.last_success)
    moment = now()
    if state.status == INACTIVE:
        summary.status, summary.error = INACTIVE, state.last_error
        return summary
    if not force and state.next_attempt_after and state.next_attempt_after > rfc3339(moment):
        summary.status = BACKING_OFF
        summary.error, summary.next_attempt_after = state.last_error, state.next_attempt_after
        return summary

    state.last_attempt = rfc3339(moment)
    try:
        _fetch_and_archive(store, settings, state, summary, moment, out_of_time, fetch)
    except FetchError as exc:
        summary.http_status = exc.status
        _record_failure(state, summary, settings, moment, str(exc), gone=exc.gone)
    except FeedArchiverError as exc:
        _record_failure(state, summary, settings, moment, str(exc))
    summary.seconds = round(time.monotonic() - started, 3)
    state.last_summary = {k: v for k, v in summary.as_dict().items() if isinstance(v, int | str)}
    try:
        store.put_feed_state(state)
    except FeedArchiverError as exc:
        summary.status, summary.error = FAILED, f"{summary.error or ''} {exc}".strip()
    return summary


def _fetch_and_archive(
    store: Store,
    settings: Settings,
    state: FeedState,
    summary: FeedSummary,
    moment: datetime,
    out_of_time: Callable[[], bool],
    fetch: Callable[..., Any],
) -> None:
    result = fetch(state.feed_url, Validators(state.etag, state.last_modified), settings.fetch)
    summary.http_status = result.status
    summary.bytes_fetched = result.bytes_received
    summary.http_requests = result.attempts
    body_hash = sha256_hex(result.body) if result.status == 200 else state.body_hash
    if result.status == 304 or body_hash == state.body_hash:
        _record_success(state, summary, moment, NOT_MODIFIED, result, body_hash)
        return

    seen_at = rfc3339(moment)
    store.put_raw(state.feed_key, seen_at, result.body, body_hash or "")
    parsed = parse_feed(result.body, headers=result.headers, base_url=result.url, now=moment)
    summary.parse_error = parsed.error
    summary.items_with_problems = sum(1 for e in parsed.entries if e.problems)
    outcome = archive_entries(
        store,
        parsed.entries,
        feed_url=state.feed_url,
        seen_at=seen_at,
        out_of_time=out_of_time,
        pool_size=settings.s3_concurrency,
    )
    summary.items_seen, summary.items_new = outcome.seen, outcome.new
    summary.items_updated, summary.items_unchanged = outcome.updated, outcome.unchanged
    summary.duplicates = outcome.duplicates
    if parsed.title:
        state.title = parsed.title
    if outcome.complete:
        _record_success(state, summary, moment, OK, result, body_hash)
        return
    # Leave the validators where they were: the next run fetches the same body again.
    summary.status = PARTIAL
    if outcome.errors:
        summary.error = f"{len(outcome.errors)} item writes failed; first: {outcome.errors[0]}"
        _record_failure(state, summary, settings, moment, summary.error)
        summary.status = PARTIAL
    else:
        summary.error = "stopped before the deadline; the rest is left for the next run"
        state.last_error = summary.error


def _record_success(
    state: FeedState,
    summary: FeedSummary,
    moment: datetime,
    status: str,
    result: Any,
    body_hash: str | None,
) -> None:
    summary.status = status
    state.status = status
    state.etag = result.etag or (state.etag if result.status == 304 else None)
    state.last_modified = result.last_modified or (
        state.last_modified if result.status == 304 else None
    )
    state.body_hash = body_hash
    state.last_success = summary.last_success = rfc3339(moment)
    state.last_error = summary.parse_error
    state.failing_since = None
    state.consecutive_failures = 0
    state.next_attempt_after = None


def _record_failure(
    state: FeedState,
    summary: FeedSummary,
    settings: Settings,
    moment: datetime,
    error: str,
    *,
    gone: bool = False,
) -> None:
    state.consecutive_failures += 1
    state.failing_since = state.failing_since or rfc3339(moment)
    state.last_error = summary.error = error
    if gone:
        state.status = summary.status = INACTIVE
        state.next_attempt_after = None
        return
    state.status = "failing"
    summary.status = FAILED
    delay = min(
        settings.backoff_cap_seconds,
        settings.backoff_base_seconds * 2 ** (state.consecutive_failures - 1),
    )
    # 10% early, so a run on the schedule's own jitter is not skipped by a hair.
    retry_at = moment + timedelta(seconds=delay * 0.9)
    state.next_attempt_after = summary.next_attempt_after = rfc3339(retry_at)
