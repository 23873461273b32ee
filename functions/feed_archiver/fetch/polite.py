"""Fetch pages as a published crawler does: robots.txt, a pause per host, a named User-Agent.

- robots.txt is fetched once per origin (scheme, host, port) and kept for a day,
  through the same guarded fetch as pages; what it says for our User-Agent is
  obeyed on every hop, redirects included. As Google does: a 4xx robots.txt
  (404, 410, 403...) allows everything; a 5xx, a 429 or no answer at all
  (timeout, refused) disallows everything for now, and is asked again after
  ROBOTS_RETRY_SECONDS.
- Between two requests to one host there are at least CAPTURE_MIN_INTERVAL_SECONDS,
  counted start to start, robots.txt requests included; a Crawl-delay (or a
  Request-rate) in robots.txt that asks for longer wins.
- The pauses are not part of a fetch's deadline: the deadline bounds the network.

One `Politeness` per process: the CLI makes one per command, the capture Lambda
one per container, so pauses and robots.txt carry over between items. Two
Lambda containers do not share them; the function's bounded concurrency does.
protego is imported when the first robots.txt is parsed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from feed_archiver.errors import FetchError, RobotsDisallowedError
from feed_archiver.fetch.addresses import Resolver, Target
from feed_archiver.fetch.feed import Validators
from feed_archiver.fetch.page import PageOptions, PageResponse, fetch_page

if TYPE_CHECKING:
    from feed_archiver.settings import Settings

ROBOTS_MAX_BYTES = 512 * 1024  # what Google reads of a robots.txt
ROBOTS_TTL_SECONDS = 24 * 3600.0
ROBOTS_RETRY_SECONDS = 600.0  # an unreachable robots.txt is asked again after this

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class HostPacer:
    """At least `min_interval` seconds between the starts of two requests to one host."""

    def __init__(
        self, min_interval: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ):
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._last_start: dict[str, float] = {}  # host -> when its last request may start
        self._lock = threading.Lock()

    def wait(self, host: str, interval: float | None = None) -> float:
        """Sleep until `host` may be asked again and book that moment; returns the seconds slept.

        `interval` (a Crawl-delay) replaces the minimum when it is longer.
        """
        gap = max(self.min_interval, interval or 0.0)
        host = host.lower()
        with self._lock:  # book the slot first, so two threads never share one
            now = self._clock()
            last = self._last_start.get(host)
            start = now if last is None else max(now, last + gap)
            self._last_start[host] = start
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay


@dataclass(frozen=True)
class _Robots:
    rules: Any | None  # a protego.Protego; None allows everything
    unavailable: str | None  # why robots.txt could not be read: then nothing is allowed
    expires: float


class RobotsRules:
    """robots.txt per origin, fetched on first use and kept for ROBOTS_TTL_SECONDS."""

    def __init__(
        self,
        user_agent: str,
        fetch: Callable[[str], PageResponse],
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.user_agent = user_agent
        self._fetch = fetch
        self._clock = clock
        self._cache: dict[str, _Robots] = {}
        self._lock = threading.Lock()
        self.fetched: list[str] = []  # robots.txt URLs fetched, in order

    def check(self, url: str) -> float | None:
        """The Crawl-delay for `url`'s host, or RobotsDisallowedError if it may not be fetched."""
        robots = self._robots(url)
        if robots.unavailable:
            raise RobotsDisallowedError(
                f"not fetching {url}: its robots.txt could not be read ({robots.unavailable}), "
                "so nothing on that host is fetched for now",
                unavailable=True,
            )
        if robots.rules is None:
            return None
        if not robots.rules.can_fetch(url, self.user_agent):
            raise RobotsDisallowedError(f"robots.txt disallows {url} for this archiver")
        return crawl_delay(robots.rules, self.user_agent)

    def _robots(self, url: str) -> _Robots:
        origin = _origin(url)
        with self._lock:  # one fetch per origin, even with threads
            cached = self._cache.get(origin)
            if cached is None or cached.expires <= self._clock():
                cached = self._load(origin + "/robots.txt")
                self._cache[origin] = cached
            return cached

    def _load(self, robots_url: str) -> _Robots:
        self.fetched.append(robots_url)
        try:
            response = self._fetch(robots_url)
        except FetchError as exc:
            return self._unavailable(str(exc))
        status = response.status
        if status == 429 or status >= 500:
            return self._unavailable(f"HTTP {status}")
        expires = self._clock() + ROBOTS_TTL_SECONDS
        if not 200 <= status < 300:
            return _Robots(None, None, expires)  # 4xx (or a 3xx left over): no rules
        from protego import Protego

        return _Robots(Protego.parse(response.body.decode("utf-8", "replace")), None, expires)

    def _unavailable(self, reason: str) -> _Robots:
        return _Robots(None, reason, self._clock() + ROBOTS_RETRY_SECONDS)


def crawl_delay(rules: Any, user_agent: str) -> float | None:
    """Seconds between requests robots.txt asks of us: Crawl-delay or Request-rate, the longer."""
    delays = []
    delay = rules.crawl_delay(user_agent)
    if delay is not None:
        delays.append(float(delay))
    rate = rules.request_rate(user_agent)
    if rate is not None and rate.requests > 0:
        delays.append(rate.seconds / rate.requests)
    return max(delays) if delays else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    default = 443 if scheme == "https" else 80
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or default
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


class Politeness:
    """The polite way to fetch: robots.txt, the per-host pause, the capture's User-Agent."""

    def __init__(
        self,
        options: PageOptions,
        min_interval: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        resolve: Resolver | None = None,
    ) -> None:
        self.options = options
        self.pacer = HostPacer(min_interval, clock=clock, sleep=sleep)
        self.robots = RobotsRules(options.user_agent, self._fetch_robots, clock=clock)
        self.resolve = resolve

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Politeness:
        return cls(
            PageOptions.from_settings(settings), settings.capture.min_interval_seconds, **kwargs
        )

    def fetch(
        self,
        url: str,
        validators: Validators | None = None,
        *,
        obey_robots: bool = True,
        body_types: tuple[str, ...] | None = PageOptions.body_types,
        total_timeout: float | None = None,
    ) -> PageResponse:
        """fetch_page, pausing before every hop and, with `obey_robots`, asking robots.txt first.

        Raises RobotsDisallowedError when robots.txt says no for any hop.
        """

        def before(target: Target) -> None:
            delay = self.robots.check(target.url) if obey_robots else None
            self.pacer.wait(target.host, delay)

        options = replace(self.options, body_types=body_types)
        if total_timeout is not None:
            options = replace(options, total_timeout=max(options.total_timeout, total_timeout))
        return fetch_page(url, options, validators, before_request=before, resolve=self.resolve)

    def _fetch_robots(self, robots_url: str) -> PageResponse:
        options = replace(
            self.options, max_bytes=ROBOTS_MAX_BYTES, body_types=None, accept="text/plain,*/*"
        )
        return fetch_page(
            robots_url,
            options,
            before_request=self._pace,
            resolve=self.resolve,
        )

    def _pace(self, target: Target) -> None:
        self.pacer.wait(target.host)
