"""The Internet Archive's side of `backfill-wayback`: the CDX listing and capture downloads.

Protocol (the real service, and tests/fake_wayback.py):

- listing: GET <cdx>?url=<feed>&output=json&filter=statuscode:200&collapse=digest
  &fl=timestamp,original,digest,statuscode[&from=YYYYMM][&to=YYYYMM] answers a JSON
  array whose first row names the fields; `collapse=digest` only collapses
  adjacent rows, so identical captures are also de-duplicated here.
- capture: GET <capture base><timestamp>id_/<original> answers the bytes as archived.

Politeness: one request at a time (a plain loop), a pause between requests, a
User-Agent that says what this is; 429 and 5xx are retried with back-off by
fetch_feed, which also applies the body cap and the address checks.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from feed_archiver.errors import ConfigError, FetchError
from feed_archiver.fetch import FetchResult, Validators, fetch_feed
from feed_archiver.settings import FetchOptions, WaybackOptions

# The CDX server can take a while to list a busy URL.
CDX_TIMEOUT_SECONDS = 60.0
CDX_FIELDS = ("timestamp", "original", "digest", "statuscode")
_TIMESTAMP = re.compile(r"^\d{14}$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class CdxError(FetchError):
    """The CDX server answered something that is not a CDX listing."""


@dataclass(frozen=True)
class Capture:
    """One archived copy of the feed."""

    timestamp: str  # YYYYMMDDhhmmss, UTC
    original: str  # the URL as captured
    digest: str  # content digest: identical bytes, identical digest

    @property
    def record_key(self) -> str:
        """Its sort key under CAPTURE#<feed key>."""
        return f"{self.timestamp}#{self.digest}"

    @property
    def moment(self) -> datetime:
        return datetime.strptime(self.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)

    def download_url(self, options: WaybackOptions) -> str:
        """The `id_` form: the original bytes, without the archive's banner and link rewriting."""
        return f"{options.capture_url}{self.timestamp}id_/{self.original}"


def month_param(value: str | None, option: str) -> str | None:
    """`YYYY-MM` as the CDX server's `YYYYMM`; None stays None."""
    if value is None:
        return None
    match = _MONTH.match(value.strip())
    if not match:
        raise ConfigError(f"{option} must be a month as YYYY-MM, got {value!r}")
    return match.group(1) + match.group(2)


def cdx_query_url(
    options: WaybackOptions, feed_url: str, month_from: str | None, month_to: str | None
) -> str:
    params = {
        "url": feed_url,
        "output": "json",
        "filter": "statuscode:200",
        "collapse": "digest",
        "fl": ",".join(CDX_FIELDS),
    }
    if month_from:
        params["from"] = month_from
    if month_to:
        params["to"] = month_to
    return f"{options.cdx_url}?{urlencode(params)}"


def parse_cdx(body: bytes, source: str) -> list[Capture]:
    """The captures of a CDX JSON answer that had status 200, as listed."""
    if not body.strip():
        return []  # the CDX server answers an empty body when nothing matches
    try:
        rows = json.loads(body)
    except ValueError as exc:
        raise CdxError(f"{source} did not answer CDX JSON ({exc})") from None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise CdxError(f"{source} did not answer a CDX JSON array of rows")
    if not rows:
        return []
    header = [str(name) for name in rows[0]]
    missing = [name for name in CDX_FIELDS if name not in header]
    if missing:
        raise CdxError(f"{source} answered CDX rows without {', '.join(missing)}")
    captures = []
    for row in rows[1:]:
        if len(row) != len(header):
            continue  # e.g. the empty separator row before a resume key
        fields = dict(zip(header, (str(v) for v in row), strict=True))
        # Filter again here: a server that ignores `filter` must not make us fetch 404 pages.
        if fields["statuscode"] != "200" or not _TIMESTAMP.match(fields["timestamp"]):
            continue
        captures.append(Capture(fields["timestamp"], fields["original"], fields["digest"]))
    return captures


def distinct_captures(captures: Iterable[Capture]) -> list[Capture]:
    """Oldest first, one per digest (the oldest): identical bytes are fetched once."""
    seen: set[str] = set()
    distinct = []
    for capture in sorted(captures, key=lambda c: (c.timestamp, c.original, c.digest)):
        if capture.digest not in seen:
            seen.add(capture.digest)
            distinct.append(capture)
    return distinct


def is_permanent(error: FetchError) -> bool:
    """A 4xx answer will not change on a retry (except 408 and 429); network trouble might."""
    return error.status is not None and 400 <= error.status < 500 and error.status not in (408, 429)


class PoliteClient:
    """GETs one at a time, pausing between requests, with a User-Agent naming the tool."""

    def __init__(
        self,
        fetch_options: FetchOptions,
        pause_seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        fetch: Callable[..., FetchResult] = fetch_feed,
    ) -> None:
        self.options = replace(
            fetch_options, user_agent=f"{fetch_options.user_agent} backfill-wayback"
        )
        self.pause_seconds = pause_seconds
        self.sleep = sleep
        self.fetch = fetch
        self.requests = 0

    def get(self, url: str, *, timeout: float | None = None) -> FetchResult:
        if self.requests and self.pause_seconds > 0:
            self.sleep(self.pause_seconds)
        self.requests += 1
        options = self.options
        if timeout is not None:
            options = replace(options, total_timeout=max(options.total_timeout, timeout))
        result: FetchResult = self.fetch(url, Validators(), options, sleep=self.sleep)
        return result


def list_captures(
    client: PoliteClient,
    options: WaybackOptions,
    feed_url: str,
    *,
    month_from: str | None = None,
    month_to: str | None = None,
) -> tuple[int, list[Capture]]:
    """How many status-200 captures the CDX server lists, and the distinct ones, oldest first."""
    url = cdx_query_url(options, feed_url, month_from, month_to)
    listed = parse_cdx(client.get(url, timeout=CDX_TIMEOUT_SECONDS).body, options.cdx_url)
    return len(listed), distinct_captures(listed)


def known_by_digest(records: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Capture records by digest; an imported record wins over a failed one."""
    known: dict[str, Mapping[str, Any]] = {}
    for record in records:
        digest = str(record.get("digest", ""))
        if digest and (digest not in known or record.get("status") == "imported"):
            known[digest] = record
    return known
