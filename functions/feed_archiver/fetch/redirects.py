"""Follow redirects one hop at a time, each hop's URL checked before it is requested.

The feed fetch (feed.py) and the page fetch (page.py) share this loop: the
scheme and every resolved address of each hop pass the address guard
(addresses.py), the number of redirects is capped, and the whole walk runs
under one deadline. A caller may look at each checked hop before it is sent
(`before_request`: robots.txt and the per-host pause of the article capture);
the time it spends is given back to the deadline, which bounds the network only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from feed_archiver.errors import FetchError
from feed_archiver.fetch.addresses import Resolver, Target, check_url
from feed_archiver.fetch.exchange import Deadline, Exchange, open_exchange

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Called with each checked hop before it is requested; may raise (e.g. robots.txt says no).
BeforeRequest = Callable[[Target], None]


class Hops:
    """The walk from a URL through its redirects; `url` is the hop reached so far."""

    def __init__(
        self,
        url: str,
        *,
        deadline: Deadline,
        allow_private_networks: bool,
        connect_timeout: float,
        max_redirects: int,
        resolve: Resolver,
        tls: dict[str, Any],
        before_request: BeforeRequest | None = None,
    ) -> None:
        self.url = url
        self.deadline = deadline
        self.allow_private_networks = allow_private_networks
        self.connect_timeout = connect_timeout
        self.max_redirects = max_redirects
        self.resolve = resolve
        self.tls = tls
        self.before_request = before_request
        self.redirects = 0
        self.responses = 0  # requests that got a response, redirects included

    def open(self, headers: Mapping[str, str]) -> Exchange:
        """The open exchange of the first response that is not a redirect (close it after use)."""
        while True:
            if self.deadline.remaining() <= 0:
                raise self.deadline.timed_out(f"before requesting {self.url}")
            target = check_url(
                self.url,
                allow_private_networks=self.allow_private_networks,
                resolve=self.resolve,
                timeout=min(self.connect_timeout, max(self.deadline.remaining(), 0.0)),
                what="redirect to " if self.redirects else "",
            )
            if self.before_request is not None:
                started = time.monotonic()
                self.before_request(target)
                self.deadline.extend(time.monotonic() - started)
            exchange = open_exchange(target, headers, self.deadline, self.connect_timeout, self.tls)
            self.responses += 1
            response = exchange.response
            assert response is not None
            if response.status not in REDIRECT_STATUSES:
                return exchange
            location = response.headers.get("location", "")
            exchange.close()
            self.redirects += 1
            self.url = next_hop(
                self.url, location, response.status, self.redirects, self.max_redirects
            )


def next_hop(current: str, location: str, status: int, redirects: int, limit: int) -> str:
    """The URL a redirect points at, or FetchError (no Location, too many redirects, or
    https → http: a plain-http hop could rewrite the feed, or answer 410 and retire it)."""
    location = location.strip()
    if not location:
        raise FetchError(f"HTTP {status} redirect without a Location from {current}", status=status)
    if redirects > limit:
        raise FetchError(f"more than {limit} redirects, the last from {current}", status=status)
    target = urljoin(current, location)
    if urlsplit(current).scheme.lower() == "https" and urlsplit(target).scheme.lower() == "http":
        raise FetchError(
            f"refused: https → http redirect downgrade from {current} to {target}", status=status
        )
    return target


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Response headers with lower-case names (a repeated header keeps its joined value)."""
    return {name.lower(): headers[name] for name in headers}
