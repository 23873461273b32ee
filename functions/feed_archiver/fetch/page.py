"""Fetch one web page (an item's article, a robots.txt, a web-archive answer).

The feed fetch's protections, reused: redirects followed one checked hop at a
time (redirects.py, addresses.py), one wall-clock deadline, a body cap that
holds for the decoded size too (exchange.py). Unlike the feed fetch, a 4xx or
5xx is returned, not raised, and not retried: the capture records it and
`capture --missing` tries again later, which is politer than hammering a
struggling site. A body whose type is not wanted (a PDF where HTML was asked
for) is not downloaded at all. What a WARC record needs is kept: the request
headers as sent, the status line and the response headers in their order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import urllib3

from feed_archiver.fetch.addresses import Resolver, resolve_host
from feed_archiver.fetch.exchange import Deadline, connection_settings
from feed_archiver.fetch.feed import Validators
from feed_archiver.fetch.redirects import BeforeRequest, Hops
from feed_archiver.settings import CaptureOptions, FetchOptions

if TYPE_CHECKING:
    from feed_archiver.settings import Settings

HTML_TYPES = ("text/html", "application/xhtml+xml")
ACCEPT_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


@dataclass(frozen=True)
class PageOptions:
    """How a page is fetched; `from_settings` gives the production values."""

    user_agent: str = CaptureOptions.user_agent
    connect_timeout: float = FetchOptions.connect_timeout
    total_timeout: float = FetchOptions.total_timeout
    max_bytes: int = CaptureOptions.max_bytes
    max_redirects: int = FetchOptions.max_redirects
    allow_private_networks: bool = False
    accept: str = ACCEPT_HTML
    # Only bodies of these media types are downloaded; None downloads any (robots.txt, CDX).
    body_types: tuple[str, ...] | None = HTML_TYPES

    @classmethod
    def from_settings(cls, settings: Settings) -> PageOptions:
        return cls(
            user_agent=settings.capture.user_agent,
            connect_timeout=settings.fetch.connect_timeout,
            total_timeout=settings.fetch.total_timeout,
            max_bytes=settings.capture.max_bytes,
            max_redirects=settings.fetch.max_redirects,
            allow_private_networks=settings.fetch.allow_private_networks,
        )


@dataclass(frozen=True)
class PageResponse:
    """The final response after redirects (the body is decoded from gzip/deflate)."""

    url: str  # final URL, after redirects
    status: int
    reason: str
    http_version: str  # "HTTP/1.1"
    request_headers: list[tuple[str, str]]  # as sent, Host first
    response_headers: list[tuple[str, str]]  # as received, repeated names kept
    body: bytes = field(repr=False)  # b"" unless a 2xx of a wanted type
    content_type: str  # the Content-Type header as sent ("" when none)
    etag: str | None = None
    last_modified: str | None = None
    redirects: int = 0
    body_read: bool = False  # False: the body was not downloaded (a status or a type not wanted)

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased: "text/html"."""
        return media_type(self.content_type)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == wanted), None)


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def fetch_page(
    url: str,
    options: PageOptions,
    validators: Validators | None = None,
    *,
    before_request: BeforeRequest | None = None,
    resolve: Resolver | None = None,
    pool: urllib3.PoolManager | None = None,
) -> PageResponse:
    """GET `url` following redirects; return the final response, whatever its status.

    Raises FetchError (BlockedAddressError for a refused address) for what is
    not a response: a bad URL, a network failure, the deadline, the body cap,
    too many redirects; and whatever `before_request` raises.
    """
    hops = Hops(
        url,
        deadline=Deadline(options.total_timeout),
        allow_private_networks=options.allow_private_networks,
        connect_timeout=options.connect_timeout,
        max_redirects=options.max_redirects,
        resolve=resolve or resolve_host,
        tls=connection_settings(pool),
        before_request=before_request,
    )
    headers = request_headers(options, validators)
    with hops.open(headers) as exchange:
        response = exchange.response
        assert response is not None
        received = list(response.headers.items())
        content_type = _first(received, "content-type") or ""
        wanted = options.body_types is None or media_type(content_type) in (
            *options.body_types,
            "",  # no Content-Type: read it, the caller looks at the bytes
        )
        body = b""
        read = 200 <= response.status < 300 and response.status != 204 and wanted
        if read:
            body, _ = exchange.read_body(options.max_bytes)
        return PageResponse(
            url=hops.url,
            status=response.status,
            reason=response.reason or "",
            http_version="HTTP/1.0" if response.version == 10 else "HTTP/1.1",
            request_headers=[("Host", exchange.target.host_header), *headers.items()],
            response_headers=received,
            body=body,
            content_type=content_type,
            etag=_first(received, "etag"),
            last_modified=_first(received, "last-modified"),
            redirects=hops.redirects,
            body_read=read,
        )


def request_headers(options: PageOptions, validators: Validators | None) -> dict[str, str]:
    headers = {
        "User-Agent": options.user_agent,
        "Accept": options.accept,
        "Accept-Encoding": "gzip, deflate",
    }
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _first(headers: list[tuple[str, str]] | Mapping[str, str], name: str) -> str | None:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return next((v for k, v in items if k.lower() == name), None)
