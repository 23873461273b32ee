"""An article site for the capture tests: pages and robots.txt on a local FeedServer, items in moto.

    site.serve("/news/turkey/", page_bytes)          # text/html, with an ETag
    key = site.add_item("/news/turkey/", title=..., teaser=...)
    result = site.capture(key)

The `site` fixture reads every WARC the test wrote back with warcio when the
test ends (ArchiveIterator with digest checks): no capture test can write a
WARC that does not read back whole.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from xml.sax.saxutils import escape

import pytest

from feed_archiver.archive import archive_entries
from feed_archiver.capture.article import CaptureResult, capture_item
from feed_archiver.fetch.addresses import Resolver
from feed_archiver.fetch.polite import Politeness
from feed_archiver.parse import parse_feed
from feed_archiver.settings import CaptureOptions, FetchOptions, Settings, WaybackOptions
from feed_archiver.storage import Store
from tests.conftest import BUCKET, TABLE
from tests.fake_wayback import FakeCapture, FakeWayback
from tests.httpserver import FeedServer, Reply
from tests.unit.tag_examples import EXAMPLES, Example

FEED_URL = "https://www.icmpd.org/home/?type=100"
SEEN_AT = "2019-07-16T14:00:00Z"
HTML = "text/html; charset=utf-8"
TURKEY = EXAMPLES[1]  # the seed's Turkey item: the teaser names Turkey, the article the UK too
GEORGIA = EXAMPLES[2]


def capture_settings(wayback: WaybackOptions, interval: float = 0.05) -> Settings:
    """Quick pauses, short deadlines, a local web archive: nothing leaves the machine."""
    return Settings(
        archive_bucket=BUCKET,
        archive_table=TABLE,
        fetch=FetchOptions(allow_private_networks=True, connect_timeout=1.0, total_timeout=2.0),
        capture=CaptureOptions(min_interval_seconds=interval),
        wayback=wayback,
    )


def rss_item(
    title: str, link: str, teaser: str, date: str = "Fri, 12 Jul 2019 13:39:32 +0200"
) -> str:
    return (
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<description>{escape(teaser)}</description><pubDate>{date}</pubDate></item>"
    )


def rss(items: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>ICMPD</title>'
        f"<link>https://www.icmpd.org/</link><description>NEWS CENTRE</description>{''.join(items)}"
        "</channel></rss>"
    ).encode()


@dataclass
class Site:
    server: FeedServer
    store: Store
    archive: FakeWayback  # the web archive dead links are looked up in (empty unless a test adds)
    settings: Settings
    resolve: Resolver | None = None  # a fake DNS (FakeInternet.resolve); default: no DNS at all
    _politeness: Politeness | None = None

    @property
    def politeness(self) -> Politeness:
        """One per test, as one per process in the CLI and the Lambda."""
        if self._politeness is None:
            resolve = self.resolve or no_dns
            self._politeness = Politeness.from_settings(self.settings, resolve=resolve)
        return self._politeness

    def use(self, settings: Settings, resolve: Resolver | None = None) -> None:
        self.settings, self.resolve, self._politeness = settings, resolve, None

    def serve(self, path: str, body: bytes, content_type: str = HTML, **reply: Any) -> str:
        return self.server.route(path, Reply(body=body, content_type=content_type, **reply))

    def robots(self, text: str, status: int = 200) -> None:
        self.server.route(
            "/robots.txt", Reply(status=status, body=text.encode(), content_type="text/plain")
        )

    def add_item(
        self,
        path: str,
        *,
        example: Example = TURKEY,
        link: str | None = None,
        date: str = "Fri, 12 Jul 2019 13:39:32 +0200",
    ) -> str:
        """Archive one feed item whose link is `path` on the site; returns its key."""
        url = link or self.server.url(path)
        body = rss([rss_item(example.title, url, example.teaser, date)])
        outcome = archive_entries(
            self.store, parse_feed(body).entries, feed_url=FEED_URL, seen_at=SEEN_AT
        )
        assert outcome.new + outcome.updated == 1, outcome
        return next(r["key"] for r in self.store.scan_index() if r["link"] == url)

    def capture(self, key: str) -> CaptureResult:
        return capture_item(self.store, key, self.settings, politeness=self.politeness)

    def archived(self, timestamp: str, path: str, body: bytes, content_type: str = HTML) -> None:
        """Let the web archive hold a copy of the site's `path`, taken at `timestamp`."""
        copy = FakeCapture(
            timestamp, body, original=self.server.url(path), content_type=content_type
        )
        self.archive.captures = sorted([*self.archive.captures, copy], key=lambda c: c.timestamp)

    def record(self, key: str) -> dict[str, Any]:
        return self.store.get_index_records([key])[key]

    def paths(self) -> list[str]:
        return [r.path for r in self.server.requests()]


def no_dns(host: str, port: int) -> list[str]:
    """The resolver of the capture tests: every site is 127.0.0.1, so no name ever resolves."""
    raise socket.gaierror(socket.EAI_NONAME, f"capture tests look up no host names ({host})")


def warc_keys(store: Store) -> list[str]:
    listed = store.s3.list_objects_v2(Bucket=store.bucket, Prefix="captures/")
    return sorted(o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".warc.gz"))


def read_warc(data: bytes) -> list[dict[str, Any]]:
    """Every record of a WARC file, read whole, its digests checked; raises on any problem."""
    from warcio.archiveiterator import ArchiveIterator

    records = []
    for record in ArchiveIterator(io.BytesIO(data), check_digests=True):
        content = record.content_stream().read()
        headers = record.rec_headers
        if record.rec_type in ("request", "response"):
            assert headers.get_header("WARC-Payload-Digest"), record.rec_type
            assert headers.get_header("WARC-Block-Digest"), record.rec_type
            assert record.digest_checker.passed is True, record.digest_checker.problems
        assert not record.digest_checker.problems, record.digest_checker.problems
        records.append(
            {
                "type": record.rec_type,
                "version": headers.protocol,
                "uri": headers.get_header("WARC-Target-URI"),
                "date": headers.get_header("WARC-Date"),
                "payload_digest": headers.get_header("WARC-Payload-Digest"),
                "http_headers": record.http_headers,
                "content": content,
            }
        )
    return records


def assert_every_warc_reads_back(store: Store) -> int:
    """Read every WARC under captures/ back; each is warcinfo + request + response. Returns how many."""
    keys = warc_keys(store)
    for key in keys:
        records = read_warc(store.get_warc(key))
        assert [r["type"] for r in records] == ["warcinfo", "response", "request"], key
        assert {r["version"] for r in records} == {"WARC/1.1"}, key
        response = records[1]
        assert response["uri"] and response["date"], key
        text_key = key.removesuffix(".warc.gz") + ".json"
        text = store.get_capture_text(text_key)
        assert text["payload_digest"] == response["payload_digest"], key
    return len(keys)


@pytest.fixture
def site(store: Store, feed_server: FeedServer) -> Iterator[Site]:
    with FakeWayback([]) as archive:
        wayback = WaybackOptions(archive.cdx_url, archive.capture_url, 0.0)
        yield Site(feed_server, store, archive, capture_settings(wayback))
    assert_every_warc_reads_back(store)


def with_interval(settings: Settings, seconds: float) -> Settings:
    return replace(settings, capture=replace(settings.capture, min_interval_seconds=seconds))
