"""The CaptureFunction Lambda: capture the article of every item in an SQS batch.

The queue is filled by the archiver (capture/queue.py), one message per item:
{"key": <item key>, "link": <link>}. Each message is one `capture_item`, the same
code as `feed-archiver capture`. Powertools' BatchProcessor reports the messages
that failed (ReportBatchItemFailures): only those come back after the queue's
visibility timeout, and after 5 receives they go to the dead-letter queue.

A message fails when the capture is worth trying again: a network or storage
failure (`failed`), or a site whose robots.txt could not be read (`pending`).
A page that is gone, not HTML or disallowed is a recorded outcome, not a failure.
If the function dies mid-batch, nothing is deleted: the whole batch comes back,
and an item captured before the crash is asked again conditionally (304: nothing
written), so no item is captured twice.

Settings are validated, and the clients and the politeness state (robots.txt
cache, per-host pauses) made, once per container.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from feed_archiver.capture.queue import CaptureRequest
from feed_archiver.errors import FeedArchiverError
from feed_archiver.handler import traced
from feed_archiver.settings import Settings, load_settings
from feed_archiver.storage import Store

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from feed_archiver.fetch.polite import Politeness

logger = Logger()
# A fully failed batch is reported like a partial one (every message back), not raised.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

# Outcomes worth another receive: the rest are recorded on the item and the message is done.
RETRIED_STATUSES = frozenset({"failed", "pending"})
# No capture starts with less than this left: a live fetch, a web-archive lookup and the
# per-host pauses fit in it. What is not started goes back to the queue untouched.
START_MARGIN_SECONDS = 60.0


class CaptureNotDone(FeedArchiverError):
    """The message's capture did not succeed: it is reported failed, so SQS delivers it again."""


@cache
def _setup() -> tuple[Settings, Store, Politeness]:
    from feed_archiver.fetch.polite import Politeness

    settings = load_settings(require_feeds=False)
    return settings, Store.from_settings(settings), Politeness.from_settings(settings)


def record_handler(
    record: SQSRecord, lambda_context: LambdaContext | None = None
) -> dict[str, Any]:
    """Capture one message's item; raise (the message is retried) unless the outcome is final."""
    from feed_archiver.capture.article import capture_item

    if lambda_context is not None:
        remaining = lambda_context.get_remaining_time_in_millis() / 1000
        if remaining < START_MARGIN_SECONDS:
            raise CaptureNotDone(f"not started: {remaining:.0f} s left in this invocation")
    settings, store, politeness = _setup()
    request = CaptureRequest.from_body(record.body)  # a malformed body fails, and ends in the DLQ
    result = capture_item(store, request.key, settings, politeness=politeness)
    outcome = result.as_dict()
    logger.info("capture", extra={"message_id": record.message_id, **outcome})
    if result.status in RETRIED_STATUSES:
        raise CaptureNotDone(f"item {request.key}: {result.status}: {result.error}")
    return outcome


@logger.inject_lambda_context(log_event=False)
@traced
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    _, store, _ = _setup()  # a bad setting fails the whole invocation at once, before any message
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    # The captured text reaches the exports and the archive feed now, not at the next run.
    from feed_archiver.publish import publish_after_run

    published = publish_after_run(
        store, out_of_time=lambda: context.get_remaining_time_in_millis() < 5000
    )
    if published:
        (logger.error if "error" in published else logger.info)("published", extra=published)
    return response
