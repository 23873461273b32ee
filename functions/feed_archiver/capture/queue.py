"""The capture queue: the archiver hands new items (and items whose link changed) to SQS.

The CaptureFunction Lambda reads the queue (capture/handler.py). Messages are
sent after the items' index commit, ten to a SendMessageBatch request, so the
queue adds about 0.1 AWS request per new item to a run. A message that could
not be sent is not retried here and loses nothing: its item has no `capture`
yet, i.e. it is `pending`, and `feed-archiver capture --missing` captures it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feed_archiver.settings import Settings

BATCH_LIMIT = 10  # SendMessageBatch takes at most 10 entries...
BATCH_BYTES = 250_000  # ... and 256 KiB of bodies in all (a little kept for the rest)


@dataclass(frozen=True)
class CaptureRequest:
    """One item to capture: its storage key and the link to fetch."""

    key: str
    link: str

    def body(self) -> str:
        return json.dumps({"key": self.key, "link": self.link}, separators=(",", ":"))

    @classmethod
    def from_body(cls, text: str) -> CaptureRequest:
        """The request a message body holds; ValueError when it is not one."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a capture message is a JSON object")
        key, link = data.get("key"), data.get("link")
        if not isinstance(key, str) or not key or not isinstance(link, str):
            raise ValueError("a capture message needs a string key and link")
        return cls(key, link)


@dataclass
class EnqueueResult:
    """What enqueueing did: items sent, SQS requests, items not sent (left pending), and why."""

    sent: int = 0
    requests: int = 0
    failed: int = 0
    error: str | None = None  # the first failure

    def add(self, other: EnqueueResult) -> None:
        self.sent += other.sent
        self.requests += other.requests
        self.failed += other.failed
        self.error = self.error or other.error


class CaptureQueue:
    """Sends capture requests to one SQS queue. The client is built on first use."""

    def __init__(self, queue_url: str, *, sqs_client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._sqs = sqs_client

    @classmethod
    def from_settings(cls, settings: Settings) -> CaptureQueue | None:
        """The queue CAPTURE_QUEUE_URL names, or None: then items stay pending."""
        url = settings.capture.queue_url
        return cls(url) if url else None

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = make_sqs_client()
        return self._sqs

    def enqueue(self, requests: Iterable[CaptureRequest]) -> EnqueueResult:
        """Send every request, 10 per SendMessageBatch; never raises for an AWS failure."""
        from botocore.exceptions import BotoCoreError, ClientError

        from feed_archiver.storage.clients import describe_aws_error

        result = EnqueueResult()
        unique = list({r.key: r for r in requests}.values())  # one message per item
        for batch in _batches(unique, result):
            entries = [{"Id": str(i), "MessageBody": r.body()} for i, r in enumerate(batch)]
            result.requests += 1
            try:
                resp = self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                result.failed += len(batch)
                result.error = result.error or (
                    f"sending capture requests failed: {describe_aws_error(exc)}"
                )
                continue
            for failure in resp.get("Failed", []):
                result.failed += 1
                result.error = result.error or (
                    f"SQS refused the capture request of item {batch[int(failure['Id'])].key}: "
                    f"{failure.get('Code', '')} {failure.get('Message', '')}".strip()
                )
            result.sent += len(resp.get("Successful", []))
        return result


def _batches(requests: list[CaptureRequest], result: EnqueueResult) -> list[list[CaptureRequest]]:
    """Requests in batches SQS accepts: 10 at most, 250 KB of bodies at most.

    A request that could never be sent (a link of hundreds of KB) is counted failed.
    """
    batches: list[list[CaptureRequest]] = []
    size = 0
    for request in requests:
        length = len(request.body().encode("utf-8"))
        if length > BATCH_BYTES:
            result.failed += 1
            result.error = result.error or f"item {request.key}: its link is too long to queue"
            continue
        if not batches or len(batches[-1]) == BATCH_LIMIT or size + length > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(request)
        size += length
    return batches


def make_sqs_client() -> Any:
    """An SQS client with the archiver's bounded timeouts and standard retries."""
    import boto3
    from botocore.config import Config

    from feed_archiver.settings import aws_region

    config = Config(
        connect_timeout=5,
        read_timeout=20,
        retries={"mode": "standard", "max_attempts": 5},
        user_agent_extra="feed-archiver",
    )
    return boto3.session.Session(region_name=aws_region()).client("sqs", config=config)


def requests_for(
    documents: Sequence[tuple[Mapping[str, Any], Mapping[str, Any] | None]],
) -> list[CaptureRequest]:
    """Capture requests for committed (document, replaced index record) pairs: new items, and
    items whose link changed. Items without a link have nothing to capture."""
    wanted = []
    for document, previous in documents:
        link = document.get("link")
        if not isinstance(link, str) or not link:
            continue
        if previous is None or previous.get("link") != link:
            wanted.append(CaptureRequest(document["key"], link))
    return wanted
