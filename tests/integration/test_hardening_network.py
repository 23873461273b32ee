"""Network faults through a whole run: each ends as a recorded error, the other feeds still archive.

Every case runs the faulty feed and the seed feed in one run_feeds call. The
faulty feed must fail with one readable line, in the run summary and in its
feed state (with the failure counted and a next attempt scheduled); the seed
must be archived; verify must find the archive exact. No case leaves
127.0.0.1: public-looking hosts go through tests/faults.FakeInternet.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from feed_archiver.fetch import fetch_feed
from feed_archiver.run import run_feeds
from feed_archiver.settings import FetchOptions, Settings
from feed_archiver.storage import Store
from tests.faults import FakeInternet, closed_port, fake_internet, raw_tcp_server, unanswered_port
from tests.hardening import (
    NETWORK,
    SEED_BODY,
    Clock,
    assert_archive_exact,
    one_line,
    reliability,
)
from tests.httpserver import FeedServer, Reply, redirect

pytestmark = pytest.mark.timeout(60)

PUBLIC_IP = "93.184.216.34"  # stands for any public address; FakeInternet routes it locally


@dataclass
class Scenario:
    url: str
    pattern: str  # what the recorded error must say
    fetch: Callable[..., Any] = fetch_feed
    options: FetchOptions | None = None


@dataclass
class World:
    """What a scenario may use: the feed server, the settings, and things to clean up."""

    server: FeedServer
    settings: Settings
    stack: ExitStack
    monkeypatch: pytest.MonkeyPatch


Setup = Callable[[World], Scenario]


@pytest.fixture
def world(
    feed_server: FeedServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    with ExitStack() as stack:
        yield World(feed_server, settings, stack, monkeypatch)


def run_with_seed(
    store: Store, world: World, scenario: Scenario
) -> tuple[Any, Any, Any]:  # (faulty summary, seed summary, faulty state)
    seed = world.server.route("/seed.xml", Reply(body=SEED_BODY))
    settings = world.settings
    if scenario.options is not None:
        settings = dataclasses.replace(settings, fetch=scenario.options)
    summary = run_feeds(store, settings, [scenario.url, seed], now=Clock(), fetch=scenario.fetch)
    faulty, good = summary.feeds
    return faulty, good, store.get_feed_state(scenario.url)


def local(**changes: Any) -> FetchOptions:
    base = FetchOptions(allow_private_networks=True, max_retries=1, retry_after_cap=0.2)
    return dataclasses.replace(base, **changes)


# --- scenarios ------------------------------------------------------------------------------


def refused(world: World) -> Scenario:
    port = closed_port()
    return Scenario(f"http://127.0.0.1:{port}/feed", rf"^connection refused by 127.0.0.1:{port}$")


def reset_mid_body(world: World) -> Scenario:
    url = world.server.route("/reset", Reply(body=SEED_BODY, reset_after=2000))
    return Scenario(url, r"^connection broken while reading the body of http://")


def dns_failure(world: World) -> Scenario:
    net = FakeInternet()
    return Scenario(
        "http://feed.nowhere.example/rss",
        r"^could not resolve feed.nowhere.example: Name or service not known$",
        fetch=functools.partial(fetch_feed, resolve=net.resolve),
    )


def connect_timeout(world: World) -> Scenario:
    port = world.stack.enter_context(unanswered_port())
    return Scenario(
        f"http://127.0.0.1:{port}/feed",
        rf"^timed out after 0.3 s connecting to 127.0.0.1:{port}$",
        options=local(connect_timeout=0.3),
    )


def read_timeout(world: World) -> Scenario:
    url = world.server.route("/silent", Reply(body=SEED_BODY, delay=30))
    return Scenario(
        url, r"^timed out after 0.5 s waiting for a response from", options=local(total_timeout=0.5)
    )


def slow_drip(world: World) -> Scenario:
    url = world.server.route("/drip", Reply(body=SEED_BODY, drip=0.02, drip_chunk=10))
    return Scenario(
        url, r"^timed out after 0.8 s reading the body of", options=local(total_timeout=0.8)
    )


def server_error(status: int) -> Setup:
    def setup(world: World) -> Scenario:
        url = world.server.route(f"/status-{status}", Reply(status=status, body=b"oops"))
        return Scenario(url, rf"^HTTP {status} from http://\S+ \(gave up after 2 attempts\)$")

    return setup


def too_many_requests(world: World) -> Scenario:
    url = world.server.route(
        "/busy", Reply(status=429, headers={"Retry-After": "3600"}, content_type=None)
    )
    return Scenario(
        url,
        r"^HTTP 429 from http://\S+; waiting 30 s to retry would pass the 5 s deadline$",
        options=local(retry_after_cap=30.0, total_timeout=5.0),
    )


def redirect_loop(world: World) -> Scenario:
    world.server.route("/loop-b", redirect(world.server.url("/loop-a")))
    url = world.server.route("/loop-a", redirect(world.server.url("/loop-b")))
    return Scenario(url, r"^more than 5 redirects, the last from http://")


def redirect_to_metadata(world: World) -> Scenario:
    url = world.server.route("/meta", redirect("http://169.254.169.254/latest/meta-data/"))
    return Scenario(
        url,
        r"^refusing redirect to http://169.254.169.254/latest/meta-data/: "
        r"169.254.169.254 is a cloud metadata address$",
    )


def redirect_to_file(world: World) -> Scenario:
    url = world.server.route("/to-file", redirect("file:///etc/passwd"))
    return Scenario(
        url, r"^refusing redirect to file:///etc/passwd: only http and https URLs are fetched$"
    )


def tls_to_plain_http(world: World) -> Scenario:
    url = world.server.route("/plain", Reply(body=SEED_BODY)).replace("http://", "https://")
    return Scenario(url, r"^TLS failed with 127.0.0.1 at 127.0.0.1:\d+: ")


def garbage_response(world: World) -> Scenario:
    port = world.stack.enter_context(raw_tcp_server(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"))
    return Scenario(
        f"http://127.0.0.1:{port}/feed", r"^failed while waiting for a response from http://"
    )


def hang_up(world: World) -> Scenario:
    port = world.stack.enter_context(raw_tcp_server(b""))
    return Scenario(
        f"http://127.0.0.1:{port}/feed",
        r"^connection broken while waiting for a response from http://\S+: "
        r"Remote end closed connection without response$",
    )


def not_found(world: World) -> Scenario:
    url = world.server.route(
        "/moved-away", Reply(status=404, body=b"no", content_type="text/plain")
    )
    return Scenario(url, r"^HTTP 404 from http://\S+$")


def unknown_encoding(world: World) -> Scenario:
    url = world.server.route("/br", Reply(body=b"\x1b\x00", headers={"Content-Encoding": "br"}))
    return Scenario(url, r"^unsupported Content-Encoding 'br' from http://")


# (case, setup, the error it must end in, as a person reads it)
CASES = [
    ("connection refused", refused, "connection refused by 127.0.0.1:<port>"),
    ("connection reset in the middle of the body", reset_mid_body, "connection broken while reading the body of <url>: …"),
    ("DNS failure", dns_failure, "could not resolve feed.nowhere.example: Name or service not known"),
    ("timeout while connecting", connect_timeout, "timed out after 0.3 s connecting to 127.0.0.1:<port>"),
    ("timeout waiting for the response", read_timeout, "timed out after 0.5 s waiting for a response from <url>"),
    ("a body dripping slower than the deadline allows", slow_drip, "timed out after 0.8 s reading the body of <url>"),
    ("HTTP 500", server_error(500), "HTTP 500 from <url> (gave up after 2 attempts)"),
    ("HTTP 502", server_error(502), "HTTP 502 from <url> (gave up after 2 attempts)"),
    ("HTTP 503", server_error(503), "HTTP 503 from <url> (gave up after 2 attempts)"),
    ("HTTP 504", server_error(504), "HTTP 504 from <url> (gave up after 2 attempts)"),
    ("HTTP 429 with Retry-After: 3600", too_many_requests, "HTTP 429 from <url>; waiting 30 s to retry would pass the 5 s deadline"),
    ("a redirect loop", redirect_loop, "more than 5 redirects, the last from <url>"),
    ("a redirect to the cloud metadata address", redirect_to_metadata, "refusing redirect to http://169.254.169.254/…: 169.254.169.254 is a cloud metadata address"),
    ("a redirect to file:///etc/passwd", redirect_to_file, "refusing redirect to file:///etc/passwd: only http and https URLs are fetched"),
    ("https:// to a server that speaks plain HTTP (TLS failure)", tls_to_plain_http, "TLS failed with 127.0.0.1 at 127.0.0.1:<port>: …"),
    ("a server that answers garbage instead of HTTP", garbage_response, "failed while waiting for a response from <url>: …"),
    ("a server that hangs up without answering", hang_up, "connection broken while waiting for a response from <url>: Remote end closed connection without response"),
    ("HTTP 404", not_found, "HTTP 404 from <url>"),
    ("an unrequested Content-Encoding (br)", unknown_encoding, "unsupported Content-Encoding 'br' from <url>"),
]  # fmt: skip


# Sub-second deadlines racing a local server: these never run beside each other (`serial`).
TIMED = (connect_timeout, read_timeout, slow_drip)


def case_marks(setup: Setup, name: str, message: str) -> list[pytest.MarkDecorator]:
    timed = [pytest.mark.serial] if setup in TIMED else []
    return [reliability(NETWORK, name, must_hold(message)), *timed]


def must_hold(message: str) -> str:
    return (
        f"the feed fails with “{message}” in the run summary and in its feed state (failure "
        "counted, next attempt scheduled); the other feed in the run is archived; verify exact"
    )


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(setup, id=re.sub(r"\W+", "-", name).strip("-").lower(), marks=case_marks(setup, name, message))
        for name, setup, message in CASES
    ],
)  # fmt: skip
def test_a_network_fault_is_recorded_and_the_other_feeds_are_archived(
    store: Store, world: World, setup: Setup
) -> None:
    # Given a feed that meets the fault, listed before a good feed
    scenario = setup(world)
    # When both are run
    faulty, good, state = run_with_seed(store, world, scenario)
    # Then the fault is one line, recorded in the summary and in the feed state
    assert faulty.status == "failed", faulty
    assert one_line(faulty.error) and re.search(scenario.pattern, faulty.error), faulty.error
    assert (state.status, state.last_error, state.consecutive_failures) == (
        "failing",
        faulty.error,
        1,
    )
    assert state.next_attempt_after and faulty.next_attempt_after == state.next_attempt_after
    if status := re.match(r"^HTTP (\d{3})", faulty.error or ""):
        assert faulty.http_status == int(status.group(1))
    assert state.etag is None and state.body_hash is None
    # And the good feed was archived as usual
    assert (good.status, good.items_new) == ("ok", 10)
    assert_archive_exact(store, count=10)


# --- address policy with the default settings -------------------------------------------------


@pytest.fixture
def internet(world: World) -> FakeInternet:
    net = fake_internet(world.monkeypatch)
    net.names["feed.example"] = [PUBLIC_IP]
    net.names["seed.example"] = [PUBLIC_IP]
    net.names["internal.example"] = ["10.0.0.5"]
    net.names["sneaky.example"] = [PUBLIC_IP, "192.168.1.10"]
    net.routes[PUBLIC_IP] = world.server.port
    return net


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://10.0.0.5/feed", "10.0.0.5 is a private address"),
        ("http://192.168.0.1:8080/feed", "192.168.0.1 is a private address"),
        ("http://127.0.0.1:{port}/seed.xml", "127.0.0.1 is a loopback address"),
        ("http://[::1]:{port}/seed.xml", "::1 is a loopback address"),
        ("http://[::ffff:10.0.0.5]/", "::ffff:10.0.0.5 is a private address"),
        ("http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://internal.example/feed", "internal.example resolves to 10.0.0.5, a private address"),
        ("http://sneaky.example/feed", "sneaky.example resolves to 192.168.1.10, a private address"),
    ],
)  # fmt: skip
@reliability(
    NETWORK,
    "a redirect to a private, loopback, CGNAT or metadata address (literal or via DNS), "
    "with the production address policy",
    "no connection is ever made to the address; the feed fails with one line naming it; "
    "the other feed is archived",
)
def test_redirects_inward_are_refused_before_connecting(
    store: Store, world: World, internet: FakeInternet, location: str, reason: str
) -> None:
    # Given a public feed that redirects to an internal address, and a public good feed
    world.server.route("/start", redirect(location.format(port=world.server.port)))
    world.server.route("/seed.xml", Reply(body=SEED_BODY))
    production = dataclasses.replace(world.settings, fetch=FetchOptions(max_retries=1))
    fetch = functools.partial(fetch_feed, resolve=internet.resolve)
    # When both are run with the production address policy
    summary = run_feeds(
        store,
        production,
        ["http://feed.example/start", "http://seed.example/seed.xml"],
        now=Clock(),
        fetch=fetch,
    )
    faulty, good = summary.feeds
    # Then the redirect was refused without connecting anywhere but the public address
    assert faulty.status == "failed"
    assert faulty.error.startswith("refusing redirect to ") and faulty.error.endswith(reason)
    assert {address for address, _ in internet.connections} == {PUBLIC_IP}
    assert store.get_feed_state("http://feed.example/start").last_error == faulty.error
    assert (good.status, good.items_new) == ("ok", 10)
    assert_archive_exact(store, count=10)


# --- faults that a retry within the run absorbs ------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(Reply(status=503, body=b"busy"), id="503"),
        pytest.param(
            Reply(status=429, headers={"Retry-After": "0.1"}, content_type=None), id="429"
        ),
    ],
)
@reliability(
    NETWORK,
    "a 503, or a 429 with a short Retry-After, then success",
    "retried within the run: the feed is archived, no failure is recorded",
)
def test_a_transient_error_is_retried_within_the_run(
    store: Store, world: World, first: Reply
) -> None:
    url = world.server.route("/flaky", first, Reply(body=SEED_BODY))
    summary = run_feeds(store, world.settings, [url], now=Clock())
    (feed,) = summary.feeds
    assert (feed.status, feed.items_new, feed.http_requests) == ("ok", 10, 2)
    assert store.get_feed_state(url).consecutive_failures == 0
    assert_archive_exact(store, count=10)


@reliability(
    NETWORK,
    "a permanent redirect to the real feed",
    "followed: the feed is archived under its configured URL",
)
def test_a_redirect_to_the_feed_is_followed(store: Store, world: World) -> None:
    world.server.route("/seed.xml", Reply(body=SEED_BODY))
    url = world.server.route("/old-address", redirect(world.server.url("/seed.xml"), 301))
    (feed,) = run_feeds(store, world.settings, [url], now=Clock()).feeds
    assert (feed.status, feed.items_new) == ("ok", 10)
    assert_archive_exact(store, count=10)
