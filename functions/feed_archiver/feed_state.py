"""The feed-state model: what the archiver remembers about a feed, and how it moves.

`Status` is the one set of statuses: a feed's stored state takes NEVER, OK,
NOT_MODIFIED, FAILING or INACTIVE; a feed's outcome in one run takes OK,
NOT_MODIFIED, FAILED, PARTIAL, DEFERRED, BUSY, BACKING_OFF or INACTIVE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from feed_archiver import archive_format as fmt
from feed_archiver.clock import rfc3339

# Back-off doubles per consecutive failure up to its cap; more doublings change
# nothing, and 2.0**n overflows past ~1000 (a feed dead for years).
_MAX_DOUBLINGS = 40


class Status(StrEnum):
    NEVER = "never"  # state: never fetched
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    FAILING = "failing"  # state: the last attempt failed
    FAILED = "failed"  # run: this feed failed
    PARTIAL = "partial"  # run: some item writes failed
    DEFERRED = "deferred"  # run: the deadline came first
    BUSY = "busy"  # run: another run holds the feed
    BACKING_OFF = "backing_off"  # run: skipped, waiting after failures
    INACTIVE = "inactive"  # the feed answered 410 Gone


# Outcomes of a run that are not failures of the feed.
NOT_ATTEMPTED = frozenset({Status.BACKING_OFF, Status.INACTIVE, Status.DEFERRED, Status.BUSY})


@dataclass(frozen=True)
class Backoff:
    base_seconds: float
    cap_seconds: float

    def seconds(self, consecutive_failures: int) -> float:
        """How long to wait after this many consecutive failures: doubling from the base, capped."""
        doublings = min(max(consecutive_failures - 1, 0), _MAX_DOUBLINGS)
        return float(min(self.cap_seconds, self.base_seconds * 2**doublings))


@dataclass
class FeedState:
    """What the archiver remembers about one feed between runs."""

    feed_url: str
    feed_key: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    title: str | None = None
    status: str = Status.NEVER
    last_attempt: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    failing_since: str | None = None
    consecutive_failures: int = 0
    next_attempt_after: str | None = None
    last_summary: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, feed_url: str) -> FeedState:
        return cls(feed_url=feed_url, feed_key=fmt.feed_key(feed_url))

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> FeedState:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in record.items() if k in known})

    def backing_off(self, moment: datetime) -> bool:
        """Whether a run at `moment` should skip the feed (it waits after failures)."""
        return bool(self.next_attempt_after and self.next_attempt_after > rfc3339(moment))

    def succeeded(
        self,
        moment: datetime,
        status: Status,
        *,
        http_status: int,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        parse_error: str | None,
    ) -> None:
        """A fetch that was archived (OK) or unchanged (NOT_MODIFIED): failures are forgotten."""
        not_modified = http_status == 304
        self.status = status
        self.etag = etag or (self.etag if not_modified else None)
        self.last_modified = last_modified or (self.last_modified if not_modified else None)
        self.body_hash = body_hash
        self.last_success = rfc3339(moment)
        self.last_error = parse_error
        self.failing_since = None
        self.consecutive_failures = 0
        self.next_attempt_after = None

    def failed(
        self,
        moment: datetime,
        error: str,
        backoff: Backoff | None,
        *,
        gone: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """Count a failure. `gone` (410) makes the feed INACTIVE; with `backoff` (the feed's
        fault) the next attempt waits; without it (our storage failed) it does not."""
        self.consecutive_failures += 1
        self.failing_since = self.failing_since or rfc3339(moment)
        self.last_error = error
        self.next_attempt_after = None
        if gone:
            self.status = Status.INACTIVE
            return
        self.status = Status.FAILING
        if backoff is None:
            return
        # 10% early, so a run on the schedule's own jitter is not skipped by a hair.
        retry_at = moment + timedelta(seconds=backoff.seconds(self.consecutive_failures) * 0.9)
        if retry_after:
            # A server that asked for a longer wait (Retry-After) gets it, up to the cap.
            asked = min(retry_after, backoff.cap_seconds)
            retry_at = max(retry_at, moment + timedelta(seconds=asked))
        self.next_attempt_after = rfc3339(retry_at)

    def reactivate(self) -> None:
        """Clear the inactive mark and the back-off; failures stay counted until a success."""
        self.status = Status.FAILING if self.consecutive_failures else Status.OK
        self.next_attempt_after = None
