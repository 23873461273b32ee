"""A capture on the archive: counts stay exact, nothing is captured twice, edits and retag keep it.

The counters use the union of the feed's and the article's tags (docs/tagging.md):
a capture that arrives after the item was counted moves its counts through the
conditional index path, exactly once, even against a concurrent writer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from xml.sax.saxutils import escape

import pytest

from feed_archiver import tag as tagger
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.archive import archive_entries
from feed_archiver.capture.missing import capture_missing
from feed_archiver.cli import main
from feed_archiver.history.retag import retag
from feed_archiver.parse import parse_feed
from tests.conftest import BUCKET, TABLE
from tests.faults import Faults
from tests.hardening import assert_archive_exact
from tests.integration.capture_site import (
    FEED_URL,
    GEORGIA,
    SEEN_AT,
    TURKEY,
    Site,
    rss,
    rss_item,
    warc_keys,
)

pytestmark = pytest.mark.timeout(60)


def regions_counted(site: Site) -> dict[str, int]:
    return dict(stats_from_cells(parse_cells(site.store.read_cells())).by_region)


@pytest.mark.reliability(
    group="Article capture",
    case="capture --missing run twice",
    must_hold="the second run captures nothing and writes no WARC",
)
def test_capture_missing_run_twice_captures_nothing_the_second_time(site: Site) -> None:
    # Given three items, two of them with a page
    site.serve("/news/one/", TURKEY.page().encode())
    site.serve("/news/two/", GEORGIA.page().encode())
    for path, example in (("/news/one/", TURKEY), ("/news/two/", GEORGIA), ("/news/none/", TURKEY)):
        site.add_item(path, example=example)

    # When capture --missing runs twice
    first = capture_missing(site.store, site.settings, politeness=site.politeness)
    requests = len(site.server.requests())
    second = capture_missing(site.store, site.settings, politeness=site.politeness)

    # Then the first captured two and recorded the dead one; the second wrote nothing new
    assert first.new_warcs == 2 and first.statuses["captured"] == 2
    assert second.new_warcs == 0 and second.statuses["captured"] == 0
    assert second.candidates == 0  # captured and gone items are not asked again
    assert len(warc_keys(site.store)) == 2
    assert len(site.server.requests()) == requests  # the site was not asked again
    assert_archive_exact(site.store, count=3)


def test_items_without_a_capture_object_count_as_pending(site: Site) -> None:
    site.add_item("/news/one/")

    report = capture_missing(site.store, site.settings, dry_run=True)

    assert report.as_dict()["statuses"]["pending"] == 1 and report.candidates == 1
    assert site.server.requests() == []


@pytest.mark.reliability(
    group="Article capture",
    case="a capture after the item was counted",
    must_hold="the article's tags join the counts once, in the index transaction (retag path)",
)
def test_a_capture_after_the_item_was_counted_moves_its_counts_exactly(site: Site) -> None:
    # Given the Turkey item counted under its teaser's tags (Türkiye only)
    site.serve("/news/one/", TURKEY.page().encode())
    key = site.add_item("/news/one/")
    assert regions_counted(site) == {"Western Balkans and Türkiye": 1}
    assert site.record(key)["countries"] == ["TR"]
    # (The article also names France, only as an example: the tagger counts it; docs/tagging.md.)

    # When its article (which names the United Kingdom too) is captured
    result = site.capture(key)

    # Then the item counts under both, once, and the document says where each came from
    assert result.written
    assert regions_counted(site) == {"Europe": 1, "Western Balkans and Türkiye": 1}
    record = site.record(key)
    assert record["countries"] == ["FR", "GB", "TR"] and record["revision"] == 2
    assert record["capture"]["countries"] == ["FR", "GB", "TR"]
    assert_archive_exact(site.store, count=1)


def test_a_capture_that_meets_a_concurrent_edit_is_replanned_and_counted_once(site: Site) -> None:
    # Given the Turkey item, and a feed edit of it that lands just before the capture commits
    site.serve("/news/one/", TURKEY.page().encode())
    key = site.add_item("/news/one/")
    link = site.server.url("/news/one/")
    edited = rss([rss_item(TURKEY.title, link, TURKEY.teaser + " Georgia joined too.")])
    faults = Faults(site.store.s3, site.store.ddb)

    def edit_first(_: int) -> None:
        faults.clear()
        archive_entries(site.store, parse_feed(edited).entries, feed_url=FEED_URL, seen_at=SEEN_AT)

    faults.before("TransactWriteItems", edit_first, on={1})

    # When the capture is recorded
    result = site.capture(key)

    # Then it was re-planned on the edited revision: both changes are there, counted once
    assert result.written
    record = site.record(key)
    assert record["revision"] == 3 and record["capture"]["status"] == "captured"
    assert record["countries"] == ["FR", "GB", "GE", "TR"]
    assert "Georgia joined too." in site.store.get_document(key)["summary"]
    assert regions_counted(site) == {
        "Eastern Europe and Central Asia": 1, "Europe": 1, "Western Balkans and Türkiye": 1,
    }  # fmt: skip
    assert_archive_exact(site.store, count=1)


def test_a_feed_edit_keeps_the_capture_and_its_tags(site: Site) -> None:
    site.serve("/news/one/", TURKEY.page().encode())
    key = site.add_item("/news/one/")
    site.capture(key)
    link = site.server.url("/news/one/")

    edited = rss([rss_item(TURKEY.title, link, "A corrected teaser about Turkish institutions...")])
    archive_entries(site.store, parse_feed(edited).entries, feed_url=FEED_URL, seen_at=SEEN_AT)

    record = site.record(key)
    assert record["revision"] == 3 and record["capture"]["status"] == "captured"
    assert record["countries"] == ["FR", "GB", "TR"]
    assert_archive_exact(site.store, count=1)


def test_a_changed_link_makes_the_capture_pending_and_its_tags_stop_counting(site: Site) -> None:
    # Given an item with a guid, captured at its first link
    site.serve("/news/one/", TURKEY.page().encode())

    def feed(link: str) -> bytes:
        item = rss_item(TURKEY.title, link, TURKEY.teaser).replace(
            "<item>", f"<item><guid isPermaLink='false'>{escape('icmpd-4711')}</guid>"
        )
        return rss([item])

    archive_entries(
        site.store,
        parse_feed(feed(site.server.url("/news/one/"))).entries,
        feed_url=FEED_URL,
        seen_at=SEEN_AT,
    )
    key = next(r["key"] for r in site.store.scan_index())
    site.capture(key)
    assert regions_counted(site) == {"Europe": 1, "Western Balkans and Türkiye": 1}

    # When the feed moves the item to another link
    archive_entries(
        site.store,
        parse_feed(feed(site.server.url("/news/moved/"))).entries,
        feed_url=FEED_URL,
        seen_at=SEEN_AT,
    )

    # Then the old capture is kept on record, pending again, and counts no more
    record = site.record(key)
    assert record["capture"]["status"] == "pending" and record["capture"]["warc_key"]
    assert record["countries"] == ["TR"]
    assert regions_counted(site) == {"Western Balkans and Türkiye": 1}
    assert_archive_exact(site.store, count=1)


def test_retag_tags_the_captured_article_again(site: Site, new_tagger: Callable[[], None]) -> None:
    # Given the Georgia item captured: its article names Azerbaijan, its teaser does not
    site.serve("/news/ge/", GEORGIA.page().encode())
    key = site.add_item("/news/ge/", example=GEORGIA)
    site.capture(key)
    assert "AZ" in site.record(key)["countries"]

    # When the tagger's data moves Azerbaijan to the Silk Routes, and retag runs
    new_tagger()
    report = retag(site.store)

    # Then the article's tags were computed again and still count
    assert report.retagged == 1 and not report.errors
    record = site.record(key)
    assert "Silk Routes" in record["regions"] and "Silk Routes" in record["capture"]["regions"]
    assert record["capture"]["tagger_version"] == tagger.tagger_version()
    assert regions_counted(site)["Silk Routes"] == 1
    assert_archive_exact(site.store, count=1)


def test_the_cli_captures_shows_and_captures_nothing_twice(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "ARCHIVE_BUCKET": BUCKET,
        "ARCHIVE_TABLE": TABLE,
        "CAPTURE_MIN_INTERVAL_SECONDS": "0.05",
        "ALLOW_PRIVATE_NETWORKS": "1",
        "WAYBACK_CDX_URL": site.archive.cdx_url,  # never the real web archive
        "WAYBACK_CAPTURE_URL": site.archive.capture_url,
    }.items():
        monkeypatch.setenv(name, value)
    site.serve("/news/one/", TURKEY.page().encode())
    key = site.add_item("/news/one/")

    assert main(["capture", "--missing"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["capture", "--missing"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert main(["show", site.server.url("/news/one/")]) == 0
    shown = capsys.readouterr().out

    assert first["new_warcs"] == 1 and first["statuses"]["captured"] == 1
    assert second["new_warcs"] == 0 and second["candidates"] == 0
    assert f"Key:          {key}" in shown and "Capture:      captured" in shown
    assert "funded by the United Kingdom" in shown and "<p>" not in shown
    assert main(["capture"]) == 2  # neither --missing nor --item


def test_a_capture_from_the_cli_reaches_the_exports_at_once(
    site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from feed_archiver.analytics import open_archive

    # Given an archived item whose article page is online
    for name, value in {
        "ARCHIVE_BUCKET": BUCKET,
        "ARCHIVE_TABLE": TABLE,
        "CAPTURE_MIN_INTERVAL_SECONDS": "0.05",
        "ALLOW_PRIVATE_NETWORKS": "1",
        "WAYBACK_CDX_URL": site.archive.cdx_url,
        "WAYBACK_CAPTURE_URL": site.archive.capture_url,
    }.items():
        monkeypatch.setenv(name, value)
    site.serve("/news/one/", TURKEY.page().encode())
    key = site.add_item("/news/one/")
    # When it is captured from the command line
    assert main(["capture", "--missing"]) == 0
    output = json.loads(capsys.readouterr().out)
    # Then the changed month is published with the article's text: no `publish` needed
    assert "published" in output and "error" not in output["published"]
    connection = open_archive(site.store)
    try:
        rows = connection.execute(
            "SELECT article_status, article_text FROM items WHERE key = ?", [key]
        ).fetchall()
    finally:
        connection.close()
    assert rows and rows[0][0] == "captured" and "funded by the United Kingdom" in rows[0][1]
