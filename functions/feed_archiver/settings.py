"""Settings from the environment, validated once per cold start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from feed_archiver.errors import ConfigError

MIB = 1024 * 1024


@dataclass(frozen=True)
class FetchOptions:
    """How the fetcher behaves; the defaults are the production ones."""

    connect_timeout: float = 5.0
    total_timeout: float = 20.0
    max_bytes: int = 10 * MIB
    max_redirects: int = 5
    max_retries: int = 2
    retry_after_cap: float = 30.0
    allow_private_networks: bool = False
    user_agent: str = "feed-archiver/0.1 (+https://github.com/icmpd-feed-archiver)"


@dataclass(frozen=True)
class WaybackOptions:
    """Where the web archive answers (backfill-wayback, dead-link captures), and how politely."""

    cdx_url: str = "https://web.archive.org/cdx/search/cdx"
    capture_url: str = "https://web.archive.org/web/"
    pause_seconds: float = 1.0


@dataclass(frozen=True)
class CaptureOptions:
    """Article capture (issue 12): how politely and how much of each page is fetched."""

    # Between two requests to one host (robots.txt included); a longer Crawl-delay wins.
    min_interval_seconds: float = 5.0
    # Names the archiver and a contact URL, as a published crawler does.
    user_agent: str = (
        "feed-archiver-capture/0.1 (article archiver; +https://github.com/icmpd-feed-archiver)"
    )
    max_bytes: int = 5 * MIB
    # None: no queue; new items stay pending for `feed-archiver capture --missing`.
    queue_url: str | None = None


@dataclass(frozen=True)
class Settings:
    archive_bucket: str
    archive_table: str
    feed_urls: tuple[str, ...] = ()
    fetch: FetchOptions = field(default_factory=FetchOptions)
    backoff_base_seconds: float = 3600.0
    backoff_cap_seconds: float = 86400.0
    # Stop starting new work when less than this remains of the Lambda's time.
    deadline_margin_seconds: float = 30.0
    s3_concurrency: int = 16
    # How long a run may hold a feed when it has no deadline of its own (the CLI); the
    # Lambda holds it until its invocation ends. A crashed holder's lease simply expires.
    lease_seconds: float = 900.0
    wayback: WaybackOptions = field(default_factory=WaybackOptions)
    capture: CaptureOptions = field(default_factory=CaptureOptions)


_TRUE = frozenset({"1", "true", "yes", "y", "t", "on"})


def truthy(value: str | None) -> bool:
    """The one reading of a yes/no environment variable."""
    return (value or "").strip().lower() in _TRUE


def _default(cls: type, name: str) -> Any:
    """A dataclass field's default: each default is written once, on its field."""
    return next(f.default for f in fields(cls) if f.name == name)


def _number(
    env: Mapping[str, str], name: str, cls: type, attr: str, *, allow_zero: bool = False
) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return float(_default(cls, attr))
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def parse_feed_urls(raw: str) -> tuple[str, ...]:
    """Split a comma-separated FEED_URLS value and check every URL is http(s)."""
    urls = tuple(dict.fromkeys(u.strip() for u in raw.split(",") if u.strip()))
    for url in urls:
        check_feed_url(url)
    return urls


def check_feed_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"feed URL must be an http(s) URL with a host, got {url!r}")
    return url


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    require_feeds: bool = True,
    allow_private_networks: bool = False,
) -> Settings:
    """Read and validate settings; raise ConfigError naming the first bad one.

    `allow_private_networks` (a command's flag) adds to ALLOW_PRIVATE_NETWORKS.
    """
    env = os.environ if env is None else env
    bucket = env.get("ARCHIVE_BUCKET", "").strip()
    table = env.get("ARCHIVE_TABLE", "").strip()
    if not bucket:
        raise ConfigError("ARCHIVE_BUCKET is not set: name the S3 bucket that holds the archive")
    if not table:
        raise ConfigError("ARCHIVE_TABLE is not set: name the DynamoDB table of the archive")
    feeds = parse_feed_urls(env.get("FEED_URLS", ""))
    if require_feeds and not feeds:
        raise ConfigError("FEED_URLS is not set: give one or more feed URLs, comma-separated")
    fetch = FetchOptions(
        connect_timeout=_number(env, "FETCH_CONNECT_TIMEOUT", FetchOptions, "connect_timeout"),
        total_timeout=_number(env, "FETCH_TOTAL_TIMEOUT", FetchOptions, "total_timeout"),
        max_bytes=int(_number(env, "FETCH_MAX_BYTES", FetchOptions, "max_bytes")),
        allow_private_networks=allow_private_networks or truthy(env.get("ALLOW_PRIVATE_NETWORKS")),
    )
    return Settings(
        archive_bucket=bucket,
        archive_table=table,
        feed_urls=feeds,
        fetch=fetch,
        backoff_base_seconds=_number(env, "BACKOFF_BASE_SECONDS", Settings, "backoff_base_seconds"),
        backoff_cap_seconds=_number(env, "BACKOFF_CAP_SECONDS", Settings, "backoff_cap_seconds"),
        deadline_margin_seconds=_number(
            env, "DEADLINE_MARGIN_SECONDS", Settings, "deadline_margin_seconds"
        ),
        s3_concurrency=int(_number(env, "S3_CONCURRENCY", Settings, "s3_concurrency")),
        lease_seconds=_number(env, "FEED_LEASE_SECONDS", Settings, "lease_seconds"),
        wayback=load_wayback_options(env),
        capture=load_capture_options(env),
    )


def load_capture_options(env: Mapping[str, str]) -> CaptureOptions:
    """CAPTURE_MIN_INTERVAL_SECONDS, CAPTURE_USER_AGENT, CAPTURE_MAX_BYTES, CAPTURE_QUEUE_URL."""
    user_agent = " ".join(env.get("CAPTURE_USER_AGENT", "").split())
    if not user_agent:
        user_agent = _default(CaptureOptions, "user_agent")
    elif not _CONTACT.search(user_agent):
        raise ConfigError(
            "CAPTURE_USER_AGENT must name a contact URL (http(s)://...) or e-mail address, "
            f"got {user_agent!r}"
        )
    queue_url = env.get("CAPTURE_QUEUE_URL", "").strip() or None
    if queue_url:
        try:
            check_feed_url(queue_url)
        except ConfigError:
            raise ConfigError(
                f"CAPTURE_QUEUE_URL must be an http(s) URL, got {queue_url!r}"
            ) from None
    return CaptureOptions(
        min_interval_seconds=_number(
            env,
            "CAPTURE_MIN_INTERVAL_SECONDS",
            CaptureOptions,
            "min_interval_seconds",
            allow_zero=True,
        ),
        user_agent=user_agent,
        max_bytes=int(_number(env, "CAPTURE_MAX_BYTES", CaptureOptions, "max_bytes")),
        queue_url=queue_url,
    )


_CONTACT = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.-]+")


def load_wayback_options(
    env: Mapping[str, str],
    *,
    cdx_url: str | None = None,
    capture_url: str | None = None,
    pause_seconds: float | None = None,
) -> WaybackOptions:
    """Options from arguments, else WAYBACK_CDX_URL, WAYBACK_CAPTURE_URL, WAYBACK_PAUSE_SECONDS."""
    cdx = cdx_url or env.get("WAYBACK_CDX_URL") or _default(WaybackOptions, "cdx_url")
    capture = (
        capture_url or env.get("WAYBACK_CAPTURE_URL") or _default(WaybackOptions, "capture_url")
    )
    for name, url in (("WAYBACK_CDX_URL", cdx), ("WAYBACK_CAPTURE_URL", capture)):
        try:
            check_feed_url(url)
        except ConfigError:
            raise ConfigError(f"{name} must be an http(s) URL with a host, got {url!r}") from None
    if pause_seconds is None:
        pause_seconds = _number(
            env, "WAYBACK_PAUSE_SECONDS", WaybackOptions, "pause_seconds", allow_zero=True
        )
    if pause_seconds < 0:
        raise ConfigError(f"the pause between requests cannot be negative, got {pause_seconds}")
    if not capture.endswith("/"):
        capture += "/"
    return WaybackOptions(cdx, capture, pause_seconds)


def tracing_on(env: Mapping[str, str] | None = None) -> bool:
    """Whether X-Ray tracing can be on: inside Lambda, unless POWERTOOLS_TRACE_DISABLED says no."""
    env = os.environ if env is None else env
    return not truthy(env.get("POWERTOOLS_TRACE_DISABLED")) and bool(env.get("LAMBDA_TASK_ROOT"))


def debug_on(env: Mapping[str, str] | None = None) -> bool:
    """FEED_ARCHIVER_DEBUG: the CLI shows tracebacks instead of one line."""
    return truthy((os.environ if env is None else env).get("FEED_ARCHIVER_DEBUG"))


def aws_region(env: Mapping[str, str] | None = None) -> str | None:
    """AWS_REGION (what Lambda and most docs set), else AWS_DEFAULT_REGION (what boto3 reads)."""
    env = os.environ if env is None else env
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
