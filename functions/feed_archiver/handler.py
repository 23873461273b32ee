"""The Lambda entry point: validate settings once, run every feed, emit metrics."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from feed_archiver.errors import FeedArchiverError
from feed_archiver.metrics import publish
from feed_archiver.run import run_feeds
from feed_archiver.settings import Settings, load_settings
from feed_archiver.store import Store

logger = Logger()
metrics = Metrics()
tracer = Tracer()


class AllFeedsFailed(FeedArchiverError):
    """Every feed failed: the invocation fails so the scheduler retries and dead-letters it."""


@cache
def _setup() -> tuple[Settings, Store]:
    settings = load_settings()
    return settings, Store(settings.archive_bucket, settings.archive_table)


@logger.inject_lambda_context(correlation_id_path="id", log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, store = _setup()
    margin_ms = settings.deadline_margin_seconds * 1000
    summary = run_feeds(
        store, settings, out_of_time=lambda: context.get_remaining_time_in_millis() < margin_ms
    )
    publish(metrics, summary)
    for feed in summary.feeds:
        logger.info("feed archived", extra=feed.as_dict())
    if summary.all_failed:
        raise AllFeedsFailed("; ".join(f"{f.feed_url}: {f.error}" for f in summary.failed))
    return summary.as_dict()
