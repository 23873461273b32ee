"""Overlapping runs against one moto server: no duplicate item, no double count, verify passes.

The stack sets reserved concurrency 1, yet a retried invocation, a manual
`feed-archiver run` or a second deployment can still overlap a scheduled run.
Two runs here are two threads, each with its own boto3 clients, talking HTTP
to one ThreadedMotoServer on 127.0.0.1. A rendezvous hook (tests/faults.py)
holds each run at a chosen AWS call until the other reaches it too, so the
runs interleave exactly where it matters; a jitter variant adds random
per-call delays instead. Two layers are tested: the per-feed lease (one run
archives, the other stands aside) and, with the lease defeated, the
conditional index transactions alone.
"""

from __future__ import annotations

import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer

from feed_archiver.run import FeedSummary, archive_feed
from feed_archiver.settings import Settings
from feed_archiver.stack import create_bucket, create_table
from feed_archiver.storage import Store
from tests.faults import Faults
from tests.hardening import (
    OVERLAP,
    SEED_BODY,
    Clock,
    assert_archive_exact,
    reliability,
    rss,
    rss_item,
    seed_ids,
)
from tests.httpserver import FeedServer, Reply

# serial: one overlap test at a time (each runs three threads against the moto server).
pytestmark = [pytest.mark.serial, pytest.mark.timeout(120)]

SEED_TOTAL = 10


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoHandler, "call_action", _one_at_a_time(DynamoHandler.call_action))
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


def _one_at_a_time(call_action: Callable[..., Any]) -> Callable[..., Any]:
    """DynamoDB applies every request atomically and isolates transactions from each other.
    moto's server does neither under concurrent requests (a cancelled transaction restores a
    snapshot taken before another one committed), so its DynamoDB requests are serialised."""
    lock = threading.Lock()

    def locked(self: Any) -> Any:
        with lock:
            return call_action(self)

    return locked


@dataclass
class Archive:
    endpoint: str
    bucket: str
    table: str

    def store(self) -> Store:
        """A Store with its own clients, as a separate Lambda invocation would have."""
        session = boto3.session.Session()
        config = Config(
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=32,
        )
        kwargs: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "region_name": "us-east-1",
            "config": config,
        }
        return Store(
            self.bucket,
            self.table,
            s3_client=session.client("s3", **kwargs),
            dynamodb_client=session.client("dynamodb", **kwargs),
        )


@pytest.fixture
def archive(moto_endpoint: str, template: dict[str, Any]) -> Archive:
    name = f"overlap-{uuid.uuid4().hex[:12]}"
    made = Archive(moto_endpoint, name, name)
    store = made.store()
    create_bucket(store.s3, made.bucket, template)
    create_table(store.ddb, made.table, template)
    return made


class Rendezvous:
    """Holds each run at a hook until every other run arrived there too or has finished."""

    def __init__(self, runs: int) -> None:
        self._runs = runs
        self._arrived = 0
        self._finished = 0
        self._cond = threading.Condition()

    def arrive(self, _: int = 0) -> None:
        with self._cond:
            self._arrived += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._arrived + self._finished >= self._runs, timeout=20)

    def finish(self) -> None:
        with self._cond:
            self._finished += 1
            self._cond.notify_all()


def jitter(seed: int) -> Callable[[int], None]:
    rng = random.Random(seed)
    lock = threading.Lock()

    def sleep(_: int) -> None:
        with lock:
            pause = rng.uniform(0, 0.004)
        time.sleep(pause)

    return sleep


ALL_CALLS = ("BatchGetItem", "PutObject", "UpdateItem", "TransactWriteItems", "PutItem")


def race(
    archive: Archive,
    settings: Settings,
    urls: list[str],
    *,
    meet_at: str | None,
    clocks: list[Clock],
    lease: bool = True,
    jitter_seed: int | None = None,
) -> list[FeedSummary]:
    """Run one archive_feed per URL at the same time, each in its own thread with its own store."""
    rendezvous = Rendezvous(len(urls))
    stores = []
    for index in range(len(urls)):
        store = archive.store()
        faults = Faults(store.s3, store.ddb)
        if meet_at:
            faults.before(meet_at, rendezvous.arrive, on={1})
        if jitter_seed is not None:
            for operation in ALL_CALLS:
                faults.before(operation, jitter(jitter_seed * 10 + index))
        if not lease:
            # As if the lease had expired under a slow run: only the transactions protect now.
            store.take_feed_lease = lambda *_, **__: True
        stores.append(store)
    results: list[FeedSummary | BaseException | None] = [None] * len(urls)

    def work(index: int) -> None:
        try:
            results[index] = archive_feed(stores[index], settings, urls[index], now=clocks[index])
        except BaseException as exc:  # handed to the test below
            results[index] = exc
        finally:
            rendezvous.finish()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for result in results:
        if not isinstance(result, FeedSummary):
            raise AssertionError(f"a run did not finish: {result!r}")
    return [r for r in results if isinstance(r, FeedSummary)]


def two_clocks(seconds_apart: int = 7) -> list[Clock]:
    first = Clock()
    return [first, Clock(first.moment + timedelta(seconds=seconds_apart))]


def assert_seed_once(archive: Archive) -> None:
    store = archive.store()
    docs = assert_archive_exact(store, ids=seed_ids())
    assert [d["revision"] for d in docs] == [1] * SEED_TOTAL


MEETING_POINTS = [
    ("both read the feed state first", "BatchGetItem"),
    ("both fetched the same body and are about to keep it", "PutObject"),
    ("both try to take the feed at the same moment", "UpdateItem"),
]


@pytest.mark.parametrize(
    "meet_at",
    [
        pytest.param(
            op,
            id=op,
            marks=reliability(
                OVERLAP,
                f"two runs of one feed, started together: {name}",
                "one run archives, the other stands aside (`busy`, no item write); every item "
                "once, counts exact, verify passes",
            ),
        )
        for name, op in MEETING_POINTS
    ],
)
def test_two_runs_of_one_feed_archive_each_item_once(
    archive: Archive, settings: Settings, feed_server: FeedServer, meet_at: str
) -> None:
    # Given one feed, and two runs held together at the same AWS call
    url = feed_server.route("/seed.xml", Reply(body=SEED_BODY))
    # When they run at the same time
    summaries = race(archive, settings, [url, url], meet_at=meet_at, clocks=two_clocks())
    # Then one archived everything, the other stood aside
    assert sorted(s.status for s in summaries) == ["busy", "ok"]
    assert sum(s.items_new for s in summaries) == SEED_TOTAL
    # And each item is stored once: one document version, one index record, one count
    assert_seed_once(archive)
    store = archive.store()
    versions = store.s3.list_object_versions(Bucket=archive.bucket, Prefix="items/")
    assert len(versions["Versions"]) == SEED_TOTAL


@pytest.mark.parametrize("repeat", [1, 2])
@pytest.mark.parametrize(
    "meet_at",
    [
        pytest.param(
            op,
            id=op,
            marks=reliability(
                OVERLAP,
                f"two runs of one feed holding it at once (lease expired), meeting at {op}",
                "the conditional index transactions alone keep it exact: the loser re-plans and "
                "finds each item stored; every item once, counts exact, verify passes",
            ),
        )
        for op in ("PutObject", "TransactWriteItems")
    ],
)
def test_without_the_lease_the_transactions_still_keep_items_once(
    archive: Archive, settings: Settings, feed_server: FeedServer, meet_at: str, repeat: int
) -> None:
    # Given two runs that both believe they hold the feed, fetched seconds apart
    url = feed_server.route("/seed.xml", Reply(body=SEED_BODY))
    # When both PUT documents and commit at the same time
    summaries = race(
        archive, settings, [url, url], meet_at=meet_at, clocks=two_clocks(repeat), lease=False
    )
    # Then both finish, and between them each item was committed exactly once
    assert [s.status for s in summaries] == ["ok", "ok"]
    assert sum(s.items_new for s in summaries) == SEED_TOTAL
    assert sum(s.items_unchanged + s.items_older for s in summaries) == SEED_TOTAL
    assert_seed_once(archive)


@pytest.mark.parametrize("seed", range(4))
@reliability(
    OVERLAP,
    "two runs of one feed with random delays on every AWS call (4 timings)",
    "whatever the interleaving: every item once, counts exact, verify passes",
)
def test_two_runs_with_random_timing(
    archive: Archive, settings: Settings, feed_server: FeedServer, seed: int
) -> None:
    url = feed_server.route("/seed.xml", Reply(body=SEED_BODY))
    summaries = race(
        archive, settings, [url, url], meet_at=None, clocks=two_clocks(seed), jitter_seed=seed
    )
    assert {s.status for s in summaries} <= {"ok", "busy", "not_modified"}
    assert sum(s.items_new for s in summaries) == SEED_TOTAL
    assert_seed_once(archive)


@pytest.mark.parametrize(
    ("other_body", "same"),
    [
        pytest.param(SEED_BODY, True, id="same-text"),
        pytest.param(
            SEED_BODY.replace(b"<description>", b"<description>Mirror: "), False, id="other-text"
        ),
    ],
)
@reliability(
    OVERLAP,
    "two different feeds that list the same items, run at the same time",
    "each shared item is one item, counted once (under the feed that committed it first); "
    "verify passes",
)
def test_two_feeds_sharing_items_count_each_once(
    archive: Archive,
    settings: Settings,
    feed_server: FeedServer,
    other_body: bytes,
    same: bool,
) -> None:
    # Given two feeds listing the same ten items (same links), held together at the commit
    first = feed_server.route("/seed.xml", Reply(body=SEED_BODY))
    second = feed_server.route("/mirror.xml", Reply(body=other_body))
    # When they run at the same time
    summaries = race(
        archive, settings, [first, second], meet_at="TransactWriteItems", clocks=two_clocks()
    )
    # Then both succeed and each item exists once, counted once
    assert [s.status for s in summaries] == ["ok", "ok"]
    assert sum(s.items_new for s in summaries) == SEED_TOTAL
    store = archive.store()
    docs = assert_archive_exact(store, ids=seed_ids())
    assert {d["feed_url"] for d in docs} <= {first, second}
    if same:
        assert [d["revision"] for d in docs] == [1] * SEED_TOTAL


@reliability(
    OVERLAP,
    "two runs of one feed whose text changed between their fetches",
    "the later text wins and is never rolled back by the slower run; counts exact",
)
def test_an_older_fetch_never_rolls_back_a_newer_one(
    archive: Archive, settings: Settings, feed_server: FeedServer
) -> None:
    # Given the feed archived once, then two runs without the lease: the first fetched the old
    # text, the second (7 s later) fetched an edited one
    url = feed_server.route("/feed.xml", Reply(body=rss([rss_item(1), rss_item(2)])))
    store = archive.store()
    clock = Clock()
    assert archive_feed(store, settings, url, now=clock).items_new == 2
    old = rss([rss_item(1, description="old text"), rss_item(2)])
    new = rss([rss_item(1, description="new text"), rss_item(2)])
    feed_server.route("/feed.xml", Reply(body=old), Reply(body=new))
    clock.advance(hours=1)
    later = Clock(clock.moment + timedelta(seconds=7))
    # When the run with the newer text commits first and the older one after it
    order = Rendezvous(2)
    newer_store, older_store = archive.store(), archive.store()
    older_faults = Faults(older_store.s3, older_store.ddb)
    older_fetched = threading.Event()
    older_faults.before("PutObject", lambda _: older_fetched.set(), on={1})  # its raw snapshot
    older_faults.before("TransactWriteItems", order.arrive, on={1})
    for s in (newer_store, older_store):
        s.take_feed_lease = lambda *_, **__: True
    older_result: list[FeedSummary] = []
    older_thread = threading.Thread(
        target=lambda: older_result.append(archive_feed(older_store, settings, url, now=clock))
    )
    older_thread.start()
    assert older_fetched.wait(30)  # it got the old text; the next request gets the new one
    newer = archive_feed(newer_store, settings, url, now=later)
    order.finish()
    older_thread.join(30)
    # Then the item holds the newer text at revision 2, and the older run left it alone
    (doc,) = [d for d in assert_archive_exact(archive.store(), count=2) if d["link"].endswith("/1")]
    assert (doc["summary"], doc["revision"]) == ("new text", 2)
    assert newer.items_updated == 1
    assert older_result and (older_result[0].items_updated, older_result[0].items_older) == (0, 1)
