"""The fetch step: conditional GET, redirects, retries, caps, timeouts and the address policy.

Normal fetching talks to the local FeedServer with private networks allowed.
The address-policy tests keep the default policy and use `internet`: an
injected resolver gives fake host names public addresses, and a patched
urllib3 connect routes those public addresses to the local server (anything
else is refused, so no test ever leaves 127.0.0.1).
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import socket
import ssl
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import urllib3
import urllib3.util.connection

from feed_archiver.errors import BlockedAddressError, FetchError
from feed_archiver.fetch import FetchResult, Validators, fetch_feed
from feed_archiver.settings import FetchOptions
from tests.faults import unanswered_port
from tests.httpserver import (
    FeedServer,
    Reply,
    deflate_reply,
    endless,
    feed_server,
    gzip_bomb,
    gzip_reply,
    redirect,
    self_signed_certificate,
)

__all__ = ["feed_server"]  # the fixture, imported for pytest

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
LOCAL = FetchOptions(allow_private_networks=True)
PUBLIC_IP = "93.184.216.34"  # stands for any public address; routed to 127.0.0.1 below
MIB = 1024 * 1024


class Sleeps(list[float]):
    """An injectable sleep that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def local(**changes: Any) -> FetchOptions:
    return FetchOptions(**{"allow_private_networks": True, **changes})


# --- a fake internet for the default address policy ---------------------------------


class Internet:
    """Public addresses mapped to local ports; records every connect urllib3 makes."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, int], int] = {}
        self.connections: list[tuple[str, int]] = []
        self.names: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.names[host]


@pytest.fixture
def internet(monkeypatch: pytest.MonkeyPatch, feed_server: FeedServer) -> Internet:
    net = Internet()
    net.routes[(PUBLIC_IP, 80)] = feed_server.port
    net.names["feed.example"] = [PUBLIC_IP]
    real_connect = urllib3.util.connection.create_connection

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        net.connections.append(address)
        if address in net.routes:
            return real_connect(("127.0.0.1", net.routes[address]), *args, **kwargs)
        if address[0] == "127.0.0.1":
            return real_connect(address, *args, **kwargs)
        raise ConnectionRefusedError(111, f"test network: no route to {address[0]}")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
    return net


# --- a normal fetch -------------------------------------------------------------------


def test_fetch_returns_the_body_and_sends_the_project_headers(feed_server: FeedServer) -> None:
    # Given a feed with validators
    url = feed_server.route(
        "/feed", Reply(body=FEED, etag='"v1"', last_modified="Tue, 16 Jul 2019 13:32:30 GMT")
    )

    # When it is fetched
    result = fetch_feed(url, options=LOCAL)

    # Then the body, validators and counts come back
    assert isinstance(result, FetchResult)
    assert (result.status, result.url, result.body) == (200, url, FEED)
    assert result.etag == '"v1"'
    assert result.last_modified == "Tue, 16 Jul 2019 13:32:30 GMT"
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert (result.attempts, result.bytes_received) == (1, len(FEED))
    # And the request named the project and asked for feeds, compressed
    sent = feed_server.requests("/feed")[0].headers
    assert "feed-archiver" in sent["user-agent"]
    assert sent["accept"].startswith("application/rss+xml")
    assert sent["accept-encoding"] == "gzip, deflate"
    assert sent["host"] == f"127.0.0.1:{feed_server.port}"
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_a_matching_etag_gets_a_304_with_an_empty_body(feed_server: FeedServer) -> None:
    # Given a feed fetched once
    url = feed_server.route("/feed", Reply(body=FEED, etag='"v1"'))
    first = fetch_feed(url, options=LOCAL)

    # When it is fetched again with the stored validators
    second = fetch_feed(url, Validators(etag=first.etag), LOCAL)

    # Then the server answered 304 to an If-None-Match and nothing was downloaded
    assert (second.status, second.body, second.bytes_received) == (304, b"", 0)
    assert second.etag == '"v1"'
    assert feed_server.requests("/feed")[1].headers["if-none-match"] == '"v1"'


def test_a_matching_last_modified_gets_a_304(feed_server: FeedServer) -> None:
    # Given a feed with only Last-Modified
    stamp = "Tue, 16 Jul 2019 13:32:30 GMT"
    url = feed_server.route("/feed", Reply(body=FEED, last_modified=stamp))

    # When it is fetched with that date
    result = fetch_feed(url, Validators(last_modified=stamp), LOCAL)

    # Then If-Modified-Since was sent and the answer is a 304
    assert (result.status, result.body, result.last_modified) == (304, b"", stamp)
    assert feed_server.requests("/feed")[0].headers["if-modified-since"] == stamp


def test_a_304_without_validators_keeps_the_ones_sent(feed_server: FeedServer) -> None:
    # Given a server whose 304 carries no ETag or Last-Modified
    url = feed_server.route("/feed", Reply(status=304, content_type=None))

    # When it is fetched conditionally
    result = fetch_feed(url, Validators('"v1"', "Tue, 16 Jul 2019 13:32:30 GMT"), LOCAL)

    # Then the stored validators still hold
    assert (result.etag, result.last_modified) == ('"v1"', "Tue, 16 Jul 2019 13:32:30 GMT")


def test_a_server_that_ignores_validators_gives_the_full_body(feed_server: FeedServer) -> None:
    # Given a server that never answers 304
    url = feed_server.route("/feed", Reply(body=FEED, etag='"v1"', honour_validators=False))

    # When it is fetched with a matching ETag
    result = fetch_feed(url, Validators(etag='"v1"'), LOCAL)

    # Then the full body comes back as a 200
    assert (result.status, result.body) == (200, FEED)


def test_validators_with_a_line_break_are_refused_before_sending(feed_server: FeedServer) -> None:
    # Given a stored ETag that would inject a header
    url = feed_server.route("/feed", Reply(body=FEED))

    # When it is used, Then the fetch fails and nothing reaches the server
    with pytest.raises(FetchError, match=r"invalid request"):
        fetch_feed(url, Validators(etag='"v1"\r\nX-Injected: yes'), LOCAL)
    assert feed_server.requests() == []


# --- content encodings ----------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        gzip_reply(FEED * 50),
        deflate_reply(FEED * 50),
        deflate_reply(FEED * 50, raw=True),
    ],
    ids=["gzip", "deflate", "raw-deflate"],
)
def test_compressed_bodies_are_decoded(feed_server: FeedServer, reply: Reply) -> None:
    # Given a compressed feed
    url = feed_server.route("/feed", reply)

    # When it is fetched
    result = fetch_feed(url, options=LOCAL)

    # Then the body is decoded and the wire count is the compressed size
    assert result.body == FEED * 50
    assert result.bytes_received == len(reply.body) < len(FEED * 50)


def test_an_unrequested_encoding_is_an_error(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Reply(body=b"\x00\x01", headers={"Content-Encoding": "br"}))
    with pytest.raises(FetchError, match=r"unsupported Content-Encoding 'br'"):
        fetch_feed(url, options=LOCAL)


def test_a_truncated_gzip_body_is_an_error(feed_server: FeedServer) -> None:
    packed = gzip.compress(FEED * 50)
    url = feed_server.route(
        "/feed", Reply(body=packed[: len(packed) // 2], headers={"Content-Encoding": "gzip"})
    )
    with pytest.raises(FetchError, match=r"ended early"):
        fetch_feed(url, options=LOCAL)


# --- size caps ------------------------------------------------------------------------


def test_a_declared_length_over_the_cap_is_refused_unread(feed_server: FeedServer) -> None:
    # Given a 64 MiB body announced by Content-Length
    url = feed_server.route("/big", Reply(stream=endless(total=64 * MIB), content_length=64 * MIB))

    # When it is fetched with a 1 MiB cap
    with pytest.raises(FetchError, match=r"body larger than 1 MiB cap .*declares 67108864 bytes"):
        fetch_feed(url, options=local(max_bytes=MIB))

    # Then the server could not send it all: the fetcher hung up
    request = feed_server.requests("/big")[0]
    assert request.done.wait(10)
    assert not request.completed


def test_a_body_without_length_is_cut_off_at_the_cap(feed_server: FeedServer) -> None:
    # Given an endless body with no Content-Length
    url = feed_server.route("/endless", Reply(stream=endless()))

    # When it is fetched, Then reading stops at the cap (not at the deadline)
    with pytest.raises(FetchError, match=r"^body larger than 64 KiB cap from"):
        fetch_feed(url, options=local(max_bytes=64 * 1024))
    request = feed_server.requests("/endless")[0]
    assert request.done.wait(10)
    assert not request.completed


def test_the_cap_applies_to_the_decoded_size(feed_server: FeedServer) -> None:
    # Given a body small on the wire but 1 MiB decoded
    url = feed_server.route("/feed", gzip_reply(bytes(MIB)))

    # When the cap is 256 KiB, Then the decoded size trips it
    with pytest.raises(FetchError, match=r"decoded gzip body larger than 256 KiB cap"):
        fetch_feed(url, options=local(max_bytes=256 * 1024))


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(128 * MIB)  # about 128 KiB of gzip


def test_a_gzip_bomb_is_stopped_without_inflating_it(feed_server: FeedServer, bomb: bytes) -> None:
    # Given 128 MiB of zeros gzipped into ~128 KiB
    url = feed_server.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))

    # When it is fetched with a 1 MiB cap, watching memory
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match=r"decoded gzip body larger than 1 MiB cap"):
            fetch_feed(url, options=local(max_bytes=MIB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Then no more than a few MiB were ever held: it was never inflated whole
    assert peak < 16 * MIB


# --- redirects and schemes ------------------------------------------------------------


def test_redirects_are_followed_to_the_final_url(feed_server: FeedServer) -> None:
    # Given a chain of three redirects, one of them relative
    start = feed_server.route("/a", redirect(feed_server.url("/b"), 301))
    feed_server.route("/b", redirect("/c", 307))
    feed_server.route("/c", redirect(feed_server.url("/feed"), 308))
    feed_server.route("/feed", Reply(body=FEED))

    # When the first is fetched
    result = fetch_feed(start, options=LOCAL)

    # Then the body and the final URL come back, and every hop counted
    assert (result.body, result.url, result.attempts) == (FEED, feed_server.url("/feed"), 4)


def test_more_redirects_than_allowed_fail(feed_server: FeedServer) -> None:
    # Given a chain one hop longer than max_redirects
    for hop in range(3):
        feed_server.route(f"/r{hop}", redirect(f"/r{hop + 1}"))
    feed_server.route("/r3", Reply(body=FEED))

    # When it is fetched with max_redirects=2, Then it fails after 3 requests
    with pytest.raises(FetchError, match=r"more than 2 redirects"):
        fetch_feed(feed_server.url("/r0"), options=local(max_redirects=2))
    assert len(feed_server.requests()) == 3


def test_a_redirect_loop_ends_at_the_limit(feed_server: FeedServer) -> None:
    url = feed_server.route("/loop", redirect("/loop"))
    with pytest.raises(FetchError, match=r"more than 5 redirects"):
        fetch_feed(url, options=LOCAL)
    assert len(feed_server.requests("/loop")) == 6


def test_a_redirect_without_location_fails(feed_server: FeedServer) -> None:
    url = feed_server.route("/r", Reply(status=302, content_type=None))
    with pytest.raises(FetchError, match=r"redirect without a Location") as error:
        fetch_feed(url, options=LOCAL)
    assert error.value.status == 302


@pytest.mark.parametrize(
    "location",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/feed",
        "gopher://127.0.0.1:70/_x",
        "javascript:alert(1)",
    ],
)
def test_redirects_to_other_schemes_are_refused(feed_server: FeedServer, location: str) -> None:
    # Given a redirect to a non-HTTP URL
    url = feed_server.route("/r", redirect(location))

    # When it is fetched, Then it is refused after the one request
    with pytest.raises(
        FetchError, match=f"^refusing redirect to {re.escape(location)}: only http and https"
    ):
        fetch_feed(url, options=LOCAL)
    assert len(feed_server.requests()) == 1


# --- retries --------------------------------------------------------------------------


def test_a_5xx_is_retried_with_a_short_backoff(feed_server: FeedServer) -> None:
    # Given a feed that fails twice, then works
    url = feed_server.route("/feed", Reply(status=500), Reply(status=503), Reply(body=FEED))
    sleeps = Sleeps()

    # When it is fetched
    result = fetch_feed(url, options=LOCAL, sleep=sleeps)

    # Then it succeeded on the third request, after 1 s and 2 s waits
    assert (result.status, result.body, result.attempts) == (200, FEED, 3)
    assert sleeps == [1.0, 2.0]


def test_a_429_honours_retry_after_seconds(feed_server: FeedServer) -> None:
    url = feed_server.route(
        "/feed", Reply(status=429, headers={"Retry-After": "3"}), Reply(body=FEED)
    )
    sleeps = Sleeps()
    result = fetch_feed(url, options=LOCAL, sleep=sleeps)
    assert (result.status, result.attempts, sleeps) == (200, 2, [3.0])


def test_retry_after_as_an_http_date(feed_server: FeedServer) -> None:
    # Given a Retry-After date five seconds ahead
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    retry_after = format_datetime(when, usegmt=True)
    url = feed_server.route(
        "/feed", Reply(status=503, headers={"Retry-After": retry_after}), Reply(body=FEED)
    )
    sleeps = Sleeps()

    # When it is fetched
    fetch_feed(url, options=LOCAL, sleep=sleeps)

    # Then the wait was the time until that date (not the 1 s default)
    assert len(sleeps) == 1 and 2.0 < sleeps[0] <= 5.0


def test_retry_after_is_capped(feed_server: FeedServer) -> None:
    url = feed_server.route(
        "/feed", Reply(status=429, headers={"Retry-After": "10"}), Reply(body=FEED)
    )
    sleeps = Sleeps()
    fetch_feed(url, options=local(retry_after_cap=2.0), sleep=sleeps)
    assert sleeps == [2.0]


def test_a_wait_past_the_deadline_gives_up_without_sleeping(feed_server: FeedServer) -> None:
    # Given a server asking for 10 s when the whole fetch may take 5 s
    url = feed_server.route(
        "/feed", Reply(status=503, headers={"Retry-After": "10"}), Reply(body=FEED)
    )
    sleeps = Sleeps()

    # When it is fetched, Then it gives up at once and says why
    with pytest.raises(FetchError, match=r"would pass the 5 s deadline") as error:
        fetch_feed(url, options=local(total_timeout=5.0), sleep=sleeps)
    assert (error.value.status, sleeps) == (503, [])
    assert len(feed_server.requests()) == 1


def test_retries_stop_at_max_retries(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Reply(status=500))
    with pytest.raises(
        FetchError, match=r"^HTTP 500 from .* \(gave up after 3 attempts\)$"
    ) as error:
        fetch_feed(url, options=LOCAL, sleep=Sleeps())
    assert error.value.status == 500
    assert len(feed_server.requests()) == 3


def test_410_gone_marks_the_feed_gone_without_retrying(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Reply(status=410))
    with pytest.raises(FetchError, match=r"410 Gone") as error:
        fetch_feed(url, options=LOCAL, sleep=Sleeps())
    assert (error.value.status, error.value.gone) == (410, True)
    assert len(feed_server.requests()) == 1


@pytest.mark.parametrize("status", [400, 403, 404, 204, 300])
def test_other_statuses_fail_once_with_the_status(feed_server: FeedServer, status: int) -> None:
    url = feed_server.route("/feed", Reply(status=status))
    with pytest.raises(FetchError, match=rf"HTTP {status} from") as error:
        fetch_feed(url, options=LOCAL, sleep=Sleeps())
    assert (error.value.status, error.value.gone) == (status, False)
    assert len(feed_server.requests()) == 1


# --- network failures and the deadline ------------------------------------------------
# The tests marked `serial` race a sub-second deadline against a local server: on a busy
# machine the server could miss its cue, so they never run beside each other.


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused_is_one_clear_line() -> None:
    port = _closed_port()
    with pytest.raises(FetchError, match=rf"^connection refused by 127.0.0.1:{port}$"):
        fetch_feed(f"http://127.0.0.1:{port}/feed", options=LOCAL)


def test_a_dns_failure_is_one_clear_line(internet: Internet) -> None:
    with pytest.raises(
        FetchError, match=r"^could not resolve nowhere.example: Name or service not known$"
    ):
        fetch_feed("http://nowhere.example/feed", resolve=internet.resolve)


@pytest.mark.serial
def test_a_stuck_dns_lookup_ends_at_the_connect_timeout() -> None:
    release = threading.Event()

    def stuck(host: str, port: int) -> list[str]:
        release.wait(30)
        return ["127.0.0.1"]

    try:
        with pytest.raises(FetchError, match=r"timed out after 0.2 s resolving feed.example"):
            fetch_feed("http://feed.example/", options=local(connect_timeout=0.2), resolve=stuck)
    finally:
        release.set()


@pytest.mark.serial
def test_a_connect_that_hangs_ends_at_the_connect_timeout() -> None:
    # Given a listener whose accept queue is full, so new connections are never answered
    # When it is fetched with a 0.3 s connect timeout, Then that timeout ends it
    with (
        unanswered_port() as port,
        pytest.raises(FetchError, match=rf"timed out after 0.3 s connecting to 127.0.0.1:{port}"),
    ):
        fetch_feed(f"http://127.0.0.1:{port}/", options=local(connect_timeout=0.3))


def test_a_reset_mid_body_is_one_clear_line(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Reply(body=FEED * 100, reset_after=100))
    with pytest.raises(FetchError, match=r"^connection broken while reading the body of"):
        fetch_feed(url, options=LOCAL)


def test_a_reset_of_a_body_without_length_is_not_taken_for_its_end(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Reply(stream=endless(total=1_000_000), reset_after=5000))
    with pytest.raises(FetchError, match=r"^connection broken while reading the body of"):
        fetch_feed(url, options=LOCAL)


@pytest.mark.serial
def test_a_server_that_never_answers_times_out(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed", Reply(body=FEED, delay=30))
    with pytest.raises(FetchError, match=r"^timed out after 0.5 s waiting for a response from"):
        fetch_feed(url, options=local(total_timeout=0.5))


@pytest.mark.serial
def test_a_slow_drip_body_is_cut_at_the_total_deadline(feed_server: FeedServer) -> None:
    # Given a body sent one byte every 20 ms: 400 bytes would take 8 s, yet no read ever waits long
    url = feed_server.route("/feed", Reply(body=b"x" * 400, drip=0.02))

    # When the whole fetch may take 1 s, Then it ends at 1 s
    with pytest.raises(FetchError, match=r"^timed out after 1 s reading the body of"):
        fetch_feed(url, options=local(total_timeout=1.0))
    request = feed_server.requests("/feed")[0]
    assert request.done.wait(10)
    assert not request.completed


@pytest.mark.serial
def test_slow_drip_headers_are_cut_at_the_total_deadline(feed_server: FeedServer) -> None:
    # Given headers sent one byte every 20 ms (about 10 s in all)
    reply = Reply(body=FEED, header_drip=0.02, headers={"X-Padding": "p" * 300})
    url = feed_server.route("/feed", reply)

    # When the whole fetch may take 1 s, Then it ends at 1 s
    with pytest.raises(FetchError, match=r"^timed out after 1 s waiting for a response from"):
        fetch_feed(url, options=local(total_timeout=1.0))


# --- the address policy ---------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "0x7f.1",
        "0x7f000001",
        "127.1",
        "017700000001",
        "[::ffff:127.0.0.1]",
        "localhost",
        "0",
    ],
)
def test_numeric_spellings_of_loopback_are_caught(feed_server: FeedServer, host: str) -> None:
    # Given the local server reachable under an odd spelling of its address
    feed_server.route("/feed", Reply(body=FEED))

    # When it is fetched with the default policy and the real resolver
    with pytest.raises(BlockedAddressError, match=r"^refusing http://"):
        fetch_feed(f"http://{host}:{feed_server.port}/feed")

    # Then nothing reached the server
    assert feed_server.requests() == []


def test_the_fake_internet_reaches_the_server_through_a_public_address(
    feed_server: FeedServer, internet: Internet
) -> None:
    # Given feed.example resolving to a public address
    feed_server.route("/feed", Reply(body=FEED))

    # When it is fetched with the default policy
    result = fetch_feed("http://feed.example/feed", resolve=internet.resolve)

    # Then the connection went to that address, with the host name in the Host header
    assert result.body == FEED
    assert internet.connections == [(PUBLIC_IP, 80)]
    assert feed_server.requests("/feed")[0].headers["host"] == "feed.example"


def test_every_resolved_address_is_checked(feed_server: FeedServer, internet: Internet) -> None:
    # Given a host with one public and one private address
    internet.names["mixed.example"] = [PUBLIC_IP, "10.0.0.7"]

    # When it is fetched, Then it is refused and no connection is made
    with pytest.raises(
        BlockedAddressError, match=r"mixed.example resolves to 10.0.0.7, a private address"
    ):
        fetch_feed("http://mixed.example/feed", resolve=internet.resolve)
    assert internet.connections == []


def test_the_checked_address_is_the_one_connected_to(
    feed_server: FeedServer, internet: Internet
) -> None:
    # Given a resolver that rebinds to loopback after the first answer
    feed_server.route("/feed", Reply(body=FEED))
    answers = iter([[PUBLIC_IP], ["127.0.0.1"], ["127.0.0.1"]])

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    # When the feed is fetched
    fetch_feed("http://feed.example/feed", resolve=rebinding)

    # Then the connection went to the checked public address; the host was never looked up again
    assert internet.connections == [(PUBLIC_IP, 80)]
    assert next(answers) == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://127.0.0.1:{port}/feed", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://internal.example/", "internal.example resolves to 10.0.0.5, a private address"),
        ("http://2130706433:{port}/feed", "2130706433 resolves to 127.0.0.1, a loopback address"),
    ],
)
def test_redirects_to_blocked_addresses_are_refused(
    feed_server: FeedServer, internet: Internet, location: str, message: str
) -> None:
    # Given a public feed that redirects inward
    internet.names["internal.example"] = ["10.0.0.5"]
    internet.names["2130706433"] = ["127.0.0.1"]
    feed_server.route("/start", redirect(location.format(port=feed_server.port)))
    feed_server.route("/feed", Reply(body=FEED))

    # When it is fetched with the default policy
    with pytest.raises(BlockedAddressError, match=rf"^refusing redirect to .*: {message}$"):
        fetch_feed("http://feed.example/start", resolve=internet.resolve)

    # Then only the first hop was requested
    assert [r.path for r in feed_server.requests()] == ["/start"]


def test_a_redirect_to_metadata_is_refused_even_with_private_networks_allowed(
    feed_server: FeedServer,
) -> None:
    url = feed_server.route("/start", redirect("http://169.254.169.254/latest/meta-data/"))
    with pytest.raises(BlockedAddressError, match=r"cloud metadata address"):
        fetch_feed(url, options=LOCAL)


def test_a_connect_failure_falls_back_to_the_next_checked_address(
    feed_server: FeedServer, internet: Internet
) -> None:
    # Given a host with an unreachable public address first (as IPv6 often is), then a good one
    internet.names["two.example"] = ["2606:4700::1", PUBLIC_IP]
    feed_server.route("/feed", Reply(body=FEED))

    # When it is fetched
    result = fetch_feed("http://two.example/feed", resolve=internet.resolve)

    # Then the second address served it
    assert result.body == FEED
    assert internet.connections == [("2606:4700::1", 80), (PUBLIC_IP, 80)]


# --- TLS: connect to the pinned address, verify the host name -------------------------


StartTLS = Callable[[str], tuple[FeedServer, Path, list[str]]]


@pytest.fixture
def tls_server(tmp_path: Path, internet: Internet) -> Iterator[StartTLS]:
    """Start an HTTPS FeedServer with a certificate for the given name, reachable as PUBLIC_IP:443."""
    servers: list[FeedServer] = []

    def start(cert_name: str) -> tuple[FeedServer, Path, list[str]]:
        cert_file, key_file = self_signed_certificate(tmp_path, cert_name)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        names: list[str] = []

        def record_sni(sock: Any, name: str | None, ctx: Any) -> None:
            names.append(name or "")

        context.sni_callback = record_sni
        server = FeedServer(tls=context).start()
        servers.append(server)
        internet.routes[(PUBLIC_IP, 443)] = server.port
        server.route("/feed", Reply(body=FEED))
        return server, cert_file, names

    yield start
    for server in servers:
        server.stop()


def test_https_sends_sni_and_checks_the_certificate_for_the_host_name(
    internet: Internet, tls_server: StartTLS
) -> None:
    # Given an HTTPS server with a certificate for feed.example, reached through a public address
    server, cert_file, sni = tls_server("feed.example")

    # When feed.example is fetched trusting that certificate
    result = fetch_feed(
        "https://feed.example/feed",
        resolve=internet.resolve,
        pool=urllib3.PoolManager(ca_certs=str(cert_file)),
    )

    # Then it connected to the pinned address, named the host in SNI and Host, and verified it
    assert result.body == FEED
    assert internet.connections == [(PUBLIC_IP, 443)]
    assert sni == ["feed.example"]
    assert server.requests("/feed")[0].headers["host"] == "feed.example"


def test_https_refuses_a_certificate_for_another_name(
    internet: Internet, tls_server: StartTLS
) -> None:
    server, cert_file, _ = tls_server("other.example")
    with pytest.raises(FetchError, match=r"^TLS failed with feed.example at 93.184.216.34:443"):
        fetch_feed(
            "https://feed.example/feed",
            resolve=internet.resolve,
            pool=urllib3.PoolManager(ca_certs=str(cert_file)),
        )
    assert server.requests() == []


def test_https_verifies_certificates_by_default(internet: Internet, tls_server: StartTLS) -> None:
    server, _, _ = tls_server("feed.example")
    with pytest.raises(
        FetchError, match=r"^TLS failed with feed.example.*CERTIFICATE_VERIFY_FAILED"
    ):
        fetch_feed("https://feed.example/feed", resolve=internet.resolve)
    assert server.requests() == []


# --- the test server itself -----------------------------------------------------------


def test_the_feed_server_serves_files_with_validators(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    # Given a file served by the test server
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(FEED)
    url = feed_server.serve_file(feed_file)

    # When it is fetched twice, the second time conditionally
    first = fetch_feed(url, options=LOCAL)
    second = fetch_feed(url, Validators(first.etag, first.last_modified), LOCAL)

    # Then it is served, then not modified
    assert (first.status, first.body, second.status) == (200, FEED, 304)
    assert url.endswith("/feed.xml")
