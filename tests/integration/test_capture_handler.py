"""The CaptureFunction Lambda on moto SQS: partial batch failures, and SQS redelivery after a crash.

The event source mapping is played by `Poller`: it receives a batch, hands it to the handler
as Lambda would, and deletes what the handler did not report failed; if the handler dies,
it deletes nothing, as Lambda does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from dashboard.demo_site import HTML_TYPE, localise_feed, site_pages
from feed_archiver.capture import handler as capture_handler
from feed_archiver.capture.article import capture_item
from feed_archiver.capture.queue import CaptureQueue
from feed_archiver.run import archive_feed
from feed_archiver.settings import Settings
from feed_archiver.storage import Store
from tests.conftest import BUCKET, SEED_XML, TABLE
from tests.hardening import reliability
from tests.httpserver import FeedServer, Reply

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:capture"
VISIBILITY_SECONDS = 1


@dataclass
class FakeContext:
    """The parts of the Lambda context the handler and Powertools read."""

    remaining_ms: int = 300_000
    function_name: str = "feed-archiver-capture"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:capture"
    aws_request_id: str = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class ContainerDied(BaseException):
    """The function's process ends mid-batch (out of memory, timeout): nothing is caught."""


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping sends for received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


@dataclass
class Poller:
    """Lambda's side of the queue: receive a batch, invoke, delete the successes."""

    sqs: Any
    queue_url: str

    def receive(self, batch_size: int = 10) -> list[dict[str, Any]]:
        resp = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=batch_size,
            VisibilityTimeout=VISIBILITY_SECONDS,
            AttributeNames=["ApproximateReceiveCount"],
        )
        return list(resp.get("Messages", []))

    def invoke(
        self, messages: list[dict[str, Any]], context: FakeContext | None = None
    ) -> set[str]:
        """Run the handler on `messages`; delete those not reported failed; return the failed ids."""
        response = capture_handler.lambda_handler(sqs_event(messages), context or FakeContext())
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return failed

    def depth(self) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )


@pytest.fixture
def site(feed_server: FeedServer) -> FeedServer:
    """The demo's article pages (with validators, as a real site) and its localised feed."""
    seed = SEED_XML.read_bytes()
    for route, (body, content_type) in site_pages(seed).items():
        etag = f'"{abs(hash(body))}"' if content_type == HTML_TYPE else None
        feed_server.route(route, Reply(body=body, content_type=content_type, etag=etag))
    feed_server.route("/feed.xml", Reply(body=localise_feed(seed, feed_server.base_url)))
    return feed_server


@pytest.fixture
def poller(aws: tuple[Any, Any]) -> Poller:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(
        QueueName="capture", Attributes={"VisibilityTimeout": str(VISIBILITY_SECONDS)}
    )["QueueUrl"]
    return Poller(sqs, url)


@pytest.fixture
def capture_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The function's environment: the archive, loopback allowed, no pause between requests."""
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORKS", "1")
    monkeypatch.setenv("CAPTURE_MIN_INTERVAL_SECONDS", "0")
    capture_handler._setup.cache_clear()
    yield
    capture_handler._setup.cache_clear()


@pytest.fixture
def archived(store: Store, settings: Settings, site: FeedServer, poller: Poller) -> list[str]:
    """The seed archived with the queue: ten messages waiting. Returns the item keys."""
    queue = CaptureQueue(poller.queue_url, sqs_client=poller.sqs)
    summary = archive_feed(store, settings, site.url("/feed.xml"), capture_queue=queue)
    assert summary.captures.sent == 10
    return sorted(r["key"] for r in store.scan_index())


def warcs(store: Store, key: str) -> list[str]:
    return [k for k in store.list_capture_keys(key) if k.endswith(".warc.gz")]


def capture_status(store: Store, key: str) -> str | None:
    capture = store.get_index_records([key])[key].get("capture") or {}
    return capture.get("status")


@reliability(
    group="Article capture",
    case="the capture function dies mid-batch",
    must_hold="nothing is deleted, SQS delivers the whole batch again after the visibility "
    "timeout, and every item ends captured with exactly one WARC",
)
def test_nothing_is_lost_when_the_function_dies_mid_batch(
    store: Store,
    archived: list[str],
    poller: Poller,
    site: FeedServer,
    capture_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a batch of 5 capture messages, and a function that dies after capturing 2 of them
    batch = poller.receive(batch_size=5)
    assert len(batch) == 5
    done: list[str] = []

    def dying(store: Store, key: str, *args: Any, **kwargs: Any) -> Any:
        if len(done) == 2:
            raise ContainerDied("the container ran out of memory")
        done.append(key)
        return capture_item(store, key, *args, **kwargs)

    monkeypatch.setattr("feed_archiver.capture.article.capture_item", dying)
    # When the function is invoked on it
    with pytest.raises(ContainerDied):
        poller.invoke(batch)
    # Then nothing was deleted: all ten messages are still on the queue, five of them in flight
    assert poller.depth() == 10
    assert [capture_status(store, k) for k in done] == ["captured", "captured"]
    # When the visibility timeout has passed and the function (now healthy) polls again
    monkeypatch.setattr("feed_archiver.capture.article.capture_item", capture_item)
    time.sleep(VISIBILITY_SECONDS + 0.2)
    redelivered: list[dict[str, Any]] = []
    for _ in range(5):
        batch = poller.receive()
        if not batch:
            break
        redelivered += [m for m in batch if m["Attributes"]["ApproximateReceiveCount"] == "2"]
        assert poller.invoke(batch) == set()
    # Then the crashed batch came back whole, and the queue is empty
    assert len(redelivered) == 5
    assert poller.depth() == 0
    # And every item is captured exactly once: one WARC each, the two early ones not re-stored
    for key in archived:
        assert capture_status(store, key) == "captured"
        assert len(warcs(store, key)) == 1, key
    article_requests = [
        r for r in site.requests() if r.path.startswith("/news-centre/news-detail/")
    ]
    assert sum(r.status == 304 for r in article_requests) == 2  # the redelivered early ones


@reliability(
    group="Article capture",
    case="one page of a batch fails",
    must_hold="only its message is reported failed (ReportBatchItemFailures) and comes back; "
    "the others are deleted",
)
def test_only_the_failed_message_of_a_batch_comes_back(
    store: Store, archived: list[str], poller: Poller, site: FeedServer, capture_env: None
) -> None:
    # Given one article whose server fails, and a message whose body is not a capture request
    records = store.get_index_records(archived)
    broken = archived[0]
    path = "/" + records[broken]["link"].split("/", 3)[3]
    site.route(path, Reply(status=503, body=b"down"))
    poller.sqs.send_message(QueueUrl=poller.queue_url, MessageBody="not json")
    # When the function captures every message
    messages: list[dict[str, Any]] = []
    while batch := poller.receive():
        messages += batch
    failed = poller.invoke(messages)
    # Then exactly the failed capture and the junk message are reported, and come back
    by_id = {m["MessageId"]: m["Body"] for m in messages}
    assert sorted(by_id[i] for i in failed) == sorted(
        ["not json", next(b for b in by_id.values() if broken in b)]
    )
    time.sleep(VISIBILITY_SECONDS + 0.2)
    assert {m["MessageId"] for m in poller.receive()} == failed
    # And the broken item is recorded as failed (for `capture --missing` too), the rest captured
    assert capture_status(store, broken) == "failed"
    assert all(capture_status(store, k) == "captured" for k in archived[1:])


def test_no_capture_starts_too_close_to_the_deadline(
    store: Store, archived: list[str], poller: Poller, site: FeedServer, capture_env: None
) -> None:
    # Given an invocation with 30 s left, under the start margin
    batch = poller.receive(batch_size=3)
    # When the batch is handed to it
    failed = poller.invoke(batch, FakeContext(remaining_ms=30_000))
    # Then every message goes back untouched, and no page was fetched
    assert failed == {m["MessageId"] for m in batch}
    assert not [r for r in site.requests() if r.path.startswith("/news-centre/news-detail/")]
    assert all(capture_status(store, k) is None for k in archived)


def test_a_bad_setting_fails_the_invocation_before_any_message(
    aws: tuple[Any, Any], poller: Poller, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no ARCHIVE_BUCKET
    monkeypatch.delenv("ARCHIVE_BUCKET", raising=False)
    capture_handler._setup.cache_clear()
    poller.sqs.send_message(
        QueueUrl=poller.queue_url, MessageBody=json.dumps({"key": "k", "link": "x"})
    )
    # When invoked, Then the invocation fails (the whole batch comes back) and says why
    with pytest.raises(Exception, match="ARCHIVE_BUCKET"):
        poller.invoke(poller.receive())
    capture_handler._setup.cache_clear()
