"""`make demo`'s article capture without a browser: the local article pages, the feed copy that
links to them, and `capture --missing` over the demo's archive (twice: nothing captured twice)."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from html import escape
from typing import Any

import pytest
from moto import mock_aws

from dashboard import demo
from dashboard.demo_site import OFFICES, articles, local_path, localise_feed, site_pages
from dashboard.feedserver import FeedServer
from feed_archiver.storage import Store

SAMPLE = demo.SAMPLE_FEED.read_bytes()


@pytest.fixture
def site() -> Iterator[FeedServer]:
    server = FeedServer([demo.SAMPLE_FEED])
    demo.publish_site(server)
    server.start()
    yield server
    server.stop()


def get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return reply.headers["Content-Type"], reply.read()


def test_every_sample_item_has_a_realistic_page_with_no_external_asset() -> None:
    # Given the pages built from the sample feed
    pages = site_pages(SAMPLE)
    found = articles(SAMPLE)
    assert len(found) == 10
    for article in found:
        html = pages[article.path][0].decode("utf-8")
        # Then each has the article and what surrounds an article on a news site
        assert f"<h1>{escape(article.headline)}</h1>" in html
        assert all(f"<p>{escape(p)}</p>" in html for p in article.paragraphs)
        for part in ('class="cookie-banner"', "<nav", 'class="related-news"', "<footer"):
            assert part in html, part
        # And its sidebar names countries the article is not about
        assert "Uzbekistan" in html
        # And nothing is loaded from elsewhere, and nothing runs
        assert "<script" not in html
        assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)


def test_page_text_is_escaped() -> None:
    hostile = SAMPLE.replace(
        b"Project News: ICMPD supports Turkey", b"Project News: <b>x</b> &amp; <script>"
    )
    html = b"".join(body for body, _ in site_pages(hostile).values()).decode()
    assert "<script>" not in html and "<b>x</b>" not in html


def test_the_demo_feed_links_its_items_to_the_local_pages(site: FeedServer) -> None:
    # Given the demo's copy of the sample, served
    kind, feed = get(site.urls[0])
    links = re.findall(rb"<link>([^<]*)</link>", feed)
    item_links = [link.decode() for link in links if b"news-detail" in link]
    # Then every item link is on the local server, with the sample's path (slashes collapsed)
    original = [m.decode() for m in re.findall(rb"<link>([^<]*news-detail[^<]*)</link>", SAMPLE)]
    assert item_links == [f"{site.base_url}{local_path(link)}" for link in original]
    assert localise_feed(SAMPLE, site.base_url) == feed
    # And each link answers with its article page
    kind, page = get(item_links[1])
    assert kind.startswith("text/html")
    assert b"ICMPD supports Turkey" in page
    assert get(f"{site.base_url}/robots.txt")[1].startswith(b"User-agent: *")


def capture_report(args: list[str]) -> dict[str, Any]:
    code, output = demo._cli(["capture", *args])
    assert code == 0, output
    report: dict[str, Any] = json.loads(output)
    return report


def test_the_demo_captures_every_article_and_a_second_run_captures_nothing(
    site: FeedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the demo's environment (loopback allowed, a short pause) and an empty moto
    for name, value in demo.demo_environment("http://unused").items():
        if name not in ("AWS_ENDPOINT_URL",):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        # When the demo archives the sample and captures the articles
        assert demo.archive_feeds(site.urls)
        assert demo.capture_articles()
        store = Store(demo.DEMO_BUCKET, demo.DEMO_TABLE)
        records = list(store.scan_index())
        # Then every item is captured, with its article's text and not the page's furniture
        assert len(records) == 10
        sources = {a.path: a for a in articles(SAMPLE)}
        for record in records:
            capture = record["capture"]
            assert capture["status"] == "captured", capture
            text = store.get_capture_text(capture["text_key"])["text"]
            assert len(text) > 500
            source = sources[local_path(record["link"])]
            own = " ".join([source.title, source.teaser, *source.paragraphs])
            assert source.paragraphs[-1] in text
            # (the sidebar's offices appear only where the article itself names them)
            assert [o for o in OFFICES if o in text] == [o for o in OFFICES if o in own]
            assert "cookies" not in text and "Gonzagagasse" not in text
        warcs = {r["key"]: store.list_capture_keys(r["key"]) for r in records}
        # When `feed-archiver capture --missing` runs again against the demo's archive
        again = capture_report(["--missing"])
        # Then it captures nothing: no candidate, no new WARC, the same files as before
        assert again["candidates"] == 0 and again["new_warcs"] == 0
        assert {r["key"]: store.list_capture_keys(r["key"]) for r in records} == warcs
    assert "10 captured" in capsys.readouterr().out
