"""Issue 14: the Atom archive feed's documents (RFC 4287) and their archive links (RFC 5005).

Pure: rows in, bytes out. The chain across months, stored in S3, is tested in
tests/integration/test_open_archive.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import feedparser
import pytest

from feed_archiver import atom

A = f"{{{atom.ATOM_NS}}}"
FH = f"{{{atom.HISTORY_NS}}}"
SECURITY = "Open the archive"
HOSTILE_TITLE = "</title><script>alert(1)</script>&amp; ]]> <![CDATA[x]]> \x00\x07\x1b[31m\ufffe"


def row(n: int = 1, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"https://www.icmpd.org/news-centre/news-detail/item-{n}/",
        "key": f"{n:032x}",
        "feed_url": "https://www.icmpd.org/home/?type=100",
        "title": f"Project News: item {n}",
        "headline": f"item {n}",
        "link": f"https://www.icmpd.org/news-centre/news-detail/item-{n}/",
        "published": f"2019-07-{n:02d}T10:00:00Z",
        "first_seen": "2019-07-16T14:00:00Z",
        "last_seen": "2019-07-16T14:00:00Z",
        "revision": 1,
        "category": "Project News",
        "feed_categories": [],
        "countries": ["MA", "TN"],
        "regions": ["Africa"],
        "programmes": ["Rabat Process"],
        "summary": f"Summary {n}",
        "month": "2019-07",
    }
    return base | changes


def xml(document: bytes) -> ET.Element:
    """Parse a document these tests just built (our own output, not untrusted input)."""
    return ET.fromstring(document)  # noqa: S314


def page(rows: list[dict[str, Any]], **links: Any) -> bytes:
    options: dict[str, Any] = {"prev_month": None, "next_month": None} | links
    return atom.archive_page(
        "2019-07", rows, archive="s3://bucket/feed/", title="ICMPD", author="ICMPD", **options
    )


def current(rows: list[dict[str, Any]], newest_month: str | None = "2019-07") -> bytes:
    return atom.current_feed(
        rows,
        newest_month=newest_month,
        archive="s3://bucket/feed/",
        title="ICMPD",
        author="ICMPD",
        now="2019-07-17T00:00:00Z",
    )


def links(document: bytes) -> dict[str, str]:
    root = xml(document)
    return {link.get("rel", ""): link.get("href", "") for link in root.findall(f"{A}link")}


def assert_rfc4287(document: bytes) -> None:
    """The elements RFC 4287 §4.1 requires: feed id, title, updated and an author (at the
    feed or in every entry); entry id, title, updated; ids absolute IRIs; dates RFC 3339."""
    root = xml(document)
    assert root.tag == f"{A}feed"
    for parent in (root, *root.findall(f"{A}entry")):
        for name in ("id", "title", "updated"):
            elements = parent.findall(f"{A}{name}")
            assert len(elements) == 1 and (elements[0].text or "").strip(), (parent.tag, name)
        assert ":" in (parent.findtext(f"{A}id") or "")  # an IRI with a scheme
        updated = parent.findtext(f"{A}updated") or ""
        assert updated.endswith("Z") and updated[10] == "T"
    feed_author = root.find(f"{A}author/{A}name")
    for entry in root.findall(f"{A}entry"):
        assert feed_author is not None or entry.find(f"{A}author/{A}name") is not None


def test_given_a_month_when_its_page_is_built_then_it_is_an_rfc_4287_feed_marked_archive() -> None:
    document = page([row(1), row(2)], prev_month="2019-06", next_month="2019-08")
    assert_rfc4287(document)
    root = xml(document)
    # RFC 5005 §4: an archive document is marked and links its neighbours and the current feed
    assert root.find(f"{FH}archive") is not None
    assert links(document) == {
        "self": "2019-07.atom",
        "current": "../current.atom",
        "prev-archive": "2019-06.atom",
        "next-archive": "2019-08.atom",
    }
    parsed = feedparser.parse(document)
    assert not parsed.bozo and len(parsed.entries) == 2


def test_given_the_oldest_and_newest_months_then_they_link_only_the_neighbours_they_have() -> None:
    assert set(links(page([row()]))) == {"self", "current"}
    assert links(page([row()], next_month="2019-08"))["next-archive"] == "2019-08.atom"


def test_given_the_newest_items_when_current_is_built_then_it_links_the_newest_archive() -> None:
    document = current([row(2), row(1)])
    assert_rfc4287(document)
    root = xml(document)
    assert root.find(f"{FH}archive") is None  # the current document is not an archive
    assert links(document)["prev-archive"] == "archive/2019-07.atom"
    assert "prev-archive" not in links(current([], newest_month=None))
    assert_rfc4287(current([], newest_month=None))  # an empty archive is still a valid feed


def test_given_an_item_then_its_entry_keeps_link_dates_category_and_tags() -> None:
    (entry,) = feedparser.parse(page([row(3, feed_categories=["Migration"])])).entries
    assert entry.link == "https://www.icmpd.org/news-centre/news-detail/item-3/"
    assert entry.published == "2019-07-03T10:00:00Z" and entry.updated == "2019-07-03T10:00:00Z"
    tags = {(t.term, t.scheme) for t in entry.tags}
    assert tags == {
        ("Project News", atom.SCHEME_CATEGORY),
        ("Migration", "https://www.icmpd.org/home/?type=100"),
        ("MA", atom.SCHEME_COUNTRY),
        ("TN", atom.SCHEME_COUNTRY),
        ("Africa", atom.SCHEME_REGION),
        ("Rabat Process", atom.SCHEME_PROGRAMME),
    }


def test_given_an_edited_item_then_updated_is_its_last_revision() -> None:
    (entry,) = feedparser.parse(
        page([row(3, revision=2, last_seen="2019-07-20T08:00:00Z")])
    ).entries
    assert entry.updated == "2019-07-20T08:00:00Z" and entry.published == "2019-07-03T10:00:00Z"


@pytest.mark.parametrize(
    ("item_id", "expected"),
    [
        ("https://www.icmpd.org/news/x/", "https://www.icmpd.org/news/x/"),
        (
            "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
            "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        ),
        ("tag:icmpd.org,2019:item-1", "tag:icmpd.org,2019:item-1"),
    ],
)
def test_given_an_id_that_is_a_uri_then_the_entry_id_is_the_item_id(
    item_id: str, expected: str
) -> None:
    assert atom.entry_id(item_id) == expected


@pytest.mark.parametrize(
    "item_id",
    ["sha256:" + "a" * 64, "4711", "http://a b/", "javascript:alert(1)", "https://x/\x00"],
)
def test_given_an_id_that_is_no_usable_uri_then_the_entry_id_is_a_uuid_derived_from_it(
    item_id: str,
) -> None:
    first = atom.entry_id(item_id)
    assert first.startswith("urn:uuid:") and first == atom.entry_id(item_id)  # stable
    assert first != atom.entry_id(item_id + "x")


@pytest.mark.reliability(
    group=SECURITY,
    case="markup, CDATA ends and control characters in a title or summary",
    must_hold="escaped by the XML serialiser; characters XML cannot carry dropped; the document "
    "parses and shows the text as text, with no element injected",
)
def test_given_hostile_text_then_it_is_escaped_and_the_document_stays_well_formed() -> None:
    hostile = row(1, title=HOSTILE_TITLE, summary=HOSTILE_TITLE, category="<b>x</b>")
    for document in (page([hostile]), current([hostile])):
        root = xml(document)  # well-formed, or this raises
        entry = root.find(f"{A}entry")
        assert entry is not None
        assert entry.find(f"{A}title/{A}*") is None and root.find(f".//{A}script") is None
        expected = "</title><script>alert(1)</script>&amp; ]]> <![CDATA[x]]> [31m"
        assert entry.findtext(f"{A}title") == expected
        assert entry.findtext(f"{A}summary") == expected
        assert b"<script>" not in document


@pytest.mark.reliability(
    group=SECURITY,
    case="a javascript:, data: or relative link in an item",
    must_hold="no link element is emitted for it; only http(s) links with a host are",
)
@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "data:text/html,<b>x</b>", "/relative", "ftp://h/x", None]
)
def test_given_a_link_that_is_not_http_then_no_alternate_link_is_emitted(link: Any) -> None:
    hostile = row(1, link=link, feed_url="javascript:alert(1)", feed_categories=["c"])
    entry = xml(page([hostile])).find(f"{A}entry")
    assert entry is not None
    assert entry.find(f"{A}link") is None
    # The feed's own categories take the feed's URL as scheme only when it is a web URL.
    schemes = [c.get("scheme") for c in entry.iter(f"{A}category")]
    assert all(s is None or s.startswith(("https:", "urn:")) for s in schemes)


def test_given_the_same_rows_then_the_page_is_the_same_bytes() -> None:
    # Rewriting an unchanged month leaves the object as it was (readers see no change).
    assert page([row(1), row(2)]) == page([row(1), row(2)])
