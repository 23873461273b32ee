"""A failing feed backs off: counted failures, doubling waits capped at a day, 410 = inactive.

The run's clock is injected (tests.hardening.Clock), so a week of hourly
runs takes a moment and no assertion depends on real time.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.data import load_archive
from dashboard.frames import feeds_frame, status_text
from feed_archiver import handler as handler_module
from feed_archiver.run import run_feeds
from feed_archiver.settings import Settings, load_settings
from feed_archiver.storage import FeedState, Store
from tests.conftest import BUCKET, SEED_XML, TABLE, CallCounter
from tests.faults import FakeLambdaContext
from tests.hardening import BACKOFF, SEED_BODY, Clock, assert_archive_exact, reliability
from tests.httpserver import FeedServer, Reply

pytestmark = pytest.mark.timeout(60)

HOUR = 3600.0


def hours_until(state: FeedState, moment: datetime) -> float:
    assert state.next_attempt_after is not None
    retry = datetime.strptime(state.next_attempt_after, "%Y-%m-%dT%H:%M:%SZ")
    return round((retry - moment.replace(tzinfo=None)).total_seconds() / HOUR, 2)


@pytest.fixture
def no_retries(settings: Settings) -> Settings:
    """One request per attempt: the back-off between runs is what is measured."""
    return dataclasses.replace(settings, fetch=dataclasses.replace(settings.fetch, max_retries=0))


@reliability(
    BACKOFF,
    "consecutive failures of a feed",
    "counted in the feed state; each wait doubles from an hour and is capped at a day "
    "(0.9, 1.8, 3.6, 7.2, 14.4, 21.6, 21.6 h: 10% early for the schedule's jitter)",
)
def test_each_failure_doubles_the_wait_up_to_the_cap(
    store: Store, no_retries: Settings, feed_server: FeedServer
) -> None:
    # Given a feed that always answers 503
    url = feed_server.route("/down", Reply(status=503, body=b"down"))
    clock = Clock()
    waits, counts = [], []
    # When it is tried each time its back-off has passed
    for _ in range(8):
        (feed,) = run_feeds(store, no_retries, [url], now=clock).feeds
        assert feed.status == "failed"
        state = store.get_feed_state(url)
        counts.append(state.consecutive_failures)
        waits.append(hours_until(state, clock.moment))
        clock.moment = datetime.strptime(
            state.next_attempt_after or "", "%Y-%m-%dT%H:%M:%SZ"
        ).replace(tzinfo=clock.moment.tzinfo) + timedelta(seconds=1)
    # Then the failures are counted and the wait doubles up to a day (less 10%)
    assert counts == [1, 2, 3, 4, 5, 6, 7, 8]
    assert waits == [0.9, 1.8, 3.6, 7.2, 14.4, 21.6, 21.6, 21.6]
    assert state.failing_since == "2019-07-16T14:00:00Z"


@reliability(
    BACKOFF,
    "a run while the feed is backing off",
    "the feed is skipped: no HTTP request, no AWS write, one AWS read; the summary says "
    "until when and why",
)
def test_a_feed_backing_off_costs_no_request_and_no_write(
    store: Store, no_retries: Settings, feed_server: FeedServer, calls: CallCounter
) -> None:
    # Given a feed that failed once
    url = feed_server.route("/down", Reply(status=500, body=b"x"))
    clock = Clock()
    run_feeds(store, no_retries, [url], now=clock)
    requests_before = len(feed_server.requests("/down"))
    calls.reset()
    # When the next hourly run comes before its back-off has passed
    clock.advance(minutes=30)
    (feed,) = run_feeds(store, no_retries, [url], now=clock).feeds
    # Then it is skipped without touching the feed's server or writing anything
    assert feed.status == "backing_off"
    assert feed.next_attempt_after == "2019-07-16T14:54:00Z"
    assert feed.error is not None and "HTTP 500" in feed.error
    assert len(feed_server.requests("/down")) == requests_before
    assert (calls.writes, calls.total) == (0, 1)


@reliability(
    BACKOFF,
    "a feed dead for a week, with the archiver scheduled every hour",
    "12 attempts instead of 168; a skipped run sends nothing to the feed",
)
def test_a_dead_feed_costs_almost_nothing_over_a_week(
    store: Store, no_retries: Settings, feed_server: FeedServer, calls: CallCounter
) -> None:
    # Given a dead feed and a good one, run every hour for a week
    dead = feed_server.route("/dead", Reply(status=502, body=b"bad gateway"))
    good = feed_server.route("/seed.xml", Reply(body=SEED_BODY, etag='"seed"'))
    clock = Clock()
    statuses = []
    for _ in range(7 * 24):
        dead_feed, good_feed = run_feeds(store, no_retries, [dead, good], now=clock).feeds
        statuses.append(dead_feed.status)
        assert good_feed.status in ("ok", "not_modified")
        clock.advance(hours=1)
    # Then the dead feed was tried 12 times, each try one request
    assert statuses.count("failed") == 12
    assert statuses.count("backing_off") == 7 * 24 - 12
    assert len(feed_server.requests("/dead")) == 12
    assert store.get_feed_state(dead).consecutive_failures == 12
    # And the good feed kept being archived (and is exact)
    assert_archive_exact(store, count=10)


@reliability(
    BACKOFF,
    "`--force` while the feed is backing off",
    "the feed is fetched anyway; the failure count goes on",
)
def test_force_ignores_the_back_off(
    store: Store, no_retries: Settings, feed_server: FeedServer
) -> None:
    url = feed_server.route("/down", Reply(status=500, body=b"x"))
    clock = Clock()
    run_feeds(store, no_retries, [url], now=clock)
    (feed,) = run_feeds(store, no_retries, [url], now=clock, force=True).feeds
    assert feed.status == "failed"
    assert store.get_feed_state(url).consecutive_failures == 2
    assert len(feed_server.requests("/down")) == 2


@reliability(
    BACKOFF,
    "a success after failures",
    "the failure count, failing-since, last error and next attempt are reset; a later "
    "failure starts again at the shortest wait",
)
def test_a_success_resets_the_back_off(
    store: Store, no_retries: Settings, feed_server: FeedServer
) -> None:
    # Given a feed that failed three times
    url = feed_server.route(
        "/flaky",
        Reply(status=500),
        Reply(status=500),
        Reply(status=500),
        Reply(body=SEED_BODY),
        Reply(status=503),
    )
    clock = Clock()
    for _ in range(3):
        run_feeds(store, no_retries, [url], now=clock, force=True)
    assert store.get_feed_state(url).consecutive_failures == 3
    # When it succeeds
    (feed,) = run_feeds(store, no_retries, [url], now=clock, force=True).feeds
    # Then everything about the failures is reset
    assert (feed.status, feed.items_new) == ("ok", 10)
    state = store.get_feed_state(url)
    assert (state.status, state.consecutive_failures) == ("ok", 0)
    assert (state.failing_since, state.last_error, state.next_attempt_after) == (None, None, None)
    # And the next failure waits the shortest time again
    (feed,) = run_feeds(store, no_retries, [url], now=clock, force=True).feeds
    assert feed.status == "failed"
    assert hours_until(store.get_feed_state(url), clock.moment) == 0.9
    assert_archive_exact(store, count=10)


@reliability(
    BACKOFF,
    "a feed that has failed 5,000 times in a row (dead for years)",
    "the next failure is recorded with the capped wait: the doubling never overflows",
)
def test_years_of_failures_do_not_overflow_the_back_off(
    store: Store, no_retries: Settings, feed_server: FeedServer
) -> None:
    # Given a feed state after 5,000 consecutive failures (2.0 ** 5000 overflows a float)
    url = feed_server.route("/down", Reply(status=500))
    state = FeedState.new(url)
    state.status, state.consecutive_failures = "failing", 5000
    store.put_feed_state(state)
    # When it fails once more
    clock = Clock()
    (feed,) = run_feeds(store, no_retries, [url], now=clock).feeds
    # Then the failure is recorded with the capped wait
    assert feed.status == "failed"
    state = store.get_feed_state(url)
    assert state.consecutive_failures == 5001
    assert hours_until(state, clock.moment) == 21.6


@reliability(
    BACKOFF,
    "BACKOFF_BASE_SECONDS and BACKOFF_CAP_SECONDS set in the environment",
    "the waits follow them: 10 min doubling, capped at 1 h (less 10%)",
)
def test_the_back_off_settings_are_honoured(
    store: Store, feed_server: FeedServer, no_retries: Settings
) -> None:
    url = feed_server.route("/down", Reply(status=500))
    env = {
        "ARCHIVE_BUCKET": BUCKET,
        "ARCHIVE_TABLE": TABLE,
        "FEED_URLS": url,
        "BACKOFF_BASE_SECONDS": "600",
        "BACKOFF_CAP_SECONDS": "3600",
        "ALLOW_PRIVATE_NETWORKS": "1",
    }
    settings = dataclasses.replace(load_settings(env), fetch=no_retries.fetch)
    clock = Clock()
    waits = []
    for _ in range(5):
        run_feeds(store, settings, now=clock, force=True)
        waits.append(round(hours_until(store.get_feed_state(url), clock.moment) * 60, 1))
    assert waits == [9.0, 18.0, 36.0, 54.0, 54.0]


@reliability(
    BACKOFF,
    "410 Gone",
    "the feed is marked inactive in its state, the run summary says `inactive` and why, "
    "the dashboard shows it inactive; later runs (even forced) never request it again; "
    "it does not fail the invocation",
)
def test_410_gone_marks_the_feed_inactive_for_good(
    store: Store,
    no_retries: Settings,
    feed_server: FeedServer,
    calls: CallCounter,
    handler_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    # Given a feed that answers 410 Gone, configured for the Lambda
    url = feed_server.route("/gone", Reply(status=410, body=b"gone"))
    handler_env.setenv("FEED_URLS", url)
    # When the handler runs, Then it returns (no AllFeedsFailed) with the feed inactive
    result = handler_module.lambda_handler({"id": "gone"}, lambda_context)
    (feed,) = result["feeds"]
    assert feed["status"] == "inactive"
    assert feed["error"].startswith("HTTP 410 Gone from ")
    # And the state says so, for the dashboard too
    state = store.get_feed_state(url)
    assert (state.status, state.last_error, state.next_attempt_after) == (
        "inactive",
        feed["error"],
        None,
    )
    assert status_text(state) == "inactive"
    frame = feeds_frame(load_archive(store), datetime.now(UTC))
    assert frame.loc[frame["feed"] == url, "status"].tolist() == ["inactive"]
    # And later runs, even forced and days later, leave it alone
    calls.reset()
    clock = Clock()
    for _ in range(3):
        clock.advance(days=3)
        (again,) = run_feeds(store, no_retries, [url], now=clock, force=True).feeds
        assert (again.status, again.error) == ("inactive", feed["error"])
    assert len(feed_server.requests("/gone")) == 1
    assert calls.writes == 0


def test_reactivate_brings_an_inactive_feed_back(
    store: Store,
    no_retries: Settings,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from feed_archiver.cli import main as cli

    # Given a feed marked inactive by a 410 that later comes back
    url = feed_server.route("/back", Reply(status=410, body=b"gone"))
    run_feeds(store, no_retries, [url])
    assert store.get_feed_state(url).status == "inactive"
    feed_server.serve_file(SEED_XML, "/back")
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    # When a person reactivates it
    assert cli(["reactivate", url]) == 0
    assert "was inactive" in capsys.readouterr().out
    # Then the next run fetches and archives it, and `feeds` lists it as ok
    (feed,) = run_feeds(store, no_retries, [url]).feeds
    assert (feed.status, feed.items_new) == ("ok", 10)
    assert cli(["feeds"]) == 0
    assert capsys.readouterr().out.startswith(f"ok           {url}")
    # And an unknown feed is one clear error
    assert cli(["reactivate", "https://example.org/never"]) == 2
    assert "nothing to reactivate" in capsys.readouterr().err


def test_a_longer_retry_after_is_honoured_by_the_back_off(
    store: Store, no_retries: Settings, feed_server: FeedServer
) -> None:
    # Given a feed answering 429 with Retry-After: two hours (longer than the first back-off)
    url = feed_server.route("/slow-down", Reply(status=429, headers={"Retry-After": "7200"}))
    clock = Clock()
    # When it fails once
    (feed,) = run_feeds(store, no_retries, [url], now=clock).feeds
    assert feed.status == "failed"
    # Then the next attempt waits the two hours the server asked for
    assert hours_until(store.get_feed_state(url), clock()) == 2.0
    # And a run one hour later leaves it alone, without a request
    clock.advance(hours=1)
    (later,) = run_feeds(store, no_retries, [url], now=clock).feeds
    assert later.status == "backing_off"
    assert len(feed_server.requests("/slow-down")) == 1
