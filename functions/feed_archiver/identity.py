"""Identity step: which feed entries are the same item, and did an item change.

The ICMPD feed has no guid, so an item is known by its link; the link is
normalised first because the feed writes it with a double slash
(https://www.icmpd.org//news-centre/...) and may not always do so.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from feed_archiver.archive_format import sha256_hex
from feed_archiver.parse import Entry

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REPEATED_SLASHES = re.compile(r"/{2,}")


def normalise_link(url: str) -> str:
    """A canonical form of a URL, so that trivially different links are one item.

    Lower-cases the scheme and host, drops the default port, collapses
    repeated slashes in the path, drops the fragment and utm_* tracking
    parameters (other parameters keep their order and spelling). A URL that
    cannot be split is returned stripped but otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        netloc = _netloc(parts.scheme.lower(), parts.netloc, parts.hostname, parts.port)
    except ValueError:  # e.g. an unbalanced IPv6 bracket or a non-numeric port
        return url
    path = _REPEATED_SLASHES.sub("/", parts.path)
    if netloc and not path:
        path = "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, _without_tracking(parts.query), ""))


def _netloc(scheme: str, netloc: str, hostname: str | None, port: int | None) -> str:
    if not hostname:
        return netloc
    userinfo, at, _ = netloc.rpartition("@")
    host = f"[{hostname}]" if ":" in hostname else hostname  # hostname is already lower-case
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{userinfo}{at}{host}"


def _without_tracking(query: str) -> str:
    kept = [
        pair
        for pair in query.split("&")
        if pair and not unquote(pair.split("=", 1)[0]).lower().startswith("utm_")
    ]
    return "&".join(kept)


def item_id(entry: Entry) -> str:
    """The stable id of an item.

    The feed's guid as written when it has one (parse.py never resolves it against
    the feed's URL); otherwise the normalised link; otherwise
    "sha256:" + the hash of the title and the ISO publication date (or "").
    An entry without a title either is known by everything it has (date,
    summary and content too): otherwise every untitled entry of a day, or
    every undated one, would be one item and all but the first would be lost.
    """
    if entry.guid:
        return entry.guid
    if entry.link:
        return normalise_link(entry.link)
    published = entry.published.isoformat() if entry.published else ""
    if not entry.title:
        fields = ["", published, entry.summary_text, entry.content_text]
        return "sha256:" + sha256_hex(json.dumps(fields, ensure_ascii=False, separators=(",", ":")))
    return "sha256:" + sha256_hex(entry.title + "\n" + published)


def content_hash(entry: Entry) -> str:
    """SHA-256 hex over the fields whose change makes a new revision of an item.

    Title, normalised link, summary text and sanitised content HTML, encoded
    as one JSON array so that no field can bleed into the next.
    """
    fields = [
        entry.title,
        normalise_link(entry.link) if entry.link else None,
        entry.summary_text,
        entry.content_html,
    ]
    return sha256_hex(json.dumps(fields, ensure_ascii=False, separators=(",", ":")))
