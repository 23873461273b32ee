"""Defects a corpus of public feed test files found (issue 11), end to end: served over HTTP,
archived by run_feeds into moto, checked with verify and the counters.

Ids kept as written whatever URL a feed comes from, and the migration of an archive
whose items were stored under resolved ids; absurd dates; one guid twice in a body;
one item in two feeds; one base-URL rule for reprocess; the https → http redirect.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
import urllib3.util.connection

from feed_archiver import archive_format as fmt
from feed_archiver import parse as parse_module
from feed_archiver.errors import FetchError
from feed_archiver.fetch import fetch_feed
from feed_archiver.history.reprocess import reprocess
from feed_archiver.history.snapshots import HistoryRun, Snapshot
from feed_archiver.run import run_feeds
from feed_archiver.settings import Settings
from feed_archiver.storage import Store
from feed_archiver.verify import verify
from tests.hardening import Clock, assert_archive_exact, documents, rss, rss_item
from tests.httpserver import FeedServer, Reply, redirect, self_signed_certificate

GROUP = "Correctness (outside corpus)"
pytestmark = pytest.mark.timeout(90)


def correctness(case: str, must_hold: str) -> pytest.MarkDecorator:
    return pytest.mark.reliability(group=GROUP, case=case, must_hold=must_hold)


def guid_item(n: int, *, summary: str = "default", title: str = "default") -> str:
    """An RSS item known by a guid that is not a URL (no isPermaLink: feedparser's default
    reads it as a permalink and resolves it against the feed's URL), with its own link."""
    link = f"https://site.example/news/{n}"
    return rss_item(n, link=link, description=summary, title=title, extra=f"<guid>{n}</guid>")


def run(store: Store, settings: Settings, clock: Clock, *urls: str) -> Any:
    clock.advance(hours=1)
    return run_feeds(store, settings, list(urls), now=clock)


def by_guid(store: Store) -> dict[str, dict[str, Any]]:
    return {str(d["guid"]): d for d in documents(store)}


# --- 1. ids whatever URL the feed comes from ------------------------------------------------


@correctness(
    "a feed with non-URL guids moves (a redirect to a new path)",
    "the items are found again under the ids as written: nothing is archived twice, counts exact",
)
def test_given_non_url_guids_when_the_feed_moves_then_no_item_is_archived_twice(
    store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    clock = Clock()
    # Given a feed of items known by guids 1 and 2, archived from /feed
    url = feed_server.route("/feed", Reply(body=rss([guid_item(1), guid_item(2)])))
    run(store, settings, clock, url)
    # When the feed moves to /moved/feed (a redirect) and adds item 3
    moved = rss([guid_item(1), guid_item(2), guid_item(3)])
    feed_server.route("/feed", redirect(feed_server.url("/moved/feed"), 301))
    feed_server.route("/moved/feed", Reply(body=moved))
    (feed,) = run(store, settings, clock, url).feeds
    # Then only item 3 is new, and every item is stored once, under its guid as written
    assert (feed.items_new, feed.items_unchanged) == (1, 2)
    assert_archive_exact(store, ids=["1", "2", "3"])


FIRST = rss([guid_item(n) for n in (1, 2, 3)])


@correctness(
    "migration: an archive whose items were stored under ids resolved against the feed URL",
    "the next run that sees them writes an alias (id as written → the key they are archived "
    "under) once; no item is archived twice, counts stay exact, verify passes; after that the "
    "feed may move and reprocess may run: still no duplicate",
)
def test_given_items_under_resolved_ids_when_the_fixed_archiver_runs_then_they_are_aliased(
    store: Store, settings: Settings, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    url = feed_server.route("/feed", Reply(body=FIRST))
    # Given an archive written before ids were kept as written (the old parser: ids resolved)
    with monkeypatch.context() as old:
        old.setattr(parse_module, "_publisher_ids", lambda raw, *_: [r.get("id") for r in raw])
        run(store, settings, clock, url)
    resolved = sorted(d["id"] for d in documents(store))
    assert resolved == [feed_server.url(f"/{n}") for n in (1, 2, 3)]
    # (a dry-run import of the same copy already finds them, and writes nothing)
    dry = HistoryRun(store, via="import", dry_run=True)
    dry.add(Snapshot(name="copy", seen_at="2019-07-16T16:00:00Z", body=FIRST, base_url=url), url)
    assert (dry.tally.new, dry.tally.aliased, dry.tally.unchanged) == (0, 3, 3)
    assert list(store.scan_aliases()) == []

    # When the fixed archiver runs on the next change of the feed: item 2 edited, item 4 added
    body = rss([guid_item(1), guid_item(2, summary="Edited."), guid_item(3), guid_item(4)])
    feed_server.route("/feed", Reply(body=body))
    (feed,) = run(store, settings, clock, url).feeds
    # Then items 1-3 are found through one new alias each: 2 is edited, 4 is new, none twice
    counts = (feed.items.aliased, feed.items_new, feed.items_updated, feed.items_unchanged)
    assert counts == (3, 1, 1, 2)
    docs = assert_archive_exact(store, count=4)
    assert sorted(d["id"] for d in docs) == sorted([*resolved, "4"])  # they keep key and id
    edited = by_guid(store)["2"]
    assert (edited["summary"], edited["revision"], edited["guid"]) == ("Edited.", 2, "2")
    assert len(list(store.scan_aliases())) == 3

    # When the feed then moves (another base URL) and changes again
    feed_server.route("/feed", redirect(feed_server.url("/elsewhere/feed"), 308))
    feed_server.route("/elsewhere/feed", Reply(body=rss([guid_item(n) for n in (1, 2, 3, 4, 5)])))
    (feed,) = run(store, settings, clock, url).feeds
    # Then the aliases still find them: one new item, no new alias, nothing twice
    assert (feed.items.aliased, feed.items_new) == (0, 1)
    assert_archive_exact(store, count=5)
    # And reprocessing every stored body adds nothing
    tally = reprocess(store)
    assert (tally.new, tally.failed) == (0, [])
    assert_archive_exact(store, count=5)


# --- 2. absurd dates, and verify's schema check ---------------------------------------------


@correctness(
    "verify checks every document against the JSON Schema",
    "a stored document with published '1-01-01T00:00:00Z' (what a year-1 date gave before) "
    "is reported as drift, naming the item and the field",
)
def test_given_a_document_breaking_the_schema_then_verify_reports_it(
    store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    clock = Clock()
    hugo = rss_item("hugo", date="Mon, 01 Jan 0001 00:00:00 +0000")
    url = feed_server.route("/feed", Reply(body=rss([hugo, rss_item(2)])))
    run(store, settings, clock, url)
    # Given the Hugo item archived undated (counted in the month first seen), verify clean
    docs = {d["title"]: d for d in assert_archive_exact(store, count=2)}
    undated = docs["Item hugo"]
    assert (undated["published"], undated["month"], undated["date_estimated"]) == (
        None, clock.moment.strftime("%Y-%m"), True,
    )  # fmt: skip
    assert any("date before 1990" in p for p in undated["problems"])
    # When a document as the old code wrote it is stored
    broken = {**docs["Item 2"], "published": "1-01-01T00:00:00Z"}
    store.s3.put_object(
        Bucket=store.bucket,
        Key=fmt.item_s3_key(broken["key"]),
        Body=json.dumps(broken).encode(),
    )
    # Then verify reports it
    report = verify(store)
    assert not report.ok
    assert any(
        line.startswith(f"item {broken['key']}: document breaks the JSON Schema: /published")
        for line in report.drift
    ), report.drift


# --- 4. one guid twice in one body ----------------------------------------------------------


@correctness(
    "two different entries with one guid in one body, end to end",
    "one item (the first), its document notes the dropped entry, the run summary counts "
    "duplicates 1 and duplicates_conflicting 1; verify passes",
)
def test_given_two_entries_with_one_guid_then_the_run_records_the_conflict(
    store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    clock = Clock()
    first = rss_item(1, guid="same", title="First version")
    second = rss_item(2, guid="same", title="Second version")
    url = feed_server.route("/feed", Reply(body=rss([first, second])))
    (feed,) = run(store, settings, clock, url).feeds
    summary = feed.as_dict()
    assert (summary["duplicates"], summary["duplicates_conflicting"]) == (1, 1)
    (doc,) = assert_archive_exact(store, count=1)
    assert doc["title"] == "First version"
    assert (
        "another entry with the same id was in the same body and was dropped: Second version"
        in doc["problems"]
    )


# --- 5. one item in two feeds ---------------------------------------------------------------


@correctness(
    "one item in two configured feeds that render it differently, runs alternating",
    "one item, counted once under the feed it was first seen in, feed_urls lists both; no "
    "revision while neither feed changes its own rendering; a real edit in either is one revision",
)
def test_given_one_item_in_two_feeds_when_runs_alternate_then_the_revision_stays(
    store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    clock = Clock()

    def serve(path: str, summary: str, version: int) -> str:
        # The channel title changes on every run, so each body is parsed again.
        item = rss_item(1, guid="shared-1", description=summary)
        return feed_server.route(path, Reply(body=rss([item], title=f"{path} v{version}")))

    a, b = "/a.xml", "/b.xml"
    for version in range(4):
        url_a = serve(a, "Rendered by feed A.", version)
        url_b = serve(b, "Rendered <b>by</b> feed B, differently.", version)
        summary = run(store, settings, clock, url_a, url_b)
        assert all(f.status == "ok" for f in summary.feeds), summary.as_dict()
    # Then it is one item, revision 1, counted once under A, seen in both
    (doc,) = assert_archive_exact(store, count=1)
    assert (doc["revision"], doc["feed_url"], doc["feed_urls"]) == (1, url_a, [url_a, url_b])
    assert doc["summary"] == "Rendered by feed A."
    cells = store.read_cells()
    assert {fmt.parse_cell_sk(c)[1] for c in cells} == {fmt.feed_key(url_a)}

    # When feed B really edits it, and A still shows its own rendering
    serve(b, "Feed B's edited text.", 9)
    run(store, settings, clock, url_a, url_b)
    serve(a, "Rendered by feed A.", 10)
    run(store, settings, clock, url_a, url_b)
    # Then that is one revision, and A's unchanged rendering does not undo it
    (doc,) = assert_archive_exact(store, count=1)
    assert (doc["revision"], doc["summary"]) == (2, "Feed B's edited text.")


# --- one base-URL rule: reprocess resolves as the run did -------------------------------------


@correctness(
    "reprocess of a feed that redirected, with relative links and no guid",
    "reprocess resolves links against the URL the body was retrieved from (recorded with "
    "the raw snapshot), as the run did: nothing new, nothing archived twice",
)
def test_given_a_redirected_feed_with_relative_links_when_reprocessed_then_nothing_changes(
    store: Store, settings: Settings, feed_server: FeedServer
) -> None:
    clock = Clock()
    items = [rss_item(n, link=f"news/{n}") for n in (1, 2)]
    url = feed_server.route("/feed", redirect(feed_server.url("/moved/feed"), 301))
    feed_server.route("/moved/feed", Reply(body=rss(items)))
    run(store, settings, clock, url)
    links = sorted(d["link"] for d in assert_archive_exact(store, count=2))
    assert links == [feed_server.url(f"/moved/news/{n}") for n in (1, 2)]
    tally = reprocess(store)
    assert (tally.new, tally.updated, tally.unchanged) == (0, 0, 2)
    assert_archive_exact(store, count=2)


# --- 9. https → http, over TLS ----------------------------------------------------------------

PUBLIC_IP = "93.184.216.34"  # any public address; routed to 127.0.0.1 below
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


@pytest.fixture
def tls_and_plain(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FeedServer, FeedServer, Path]]:
    """feed.example on a public address: https (port 443) and plain http (port 80), both local."""
    cert_file, key_file = self_signed_certificate(tmp_path, "feed.example")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    routes = {(PUBLIC_IP, 80): feed_server.port}
    real_connect = urllib3.util.connection.create_connection

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if address in routes:
            return real_connect(("127.0.0.1", routes[address]), *args, **kwargs)
        raise ConnectionRefusedError(111, f"test network: no route to {address[0]}")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
    with FeedServer(tls=context) as secure:
        routes[(PUBLIC_IP, 443)] = secure.port
        yield secure, feed_server, cert_file


@correctness(
    "an https feed that redirects to http (TLS server, then a plain-http hop)",
    'the fetch fails with "refused: https → http redirect downgrade"; the http server '
    "gets no request",
)
def test_given_an_https_feed_when_it_redirects_to_http_then_the_fetch_refuses(
    tls_and_plain: tuple[FeedServer, FeedServer, Path],
) -> None:
    secure, plain, cert_file = tls_and_plain
    secure.route("/feed", redirect("http://feed.example/feed", 301))
    plain.route("/feed", Reply(body=FEED))
    with pytest.raises(FetchError, match=r"^refused: https → http redirect downgrade"):
        fetch_feed(
            "https://feed.example/feed",
            resolve=lambda host, port: [PUBLIC_IP],
            pool=urllib3.PoolManager(ca_certs=str(cert_file)),
        )
    assert len(secure.requests("/feed")) == 1
    assert plain.requests() == []
