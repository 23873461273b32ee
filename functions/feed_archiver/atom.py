"""The archive as Atom (RFC 4287) with archived feeds (RFC 5005): one document a month.

`feed/current.atom` holds the newest items and links `prev-archive` to the newest
month; each `feed/archive/YYYY-MM.atom` holds every item of its month, is marked
`<fh:archive/>` and links `prev-archive`, `next-archive` and `current`. Links are
relative, so the same objects work from S3, CloudFront or a mirror. A reader
that follows `prev-archive` from current.atom sees every item once, in the
page of its month (current.atom repeats the newest ones).

Everything from a feed goes through ElementTree, which escapes it, after the
characters XML 1.0 cannot carry at all are dropped (`_xml_text`). Pure: rows in,
bytes out (feed_archiver.publish stores them).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from feed_archiver.text import web_link

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
CURRENT_ITEMS = 50
GENERATOR = "feed-archiver"

# Category schemes (Atom identifies a vocabulary by an IRI). Countries are ISO 3166-1
# alpha-2 codes; the others are the archive's own vocabularies, documented in
# docs/archive-format.md. A feed's own <category> values keep the feed's URL as scheme.
DOCS = "https://github.com/icmpd-feed-archiver/feed-archiver/blob/main/docs/archive-format.md"
SCHEME_CATEGORY = f"{DOCS}#category"
SCHEME_REGION = f"{DOCS}#region"
SCHEME_PROGRAMME = f"{DOCS}#programme"
SCHEME_COUNTRY = "urn:iso:std:iso:3166:-1"

# Characters XML 1.0 forbids outright (C0 controls but tab/LF/CR, surrogates, U+FFFE/F):
# no escaping can carry them, so they are dropped rather than make the document malformed.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# An id usable as an Atom id as it is: an absolute http(s), urn or tag IRI without spaces
# or characters an IRI cannot hold; anything else gets a UUID derived from it.
_URI_ID = re.compile(
    r"(?i)^(?:https?://[^\s/?#]+|urn:[a-z0-9][a-z0-9-]{0,31}:|tag:)[^\s<>\"{}|\\^`]*$"
)
_ITEM_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:feed-archiver:item-id")

# Prefixes for the serialiser (a process-wide table): Atom as the default namespace.
ET.register_namespace("", ATOM_NS)
ET.register_namespace("fh", HISTORY_NS)


def _xml_text(value: Any) -> str:
    return _NOT_XML.sub("", "" if value is None else str(value))


def _q(tag: str) -> str:
    return f"{{{ATOM_NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: Any = None, **attributes: Any) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), {k: _xml_text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def entry_id(item_id: str) -> str:
    """The entry's Atom id: the item's id when it is a usable URI, else a UUID URN derived
    from it. Both depend on the item's id alone, which never changes: stable forever."""
    if _URI_ID.match(item_id) and not _NOT_XML.search(item_id):
        return item_id
    return f"urn:uuid:{uuid.uuid5(_ITEM_ID_NAMESPACE, item_id)}"


def document_id(archive: str, name: str) -> str:
    """A feed document's id, from the archive's name (its bucket) and the document's name."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{archive}/{name}')}"


def entry_updated(row: Mapping[str, Any]) -> str:
    """When the item last changed: its publication (or first sighting), later its last edit."""
    first = str(row.get("published") or row.get("first_seen") or "")
    if int(row.get("revision") or 1) > 1 and row.get("last_seen"):
        return max(first, str(row["last_seen"]))
    return first


def _entry(feed: ET.Element, row: Mapping[str, Any]) -> None:
    entry = _sub(feed, "entry")
    _sub(entry, "id", entry_id(str(row["id"])))
    _sub(entry, "title", row.get("title") or row.get("headline") or "", type="text")
    link = web_link(row.get("link"))
    if link:
        _sub(entry, "link", rel="alternate", type="text/html", href=link)
    if row.get("published"):
        _sub(entry, "published", row["published"])
    _sub(entry, "updated", entry_updated(row))
    if row.get("summary"):
        _sub(entry, "summary", row["summary"], type="text")
    if row.get("category"):
        _sub(entry, "category", term=row["category"], scheme=SCHEME_CATEGORY)
    feed_scheme = web_link(row.get("feed_url"))
    for term in row.get("feed_categories") or ():
        attributes = {"scheme": feed_scheme} if feed_scheme else {}
        _sub(entry, "category", term=term, **attributes)
    for field, scheme in (
        ("countries", SCHEME_COUNTRY),
        ("regions", SCHEME_REGION),
        ("programmes", SCHEME_PROGRAMME),
    ):
        for term in row.get(field) or ():
            _sub(entry, "category", term=term, scheme=scheme)


def _feed(
    *, archive: str, name: str, title: str, author: str, updated: str, self_href: str
) -> ET.Element:
    feed = ET.Element(_q("feed"))
    _sub(feed, "id", document_id(archive, name))
    _sub(feed, "title", title, type="text")
    _sub(feed, "updated", updated)
    _sub(_sub(feed, "author"), "name", author)
    _sub(feed, "generator", GENERATOR)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_href)
    return feed


def _link(feed: ET.Element, rel: str, href: str) -> None:
    _sub(feed, "link", rel=rel, type="application/atom+xml", href=href)


def _newest(rows: Sequence[Mapping[str, Any]], fallback: str) -> str:
    return max((entry_updated(r) for r in rows), default=fallback) or fallback


def _bytes(feed: ET.Element) -> bytes:
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def archive_page(
    month: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    prev_month: str | None,
    next_month: str | None,
    archive: str,
    title: str,
    author: str,
) -> bytes:
    """feed/archive/<month>.atom: every item of the month, newest first (RFC 5005 §4)."""
    feed = _feed(
        archive=archive,
        name=f"archive/{month}",
        title=f"{title}: {month}",
        author=author,
        updated=_newest(rows, f"{month}-01T00:00:00Z"),
        self_href=f"{month}.atom",
    )
    ET.SubElement(feed, f"{{{HISTORY_NS}}}archive")
    _link(feed, "current", "../current.atom")
    if prev_month:
        _link(feed, "prev-archive", f"{prev_month}.atom")
    if next_month:
        _link(feed, "next-archive", f"{next_month}.atom")
    for row in rows:
        _entry(feed, row)
    return _bytes(feed)


def current_feed(
    rows: Sequence[Mapping[str, Any]],
    *,
    newest_month: str | None,
    archive: str,
    title: str,
    author: str,
    now: str,
) -> bytes:
    """feed/current.atom: the newest items, linking the newest archive page (RFC 5005 §4)."""
    feed = _feed(
        archive=archive,
        name="current",
        title=title,
        author=author,
        updated=_newest(rows, now),
        self_href="current.atom",
    )
    _link(feed, "current", "current.atom")
    if newest_month:
        _link(feed, "prev-archive", f"archive/{newest_month}.atom")
    for row in rows:
        _entry(feed, row)
    return _bytes(feed)
