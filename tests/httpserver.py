"""A scriptable local HTTP server: for the fetch tests, the end-to-end tests,
the dashboard demo and the benchmarks.

    server = FeedServer().start()              # or the `feed_server` fixture
    server.route("/feed", Reply(body=xml, etag='"v1"'))
    server.route("/flaky", Reply(status=500), Reply(body=xml))  # 500, then 200 forever
    fetch_feed(server.url("/feed"), options=FetchOptions(allow_private_networks=True))
    assert len(server.requests("/flaky")) == 2

Each path serves a sequence of replies, one per request, the last repeating.
It listens on 127.0.0.1 only. From the command line it serves one file:

    python -m tests.httpserver tests/fixtures/icmpd-news-centre-2019-07.xml
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import hashlib
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

RSS_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    """One scripted response."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = RSS_TYPE
    # Validators: sent as ETag / Last-Modified; a matching conditional request gets a 304.
    etag: str | None = None
    last_modified: str | None = None
    honour_validators: bool = True
    # A body produced lazily (huge bodies), sent without Content-Length, then the connection closes.
    stream: Callable[[], Iterable[bytes]] | None = None
    delay: float = 0.0  # seconds before the status line
    header_drip: float = 0.0  # seconds between the bytes of the status line and headers
    drip: float = 0.0  # seconds between body chunks of `drip_chunk` bytes
    drip_chunk: int = 1
    reset_after: int | None = None  # send this many body bytes, then reset the connection
    content_length: int | None = None  # a Content-Length to declare instead of the real one


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status=status, headers={"Location": location}, content_type=None)


def gzip_reply(body: bytes, **kwargs: Any) -> Reply:
    headers = {"Content-Encoding": "gzip", **kwargs.pop("headers", {})}
    return Reply(body=gzip.compress(body), headers=headers, **kwargs)


def deflate_reply(body: bytes, *, raw: bool = False, **kwargs: Any) -> Reply:
    """`Content-Encoding: deflate`, zlib-wrapped as the RFC says, or raw as some servers send."""
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    headers = {"Content-Encoding": "deflate", **kwargs.pop("headers", {})}
    return Reply(body=packer.compress(body) + packer.flush(), headers=headers, **kwargs)


def gzip_bomb(decoded_size: int) -> bytes:
    """A gzip stream of `decoded_size` zero bytes (about 1000:1), built without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    whole, rest = divmod(decoded_size, len(block))
    parts = [packer.compress(block) for _ in range(whole)]
    parts.append(packer.compress(block[:rest]))
    parts.append(packer.flush())
    return b"".join(parts)


def endless(chunk: bytes = b"x" * 65536, total: int = 1 << 40) -> Callable[[], Iterator[bytes]]:
    """A stream body of `total` bytes (practically endless by default)."""

    def generate() -> Iterator[bytes]:
        sent = 0
        while sent < total:
            piece = chunk[: total - sent]
            sent += len(piece)
            yield piece

    return generate


@dataclass
class Request:
    """What the server saw, and how far it got answering."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    status: int | None = None
    body_bytes_sent: int = 0
    completed: bool = False  # the whole body went out
    done: threading.Event = field(default_factory=threading.Event, repr=False)  # handler finished
    # When the request line arrived (time.monotonic()): intervals between requests are measured here.
    at: float = field(default_factory=time.monotonic)


class FeedServer:
    """A threaded HTTP(S) server on 127.0.0.1 whose replies tests script per path."""

    def __init__(self, *, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self._routes: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._log: list[Request] = []
        self.stopping = threading.Event()
        self._http = _Server(("127.0.0.1", port), _Handler, owner=self)
        if tls is not None:
            self._http.socket = tls.wrap_socket(self._http.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"{self.base_url}{path}"

    def start(self) -> FeedServer:
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # ends drips and delays early
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def route(self, path: str, *replies: Reply) -> str:
        """Serve `replies` at `path` in turn, repeating the last; returns the URL."""
        if not replies:
            raise ValueError("route() needs at least one Reply")
        with self._lock:
            self._routes[path] = list(replies)
        return self.url(path)

    def serve_bytes(self, path: str, body: bytes, content_type: str = RSS_TYPE) -> str:
        """Serve `body` with a content ETag and Last-Modified, honouring validators."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        reply = Reply(
            body=body, content_type=content_type, etag=etag, last_modified=formatdate(usegmt=True)
        )
        return self.route(path, reply)

    def serve_file(self, file: str | Path, path: str | None = None) -> str:
        """Serve a file (read once, now) and return its URL."""
        file = Path(file)
        return self.serve_bytes(path or f"/{file.name}", file.read_bytes(), _content_type(file))

    def requests(self, path: str | None = None) -> list[Request]:
        """The requests seen so far, optionally only those for `path` (query ignored)."""
        with self._lock:
            log = list(self._log)
        return [r for r in log if path is None or r.path.split("?", 1)[0] == path]

    def _next_reply(self, path: str) -> Reply | None:
        with self._lock:
            replies = self._routes.get(path) or self._routes.get(path.split("?", 1)[0])
            if not replies:
                return None
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _record(self, request: Request) -> None:
        with self._lock:
            self._log.append(request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], handler: type, *, owner: FeedServer) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (the fetcher aborting a body on purpose) are expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        owner = self.server.owner
        seen = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        owner._record(seen)
        try:
            self._reply(seen, send_body=send_body)
        finally:
            seen.done.set()

    def _reply(self, seen: Request, *, send_body: bool) -> None:
        owner = self.server.owner
        reply = owner._next_reply(self.path)
        if reply is None:
            reply = Reply(status=404, body=b"not found\n", content_type="text/plain")
        if reply.delay and owner.stopping.wait(reply.delay):
            return
        if _not_modified(reply, seen.headers):
            reply = Reply(
                status=304, etag=reply.etag, last_modified=reply.last_modified, content_type=None
            )
        seen.status = reply.status
        self.send_response(reply.status)
        for name, value in _reply_headers(reply).items():
            self.send_header(name, value)
        if reply.stream is not None or reply.reset_after is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        if reply.header_drip:
            if not self._drip_headers(reply.header_drip):
                return
        else:
            self.end_headers()
        if send_body and reply.status not in (204, 304):
            self._send_body(reply, seen)
        else:
            seen.completed = True

    def _send_body(self, reply: Reply, seen: Request) -> None:
        chunks = (
            reply.stream()
            if reply.stream
            else _pieces(reply.body, reply.drip_chunk if reply.drip else 65536)
        )
        try:
            for chunk in chunks:
                if (
                    reply.reset_after is not None
                    and seen.body_bytes_sent + len(chunk) > reply.reset_after
                ):
                    chunk = chunk[: reply.reset_after - seen.body_bytes_sent]
                    self.wfile.write(chunk)
                    seen.body_bytes_sent += len(chunk)
                    self._reset()
                    return
                self.wfile.write(chunk)
                self.wfile.flush()
                seen.body_bytes_sent += len(chunk)
                if reply.drip and self.server.owner.stopping.wait(reply.drip):
                    return
            seen.completed = True
        except OSError:  # the client hung up
            self.close_connection = True

    def _drip_headers(self, interval: float) -> bool:
        """Send the head one byte at a time; False if the client hung up first."""
        buffer: list[bytes] = getattr(self, "_headers_buffer", [])  # filled by send_header
        head = b"".join([*buffer, b"\r\n"])
        buffer.clear()
        try:
            for byte in _pieces(head, 1):
                self.wfile.write(byte)
                self.wfile.flush()
                if self.server.owner.stopping.wait(interval):
                    return False
        except OSError:
            self.close_connection = True
            return False
        return True

    def _reset(self) -> None:
        """Close with SO_LINGER 0, so the client sees a TCP reset mid-body."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        self.wfile = _NullWriter()  # type: ignore[assignment]


class _NullWriter:
    closed = False

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _reply_headers(reply: Reply) -> dict[str, str]:
    headers: dict[str, str] = {}
    if reply.content_type:
        headers["Content-Type"] = reply.content_type
    if reply.etag:
        headers["ETag"] = reply.etag
    if reply.last_modified:
        headers["Last-Modified"] = reply.last_modified
    if reply.content_length is not None:
        headers["Content-Length"] = str(reply.content_length)
    elif reply.stream is None and reply.status != 304:
        headers["Content-Length"] = str(len(reply.body))
    headers.update(reply.headers)
    return headers


def _not_modified(reply: Reply, headers: Mapping[str, str]) -> bool:
    if not reply.honour_validators or reply.status != 200:
        return False
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:  # takes precedence over If-Modified-Since (RFC 9110)
        tags = [t.strip() for t in if_none_match.split(",")]
        return bool(reply.etag) and (reply.etag in tags or "*" in tags)
    since = headers.get("if-modified-since")
    return bool(reply.last_modified) and since == reply.last_modified


def _pieces(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), max(size, 1)):
        yield body[start : start + size]


def _content_type(file: Path) -> str:
    if file.suffix in (".xml", ".rss"):
        return RSS_TYPE
    if file.suffix == ".atom":
        return "application/atom+xml; charset=utf-8"
    return "application/octet-stream"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started FeedServer, stopped after the test."""
    with FeedServer() as server:
        yield server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve one feed file on 127.0.0.1.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default=None, help="URL path (default: /<file name>)")
    args = parser.parse_args(argv)
    with FeedServer(port=args.port) as server:
        print(server.serve_file(args.file, args.path), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()


def self_signed_certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file
