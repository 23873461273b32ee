"""One archiving run: for every feed, fetch → parse → tag → archive, then record the feed state.

A feed's failure is recorded in its state and its summary; it never stops the
other feeds, and nothing a feed sends ends the run with a traceback. The
feed's validators (ETag, Last-Modified, body hash) advance only when every
item of the body is committed. Before its first item write a run takes the
feed's lease and records the body as unfinished (see store.FeedWork); a later
run finishes any unfinished body from its raw/ snapshot before fetching, so
a crash, an error or the deadline never loses an item, even if the feed has
changed since. docs/archive-format.md states the whole write invariant.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from feed_archiver.archive import ArchiveOutcome, archive_entries
from feed_archiver.archive_format import sha256_hex
from feed_archiver.capture.queue import CaptureQueue, EnqueueResult
from feed_archiver.clock import parse_rfc3339, rfc3339, utcnow
from feed_archiver.counts import ItemCounts
from feed_archiver.errors import (
    FeedArchiverError,
    FeedParseError,
    FetchError,
    RawSnapshotMissing,
    StorageError,
)
from feed_archiver.feed_state import NOT_ATTEMPTED, Backoff, FeedState, Status
from feed_archiver.fetch import FetchResult, Validators, fetch_feed
from feed_archiver.settings import Settings
from feed_archiver.storage import PendingBody, Store

if TYPE_CHECKING:
    from feed_archiver.parse import ParsedFeed

_ERROR_CHARS = 500


@dataclass
class FeedSummary:
    """The outcome of one feed in one run, as returned by the handler and the CLI."""

    feed_url: str
    status: Status
    http_status: int | None = None
    items: ItemCounts = field(default_factory=ItemCounts)
    items_rejected: int = 0  # entries that can never be archived (see `error`)
    items_with_problems: int = 0
    bodies_resumed: int = 0  # unfinished bodies of earlier runs finished by this one
    captures: EnqueueResult = field(default_factory=EnqueueResult)  # sent to CaptureFunction
    bytes_fetched: int = 0
    http_requests: int = 0
    error: str | None = None
    parse_error: str | None = None
    last_success: str | None = None
    next_attempt_after: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The summary as the handler and the CLI print it: the item counts flattened."""
        data = asdict(self)
        items = data.pop("items")
        repeats = {k: v for k, v in items.items() if k.startswith("duplicates")}  # no items_
        return {f"items_{k}": v for k, v in items.items() if k not in repeats} | repeats | data

    # Read-only views of the counts, under the names of the printed summary.
    items_seen = property(lambda self: self.items.seen)
    items_new = property(lambda self: self.items.new)
    items_updated = property(lambda self: self.items.updated)
    items_unchanged = property(lambda self: self.items.unchanged)
    items_older = property(lambda self: self.items.older)
    duplicates = property(lambda self: self.items.duplicates)


@dataclass
class RunSummary:
    feeds: list[FeedSummary] = field(default_factory=list)

    @property
    def failed(self) -> list[FeedSummary]:
        return [f for f in self.feeds if f.status in (Status.FAILED, Status.PARTIAL) and f.error]

    @property
    def all_failed(self) -> bool:
        attempted = [f for f in self.feeds if f.status not in NOT_ATTEMPTED]
        return bool(attempted) and len(self.failed) == len(attempted)

    def as_dict(self) -> dict[str, Any]:
        return {"feeds": [f.as_dict() for f in self.feeds]}


def run_feeds(
    store: Store,
    settings: Settings,
    feed_urls: Sequence[str] | None = None,
    *,
    out_of_time: Callable[[], bool] = lambda: False,
    now: Callable[[], datetime] = utcnow,
    force: bool = False,
    fetch: Callable[..., Any] = fetch_feed,
    lease_seconds: float | None = None,
) -> RunSummary:
    """Archive every feed; `force` ignores back-off (not inactivity).

    `lease_seconds` is how long a run may hold a feed (default: the setting); the
    Lambda passes its remaining time, so a crashed invocation's lease ends with it.
    """
    summary = RunSummary()
    for url in feed_urls or settings.feed_urls:
        if out_of_time():
            summary.feeds.append(
                FeedSummary(url, Status.DEFERRED, error="not started: out of time")
            )
            continue
        summary.feeds.append(
            archive_feed(
                store,
                settings,
                url,
                out_of_time=out_of_time,
                now=now,
                force=force,
                fetch=fetch,
                lease_seconds=lease_seconds,
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
    lease_seconds: float | None = None,
    capture_queue: CaptureQueue | None = None,
) -> FeedSummary:
    """Run one feed end to end and record its state. Never raises for the feed's own faults."""
    started = time.monotonic()
    try:
        state, work = store.get_feed_state_and_work(url)
    except FeedArchiverError as exc:
        return FeedSummary(url, Status.FAILED, error=str(exc), seconds=time.monotonic() - started)
    summary = FeedSummary(url, Status.OK, last_success=state.last_success)
    moment = now()
    if state.status == Status.INACTIVE:
        summary.status, summary.error = Status.INACTIVE, state.last_error
        return summary
    if not force and state.backing_off(moment):
        summary.status = Status.BACKING_OFF
        summary.error, summary.next_attempt_after = state.last_error, state.next_attempt_after
        return summary

    job = _FeedRun(store, settings, state, summary, moment, out_of_time, now, lease_seconds)
    job.capture_queue = capture_queue or CaptureQueue.from_settings(settings)
    state.last_attempt = rfc3339(moment)
    try:
        if not work.held_by_another(job.owner, rfc3339(moment)):
            job.run(work.pending, fetch)
        else:
            job.busy(work.lease_until)
    except FetchError as exc:
        summary.http_status = exc.status
        _record_failure(
            state, summary, settings, moment, str(exc), gone=exc.gone, retry_after=exc.retry_after
        )
    except StorageError as exc:
        # Our storage failed, not the feed: count it, but do not make the feed wait.
        _record_failure(state, summary, settings, moment, str(exc), backoff=False)
    except FeedArchiverError as exc:
        _record_failure(state, summary, settings, moment, str(exc))
    except Exception as exc:
        # A fault nobody foresaw (a library bug, a hostile input): recorded like any other.
        _record_failure(state, summary, settings, moment, f"unexpected error: {_one_line(exc)}")
    summary.seconds = round(time.monotonic() - started, 3)
    if summary.status == Status.BUSY:
        return summary  # the run holding the feed records its state
    state.last_summary = {k: v for k, v in summary.as_dict().items() if isinstance(v, int | str)}
    try:
        store.put_feed_state(state)
    except FeedArchiverError as exc:
        summary.status, summary.error = Status.FAILED, f"{summary.error or ''} {exc}".strip()
    job.release()
    return summary


class _FeedRun:
    """The writes of one feed in one run: unfinished bodies first, then the fetched one."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        state: FeedState,
        summary: FeedSummary,
        moment: datetime,
        out_of_time: Callable[[], bool],
        now: Callable[[], datetime],
        lease_seconds: float | None,
    ) -> None:
        self.store, self.settings, self.state, self.summary = store, settings, state, summary
        self.moment, self.out_of_time, self.now = moment, out_of_time, now
        self.lease_seconds = settings.lease_seconds if lease_seconds is None else lease_seconds
        self.owner = uuid.uuid4().hex
        self.holding = False
        self.settled: list[PendingBody] = []  # every item committed: forget them
        self.finished_hashes: set[str] = set()  # bodies finished from raw/ by this run
        self.rejections: list[str] = []
        self.capture_queue: CaptureQueue | None = None

    def run(self, pending: Sequence[PendingBody], fetch: Callable[..., Any]) -> None:
        if pending and not (self._take() and self._finish_pending(pending)):
            return
        state, summary = self.state, self.summary
        result = fetch(
            state.feed_url, Validators(state.etag, state.last_modified), self.settings.fetch
        )
        summary.http_status = result.status
        summary.bytes_fetched = result.bytes_received
        summary.http_requests = result.attempts
        body_hash = sha256_hex(result.body) if result.status == 200 else state.body_hash
        if result.status == 304 or body_hash == state.body_hash:
            _record_success(state, summary, self.moment, Status.NOT_MODIFIED, result, body_hash)
            return
        if body_hash in self.finished_hashes:  # this very body was just finished from raw/
            _record_success(state, summary, self.moment, Status.OK, result, body_hash)
            return

        seen_at, base_url = rfc3339(self.moment), result.url  # where the body came from
        raw_key = self.store.put_raw(state.feed_key, seen_at, result.body, str(body_hash), base_url)
        parsed = parse_feed(result.body, headers=result.headers, base_url=base_url, now=self.moment)
        summary.parse_error = parsed.error
        summary.items_with_problems = sum(1 for e in parsed.entries if e.problems)
        if parsed.title:
            state.title = parsed.title
        body = PendingBody(raw_key, seen_at, base_url, result.headers.get("content-type"))
        # Recorded as unfinished before any item write, in the same write as the lease.
        if parsed.entries and not self._take(body):
            return
        outcome = self._archive(parsed.entries, seen_at)
        if not outcome.complete:
            # The validators stay: the next run finishes this body from raw/ first.
            self._incomplete(outcome)
            return
        if parsed.entries:
            self.settled.append(body)
        _record_success(state, summary, self.moment, Status.OK, result, body_hash)
        if self.rejections:
            summary.error = f"{len(self.rejections)} entries rejected; first: {self.rejections[0]}"
            state.last_error = "; ".join(filter(None, [summary.parse_error, summary.error]))

    def _finish_pending(self, pending: Sequence[PendingBody]) -> bool:
        """Archive the bodies earlier runs left unfinished, oldest first. False: stop here."""
        for body in pending:
            if self.out_of_time():
                self._incomplete(ArchiveOutcome(stopped_early=True))
                return False
            try:
                raw = self.store.get_raw(body.raw_key)
                headers = {"content-type": body.content_type} if body.content_type else {}
                parsed = parse_feed(
                    raw, headers=headers, base_url=body.base_url, now=parse_rfc3339(body.seen_at)
                )
            except (RawSnapshotMissing, FeedParseError) as exc:
                # Nothing left to finish it from: say so once, and forget it.
                self.summary.error = f"an unfinished body could not be finished: {exc}"
                self.settled.append(body)
                continue
            outcome = self._archive(parsed.entries, body.seen_at)
            self.summary.bodies_resumed += 1
            if not outcome.complete:
                self._incomplete(outcome)
                return False
            self.settled.append(body)
            self.finished_hashes.add(sha256_hex(raw))
        return True

    def _archive(self, entries: Sequence[Any], seen_at: str) -> ArchiveOutcome:
        outcome = archive_entries(
            self.store,
            entries,
            feed_url=self.state.feed_url,
            seen_at=seen_at,
            out_of_time=self.out_of_time,
            pool_size=self.settings.s3_concurrency,
        )
        summary = self.summary
        summary.items.add(outcome.counts())
        summary.items_rejected += len(outcome.rejected)
        self.rejections.extend(outcome.rejected)
        if self.capture_queue is not None and outcome.to_capture:  # a failure leaves them pending
            summary.captures.add(self.capture_queue.enqueue(outcome.to_capture))
        return outcome

    def _incomplete(self, outcome: ArchiveOutcome) -> None:
        state, summary = self.state, self.summary
        if outcome.errors:
            error = f"{len(outcome.errors)} item writes failed; first: {outcome.errors[0]}"
            _record_failure(state, summary, self.settings, self.moment, error, backoff=False)
            summary.status = Status.PARTIAL
        else:
            summary.status = Status.DEFERRED
            summary.error = "stopped before the deadline; the rest is left for the next run"
            state.last_error = summary.error

    def _take(self, body: PendingBody | None = None) -> bool:
        """Hold the feed (and record `body` as unfinished); False, and BUSY, if another run does."""
        now = self.now()
        until = now + timedelta(seconds=self.lease_seconds)
        taken = self.store.take_feed_lease(
            self.state.feed_key, self.owner, now=rfc3339(now), until=rfc3339(until), body=body
        )
        if not taken:
            self.busy(None)
            return False
        self.holding = True
        return True

    def busy(self, until: str | None) -> None:
        self.summary.status = Status.BUSY
        held = f" (until {until} at the latest)" if until else ""
        self.summary.error = f"another run is archiving this feed{held}; left to it"

    def release(self) -> None:
        """Forget the finished bodies and give the feed up (after the feed state is written)."""
        if not self.holding and not self.settled:
            return
        try:
            self.store.release_feed_lease(self.state.feed_key, self.owner, settled=self.settled)
        except FeedArchiverError as exc:
            # Harmless: the lease expires, and a finished body is found finished again.
            self.summary.error = f"{self.summary.error or ''} {exc}".strip()


def parse_feed(body: bytes, **options: Any) -> ParsedFeed:
    """feed_archiver.parse.parse_feed, imported on first use.

    It loads feedparser, which a run whose feed is unchanged never needs: the
    Lambda's cold start skips it (benchmarks/figures/cold_start.py measures this).
    """
    from feed_archiver.parse import parse_feed as parse

    return parse(body, **options)


def _one_line(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= _ERROR_CHARS else text[:_ERROR_CHARS] + "…"


def _record_success(
    state: FeedState,
    summary: FeedSummary,
    moment: datetime,
    status: Status,
    result: FetchResult,
    body_hash: str | None,
) -> None:
    state.succeeded(
        moment,
        status,
        http_status=result.status,
        etag=result.etag,
        last_modified=result.last_modified,
        body_hash=body_hash,
        parse_error=summary.parse_error,
    )
    summary.status = status
    summary.last_success = state.last_success


def _record_failure(
    state: FeedState,
    summary: FeedSummary,
    settings: Settings,
    moment: datetime,
    error: str,
    *,
    gone: bool = False,
    backoff: bool = True,
    retry_after: float | None = None,
) -> None:
    """Count a failure; back off (the feed's fault) unless `backoff` is false (ours)."""
    wait = Backoff(settings.backoff_base_seconds, settings.backoff_cap_seconds)
    state.failed(moment, error, wait if backoff else None, gone=gone, retry_after=retry_after)
    summary.error = error
    summary.status = Status.INACTIVE if gone else Status.FAILED
    summary.next_attempt_after = state.next_attempt_after
