"""A tiny HTTP server for the demo: serves feed files on 127.0.0.1 with ETag and Last-Modified.

Conditional requests get 304, as a real feed server would, so running the
archiver twice shows the "not modified" path. `serve` adds any other document
(the demo's article pages, robots.txt: dashboard/demo_site.py). Standard library only.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RSS_TYPE = "application/rss+xml; charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    server: _FeedHTTPServer

    def do_GET(self) -> None:
        feed = self.server.feeds.get(self.path)
        if feed is None:
            self.send_error(404)
            return
        body, etag, last_modified, content_type = feed
        if self.headers.get("If-None-Match") == etag or (
            "If-None-Match" not in self.headers
            and self.headers.get("If-Modified-Since") == last_modified
        ):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the demo prints its own progress


class _FeedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    feeds: Mapping[str, tuple[bytes, str, str, str]]  # route -> body, ETag, date, type


class FeedServer:
    """Serve files as /<name>; `urls` lists where, in the order given."""

    def __init__(self, files: Sequence[Path], *, port: int = 0) -> None:
        feeds: dict[str, tuple[bytes, str, str, str]] = {}
        for path in files:
            route, n = f"/{path.name}", 1
            while route in feeds:  # two files of the same name
                n += 1
                route = f"/{n}-{path.name}"
            feeds[route] = _document(path.read_bytes(), RSS_TYPE, path.stat().st_mtime)
        self._feed_routes = list(feeds)
        self._server = _FeedHTTPServer(("127.0.0.1", port), _Handler)
        self._server.feeds = feeds
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>, known as soon as the server is made (before `start`)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def urls(self) -> list[str]:
        """The feeds' URLs, in the order of the files given."""
        return [f"{self.base_url}{path}" for path in self._feed_routes]

    def serve(self, route: str, body: bytes, content_type: str) -> str:
        """Serve `body` at `route` (replacing what was there); returns its URL."""
        self._server.feeds = {**self._server.feeds, route: _document(body, content_type)}
        return f"{self.base_url}{route}"

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _document(
    body: bytes, content_type: str, modified: float | None = None
) -> tuple[bytes, str, str, str]:
    """A served document: its body, an ETag and a Last-Modified, and its type."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
    return body, etag, formatdate(modified, usegmt=True), content_type
