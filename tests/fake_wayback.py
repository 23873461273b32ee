"""A local stand-in for the Wayback Machine: the CDX listing and `id_` capture downloads.

    with FakeWayback([FakeCapture("20190716133230", body)]) as archive:
        archive.cdx_url, archive.capture_url  # point the backfill here
        archive.downloads("20190716133230")  # how often that capture was fetched

CDX (GET /cdx/search/cdx): `url` (exact match), `output=json`, `fl`,
`filter=statuscode:NNN`, `collapse=digest` (adjacent rows only, as the real
server does), `from`/`to` (timestamp prefixes), `closest` with `sort=closest`
(nearest first) and `limit`. Captures (GET
/web/<timestamp>id_/<original>): the archived bytes, or scripted statuses.
Listens on 127.0.0.1 only; counts requests and the most served at once.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.history_feeds import FEED_URL

CDX_PATH = "/cdx/search/cdx"
CAPTURE_PREFIX = "/web/"


@dataclass
class FakeCapture:
    timestamp: str  # YYYYMMDDhhmmss
    body: bytes
    statuscode: int = 200  # the archived response's status, as the CDX index lists it
    original: str = FEED_URL
    digest: str = ""  # default: a hash of the body, as the real index has
    # Statuses answered to successive downloads (the last repeats); 200 serves the body.
    download_statuses: list[int] = field(default_factory=lambda: [200])
    content_type: str = "application/rss+xml; charset=utf-8"  # as archived (an article: text/html)

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = hashlib.sha256(self.body).hexdigest().upper()[:32]


class FakeWayback:
    def __init__(self, captures: list[FakeCapture], *, honour_filter: bool = True) -> None:
        self.captures = sorted(captures, key=lambda c: c.timestamp)
        self.honour_filter = honour_filter
        self.log: list[tuple[str, dict[str, str]]] = []  # (path with query, lower-case headers)
        self._downloads: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        self._server = _Server(("127.0.0.1", 0), _Handler, owner=self)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def cdx_url(self) -> str:
        return self.base_url + CDX_PATH

    @property
    def capture_url(self) -> str:
        return self.base_url + CAPTURE_PREFIX

    def __enter__(self) -> FakeWayback:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what the tests read ----------------------------------------------------
    def downloads(self, timestamp: str | None = None) -> int:
        with self._lock:
            return self._downloads[timestamp] if timestamp else sum(self._downloads.values())

    def cdx_requests(self) -> list[dict[str, list[str]]]:
        with self._lock:
            return [parse_qs(urlsplit(p).query) for p, _ in self.log if p.startswith(CDX_PATH)]

    def user_agents(self) -> set[str]:
        with self._lock:
            return {h.get("user-agent", "") for _, h in self.log}

    # --- serving ---------------------------------------------------------------
    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        with self._lock:
            self.log.append((path, headers))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            time.sleep(0.01)  # long enough for overlapping requests to be seen overlapping
            if path.startswith(CDX_PATH):
                return 200, "application/json", self._cdx(parse_qs(urlsplit(path).query))
            if path.startswith(CAPTURE_PREFIX):
                return self._capture(path[len(CAPTURE_PREFIX) :])
            return 404, "text/plain", b"not found"
        finally:
            with self._lock:
                self._in_flight -= 1

    def _cdx(self, query: dict[str, list[str]]) -> bytes:
        one = {k: v[0] for k, v in query.items()}
        rows = [c for c in self.captures if c.original == one.get("url")]
        wanted_status = one.get("filter", "").removeprefix("statuscode:")
        if self.honour_filter and wanted_status:
            rows = [c for c in rows if str(c.statuscode) == wanted_status]
        if "from" in one:
            rows = [c for c in rows if c.timestamp[: len(one["from"])] >= one["from"]]
        if "to" in one:
            rows = [c for c in rows if c.timestamp[: len(one["to"])] <= one["to"]]
        if one.get("collapse") == "digest":
            rows = [c for i, c in enumerate(rows) if i == 0 or rows[i - 1].digest != c.digest]
        if one.get("sort") == "closest" and one.get("closest", "").isdigit():
            target = int(one["closest"].ljust(14, "0"))
            rows = sorted(rows, key=lambda c: abs(_seconds(c.timestamp) - _seconds(str(target))))
        if one.get("limit", "").isdigit():
            rows = rows[: int(one["limit"])]
        if not rows:
            return b"[]"
        fields = one.get("fl", "timestamp,original,digest,statuscode").split(",")
        table: list[list[str]] = [fields]
        table += [[str(getattr(c, name)) for name in fields] for c in rows]
        return json.dumps(table).encode()

    def _capture(self, rest: str) -> tuple[int, str, bytes]:
        timestamp, _, original = rest.partition("id_/")
        for capture in self.captures:
            if capture.timestamp == timestamp and capture.original == original:
                with self._lock:
                    self._downloads[timestamp] += 1
                    statuses = capture.download_statuses
                    status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
                if status == 200:
                    return 200, capture.content_type, capture.body
                return status, "text/html", b"<html><body>Wayback error</body></html>"
        return 404, "text/html", b"<html><body>not in the archive</body></html>"


def _seconds(timestamp: str) -> float:
    """A CDX timestamp (YYYYMMDDhhmmss) as seconds since the epoch, for `closest`."""
    return datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, *, owner: FakeWayback) -> None:
        self.owner = owner
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, content_type, body = self.server.owner.answer(self.path, headers)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)
