"""The Lambda entry point: validate settings once, run every feed, emit metrics."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from feed_archiver.errors import FeedArchiverError
from feed_archiver.metrics import publish
from feed_archiver.run import run_feeds
from feed_archiver.settings import Settings, load_settings, tracing_on
from feed_archiver.storage import Store

logger = Logger()
metrics = Metrics()

Handler = TypeVar("Handler", bound=Callable[..., Any])
# Only the AWS calls are traced (botocore). Not "httplib": it puts X-Amzn-Trace-Id on every
# request http.client sends, feed servers included, telling third parties our trace ids.
# Patching one module, not every library the X-Ray SDK knows, also keeps start-up short.
TRACED_MODULES = ("botocore",)


def traced(handler: Handler) -> Handler:
    """Powertools' `capture_lambda_handler` when tracing can be on; the handler itself otherwise."""
    if not tracing_on():
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(patch_modules=TRACED_MODULES)
    return cast(Handler, tracer.capture_lambda_handler(handler, capture_response=False))


class AllFeedsFailed(FeedArchiverError):
    """Every feed failed: the invocation fails so the scheduler retries and dead-letters it."""


@cache
def _setup() -> tuple[Settings, Store]:
    settings = load_settings()
    return settings, Store.from_settings(settings)


@logger.inject_lambda_context(correlation_id_path="execution_id", log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, store = _setup()
    margin_ms = settings.deadline_margin_seconds * 1000
    summary = run_feeds(
        store,
        settings,
        out_of_time=lambda: context.get_remaining_time_in_millis() < margin_ms,
        # A feed is held no longer than this invocation can live: if it dies, the lease ends too.
        lease_seconds=context.get_remaining_time_in_millis() / 1000 + 1,
    )
    publish(metrics, summary)
    for feed in summary.feeds:
        logger.info("feed archived", extra=feed.as_dict())
    result = summary.as_dict()
    # Only when the run wrote something: the changed months' exports and archive pages.
    # Imported here: a run with nothing new never loads the exporters.
    from feed_archiver.publish import publish_after_run

    published = publish_after_run(
        store,
        pool_size=settings.s3_concurrency,
        out_of_time=lambda: context.get_remaining_time_in_millis() < margin_ms,
    )
    if published:
        (logger.error if "error" in published else logger.info)("published", extra=published)
        result["published"] = published
    if summary.all_failed:
        raise AllFeedsFailed("; ".join(f"{f.feed_url}: {f.error}" for f in summary.failed))
    return result
