"""backfill-wayback end to end against a local fake of the Wayback Machine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from feed_archiver import archive_format as fmt
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.cli import main
from feed_archiver.history.backfill import BackfillReport, backfill_wayback
from feed_archiver.settings import Settings, WaybackOptions
from feed_archiver.storage import Store
from feed_archiver.verify import verify
from tests.conftest import BUCKET, TABLE, CallCounter
from tests.fake_wayback import FakeCapture, FakeWayback
from tests.history_feeds import FEED_URL, feed_xml, history, window

EDITED = "An edited teaser, published later."
BROKEN_TS = "20190501000000"
NOT_FOUND_TS = "20190520000000"


def dozen_captures() -> list[FakeCapture]:
    """Twelve CDX rows: nine distinct feeds (one with an edit), two repeats, one broken, one 404."""
    w0 = feed_xml(window(0))
    return [
        FakeCapture("20190421000000", w0),
        FakeCapture("20190421120000", w0),  # identical and adjacent: the server collapses it
        FakeCapture("20190427000000", feed_xml(window(1))),
        FakeCapture(BROKEN_TS, b"<html><body>Service unavailable</body></html>"),
        FakeCapture("20190503000000", feed_xml(window(3))),
        FakeCapture("20190504000000", w0),  # identical but not adjacent: only we can drop it
        FakeCapture("20190506000000", feed_xml(window(5))),
        FakeCapture(NOT_FOUND_TS, b"<html>404</html>", statuscode=404),
        FakeCapture("20190512000000", feed_xml(window(7))),
        FakeCapture("20190514000000", feed_xml(window(8, edits={12: EDITED}))),
        FakeCapture("20190620000000", feed_xml(window(9, edits={12: EDITED}))),
        FakeCapture("20190716140000", feed_xml(window(10, edits={12: EDITED}))),
    ]


@pytest.fixture
def archive() -> Iterator[FakeWayback]:
    with FakeWayback(dozen_captures()) as fake:
        yield fake


def run(
    store: Store,
    settings: Settings,
    fake: FakeWayback,
    *,
    pauses: list[float] | None = None,
    **kwargs: Any,
) -> BackfillReport:
    options = WaybackOptions(fake.cdx_url, fake.capture_url, pause_seconds=kwargs.pop("pause", 0))
    sleep = pauses.append if pauses is not None else (lambda _s: None)
    return backfill_wayback(
        store, FEED_URL, options=options, fetch_options=settings.fetch, sleep=sleep, **kwargs
    )


def test_a_dozen_captures_are_backfilled_once_each_and_a_second_run_fetches_nothing(
    store: Store, settings: Settings, archive: FakeWayback, calls: CallCounter
) -> None:
    # Given a web archive with twelve captures of the feed (repeats, a broken one, a 404)
    # When the feed is backfilled
    report = run(store, settings, archive)

    # Then every distinct capture was downloaded exactly once, the 404 capture never
    downloaded = {c.timestamp: archive.downloads(c.timestamp) for c in archive.captures}
    assert downloaded == {
        "20190421000000": 1,
        "20190421120000": 0,
        "20190427000000": 1,
        BROKEN_TS: 1,
        "20190503000000": 1,
        "20190504000000": 0,
        "20190506000000": 1,
        NOT_FOUND_TS: 0,
        "20190512000000": 1,
        "20190514000000": 1,
        "20190620000000": 1,
        "20190716140000": 1,
    }
    # And the broken capture is reported, the others imported
    assert [c.timestamp for c, _ in report.failed] == [BROKEN_TS]
    assert "HTML page" in report.failed[0][1]
    assert (report.listed, report.distinct, report.imported) == (10, 9, 8)
    assert not report.retry_later

    # And all twenty items of the history are archived, counted and consistent
    records = {r["link"]: r for r in store.scan_index()}
    assert len(records) == 20 == len(history())
    assert {r["first_seen_via"] for r in records.values()} == {"wayback"}
    assert stats_from_cells(parse_cells(store.read_cells())).total == 20
    assert verify(store).ok
    # And the edited item has its edit as a second revision, seen at the capture that showed it
    edited = records[history()[12].link]
    assert edited["revision"] == 2
    assert edited["summary"] == EDITED
    assert edited["last_seen"] == "2019-05-14T00:00:00Z"
    assert edited["first_seen"] == "2019-05-03T00:00:00Z"

    # When the backfill runs again
    calls.reset()
    again = run(store, settings, archive)

    # Then it lists once, downloads nothing, writes nothing, and still reports the broken one
    assert archive.downloads() == 9
    assert len(archive.cdx_requests()) == 2
    assert calls.writes == 0
    assert (again.already_imported, again.to_fetch, again.downloaded) == (8, [], 0)
    assert [c.timestamp for c, _ in again.known_failed] == [BROKEN_TS]


def test_the_cdx_query_asks_for_status_200_collapsed_by_digest_within_the_months(
    store: Store, settings: Settings, archive: FakeWayback
) -> None:
    # Given a backfill limited to May 2019
    # When it is planned
    report = run(store, settings, archive, month_from="201905", month_to="201905", dry_run=True)
    # Then the CDX server was asked the documented query
    (query,) = archive.cdx_requests()
    assert query["url"] == [FEED_URL]
    assert query["output"] == ["json"]
    assert query["filter"] == ["statuscode:200"]
    assert query["collapse"] == ["digest"]
    assert query["fl"] == ["timestamp,original,digest,statuscode"]
    assert (query["from"], query["to"]) == (["201905"], ["201905"])
    # And only May's captures would be fetched
    assert {c.timestamp[:6] for c in report.to_fetch} == {"201905"}
    assert len(report.to_fetch) == 6


def test_dry_run_lists_what_it_would_fetch_and_neither_downloads_nor_writes(
    store: Store, settings: Settings, archive: FakeWayback, calls: CallCounter
) -> None:
    # Given a fresh archive
    # When a dry run is made
    report = run(store, settings, archive, dry_run=True)
    # Then it lists the nine distinct captures, downloads none and writes nothing
    assert len(report.to_fetch) == 9
    assert archive.downloads() == 0
    assert calls.writes == 0
    assert "would fetch 9 captures:" in report.lines(dry_run=True)


def few_captures() -> list[FakeCapture]:
    return [
        FakeCapture("20190421000000", feed_xml(window(0))),
        FakeCapture(BROKEN_TS, b"<html><body>Service unavailable</body></html>"),
        FakeCapture("20190716140000", feed_xml(window(10))),
    ]


def test_requests_are_polite_one_at_a_time_paused_and_named(
    store: Store, settings: Settings
) -> None:
    # Given a pause of 2 seconds between requests (recorded, not slept)
    pauses: list[float] = []
    with FakeWayback(few_captures()) as fake:
        # When the feed is backfilled
        run(store, settings, fake, pauses=pauses, pause=2.0)
    # Then every request after the first waited the pause: 1 listing + 3 downloads
    assert pauses == [2.0] * 3
    # And never were two requests in flight at once
    assert fake.max_in_flight == 1
    # And every request says what it is
    (agent,) = fake.user_agents()
    assert "feed-archiver" in agent and "backfill-wayback" in agent


def test_rate_limiting_is_backed_off_and_retried(store: Store, settings: Settings) -> None:
    # Given a capture that answers 429 once, then the feed
    capture = FakeCapture("20190716140000", feed_xml(window(10)), download_statuses=[429, 200])
    with FakeWayback([capture]) as fake:
        # When it is backfilled
        report = run(store, settings, fake)
        # Then it was asked twice and imported
        assert fake.downloads() == 2
    assert report.imported == 1
    assert len(list(store.scan_index())) == 10


def test_a_server_error_is_retried_on_the_next_run_and_a_gone_capture_is_not(
    store: Store, settings: Settings
) -> None:
    # Given one capture the archive fails to serve (503) and one it has lost (404)
    flaky = FakeCapture("20190421000000", feed_xml(window(0)), download_statuses=[503, 503, 200])
    lost = FakeCapture("20190716140000", feed_xml(window(10)), download_statuses=[404])
    with FakeWayback([flaky, lost]) as fake:
        # When the feed is backfilled twice (fetch_feed retries once per run here)
        first = run(store, settings, fake)
        second = run(store, settings, fake)
        # Then the 503 is left for the next run, which imports it; the 404 is not asked again
        assert [c.timestamp for c, _ in first.retry_later] == ["20190421000000"]
        assert [c.timestamp for c, _ in first.failed] == ["20190716140000"]
        assert second.imported == 1
        assert fake.downloads("20190421000000") == 3
        assert fake.downloads("20190716140000") == 1
        # And --retry-failed asks for the lost one again
        third = run(store, settings, fake, retry_failed=True)
        assert fake.downloads("20190716140000") == 2
        assert [c.timestamp for c, _ in third.failed] == ["20190716140000"]


def test_a_capture_is_remembered_only_once_its_items_are_committed(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given S3 refusing every document write
    from feed_archiver.errors import StorageError

    def refuse(self: Store, document: dict[str, Any]) -> str:
        raise StorageError("writing an item failed: AccessDenied")

    monkeypatch.setattr(Store, "put_document", refuse)
    with FakeWayback(few_captures()) as fake:
        # When the feed is backfilled
        report = run(store, settings, fake)
        # Then no capture is remembered as imported: both feeds are retried on the next run
        assert report.imported == 0
        assert len(report.retry_later) == 2
        records = store.known_captures(fmt.feed_key(FEED_URL))
        assert [r["status"] for r in records] == ["failed"]  # only the broken one
        monkeypatch.undo()
        assert run(store, settings, fake).imported == 2


def test_captures_of_an_old_url_can_count_under_the_configured_feed(
    store: Store, settings: Settings
) -> None:
    # Given the feed now lives at another URL
    current = "https://www.icmpd.org/news-centre/rss/"
    with FakeWayback(few_captures()) as fake:
        # When the old URL's captures are backfilled into it
        run(store, settings, fake, count_as=current)
    # Then the items count under the current feed, and the captures are remembered there
    assert {r["feed_url"] for r in store.scan_index()} == {current}
    assert len(store.known_captures(fmt.feed_key(current))) == 3
    assert store.known_captures(fmt.feed_key(FEED_URL)) == []


def test_rows_the_server_should_have_filtered_out_are_never_fetched(
    store: Store, settings: Settings
) -> None:
    # Given a CDX server that ignores `filter` and lists a 404 capture
    captures = [
        FakeCapture("20190421000000", b"<html>404</html>", statuscode=404),
        FakeCapture("20190716140000", feed_xml(window(10))),
    ]
    with FakeWayback(captures, honour_filter=False) as fake:
        # When the feed is backfilled
        report = run(store, settings, fake)
        # Then the 404 capture is not fetched
        assert fake.downloads("20190421000000") == 0
    assert report.imported == 1


@pytest.fixture
def few() -> Iterator[FakeWayback]:
    with FakeWayback(few_captures()) as fake:
        yield fake


def test_the_command_line_backfills_and_exits_1_when_a_capture_is_broken(
    aws: Any,
    few: FakeWayback,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    archive = few
    # Given the archive's settings in the environment
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    monkeypatch.setenv("WAYBACK_CDX_URL", archive.cdx_url)
    monkeypatch.setenv("WAYBACK_CAPTURE_URL", archive.capture_url)
    argv = ["backfill-wayback", FEED_URL, "--pause", "0", "--allow-private-networks", "--quiet"]
    # When the command runs
    code = main(argv)
    # Then it imports, names the broken capture on stderr and exits 1
    out, err = capsys.readouterr()
    assert code == 1
    assert "2 imported, 1 broken" in out
    assert f"broken (remembered): {BROKEN_TS}" in err
    # And a second run finds nothing to do and exits 0
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "2 already imported, 1 known broken" in out
    # And a bad month ends in one line and exit 2
    assert main([*argv, "--from", "July"]) == 2
    assert capsys.readouterr().err.strip() == (
        "feed-archiver: --from must be a month as YYYY-MM, got 'July'"
    )
