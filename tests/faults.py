"""Fault injection for the hardening tests: AWS errors, crashes, deadlines and a fake network.

    faults = Faults(store.s3, store.ddb)
    faults.fail("PutObject", on={3}, code="InternalError")        # the 3rd PUT fails (no retry left)
    faults.throttle("TransactWriteItems", on={1})                 # botocore sees a 400 and retries
    faults.crash("PutObject", on={4}, after=True)                  # the process dies after the 4th PUT
    faults.before("TransactWriteItems", lambda n: barrier.wait())  # any hook, by call number

Failures raised from botocore's `before-call` event happen after botocore's own
retries would have run (the run sees the final error); `after=True` hooks run
on `after-call`, once the request took effect: the write happened, the answer
is lost. `throttle` answers from `before-send` instead, so botocore's retry
logic sees a real error response. Call numbers count per operation from 1 and
are thread-safe (the archiver PUTs documents from a pool).
"""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import urllib3.util.connection
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError, ConnectionClosedError


class SimulatedCrash(BaseException):
    """The process dies here. A BaseException, so no `except Exception` in the archiver stops it."""


Hook = Callable[[int], None]
_CALL_NUMBER = "hardening-call-number"
EVERY: Collection[int] = range(1, 1 << 30)


def client_error(operation: str, code: str, *, status: int = 500, **extra: Any) -> ClientError:
    """A ClientError as botocore raises it for an error response."""
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": f"injected {code}"},
        "ResponseMetadata": {"HTTPStatusCode": status},
        **extra,
    }
    return ClientError(response, operation)  # type: ignore[arg-type]


def cancelled_transaction(*reasons: str) -> ClientError:
    """TransactWriteItems cancelled, with one cancellation reason per action."""
    return client_error(
        "TransactWriteItems",
        "TransactionCanceledException",
        status=400,
        CancellationReasons=[{"Code": r} for r in reasons],
    )


class Faults:
    """Scripted hooks on boto3 clients, keyed by operation name and call number."""

    def __init__(self, *clients: Any) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self._before: list[tuple[str, Collection[int], Hook]] = []
        self._after: list[tuple[str, Collection[int], Hook]] = []
        self._responses: dict[str, tuple[Collection[int], Callable[[], AWSResponse]]] = {}
        self._sent: Counter[str] = Counter()
        for client in clients:
            self.attach(client)

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("before-call.*.*", self._on_before_call)
        events.register("after-call.*.*", self._on_after_call)
        # First, so it answers before moto's own before-send handler does.
        events.register_first("before-send.*.*", self._on_before_send)

    # --- scripting ------------------------------------------------------------
    def clear(self) -> None:
        """Remove every scripted fault (the call counts go on)."""
        self._before.clear()
        self._after.clear()
        self._responses.clear()

    def before(self, operation: str, hook: Hook, *, on: Collection[int] = EVERY) -> None:
        """Run `hook(call_number)` before the request of those calls is sent."""
        self._before.append((operation, on, hook))

    def after(self, operation: str, hook: Hook, *, on: Collection[int] = EVERY) -> None:
        """Run `hook(call_number)` once the request took effect, before the caller sees it."""
        self._after.append((operation, on, hook))

    def fail(
        self,
        operation: str,
        *,
        on: Collection[int] = EVERY,
        code: str = "InternalError",
        status: int = 500,
        after: bool = False,
    ) -> None:
        """Those calls end in a ClientError (`after`: once the request took effect)."""

        def raise_error(_: int) -> None:
            raise client_error(operation, code, status=status)

        (self.after if after else self.before)(operation, raise_error, on=on)

    def lose_response(self, operation: str, *, on: Collection[int] = EVERY) -> None:
        """The request takes effect, then the connection drops before the answer arrives."""

        def drop(_: int) -> None:
            raise ConnectionClosedError(endpoint_url="https://injected.invalid/")

        self.after(operation, drop, on=on)

    def raise_(self, operation: str, error: BaseException, *, on: Collection[int] = EVERY) -> None:
        def raise_error(_: int) -> None:
            raise error

        self.before(operation, raise_error, on=on)

    def crash(self, operation: str, *, on: Collection[int] = (1,), after: bool = False) -> None:
        """The process dies at those calls: before the request, or (`after`) once it took effect."""

        def die(number: int) -> None:
            raise SimulatedCrash(f"{operation} #{number}")

        (self.after if after else self.before)(operation, die, on=on)

    def throttle(self, operation: str, *, on: Collection[int] = (1,)) -> None:
        """Those attempts get a throttling error response, which botocore itself retries.

        Counted per HTTP attempt (retries included), not per call.
        """
        self._responses[operation] = (on, lambda: _throttling_response(operation))

    # --- botocore event handlers ----------------------------------------------------
    def _on_before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1
            number = self.calls[model.name]
        context[_CALL_NUMBER] = number  # the same dict reaches after-call, on the same thread
        for operation, on, hook in list(self._before):
            if operation == model.name and number in on:
                hook(number)

    def _on_after_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        number = context.get(_CALL_NUMBER, 0)
        for operation, on, hook in list(self._after):
            if operation == model.name and number in on:
                hook(number)

    def _on_before_send(self, event_name: str = "", **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]  # before-send.<service>.<Operation>
        if operation not in self._responses:
            return None
        with self._lock:
            self._sent[operation] += 1
            attempt = self._sent[operation]
        on, make = self._responses[operation]
        return make() if attempt in on else None


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _throttling_response(operation: str) -> AWSResponse:
    if operation in ("PutObject", "GetObject", "ListObjectsV2"):
        body = b"<Error><Code>SlowDown</Code><Message>injected: reduce your rate</Message></Error>"
        return AWSResponse("https://injected.invalid/", 503, HTTPHeaders(), _RawBody(body))
    payload = {
        "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
        "message": "injected: rate exceeded",
    }
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    return AWSResponse(
        "https://injected.invalid/", 400, headers, _RawBody(json.dumps(payload).encode())
    )


# --- the Lambda deadline ------------------------------------------------------------------


@dataclass
class Countdown:
    """Remaining Lambda time that shrinks by `per_call_ms` at each hooked call, never by the clock."""

    remaining_ms: int
    per_call_ms: int

    def tick(self, _: int) -> None:
        self.remaining_ms = max(self.remaining_ms - self.per_call_ms, 0)


@dataclass
class FakeLambdaContext:
    """The parts of the Lambda context the handler and Powertools read."""

    remaining: Callable[[], int] = lambda: 120_000
    function_name: str = "feed-archiver"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:feed-archiver"
    aws_request_id: str = "hardening-test"
    asked: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        value = self.remaining()
        self.asked.append(value)
        return value


# --- a fake network ---------------------------------------------------------------------


class FakeInternet:
    """Host names with chosen addresses; public ones are routed to local ports.

    Installed with `fake_internet(monkeypatch)`: urllib3's connect goes to
    127.0.0.1 for routed public addresses and is refused for anything else,
    so a test with the default address policy never leaves this machine.
    """

    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}
        self.routes: dict[str, int] = {}  # public address -> local port
        self.lookups: list[str] = []
        self.connections: list[tuple[str, int]] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.names[host])


def fake_internet(monkeypatch: pytest.MonkeyPatch) -> FakeInternet:
    net = FakeInternet()
    real_connect = urllib3.util.connection.create_connection

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        net.connections.append(address)
        if address[0] in net.routes:
            return real_connect(("127.0.0.1", net.routes[address[0]]), *args, **kwargs)
        if address[0] == "127.0.0.1":
            return real_connect(address, *args, **kwargs)
        raise ConnectionRefusedError(111, f"test network: no route to {address[0]}")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
    return net


def closed_port() -> int:
    """A local port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A local port whose accept queue is full, so a new connection never completes."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        try:
            yield port
        finally:
            for filler in fillers:
                filler.close()


@contextmanager
def raw_tcp_server(answer: bytes) -> Iterator[int]:
    """A local TCP server that reads the request, writes `answer` as is, and hangs up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(answer)
                except OSError:
                    pass

    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        worker.join(2)
        listener.close()
