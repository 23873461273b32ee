"""Step 1 of the data path: fetch a feed over HTTP(S), politely and safely.

Conditional GET from stored validators, redirects followed one hop at a time
(each hop's scheme and addresses checked, see addresses.py), 429 and 5xx
retried within a wall-clock deadline, and a body cap that holds for the
decoded size too (see fetch_http.py). Every failure is a one-line FetchError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import urllib3

from feed_archiver.errors import FetchError
from feed_archiver.fetch.addresses import Resolver, resolve_host
from feed_archiver.fetch.exchange import Deadline, connection_settings, seconds_text
from feed_archiver.fetch.redirects import Hops, lower_headers
from feed_archiver.settings import FetchOptions

ACCEPT = (
    "application/rss+xml, application/atom+xml;q=0.9, application/xml;q=0.8, "
    "text/xml;q=0.8, */*;q=0.1"
)
# Without Retry-After, wait 1 s, then 2 s, ...: short, the deadline is 20 s.
DEFAULT_BACKOFF_SECONDS = 1.0


@dataclass(frozen=True)
class Validators:
    """What the last successful fetch returned, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    status: int  # 200 or 304
    url: str  # final URL after redirects
    body: bytes  # decoded from gzip/deflate; b"" on 304
    headers: Mapping[str, str] = field(repr=False)  # lower-case names
    etag: str | None
    last_modified: str | None
    attempts: int  # HTTP requests that got a response (retries and redirects included)
    bytes_received: int  # body bytes on the wire (before decoding) of the final response


def fetch_feed(
    url: str,
    validators: Validators = Validators(),
    options: FetchOptions = FetchOptions(),  # noqa: B008 - frozen, so sharing it is safe
    *,
    pool: urllib3.PoolManager | None = None,
    sleep: Callable[[float], None] = time.sleep,
    resolve: Resolver | None = None,
) -> FetchResult:
    """GET `url`; return a 200 with its body or a 304.

    `pool` only lends its TLS settings (CA bundle, SSL context): every request
    goes over its own connection, pinned to an address that passed the checks.
    `resolve(host, port)` replaces getaddrinfo (tests). Raises FetchError (or
    BlockedAddressError) with a one-line message a person can read.
    """
    deadline = Deadline(options.total_timeout)
    hops = Hops(
        url,
        deadline=deadline,
        allow_private_networks=options.allow_private_networks,
        connect_timeout=options.connect_timeout,
        max_redirects=options.max_redirects,
        resolve=resolve or resolve_host,
        tls=connection_settings(pool),
    )
    retries = 0
    while True:
        with hops.open(_request_headers(validators, options)) as ex:
            response = ex.response
            assert response is not None
            status = response.status
            headers = lower_headers(response.headers)
            if status == 200:
                body, wire = ex.read_body(options.max_bytes)
                return _result(status, hops.url, body, headers, hops.responses, wire, Validators())
            if status == 304:
                return _result(status, hops.url, b"", headers, hops.responses, 0, validators)
        wait = _wait_before_retry(
            status, hops.url, headers, retries, hops.responses, options, deadline
        )
        retries += 1
        if wait > 0:
            sleep(wait)


def _wait_before_retry(
    status: int,
    url: str,
    headers: Mapping[str, str],
    retries: int,
    attempts: int,
    options: FetchOptions,
    deadline: Deadline,
) -> float:
    """How long to wait before retrying a failed status, or raise if it is not retried."""
    if status == 410:
        raise FetchError(f"HTTP 410 Gone from {url}", status=status, gone=True)
    if status != 429 and not 500 <= status <= 599:
        raise FetchError(f"HTTP {status} from {url}", status=status)
    retry_after = headers.get("retry-after")
    # What the server asked for, uncapped: the run's back-off honours it.
    asked = _parse_retry_after(retry_after) if retry_after else None
    if retries >= options.max_retries:
        raise FetchError(
            f"HTTP {status} from {url} (gave up after {attempts} attempts)",
            status=status,
            retry_after=asked,
        )
    wait = _retry_wait(retry_after, retries, options.retry_after_cap)
    if wait >= deadline.remaining():
        raise FetchError(
            f"HTTP {status} from {url}; waiting {seconds_text(wait)} s to retry "
            f"would pass the {seconds_text(deadline.seconds)} s deadline",
            status=status,
            retry_after=asked,
        )
    return wait


def _request_headers(validators: Validators, options: FetchOptions) -> dict[str, str]:
    headers = {
        "User-Agent": options.user_agent,
        "Accept": ACCEPT,
        "Accept-Encoding": "gzip, deflate",
    }
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _retry_wait(retry_after: str | None, retries: int, cap: float) -> float:
    """Seconds to wait before the next try: Retry-After (capped) or a short backoff."""
    asked = _parse_retry_after(retry_after) if retry_after else None
    if asked is None:
        return min(DEFAULT_BACKOFF_SECONDS * 2**retries, cap)
    return min(asked, cap)


def _parse_retry_after(value: str) -> float | None:
    """Retry-After as seconds from now: delay-seconds or an HTTP-date; None if neither."""
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if 0 <= seconds < float("inf") else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _result(
    status: int,
    url: str,
    body: bytes,
    headers: dict[str, str],
    attempts: int,
    wire: int,
    fallback: Validators,
) -> FetchResult:
    # A 304 may omit the validators; then the ones sent still hold.
    return FetchResult(
        status=status,
        url=url,
        body=body,
        headers=headers,
        etag=headers.get("etag") or fallback.etag,
        last_modified=headers.get("last-modified") or fallback.last_modified,
        attempts=attempts,
        bytes_received=wire,
    )
