"""Shared pieces of the hardening tests: feed bodies, a settable clock and the archive checks.

Every hardening test ends with `assert_archive_exact`: verify finds no drift,
every expected item is stored exactly once (one document, one index record),
and the counters say exactly how many there are.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import pytest

from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.parse import parse_feed
from feed_archiver.storage import Store
from feed_archiver.verify import verify
from tests.conftest import SEED_XML

INPUTS = "1. Hostile inputs, end to end"
NETWORK = "2. Network faults"
BACKOFF = "3. Back-off and gone feeds"
AWS = "4. AWS faults, crashes and the Lambda deadline"
OVERLAP = "5. Overlapping runs"

SEED_BODY = SEED_XML.read_bytes()
SEED_LINK_COUNT = 10
# The moment the seed was fetched (its lastBuildDate is 2019-07-16 15:32:30 +0200).
SEED_TIME = datetime(2019, 7, 16, 14, 0, 0, tzinfo=UTC)


def reliability(group: str, case: str, must_hold: str) -> pytest.MarkDecorator:
    """The marker that puts a test in docs/reliability.md (see tests/reliability_plugin.py)."""
    return pytest.mark.reliability(group=group, case=case, must_hold=must_hold)


def seed_ids() -> list[str]:
    from feed_archiver.identity import item_id

    return sorted(item_id(e) for e in parse_feed(SEED_BODY).entries)


@dataclass
class Clock:
    """A settable `now` for run_feeds: schedules and leases without waiting."""

    moment: datetime = SEED_TIME

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


# --- feed bodies --------------------------------------------------------------------


def rss_item(
    n: int | str,
    *,
    guid: str | None = None,
    link: str | None = "default",
    title: str | None = "default",
    date: str | None = "Tue, 16 Jul 2019 13:32:30 +0000",
    description: str | None = "default",
    content: str | None = None,
    extra: str = "",
    raw: bool = False,
) -> str:
    """One RSS 2.0 <item>. Texts are XML-escaped unless `raw` (to inject markup as is)."""

    def text(value: str) -> str:
        return value if raw else escape(value)

    parts = ["<item>"]
    if title is not None:
        parts.append(f"<title>{text(f'Item {n}' if title == 'default' else title)}</title>")
    if link is not None:
        url = f"https://example.org/news/{n}" if link == "default" else link
        parts.append(f"<link>{text(url)}</link>")
    if guid is not None:
        parts.append(f"<guid isPermaLink='false'>{text(guid)}</guid>")
    if description is not None:
        body = f"Summary of item {n}." if description == "default" else description
        parts.append(f"<description>{text(body)}</description>")
    if content is not None:
        parts.append(f"<content:encoded><![CDATA[{content}]]></content:encoded>")
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    parts.append(extra)
    parts.append("</item>")
    return "".join(parts)


def rss(
    items: Iterable[str],
    *,
    declaration: str = '<?xml version="1.0" encoding="utf-8"?>',
    doctype: str = "",
    title: str = "Hardening feed",
) -> bytes:
    """An RSS 2.0 document (as UTF-8 text; encode it otherwise yourself)."""
    return rss_text(items, declaration=declaration, doctype=doctype, title=title).encode("utf-8")


def rss_text(
    items: Iterable[str],
    *,
    declaration: str = '<?xml version="1.0" encoding="utf-8"?>',
    doctype: str = "",
    title: str = "Hardening feed",
) -> str:
    return (
        f"{declaration}{doctype}"
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{escape(title)}</title><link>https://example.org/</link>"
        f"<description>test</description>{''.join(items)}</channel></rss>"
    )


def atom(count: int) -> bytes:
    entries = "".join(
        f"<entry><title type='html'>Atom &lt;b&gt;item&lt;/b&gt; {n}</title>"
        f"<link rel='alternate' href='https://example.org/atom/{n}'/>"
        f"<id>urn:uuid:00000000-0000-0000-0000-{n:012d}</id>"
        f"<updated>2019-07-1{n}T10:00:00Z</updated>"
        f"<summary>Atom summary {n}</summary>"
        f"<content type='html'>{html.escape(f'<p>Atom content {n}</p>')}</content></entry>"
        for n in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Atom feed</title><id>urn:uuid:feed</id><updated>2019-07-16T10:00:00Z</updated>"
        f"{entries}</feed>"
    ).encode()


def rdf(count: int) -> bytes:
    """RSS 1.0 (RDF) with dc:date."""
    seq = "".join(
        f"<rdf:li rdf:resource='https://example.org/rdf/{n}'/>" for n in range(1, count + 1)
    )
    items = "".join(
        f"<item rdf:about='https://example.org/rdf/{n}'><title>RDF item {n}</title>"
        f"<link>https://example.org/rdf/{n}</link><description>RDF summary {n}</description>"
        f"<dc:date>2019-07-1{n}T10:00:00Z</dc:date></item>"
        for n in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<channel rdf:about='https://example.org/'><title>RDF feed</title>"
        "<link>https://example.org/</link><description>d</description>"
        f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>{items}</rdf:RDF>"
    ).encode()


# --- reading the archive back ----------------------------------------------------------


def documents(store: Store) -> list[dict[str, Any]]:
    return [store.get_document(k) for k in store.list_document_keys()]


def stats_total(store: Store) -> int:
    return stats_from_cells(parse_cells(store.read_cells())).total


def assert_archive_exact(
    store: Store, *, ids: Sequence[str] | None = None, count: int | None = None
) -> list[dict[str, Any]]:
    """verify passes; each expected item has one document and one index record; counts exact.

    Returns the documents.
    """
    report = verify(store)
    assert report.ok, "\n".join(report.lines())
    docs = documents(store)
    records = list(store.scan_index())
    doc_ids = sorted(d["id"] for d in docs)
    assert sorted(r["id"] for r in records) == doc_ids
    assert len(set(doc_ids)) == len(doc_ids), "an item is stored twice"
    if ids is not None:
        assert doc_ids == sorted(ids)
    if count is not None:
        assert len(docs) == count
    assert stats_total(store) == len(docs)
    return docs


def one_line(text: str | None) -> bool:
    return bool(text) and "\n" not in str(text) and "Traceback" not in str(text)
