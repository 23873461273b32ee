"""Turn a run summary into CloudWatch metrics (EMF through Powertools)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feed_archiver.clock import parse_rfc3339, utcnow
from feed_archiver.feed_state import Status
from feed_archiver.run import RunSummary

# Reported when a feed has never succeeded: large enough to trip any staleness alarm.
NEVER_SUCCEEDED_SECONDS = 10 * 365 * 86400


def seconds_since_last_success(summary: RunSummary, now: datetime | None = None) -> float:
    """The stalest feed's age: what the staleness alarm watches."""
    now = now or utcnow()
    ages = []
    for feed in summary.feeds:
        if feed.last_success:
            ages.append((now - parse_rfc3339(feed.last_success)).total_seconds())
        else:
            ages.append(float(NEVER_SUCCEEDED_SECONDS))
    return max(ages, default=0.0)


def publish(metrics: Any, summary: RunSummary) -> None:
    """Add the run's metrics; Powertools flushes them as EMF when the handler returns."""
    from aws_lambda_powertools.metrics import MetricUnit

    feeds = summary.feeds
    count = MetricUnit.Count
    metrics.add_metric(name="ItemsSeen", unit=count, value=sum(f.items_seen for f in feeds))
    metrics.add_metric(name="ItemsNew", unit=count, value=sum(f.items_new for f in feeds))
    metrics.add_metric(name="ItemsUpdated", unit=count, value=sum(f.items_updated for f in feeds))
    metrics.add_metric(
        name="FeedNotModified",
        unit=count,
        value=sum(f.status == Status.NOT_MODIFIED for f in feeds),
    )
    metrics.add_metric(name="FeedFailures", unit=count, value=len(summary.failed))
    metrics.add_metric(
        name="BytesFetched", unit=MetricUnit.Bytes, value=sum(f.bytes_fetched for f in feeds)
    )
    metrics.add_metric(
        name="RunSeconds", unit=MetricUnit.Seconds, value=sum(f.seconds for f in feeds)
    )
    metrics.add_metric(
        name="SecondsSinceLastSuccess",
        unit=MetricUnit.Seconds,
        value=seconds_since_last_success(summary),
    )
