"""moto-backed archives for the benchmarks, and the meter that counts (and delays) AWS requests."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from feed_archiver.settings import FetchOptions, Settings
from feed_archiver.storage import Store

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "bench-archive-bucket"
TABLE = "bench-archive-table"
MIB = 1024 * 1024

WRITES = frozenset(
    {
        "PutObject",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
        "BatchWriteItem",
        "DeleteObject",
    }
)


_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto's fake key
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
_DROPPED_AWS_ENV = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN")


@contextlib.contextmanager
def fake_credentials() -> Iterator[None]:
    """Fake credentials and no endpoint or profile while inside: whatever moto misses fails
    for want of real credentials, and never reaches AWS. The environment is restored after."""
    names = (*_FAKE_AWS_ENV, *_DROPPED_AWS_ENV)
    saved = {name: os.environ.get(name) for name in names}
    for name in _DROPPED_AWS_ENV:
        os.environ.pop(name, None)
    os.environ.update(_FAKE_AWS_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child interpreter: `base` (default: ours) with the repo importable."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


@cache
def template() -> dict[str, Any]:
    from feed_archiver.stack import load_template

    return load_template(ROOT / "template.yaml")


def bench_settings(url: str, *, s3_concurrency: int = 16) -> Settings:
    """Production settings, except that the local server is allowed and big synthetic feeds fit."""
    return Settings(
        archive_bucket=BUCKET,
        archive_table=TABLE,
        feed_urls=(url,),
        fetch=FetchOptions(allow_private_networks=True, max_bytes=256 * MIB),
        s3_concurrency=s3_concurrency,
    )


class AwsMeter:
    """Counts AWS API calls on the clients it is attached to, and optionally delays each one.

    The delay is a sleep in the calling thread before the request is sent, so
    requests made concurrently from a thread pool wait at the same time, as
    their round trips would in AWS (see `check_latency_overlaps`).
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, *clients: Any) -> AwsMeter:
        for client in clients:
            client.meta.events.register("before-call.*.*", self._before_call)
        return self

    def _before_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1
        if self.latency:
            time.sleep(self.latency)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITES)


@dataclass
class MotoArchive:
    """An empty archive (bucket and table from template.yaml) in moto, with metered clients."""

    s3: Any
    dynamodb: Any
    store: Store
    meter: AwsMeter


@contextlib.contextmanager
def moto_archive(latency: float = 0.0) -> Iterator[MotoArchive]:
    """A fresh moto archive for one scenario; everything in it is dropped on exit.

    The clients are the production ones (`feed_archiver.storage.clients.make_clients`: same
    retries and connection pool). moto's transactions are patched for the
    duration (see benchmarks.moto_patches).
    """
    from moto import mock_aws

    from benchmarks.moto_patches import cheap_transaction_snapshots
    from feed_archiver.stack import create_bucket, create_table
    from feed_archiver.storage.clients import make_clients

    with fake_credentials(), mock_aws(), cheap_transaction_snapshots():
        clients = make_clients()
        create_bucket(clients.s3, BUCKET, template())
        create_table(clients.dynamodb, TABLE, template())
        meter = AwsMeter(latency).attach(clients.s3, clients.dynamodb)
        store = Store(BUCKET, TABLE, s3_client=clients.s3, dynamodb_client=clients.dynamodb)
        yield MotoArchive(clients.s3, clients.dynamodb, store, meter)


def check_latency_overlaps(archive: MotoArchive, *, requests: int = 32, threads: int = 16) -> float:
    """Wall time of `requests` metered calls made from `threads` threads, in round trips.

    About requests / threads when the modelled delays overlap as in AWS, about
    `requests` if they were serialised. Returned so the report can show it.
    """
    from concurrent.futures import ThreadPoolExecutor

    latency = archive.meter.latency
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda _: archive.s3.head_bucket(Bucket=BUCKET), range(requests)))
    return (time.perf_counter() - started) / latency if latency else 0.0


class MotoClock:
    """Seconds spent inside moto answering requests (summed over threads).

    moto answers every Query by walking the whole table (DynamoDB reads only
    the partition), so for read figures the time moto spends is subtracted and
    reported apart: what is left is the client's own work.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def running(self) -> Iterator[MotoClock]:
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.process_request

        def timed(stubber: Any, request: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(stubber, request)
            finally:
                with self._lock:
                    self.seconds += time.perf_counter() - started

        BotocoreStubber.process_request = timed  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            BotocoreStubber.process_request = original  # type: ignore[method-assign]
