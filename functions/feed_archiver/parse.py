"""Parse step: fetched feed bytes → plain, safe entries.

feedparser does the format work (RSS 0.9x/1.0/2.0, Atom, encodings, its HTML
sanitiser); this module turns its loose dictionaries into typed entries with
plain-text fields, a sanitised HTML copy of the content, an aware UTC date,
an http(s)-only link, and a list of problems found along the way.
"""

from __future__ import annotations

import calendar
import html
import io
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from feed_archiver.clock import DATE_FLOOR
from feed_archiver.errors import FeedParseError
from feed_archiver.feed_body import prepare_body
from feed_archiver.text import (
    WEB_SCHEMES,
    html_to_text,
    plain_text,
    sanitise_html,
    url_scheme,
)

# A date further ahead than this (clock skew, time zones) is not believed.
FUTURE_TOLERANCE = timedelta(days=1)
_QUOTE_CHARS = 80
_ERROR_CHARS = 300


@dataclass(frozen=True)
class Entry:
    guid: str | None  # the feed's guid/id as written (non-empty, stripped), never resolved
    link: str | None  # absolute http(s) link, else None (see problems)
    title: str  # plain text, "" when missing
    summary_text: str  # plain text of description/summary
    content_text: str  # plain text of content:encoded / atom content, else of the summary
    content_html: str  # sanitised HTML of the same
    published: datetime | None  # aware UTC; None when missing, unparseable or far future
    categories: tuple[str, ...]  # category terms, plain text
    problems: tuple[str, ...]  # human-readable notes ("no title", "no date", ...)
    # The guid as feedparser resolved it against the base URL, when that differs from
    # `guid`: the id archives written before ids were kept as written used (aliases.py).
    resolved_guid: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    entries: tuple[Entry, ...]
    title: str
    version: str  # feedparser's version, e.g. 'rss20', 'atom10', 'rss10'; '' if unknown
    error: str | None  # what was malformed or repaired, as one line; None when clean


def parse_feed(
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    base_url: str = "",
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse a fetched feed body (RSS 1.0/2.0 or Atom) into entries.

    `headers` are the HTTP response headers (Content-Type decides the
    encoding with the XML declaration). `base_url` resolves relative links,
    never ids; it is the URL the body was retrieved from, the one rule of every
    path (docs/archive-format.md, "Base URL"). A malformed feed returns what could be parsed, and
    `error` says what was wrong (feedparser's bozo exception) or repaired (a
    mislabelled encoding, disabled entity declarations). An entry missing its
    title, link or date is still returned, with a note in `problems`.

    Dates are feedparser's UTC struct_time made aware. A date more than
    FUTURE_TOLERANCE after `now` (default: the current time) is treated as
    unreliable: `published` is None and a problem is noted, so that a
    2099-dated item cannot pollute the counts by month; so is a date before
    clock.DATE_FLOOR (Hugo's `0001-01-01` for "no date", a zero Unix time).

    Raises FeedParseError when the body is not a feed at all: empty, an
    HTML page, or no entries and no recognised feed format.
    """
    if not body.strip():
        raise FeedParseError("empty body: not a feed")
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)  # a naive "now" is taken as UTC, like every date here
    prepared = prepare_body(body, _response_headers(headers, base_url))
    result = _run_feedparser(prepared.body, prepared.headers)

    version = str(result.get("version") or "")
    raw_entries = result.get("entries") or []
    if not raw_entries and not version:
        raise FeedParseError(_not_a_feed(body, result))

    notes = list(prepared.notes)
    if result.get("bozo"):
        notes.append(_one_line(result.get("bozo_exception")))
    feed = result.get("feed") or {}
    # Atom says whether a text is HTML; RSS does not, and feedparser's guess
    # leaves unknown tags (<script>) as literal text: RSS texts are read as HTML.
    rss = not version.startswith("atom")
    ids = _publisher_ids(raw_entries, prepared.body, prepared.headers, base_url)
    return ParsedFeed(
        entries=tuple(
            _entry(raw, base_url, now, rss=rss, guid=guid)
            for raw, guid in zip(raw_entries, ids, strict=True)
        ),
        title=_text(feed.get("title_detail"), feed.get("title"), rss=rss),
        version=version,
        error="; ".join(notes) or None,
    )


def _response_headers(headers: Mapping[str, str] | None, base_url: str) -> dict[str, str]:
    """The headers as feedparser reads them: lower-case names."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    if base_url:
        # feedparser resolves relative URIs inside content against this header.
        lowered["content-location"] = base_url
    # Without a Content-Type feedparser assumes ISO-8859-1 (RFC 2616) and flags
    # the feed; as for a local file, let the XML declaration decide (UTF-8 by default).
    lowered.setdefault("content-type", "application/xml")
    # feedparser still follows RFC 3023 (text/xml without a charset is US-ASCII) and
    # flags clean UTF-8 feeds; RFC 7303, which replaced it, lets the XML declaration decide.
    media_type, _, params = lowered["content-type"].partition(";")
    if media_type.strip().lower() == "text/xml" and "charset" not in params.lower():
        lowered["content-type"] = "application/xml" + (f";{params}" if params else "")
    return lowered


def _run_feedparser(body: bytes, headers: dict[str, str]) -> Any:
    try:
        # Always a stream: feedparser treats a str as a URL or a file name, and
        # even bytes as a file name ("/etc/passwd" would be read).
        return feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=True,
            resolve_relative_uris=True,
        )
    except Exception as exc:
        # Hostile bytes must end as a parse error, never as a crash of the run.
        raise FeedParseError(f"feedparser failed: {_one_line(exc)}") from exc


def _publisher_ids(
    raw_entries: list[Any], body: bytes, headers: dict[str, str], base_url: str
) -> list[object]:
    """Each entry's guid/id as the feed wrote it.

    feedparser resolves an RSS guid (unless isPermaLink="false") and an Atom id
    against the base URL as if they were links: `<guid>12345</guid>` fetched from
    https://site.example/feed comes out as https://site.example/12345. An id must
    not depend on where the feed was fetched from, so when any id came out as an
    http(s) URL the body is parsed once more without the base, which leaves every
    id as written (an xml:base inside the feed, the publisher's own, still applies).
    """
    resolved = [raw.get("id") for raw in raw_entries]
    urls = [i for i in resolved if isinstance(i, str) and url_scheme(i) in WEB_SCHEMES]
    if not base_url or not urls:
        return resolved
    without_base = {name: value for name, value in headers.items() if name != "content-location"}
    again = _run_feedparser(body, without_base).get("entries") or []
    # Same bytes, same parser: the same entries in the same order. Should that ever
    # not hold, the base-dependent ids are kept (as before) rather than misassigned.
    return [e.get("id") for e in again] if len(again) == len(resolved) else resolved


def _not_a_feed(body: bytes, result: Any) -> str:
    head = body[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "the body is an HTML page, not a feed"
    if result.get("bozo"):
        return f"no feed found in the body ({_one_line(result.get('bozo_exception'))})"
    return "no feed found in the body"


def _entry(
    raw: Mapping[str, Any], base_url: str, now: datetime, *, rss: bool, guid: object
) -> Entry:
    problems: list[str] = []
    title = _text(raw.get("title_detail"), raw.get("title"), rss=rss)
    if not title:
        problems.append("no title")
    summary_text = _text(_summary_detail(raw), raw.get("summary"), rss=rss)
    content_text, content_html = _content(raw, rss=rss)
    written, resolved = _guid(guid), _guid(raw.get("id"))
    return Entry(
        guid=written,
        link=_link(raw.get("link"), base_url, problems),
        title=title,
        summary_text=summary_text,
        content_text=content_text,
        content_html=content_html,
        published=_published(raw, now, problems),
        categories=_categories(raw.get("tags") or [], rss=rss),
        problems=tuple(problems),
        resolved_guid=resolved if resolved != written else None,
    )


def _is_html(detail: Mapping[str, Any] | None, *, rss: bool) -> bool:
    return rss or "html" in str((detail or {}).get("type") or "")


def _text(detail: Mapping[str, Any] | None, value: object, *, rss: bool) -> str:
    """Plain text of a feedparser text construct (HTML or plain)."""
    if not isinstance(value, str) or not value:
        return ""
    return html_to_text(value) if _is_html(detail, rss=rss) else plain_text(value)


def _markup(detail: Mapping[str, Any] | None, value: str, *, rss: bool) -> str:
    """Sanitised HTML of a feedparser text construct (plain text is escaped)."""
    if _is_html(detail, rss=rss):
        return sanitise_html(value)
    paragraphs = plain_text(value).split("\n\n")
    return "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs if p)


def _content(raw: Mapping[str, Any], *, rss: bool) -> tuple[str, str]:
    """(text, html) of the first non-empty content, else of the summary."""
    candidates = [c for c in raw.get("content") or [] if isinstance(c.get("value"), str)]
    # Without a description feedparser copies the (HTML) content into summary,
    # with no summary_detail: a summary without details is read as HTML.
    candidates.append(_summary_detail(raw))
    for detail in candidates:
        value = detail.get("value")
        if isinstance(value, str) and value.strip():
            return _text(detail, value, rss=rss), _markup(detail, value, rss=rss)
    return "", ""


def _summary_detail(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    detail = raw.get("summary_detail")
    return detail if detail else {"type": "text/html", "value": raw.get("summary")}


def _guid(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _link(value: object, base_url: str, problems: list[str]) -> str | None:
    """The entry's link if it is an absolute http(s) URL; otherwise None and a problem."""
    link = value.strip() if isinstance(value, str) else ""
    if not link:
        problems.append("no link")
        return None
    scheme = url_scheme(link)
    if scheme is None:
        if url_scheme(base_url) not in WEB_SCHEMES:
            problems.append(f"relative link dropped ({_quote(link)})")
            return None
        link = urljoin(base_url, link)
        scheme = url_scheme(link)
    if scheme not in WEB_SCHEMES:
        problems.append(f"unsafe link dropped ({scheme}:)")
        return None
    if not _is_well_formed_url(link):
        problems.append(f"malformed link dropped ({_quote(link)})")
        return None
    return _lower_scheme_and_host(link)


def _lower_scheme_and_host(link: str) -> str:
    """`HTTP://WWW.Example.org/Path` as `http://www.example.org/Path`: scheme and host are
    case-insensitive (RFC 3986), the rest of the URL is kept exactly as written."""
    scheme, _, rest = link.partition(":")
    if not rest.startswith("//"):
        return f"{scheme.lower()}:{rest}"
    authority_end = next((i for i, c in enumerate(rest[2:], 2) if c in "/?#"), len(rest))
    userinfo, at, host = rest[2:authority_end].rpartition("@")
    return f"{scheme.lower()}://{userinfo}{at}{host.lower()}{rest[authority_end:]}"


def _is_well_formed_url(link: str) -> bool:
    if any(char.isspace() or not char.isprintable() for char in link):
        return False
    try:
        return bool(urlsplit(link).hostname)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False


def _published(raw: Mapping[str, Any], now: datetime, problems: list[str]) -> datetime | None:
    """The first parseable of published/updated/created, checked against the clock."""
    unparsed: list[str] = []
    for key in ("published", "updated", "created"):
        text = _own(raw, key)
        if not isinstance(text, str) or not text.strip():
            continue
        when = _utc(_own(raw, f"{key}_parsed"))
        if when is None:
            unparsed.append(text)
            continue
        if when > now + FUTURE_TOLERANCE:
            problems.append(f"date in the future ({_quote(text)})")
            return None
        if when < DATE_FLOOR:
            problems.append(f"date before {DATE_FLOOR.year} ({_quote(text)}): taken as no date")
            return None
        return when
    problems.append(f"unparseable date {_quote(unparsed[0])}" if unparsed else "no date")
    return None


def _own(raw: Mapping[str, Any], key: str) -> object:
    """raw[key] without FeedParserDict's aliases: it maps a missing 'updated' to
    'published' (with a DeprecationWarning), which would read one date twice."""
    return dict.get(raw, key) if isinstance(raw, dict) else raw.get(key)


def _utc(parsed: object) -> datetime | None:
    if not isinstance(parsed, time.struct_time | tuple):
        return None
    try:
        # feedparser's struct_time is UTC; timegm also copes with a leap second.
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def _categories(tags: Iterable[Mapping[str, Any]], *, rss: bool) -> tuple[str, ...]:
    seen: dict[str, None] = {}  # ordered set
    for tag in tags:
        term = tag.get("term") or tag.get("label")
        if isinstance(term, str) and (text := _text(None, term, rss=rss)):
            seen.setdefault(text, None)
    return tuple(seen)


def _quote(text: str) -> str:
    short = text if len(text) <= _QUOTE_CHARS else text[:_QUOTE_CHARS] + "…"
    return repr(short)


def _one_line(exc: object) -> str:
    if exc is None:
        return "malformed feed"
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= _ERROR_CHARS else text[:_ERROR_CHARS] + "…"
