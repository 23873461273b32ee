"""AWS faults, crashes and the Lambda deadline: nothing is lost, nothing is counted twice.

Faults are injected on the moto clients with botocore event hooks
(tests/faults.py). Each test makes a run meet the fault, then lets the next
scheduled run (an hour later, no fault) happen, and checks the archive: every
item of the feed stored exactly once, revision 1 unless edited, the counts
exactly the seed's, and verify without drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from feed_archiver import handler as handler_module
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.run import FeedSummary, run_feeds
from feed_archiver.settings import Settings
from feed_archiver.storage import Store
from feed_archiver.verify import verify
from tests.conftest import BUCKET
from tests.faults import (
    Countdown,
    FakeLambdaContext,
    Faults,
    SimulatedCrash,
    cancelled_transaction,
    client_error,
)
from tests.hardening import (
    AWS,
    SEED_BODY,
    Clock,
    assert_archive_exact,
    documents,
    one_line,
    reliability,
    rss,
    rss_item,
    seed_ids,
)
from tests.httpserver import FeedServer, Reply

pytestmark = pytest.mark.timeout(90)

SEED_COUNTS = {
    "total": 10,
    "by_category": {"Project News": 8, "Expert Voice": 1, "ICMPD Around the Globe": 1},
    "by_month": {"2019-07": 6, "2019-06": 4},
}
EDITED_TITLE = (
    "Project News: MMD Support Project – Rabat Process",
    "Expert voice: MMD Support Project – Rabat Process",
)


@pytest.fixture
def faults(store: Store) -> Iterator[Faults]:
    injector = Faults(store.s3, store.ddb)
    yield injector
    injector.clear()


@pytest.fixture
def seed_url(feed_server: FeedServer) -> str:
    return feed_server.route("/seed.xml", Reply(body=SEED_BODY, etag='"seed-1"'))


def counts(store: Store) -> dict[str, Any]:
    stats = stats_from_cells(parse_cells(store.read_cells())).as_dict()
    return {k: stats[k] for k in SEED_COUNTS}


def assert_seed_exact(store: Store) -> None:
    """Every seed item exactly once, at revision 1, and the seed's exact counts."""
    docs = assert_archive_exact(store, ids=seed_ids())
    assert [d["revision"] for d in docs] == [1] * 10
    assert counts(store) == SEED_COUNTS


def run(store: Store, settings: Settings, url: str, clock: Clock, **kw: Any) -> FeedSummary:
    (feed,) = run_feeds(store, settings, [url], now=clock, **kw).feeds
    return feed


def next_run(store: Store, settings: Settings, url: str, clock: Clock) -> FeedSummary:
    """The next scheduled run, an hour later, without any fault."""
    clock.advance(hours=1)
    return run(store, settings, url, clock)


# --- S3 ---------------------------------------------------------------------------------------


@reliability(
    AWS,
    "S3 PUT of two item documents fails part-way through a run (retries exhausted)",
    "the run reports `partial` with the S3 error, commits the other items and keeps the feed's "
    "validators; verify is exact at once; the next run stores the two, once",
)
def test_failed_item_puts_are_archived_by_the_next_run(
    store: Store, settings: Settings, seed_url: str, faults: Faults
) -> None:
    # Given S3 failing the 3rd and 6th item PUT (PutObject #1 is the raw snapshot)
    faults.fail("PutObject", on={4, 7}, code="InternalError")
    clock = Clock()
    # When the seed is archived
    first = run(store, settings, seed_url, clock)
    # Then the run is partial, says why, and left nothing half-done
    assert (first.status, first.items_new) == ("partial", 8)
    assert one_line(first.error) and "2 item writes failed" in first.error
    assert "InternalError" in first.error
    state = store.get_feed_state(seed_url)
    assert (state.etag, state.body_hash, state.consecutive_failures) == (None, None, 1)
    assert_archive_exact(store, count=8)
    # When the next run comes without the fault
    faults.clear()
    second = next_run(store, settings, seed_url, clock)
    # Then the two missing items are stored, and everything once
    assert (second.status, second.items_new, second.bodies_resumed) == ("ok", 2, 1)
    assert store.get_feed_state(seed_url).etag == '"seed-1"'
    assert_seed_exact(store)


@reliability(
    AWS,
    "S3 throttles (503 SlowDown) some PUTs",
    "botocore's retries absorb it within the run: every item stored once, the run is `ok`",
)
def test_throttled_puts_are_retried_within_the_run(
    store: Store, settings: Settings, seed_url: str, faults: Faults
) -> None:
    faults.throttle("PutObject", on={2, 3, 4})
    feed = run(store, settings, seed_url, Clock())
    assert (feed.status, feed.items_new) == ("ok", 10)
    assert faults.calls["PutObject"] == 11  # retries happen below the call
    assert_seed_exact(store)


@reliability(
    AWS,
    "S3 refuses every write (the raw snapshot first)",
    "the feed fails with one line before any item is written; the next run archives everything",
)
def test_s3_down_for_a_whole_run(
    store: Store, settings: Settings, seed_url: str, faults: Faults
) -> None:
    faults.fail("PutObject", code="ServiceUnavailable", status=503)
    clock = Clock()
    first = run(store, settings, seed_url, clock)
    assert first.status == "failed"
    assert (
        first.error
        == "writing the raw feed snapshot failed: ServiceUnavailable: injected ServiceUnavailable"
    )
    assert documents(store) == [] and store.read_cells() == {}
    faults.clear()
    assert next_run(store, settings, seed_url, clock).items_new == 10
    assert_seed_exact(store)


# --- DynamoDB ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason", ["ThrottlingError", "TransactionConflict", "ProvisionedThroughputExceeded"]
)
@reliability(
    AWS,
    "the DynamoDB transaction is cancelled twice (throttling or a conflicting transaction)",
    "retried within the run with the same request token: every item once, counts exact",
)
def test_a_cancelled_transaction_is_retried(
    store: Store, settings: Settings, seed_url: str, faults: Faults, reason: str
) -> None:
    faults.raise_("TransactWriteItems", cancelled_transaction(reason, "None"), on={1, 2})
    feed = run(store, settings, seed_url, Clock())
    assert (feed.status, feed.items_new) == ("ok", 10)
    assert_seed_exact(store)


@reliability(
    AWS,
    "the DynamoDB transaction is throttled until botocore gives up",
    "the run is `partial` and says why; the documents already in S3 are reported by verify as "
    "unacknowledged; the next run indexes each once (revision 1, counts exact)",
)
def test_a_throttled_transaction_is_committed_by_the_next_run(
    store: Store, settings: Settings, seed_url: str, faults: Faults
) -> None:
    # Given every transaction throttled in the first run
    faults.fail("TransactWriteItems", code="ThrottlingException", status=400)
    clock = Clock()
    first = run(store, settings, seed_url, clock)
    assert (first.status, first.items_new) == ("partial", 0)
    assert "ThrottlingException" in (first.error or "")
    # Then the stored documents are not acknowledged yet, and no count moved
    report = verify(store)
    assert sum("unacknowledged" in line for line in report.drift) == 10
    assert store.read_cells() == {}
    # When the next run comes
    faults.clear()
    second = next_run(store, settings, seed_url, clock)
    # Then each item is indexed once, at revision 1
    assert (second.status, second.items_new) == ("ok", 10)
    assert_seed_exact(store)


@reliability(
    AWS,
    "the transaction commits but its response is lost (connection closed)",
    "the run is `partial`; the next run finds every item already there: nothing counted twice",
)
def test_a_lost_transaction_response_is_not_counted_twice(
    store: Store, settings: Settings, seed_url: str, faults: Faults
) -> None:
    faults.lose_response("TransactWriteItems", on={1})
    clock = Clock()
    first = run(store, settings, seed_url, clock)
    assert first.status == "partial"
    assert counts(store) == SEED_COUNTS  # it did commit
    faults.clear()
    second = next_run(store, settings, seed_url, clock)
    assert (second.status, second.items_new, second.items_unchanged) == ("ok", 0, 10)
    assert_seed_exact(store)


@reliability(
    AWS,
    "the feed-state write fails at the end of a run",
    "the run reports it (`failed`, one line); the items it committed stay exactly once; the "
    "next run finds them unchanged and records the state",
)
def test_a_failed_feed_state_write_loses_nothing(
    store: Store, settings: Settings, seed_url: str, faults: Faults
) -> None:
    faults.fail("PutItem", on={1}, code="InternalServerError")
    clock = Clock()
    first = run(store, settings, seed_url, clock)
    assert first.status == "failed" and first.items_new == 10
    assert one_line(first.error) and "writing the feed state failed" in (first.error or "")
    assert_seed_exact(store)
    faults.clear()
    second = next_run(store, settings, seed_url, clock)
    assert (second.status, second.items_unchanged) == ("ok", 10)
    assert store.get_feed_state(seed_url).etag == '"seed-1"'
    assert_seed_exact(store)


@pytest.mark.parametrize(
    ("operation", "doing"),
    [
        pytest.param("BatchGetItem", "reading the feed state", id="state-read"),
        pytest.param("UpdateItem", "taking the feed's lease", id="lease"),
    ],
)
@reliability(
    AWS,
    "DynamoDB fails reading the feed state or taking the feed's lease",
    "the feed fails with one line before any item write; the next run archives everything",
)
def test_failures_before_the_first_item_write(
    store: Store,
    settings: Settings,
    seed_url: str,
    faults: Faults,
    operation: str,
    doing: str,
) -> None:
    faults.fail(operation, on={1}, code="InternalServerError")
    clock = Clock()
    first = run(store, settings, seed_url, clock)
    assert first.status == "failed" and (first.error or "").startswith(f"{doing} failed")
    assert documents(store) == []
    faults.clear()
    assert next_run(store, settings, seed_url, clock).items_new == 10
    assert_seed_exact(store)


# --- crashes -----------------------------------------------------------------------------------

# (where, operation, call number, after the call took effect, the dead run held the feed)
CRASH_POINTS = [
    ("after the raw snapshot", "PutObject", 1, True, False),
    ("after recording the body as unfinished", "UpdateItem", 1, True, True),
    ("after the 4th item document, before any index write", "PutObject", 5, True, True),
    ("between the S3 writes and the index transaction", "TransactWriteItems", 1, False, True),
    ("after the index transaction, before the feed state", "TransactWriteItems", 1, True, True),
    ("before the feed-state write", "PutItem", 1, False, True),
    ("after the feed-state write, before settling the body", "UpdateItem", 2, False, True),
]


@pytest.mark.parametrize(
    ("operation", "call", "after", "held"),
    [
        pytest.param(
            op,
            n,
            after,
            held,
            id=name.replace(" ", "-"),
            marks=reliability(
                AWS,
                f"the process dies {name}",
                "the next run (once the dead run's lease has expired) stores every item exactly "
                "once, counts exact, verify passes",
            ),
        )
        for name, op, n, after, held in CRASH_POINTS
    ],
)
def test_a_crash_anywhere_is_repaired_by_the_next_run(
    store: Store,
    settings: Settings,
    seed_url: str,
    faults: Faults,
    feed_server: FeedServer,
    operation: str,
    call: int,
    after: bool,
    held: bool,
) -> None:
    # Given a run that dies at that point (a BaseException: nothing in the code catches it)
    faults.crash(operation, on={call}, after=after)
    clock = Clock()
    with pytest.raises(SimulatedCrash):
        run(store, settings, seed_url, clock)
    faults.clear()
    # When a run starts while the dead run's lease still holds, it leaves the feed alone
    if held:
        clock.advance(minutes=5)
        requests = len(feed_server.requests("/seed.xml"))
        early = run(store, settings, seed_url, clock)
        assert early.status == "busy" and "another run" in (early.error or "")
        assert len(feed_server.requests("/seed.xml")) == requests
    # When the next scheduled run comes
    second = next_run(store, settings, seed_url, clock)
    # Then every item is stored exactly once and the counts are exact
    assert second.status in ("ok", "not_modified"), second
    assert_seed_exact(store)


@reliability(
    AWS,
    "the process dies mid-run, and the feed has dropped those items before the next run",
    "the next run finishes the dead run's body from its raw/ snapshot: the dropped items are "
    "archived once; the new ones too",
)
def test_a_crash_loses_nothing_even_if_the_feed_changed(
    store: Store, settings: Settings, seed_url: str, faults: Faults, feed_server: FeedServer
) -> None:
    # Given a run that dies after storing 5 documents, before indexing any
    faults.crash("PutObject", on={6}, after=True)
    clock = Clock()
    with pytest.raises(SimulatedCrash):
        run(store, settings, seed_url, clock)
    faults.clear()
    # And a feed that now lists only two new items
    fresh = [rss_item("fresh-1"), rss_item("fresh-2")]
    feed_server.route("/seed.xml", Reply(body=rss(fresh), etag='"seed-2"'))
    # When the next run comes
    second = next_run(store, settings, seed_url, clock)
    # Then the dead run's items and the new ones are all archived, once
    assert (second.status, second.bodies_resumed, second.items_new) == ("ok", 1, 12)
    docs = assert_archive_exact(store, count=12)
    assert {d["link"] for d in docs} >= {
        "https://example.org/news/fresh-1",
        "https://example.org/news/fresh-2",
    }
    # And the dead run's items carry the time they were fetched, not the recovery's
    seed_docs = [d for d in docs if "icmpd" in d["link"]]
    assert {d["first_seen"] for d in seed_docs} == {"2019-07-16T14:00:00Z"}


@reliability(
    AWS,
    "the process dies after writing an edited item's new S3 version, before its index update",
    "verify reports the drift until the next run; that run commits revision 2 exactly once and "
    "moves the counts once",
)
def test_a_crash_during_an_edit_is_repaired_by_the_next_run(
    store: Store, settings: Settings, seed_url: str, faults: Faults, feed_server: FeedServer
) -> None:
    # Given the archived seed, then a feed in which one item changed category
    clock = Clock()
    assert run(store, settings, seed_url, clock).items_new == 10
    edited = SEED_BODY.decode().replace(*EDITED_TITLE, 1).encode()
    feed_server.route("/seed.xml", Reply(body=edited, etag='"seed-2"'))
    # When the run that stores the edit dies after the new S3 version
    faults.crash("PutObject", on={faults.calls["PutObject"] + 2}, after=True)
    clock.advance(hours=1)
    with pytest.raises(SimulatedCrash):
        run(store, settings, seed_url, clock)
    faults.clear()
    # Then verify sees the unacknowledged revision
    assert not verify(store).ok
    # When the next run comes
    second = next_run(store, settings, seed_url, clock)
    # Then the edit is revision 2, once, and the counts moved once
    assert (second.status, second.items_updated) == ("ok", 1)
    docs = assert_archive_exact(store, ids=seed_ids())
    assert sorted(d["revision"] for d in docs) == [1] * 9 + [2]
    assert counts(store)["by_category"] == {
        "Project News": 7,
        "Expert Voice": 2,
        "ICMPD Around the Globe": 1,
    }


# --- the Lambda deadline -----------------------------------------------------------------------


@pytest.fixture
def lambda_env(handler_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    handler_env.setenv("DEADLINE_MARGIN_SECONDS", "30")
    handler_env.setenv("S3_CONCURRENCY", "1")  # one PUT at a time: the cut-off is exact
    return handler_env


@reliability(
    AWS,
    "the Lambda deadline approaches mid-feed (less than DEADLINE_MARGIN_SECONDS left)",
    "no new item is started; what was started is committed (verify exact at once); the feed "
    "is `deferred`, not failed, and the invocation succeeds; the next invocation archives the "
    "rest, each item once",
)
def test_the_deadline_stops_new_items_and_the_next_run_finishes(
    store: Store,
    faults: Faults,
    feed_server: FeedServer,
    lambda_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    # Given the seed and a second feed, and an invocation whose time runs out as S3 is written:
    # 40 s left, each PUT costing 3 s, a 30 s margin: room for the raw snapshot and 3 items
    seed = feed_server.route("/seed.xml", Reply(body=SEED_BODY))
    other = feed_server.route("/other.xml", Reply(body=rss([rss_item(1), rss_item(2)])))
    lambda_env.setenv("FEED_URLS", f"{seed},{other}")
    countdown = Countdown(remaining_ms=40_000, per_call_ms=3_000)
    _, handler_store = handler_module._setup()  # the handler's own clients
    faults.attach(handler_store.s3)
    faults.before("PutObject", countdown.tick)
    # When the handler runs
    result = handler_module.lambda_handler(
        {"id": "short"}, FakeLambdaContext(lambda: countdown.remaining_ms)
    )
    # Then it stopped starting items, committed what it started, and deferred the rest
    first, second = result["feeds"]
    assert (first["status"], first["items_new"]) == ("deferred", 3)
    assert "deadline" in first["error"]
    assert (second["status"], second["error"]) == ("deferred", "not started: out of time")
    assert_archive_exact(store, count=3)
    state = store.get_feed_state(seed)
    assert (state.consecutive_failures, state.body_hash) == (0, None)
    # When the next invocation has its full time
    faults.clear()
    result = handler_module.lambda_handler({"id": "full"}, lambda_context)
    # Then the rest of the seed and the other feed are archived, each item once
    first, second = result["feeds"]
    assert (first["status"], first["items_new"], first["bodies_resumed"]) == ("ok", 7, 1)
    assert (second["status"], second["items_new"]) == ("ok", 2)
    assert counts_for(store, seed) == 10
    assert_archive_exact(store, count=12)


def counts_for(store: Store, feed_url: str) -> int:
    from feed_archiver.archive_format import feed_key

    cells = parse_cells(store.read_cells())
    return stats_from_cells(cells, feeds={feed_key(feed_url)}).total


@reliability(
    AWS,
    "the deadline is already past when a run starts",
    "no feed is fetched; each is reported `deferred`; nothing is written",
)
def test_no_feed_starts_after_the_deadline(
    store: Store, settings: Settings, seed_url: str, feed_server: FeedServer
) -> None:
    summary = run_feeds(store, settings, [seed_url], now=Clock(), out_of_time=lambda: True)
    assert [(f.status, f.error) for f in summary.feeds] == [
        ("deferred", "not started: out of time")
    ]
    assert not summary.all_failed and summary.failed == []
    assert feed_server.requests("/seed.xml") == []
    assert documents(store) == []


# --- a fault nobody foresaw ---------------------------------------------------------------------


@reliability(
    AWS,
    "an unexpected exception inside one feed's run (a bug, an unforeseen input)",
    "recorded in that feed's state and summary as one line; the other feeds are archived",
)
def test_an_unexpected_exception_is_recorded_not_raised(
    store: Store,
    settings: Settings,
    seed_url: str,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a parser that blows up on one feed only
    import feed_archiver.run as run_module

    real = run_module.parse_feed
    bad = feed_server.route("/bad.xml", Reply(body=rss([rss_item("boom")])))

    def parse(body: bytes, **options: Any) -> Any:
        if b"boom" in body:
            raise KeyError("something nobody expected")
        return real(body, **options)

    monkeypatch.setattr(run_module, "parse_feed", parse)
    # When both feeds run
    broken, good = run_feeds(store, settings, [bad, seed_url], now=Clock()).feeds
    # Then the bad one is recorded, and the good one archived
    assert broken.status == "failed"
    assert broken.error == "unexpected error: KeyError: 'something nobody expected'"
    assert store.get_feed_state(bad).last_error == broken.error
    assert good.items_new == 10
    assert_seed_exact(store)


def test_the_fault_helpers_really_fault(store: Store, faults: Faults) -> None:
    # The oracle: an injected error reaches the caller as botocore raises it
    faults.fail("GetItem", on={1}, code="Boom")
    with pytest.raises(Exception, match="Boom"):
        store.get_feed_state("https://example.org/feed")
    assert client_error("X", "Y").response["Error"]["Code"] == "Y"
    assert dataclasses.is_dataclass(Countdown(1, 1))


@reliability(
    AWS,
    "one transaction of a large body fails while the others commit",
    "the summary counts exactly what was committed; the next run adds the rest, each once",
)
def test_a_failed_transaction_among_several_is_counted_exactly(
    store: Store, settings: Settings, feed_server: FeedServer, faults: Faults
) -> None:
    # Given a body that needs several transactions, the second of which fails
    url = feed_server.route("/big.xml", Reply(body=rss([rss_item(n) for n in range(110)])))
    faults.fail("TransactWriteItems", on={2}, code="InternalServerError")
    clock = Clock()
    first = run(store, settings, url, clock)
    # Then the summary counts exactly the items that are indexed
    assert first.status == "partial"
    indexed = len(list(store.scan_index()))
    assert 0 < indexed < 110 and first.items_new == indexed
    # And the next run adds the rest, each once
    faults.clear()
    second = next_run(store, settings, url, clock)
    assert (second.status, first.items_new + second.items_new) == ("ok", 110)
    assert_archive_exact(store, count=110)


@reliability(
    AWS,
    "an unfinished body whose raw/ snapshot has expired before the next run",
    "the next run says so in one line, forgets it and archives the current body: it never "
    "fails for it again",
)
def test_an_unfinished_body_without_its_snapshot_is_given_up_once(
    store: Store, settings: Settings, seed_url: str, faults: Faults
) -> None:
    # Given a run that died mid-feed, and its raw snapshot gone (the lifecycle rule expired it)
    faults.crash("TransactWriteItems", on={1})
    clock = Clock()
    with pytest.raises(SimulatedCrash):
        run(store, settings, seed_url, clock)
    faults.clear()
    for key in list(store.list_raw_keys()):
        store.s3.delete_object(Bucket=BUCKET, Key=key)
    # When the next run comes
    second = next_run(store, settings, seed_url, clock)
    # Then it notes the lost body once and archives the feed as fetched now
    assert (second.status, second.items_new) == ("ok", 10)
    assert "could not be finished" in (second.error or "")
    third = next_run(store, settings, seed_url, clock)
    assert (third.status, third.error) == ("not_modified", None)
    assert_seed_exact(store)


def test_a_storage_failure_does_not_make_the_feed_wait(
    store: Store, settings: Settings, seed_url: str, faults: Faults
) -> None:
    # Given S3 refusing every write during a run
    faults.fail("PutObject", on=set(range(1, 50)), code="InternalError")
    clock = Clock()
    first = run(store, settings, seed_url, clock)
    assert first.status == "failed" and "InternalError" in (first.error or "")
    # Then the failure is counted, but the feed is not put on back-off: it was not its fault
    state = store.get_feed_state(seed_url)
    assert (state.consecutive_failures, state.next_attempt_after) == (1, None)
    # And a run five minutes later, with S3 back, archives everything
    faults.clear()
    clock.advance(minutes=5)
    second = run(store, settings, seed_url, clock)
    assert (second.status, second.items_new) == ("ok", 10)
    assert_archive_exact(store, count=10)
