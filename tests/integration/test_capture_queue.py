"""The archiver hands new items (and items whose link changed) to the capture queue (moto SQS)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from benchmarks.feeds import synthetic_feed
from feed_archiver.capture import queue as queue_module
from feed_archiver.capture.queue import CaptureQueue, CaptureRequest
from feed_archiver.run import archive_feed, run_feeds
from feed_archiver.settings import Settings
from feed_archiver.storage import Store
from tests.conftest import SEED_XML
from tests.hardening import reliability
from tests.httpserver import FeedServer, Reply

CHANNEL = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    "<link>https://example.org/</link><description>d</description>{items}</channel></rss>"
)
ITEM = (
    '<item><title>Project News: {title}</title><guid isPermaLink="false">{guid}</guid>'
    "<link>{link}</link><description>{summary}</description>"
    "<pubDate>Tue, 16 Jul 2019 13:32:30 +0000</pubDate></item>"
)


def feed(*items: tuple[str, str, str]) -> bytes:
    """An RSS feed of (guid, link, summary) items."""
    body = "".join(
        ITEM.format(title=f"Item {guid}", guid=guid, link=link, summary=summary)
        for guid, link, summary in items
    )
    return CHANNEL.format(items=body).encode()


@pytest.fixture
def sqs(aws: tuple[Any, Any]) -> Any:
    """An SQS client in the same moto as the archive."""
    return boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName="capture")["QueueUrl"])


def received(sqs: Any, queue_url: str) -> list[dict[str, str]]:
    """Every message body on the queue (received, not deleted)."""
    bodies: list[dict[str, str]] = []
    while True:
        resp = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300
        )
        messages = resp.get("Messages", [])
        if not messages:
            return bodies
        bodies += [json.loads(m["Body"]) for m in messages]


def test_new_items_are_enqueued_once_after_their_commit_ten_per_request(
    store: Store, settings: Settings, feed_server: FeedServer, sqs: Any, queue_url: str
) -> None:
    # Given a feed of 25 new items and a capture queue
    url = feed_server.route("/feed.xml", Reply(body=synthetic_feed(25)))
    batches: list[list[str]] = []
    indexed_when_sent: list[bool] = []

    def before_send(params: dict[str, Any], **_: Any) -> None:
        keys = [json.loads(e["MessageBody"])["key"] for e in params["Entries"]]
        batches.append(keys)
        indexed_when_sent.append(set(store.get_index_records(keys)) == set(keys))

    sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", before_send)
    # When the archiver runs
    summary = archive_feed(
        store, settings, url, capture_queue=CaptureQueue(queue_url, sqs_client=sqs)
    )
    # Then every new item is on the queue once, with its key and link
    feed_summary = summary
    assert feed_summary.items_new == 25
    assert (feed_summary.captures.sent, feed_summary.captures.failed) == (25, 0)
    messages = received(sqs, queue_url)
    records = store.get_index_records(m["key"] for m in messages)
    assert len(messages) == len(records) == 25
    assert all(records[m["key"]]["link"] == m["link"] for m in messages)
    # And it was sent in SendMessageBatch requests of at most 10, each after its items' commit
    assert [len(b) for b in batches] == [10, 10, 5]
    assert all(indexed_when_sent)


def test_a_run_that_adds_nothing_sends_nothing(
    store: Store, settings: Settings, feed_server: FeedServer, sqs: Any, queue_url: str
) -> None:
    # Given the seed feed archived once with a queue
    url = feed_server.serve_file(SEED_XML, "/feed.xml")
    queue = CaptureQueue(queue_url, sqs_client=sqs)
    archive_feed(store, settings, url, capture_queue=queue)
    assert len(received(sqs, queue_url)) == 10
    sent: list[int] = []
    sqs.meta.events.register("before-call.sqs.*", lambda **_: sent.append(1))
    # When it runs again on the same feed
    summary = archive_feed(store, settings, url, capture_queue=queue)
    # Then no request goes to SQS
    assert summary.captures.sent == summary.captures.requests == 0
    assert sent == []


def test_an_item_whose_link_changed_is_enqueued_again_an_edited_text_is_not(
    store: Store, settings: Settings, feed_server: FeedServer, sqs: Any, queue_url: str
) -> None:
    # Given two items with guids, archived and enqueued
    first = feed(("a", "https://example.org/a", "one"), ("b", "https://example.org/b", "two"))
    url = feed_server.route("/feed.xml", Reply(body=first))
    queue = CaptureQueue(queue_url, sqs_client=sqs)
    archive_feed(store, settings, url, capture_queue=queue)
    assert len(received(sqs, queue_url)) == 2
    # When item a moves to a new link and item b only gets a new summary
    second = feed(("a", "https://example.org/a-moved", "one"), ("b", "https://example.org/b", "2"))
    feed_server.route("/feed.xml", Reply(body=second))
    summary = archive_feed(store, settings, url, capture_queue=queue)
    # Then both are updated, and only a (its new link) is on the queue again
    assert summary.items_updated == 2
    assert [m["link"] for m in received(sqs, queue_url)] == ["https://example.org/a-moved"]


def test_without_a_queue_nothing_is_sent(
    store: Store,
    settings: Settings,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given no CAPTURE_QUEUE_URL, and an SQS client that must never be built
    def no_client() -> None:
        raise AssertionError("an SQS client was built without a queue configured")

    monkeypatch.setattr(queue_module, "make_sqs_client", no_client)
    assert CaptureQueue.from_settings(settings) is None
    # When the archiver runs
    summary = run_feeds(store, settings, [feed_server.serve_file(SEED_XML, "/feed.xml")])
    # Then the items are archived, none is queued, and none has a capture yet (pending)
    assert summary.feeds[0].items_new == 10
    assert summary.feeds[0].captures.sent == summary.feeds[0].captures.requests == 0
    for record in store.scan_index():
        assert "capture" not in store.get_document(record["key"])


@reliability(
    group="Article capture",
    case="the capture queue refuses every message",
    must_hold="the run succeeds, every item is committed and counted, the failure is in the "
    "summary, and the items stay pending for `capture --missing`",
)
def test_a_failed_enqueue_loses_no_item(
    store: Store, settings: Settings, feed_server: FeedServer, sqs: Any
) -> None:
    # Given a queue URL whose queue does not exist
    missing = "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue"
    url = feed_server.serve_file(SEED_XML, "/feed.xml")
    # When the archiver runs
    summary = archive_feed(
        store, settings, url, capture_queue=CaptureQueue(missing, sqs_client=sqs)
    )
    # Then the run is ok and every item is archived
    result = summary
    assert result.status == "ok"
    assert result.items_new == 10
    assert (result.captures.sent, result.captures.failed) == (0, 10)
    assert "sending capture requests failed" in (result.captures.error or "")
    # And every item is still pending: no document has a capture, so `capture --missing` finds it
    keys = [r["key"] for r in store.scan_index()]
    assert len(keys) == 10
    assert all("capture" not in store.get_document(k) for k in keys)


class RefusingSqs:
    """An SQS client that refuses the entries whose index is odd (SendMessageBatch's `Failed`)."""

    def __init__(self) -> None:
        self.requests = 0
        self.refuse = True
        self.largest = 0  # bytes of message bodies in the largest request

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.requests += 1
        self.largest = max(self.largest, sum(len(e["MessageBody"]) for e in Entries))
        ok = [e for e in Entries if int(e["Id"]) % 2 == 0 or not self.refuse]
        bad = [e for e in Entries if e not in ok]
        return {
            "Successful": [{"Id": e["Id"], "MessageId": e["Id"]} for e in ok],
            "Failed": [
                {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "x"}
                for e in bad
            ],
        }


def test_entries_the_queue_refuses_are_counted_with_the_reason() -> None:
    # Given a queue that refuses every other entry
    client = RefusingSqs()
    requests = [CaptureRequest(f"k{i}", f"https://example.org/{i}") for i in range(12)]
    # When 12 requests (and one duplicate) are enqueued
    result = CaptureQueue("https://q", sqs_client=client).enqueue([*requests, requests[0]])
    # Then two requests were made, and the refused ones are counted, the first with its reason
    assert client.requests == result.requests == 2
    assert (result.sent, result.failed) == (6, 6)
    assert "item k1: InternalError" in (result.error or "")


def test_a_message_body_round_trips_and_junk_is_refused() -> None:
    request = CaptureRequest("abc", "https://example.org/x")
    assert CaptureRequest.from_body(request.body()) == request
    for junk in ("[]", '{"key": 1, "link": "x"}', '{"link": "x"}', "not json"):
        with pytest.raises(ValueError):
            CaptureRequest.from_body(junk)


def test_batches_stay_under_the_size_limit_and_an_unsendable_link_is_counted() -> None:
    # Given items with 60 KB links (4 fit in one request) and one link SQS could never take
    client = RefusingSqs()
    client.refuse = False
    big = [CaptureRequest(f"k{i}", "https://example.org/" + "x" * 60_000) for i in range(9)]
    huge = CaptureRequest("huge", "https://example.org/" + "x" * 300_000)
    # When they are enqueued
    result = CaptureQueue("https://q", sqs_client=client).enqueue([*big, huge])
    # Then every request stays under SQS's 256 KiB, and the huge one is failed, not sent
    assert client.largest < 256 * 1024
    assert (result.sent, result.failed, result.requests) == (9, 1, 3)
    assert "item huge" in (result.error or "")
