"""One HTTP exchange on a pinned connection, under a wall-clock deadline.

fetch.py decides what to request (redirects, retries, statuses); this module
does one request: connect to an address that addresses.py already checked,
send the Host header and TLS name of the URL's host, and read the body with a
cap on both the bytes on the wire and the decoded bytes.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util.ssl_match_hostname import CertificateError

from feed_archiver.errors import FetchError
from feed_archiver.fetch.addresses import Target
from feed_archiver.fetch.bounded_decoder import BoundedDecoder, size_text

_CHUNK = 64 * 1024

# Settings of a caller's PoolManager that still apply to our own connections.
_TLS_SETTINGS = (
    "ca_certs",
    "ca_cert_dir",
    "ca_cert_data",
    "ssl_context",
    "cert_reqs",
    "cert_file",
    "key_file",
    "key_password",
    "ssl_minimum_version",
    "ssl_maximum_version",
)


class Deadline:
    """A wall-clock budget for the whole fetch."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def timed_out(self, doing: str) -> FetchError:
        return FetchError(f"timed out after {seconds_text(self.seconds)} s {doing}")

    def extend(self, seconds: float) -> None:
        """Give back time the fetch spent waiting on purpose (a polite pause between hops)."""
        self._end += max(seconds, 0.0)


def seconds_text(seconds: float) -> str:
    return f"{seconds:g}" if seconds >= 1 else f"{seconds:.2g}"


def connection_settings(pool: urllib3.PoolManager | None) -> dict[str, Any]:
    """TLS settings (CA bundle, SSL context...) taken from a caller's PoolManager."""
    if pool is None:
        return {}
    return {k: v for k, v in pool.connection_pool_kw.items() if k in _TLS_SETTINGS}


class _Watchdog:
    """Shuts the connection's socket down when the deadline passes.

    Socket timeouts bound each read, not their sum: a server that drips one byte
    at a time into the TLS handshake, the headers or the body never trips them.
    Shutting the socket down from a timer thread wakes any blocked read.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._stopped = False
        self._socket_id: tuple[int, Any, Any] | None = None
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            # The descriptor, not the object: TLS wrapping moves it to a new object.
            self._socket_id = (sock.fileno(), sock.getsockname(), sock.getpeername())
            if self.fired:
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self.fired = True
            if self._socket_id is None:
                return
            fd, local, peer = self._socket_id
            try:
                probe = socket.socket(fileno=fd)
            except OSError:
                return
            try:
                # Only if the descriptor still is our connection (not closed and reused).
                if probe.getsockname() == local and probe.getpeername() == peer:
                    probe.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            finally:
                probe.detach()


class _PinnedHTTPConnection(HTTPConnection):
    watchdog: _Watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.watchdog.watch(sock)
        return sock


class _PinnedHTTPSConnection(HTTPSConnection):
    watchdog: _Watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.watchdog.watch(sock)
        return sock


class Exchange:
    """One request and its response, on a connection to one checked address."""

    def __init__(self, target: Target, address: str, deadline: Deadline) -> None:
        self.target = target
        self.address = address
        self.deadline = deadline
        self.response: urllib3.BaseHTTPResponse | None = None
        self._watchdog = _Watchdog(deadline.remaining())
        self._conn: HTTPConnection | None = None
        self._doing = f"connecting to {self.peer}"
        self._connect_timeout = 0.0
        self.connected = False  # False: a failure may be retried on the next address

    def __enter__(self) -> Exchange:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def peer(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.target.port}"

    def send(self, headers: Mapping[str, str], connect_timeout: float, tls: dict[str, Any]) -> None:
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise self.deadline.timed_out(f"before connecting to {self.target.url}")
        self._connect_timeout = connect_timeout = min(connect_timeout, remaining)
        conn: HTTPConnection
        if self.target.scheme == "https":
            name = self.target.host.rstrip(".")
            conn = _PinnedHTTPSConnection(
                self.address,
                self.target.port,
                timeout=connect_timeout,
                server_hostname=name,  # SNI
                assert_hostname=name,  # certificate check against the URL's host
                **tls,
            )
        else:
            conn = _PinnedHTTPConnection(self.address, self.target.port, timeout=connect_timeout)
        conn.watchdog = self._watchdog
        self._conn = conn
        with self._translated():
            conn.connect()
            self.connected = True
            self._doing = f"waiting for a response from {self.target.url}"
            conn.request(
                "GET",
                self.target.request_uri,
                headers={"Host": self.target.host_header, **headers},
                preload_content=False,
                decode_content=False,
            )
            conn.timeout = max(self.deadline.remaining(), 0.001)  # getresponse applies it
            self.response = conn.getresponse()
        # The watchdog's shutdown ends the head early, which http.client takes for its end.
        if self._watchdog.fired:
            raise self.deadline.timed_out(self._doing)

    def read_body(self, max_bytes: int) -> tuple[bytes, int]:
        """The decoded body and the number of bytes it took on the wire."""
        response = self.response
        assert response is not None
        url = self.target.url
        declared = _content_length(response.headers)
        if declared is not None and declared > max_bytes:
            raise FetchError(
                f"body larger than {size_text(max_bytes)} cap ({url} declares {declared} bytes)"
            )
        decoder = BoundedDecoder(response.headers.get("content-encoding", ""), max_bytes, url)
        self._doing = f"reading the body of {url}"
        wire = 0
        with self._translated():
            while True:
                if self._watchdog.fired or self.deadline.remaining() <= 0:
                    raise self.deadline.timed_out(self._doing)
                data = response.read1(_CHUNK, decode_content=False)
                if not data:
                    break
                wire += len(data)
                if wire > max_bytes:
                    raise FetchError(f"body larger than {size_text(max_bytes)} cap from {url}")
                decoder.feed(data)
        # The watchdog's shutdown looks like a normal end to a body without a length.
        if self._watchdog.fired:
            raise self.deadline.timed_out(self._doing)
        return decoder.finish(), wire

    def close(self) -> None:
        self._watchdog.stop()  # first: the descriptor must not be reused while watched
        if self.response is not None:
            self.response.close()
        if self._conn is not None:
            self._conn.close()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn any network exception inside the block into a one-line FetchError."""
        try:
            yield
        except FetchError:
            raise
        except (
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
            CertificateError,  # urllib3's host name check raises this ValueError
        ) as exc:
            raise self._describe(exc) from exc
        except ValueError as exc:  # e.g. a header value with a newline in it
            raise FetchError(f"invalid request for {self.target.url}: {_line(exc)}") from exc

    def _describe(self, error: BaseException) -> FetchError:
        if self._watchdog.fired:
            return self.deadline.timed_out(self._doing)
        causes = list(_causes(error))
        root = _line(causes[-1])
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return FetchError(f"connection refused by {self.peer}")
        if any(_is_timeout(c) for c in causes):
            timeout = self._connect_timeout if not self.connected else self.deadline.seconds
            return FetchError(f"timed out after {seconds_text(timeout)} s {self._doing}")
        if any(isinstance(c, _TLS_ERRORS) for c in causes):
            return FetchError(f"TLS failed with {self.target.host} at {self.peer}: {root}")
        if any(isinstance(c, http.client.IncompleteRead | ConnectionResetError) for c in causes):
            return FetchError(f"connection broken while {self._doing}: {root}")
        return FetchError(f"failed while {self._doing}: {root}")


_TLS_ERRORS = (ssl.SSLError, urllib3.exceptions.SSLError, CertificateError)


def open_exchange(
    target: Target,
    headers: Mapping[str, str],
    deadline: Deadline,
    connect_timeout: float,
    tls: dict[str, Any],
) -> Exchange:
    """Send the request to the first checked address that accepts a connection."""
    failure: FetchError | None = None
    for address in target.addresses:
        exchange = Exchange(target, address, deadline)
        try:
            exchange.send(headers, connect_timeout, tls)
            return exchange
        except FetchError as exc:
            exchange.close()
            if exchange.connected or deadline.remaining() <= 0:
                raise
            failure = failure or exc  # report the first address's failure
        except BaseException:
            exchange.close()
            raise
    assert failure is not None  # check_url never returns a target without addresses
    raise failure


def _is_timeout(error: BaseException) -> bool:
    # NewConnectionError subclasses ConnectTimeoutError, yet means "could not connect".
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(error, TimeoutError | urllib3.exceptions.TimeoutError)


def _content_length(headers: Mapping[str, str]) -> int | None:
    try:
        return int(headers.get("content-length", ""))
    except ValueError:
        return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, then what caused it (urllib3 wraps socket errors once or twice)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nested = [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        current = current.__cause__ or (nested[0] if nested else None) or current.__context__


def _line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return " ".join(text.split())
