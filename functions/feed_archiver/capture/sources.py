"""Where a capture comes from: the live page, or the web archive's copy when the link is dead.

`fetch_article` asks the live site politely (robots.txt, the per-host pause,
a conditional request when re-capturing). A 404 or 410 sends it to the web
archive: the CDX listing of the link's status-200 snapshots, `closest` to the
item's date (the server sorts when it can; the closest is picked here too,
whatever the server did), then that snapshot in raw `id_` mode. The archive
is an API we were invited to use, so its robots.txt is not asked; its
requests are paced like any host's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from feed_archiver.clock import rfc3339
from feed_archiver.errors import BlockedAddressError, FetchError, RobotsDisallowedError
from feed_archiver.fetch.feed import Validators
from feed_archiver.fetch.page import HTML_TYPES, PageResponse
from feed_archiver.fetch.polite import Politeness
from feed_archiver.history.wayback import CDX_FIELDS, CDX_TIMEOUT_SECONDS, Capture, parse_cdx
from feed_archiver.settings import WaybackOptions

LIVE, WEB_ARCHIVE = "live", "web_archive"
CAPTURED, PENDING, FAILED, ROBOTS, NOT_HTML, GONE = (
    "captured",
    "pending",
    "failed",
    "robots_disallowed",
    "not_html",
    "gone",
)
DEAD_STATUSES = frozenset({404, 410})
CDX_LIMIT = 10
_HTML_START = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")


@dataclass(frozen=True)
class Attempt:
    """What fetching an article came to; `page` holds the body when `status` is captured."""

    status: str
    source: str | None = None
    page: PageResponse | None = None
    error: str | None = None
    http_status: int | None = None
    not_modified: bool = False
    snapshot_at: str | None = None  # when the web archive took the copy


def fetch_article(
    politeness: Politeness,
    link: str,
    *,
    wayback: WaybackOptions,
    item_time: datetime,
    validators: Validators | None = None,
    web_archive: bool = True,
) -> Attempt:
    """Capture `link` live, or from the web archive when the site says it is gone.

    `web_archive=False` (the item is captured already: its own copy is better than
    the archive's) records a dead link as `gone` without asking the web archive.
    """
    try:
        page = politeness.fetch(link, validators)
    except RobotsDisallowedError as exc:
        # An unreadable robots.txt disallows for now: the item stays pending, asked again later.
        return Attempt(PENDING if exc.unavailable else ROBOTS, LIVE, error=str(exc))
    except BlockedAddressError as exc:
        return Attempt(FAILED, LIVE, error=str(exc))
    except FetchError as exc:
        return Attempt(FAILED, LIVE, error=str(exc))
    if page.status in DEAD_STATUSES:
        if not web_archive:
            return Attempt(
                GONE, LIVE, error=f"HTTP {page.status} from {page.url}", http_status=page.status
            )
        return from_web_archive(politeness, wayback, link, item_time, live_status=page.status)
    return judge(page, LIVE)


def judge(page: PageResponse, source: str, snapshot_at: str | None = None) -> Attempt:
    """The attempt a response makes: captured (HTML), not_modified, not_html or failed."""
    if page.status == 304:
        return Attempt(CAPTURED, source, http_status=304, not_modified=True)
    if not 200 <= page.status < 300 or page.status == 204:
        return Attempt(
            FAILED, source, error=f"HTTP {page.status} from {page.url}", http_status=page.status
        )
    if not is_html(page):
        kind = page.media_type or "no Content-Type"
        return Attempt(
            NOT_HTML, source, error=f"{page.url} is {kind}, not HTML", http_status=page.status
        )
    return Attempt(CAPTURED, source, page=page, http_status=page.status, snapshot_at=snapshot_at)


def is_html(page: PageResponse) -> bool:
    """HTML or XHTML by Content-Type; without one, by the first bytes."""
    if page.media_type:
        return page.media_type in HTML_TYPES and page.body_read
    start = page.body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return page.body_read and start.startswith(_HTML_START)


def from_web_archive(
    politeness: Politeness,
    wayback: WaybackOptions,
    link: str,
    item_time: datetime,
    *,
    live_status: int,
) -> Attempt:
    """The web archive's snapshot of `link` closest to `item_time`, or `gone` without one."""
    dead = f"the live page answered HTTP {live_status}"
    closest = item_time.strftime("%Y%m%d%H%M%S")
    query = {
        "url": link,
        "output": "json",
        "fl": ",".join(CDX_FIELDS),
        "filter": "statuscode:200",
        "closest": closest,
        "sort": "closest",
        "limit": str(CDX_LIMIT),
    }
    cdx_url = f"{wayback.cdx_url}?{urlencode(query)}"
    try:
        listing = politeness.fetch(
            cdx_url, obey_robots=False, body_types=None, total_timeout=CDX_TIMEOUT_SECONDS
        )
        if listing.status != 200:
            raise FetchError(f"HTTP {listing.status} from the web archive's CDX server")
        snapshots = parse_cdx(listing.body, wayback.cdx_url)
    except FetchError as exc:
        return Attempt(FAILED, WEB_ARCHIVE, error=f"{dead}; the web archive lookup failed: {exc}")
    if not snapshots:
        return Attempt(GONE, WEB_ARCHIVE, error=f"{dead} and the web archive has no copy")
    snapshot = min(snapshots, key=lambda s: (abs(s.moment - item_time), s.timestamp))
    return _download(politeness, wayback, snapshot, dead)


def _download(
    politeness: Politeness, wayback: WaybackOptions, snapshot: Capture, dead: str
) -> Attempt:
    url = snapshot.download_url(wayback)
    taken = rfc3339(snapshot.moment)
    try:
        page = politeness.fetch(url, obey_robots=False)
    except FetchError as exc:
        return Attempt(FAILED, WEB_ARCHIVE, error=f"{dead}; the web archive's copy failed: {exc}")
    attempt = judge(page, WEB_ARCHIVE, snapshot_at=taken)
    if attempt.status == FAILED:
        return Attempt(
            FAILED, WEB_ARCHIVE, error=f"{dead}; {attempt.error}", http_status=page.status
        )
    return attempt
