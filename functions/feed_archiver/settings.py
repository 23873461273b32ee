"""Settings from the environment, validated once per cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
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


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
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


def load_settings(env: Mapping[str, str] | None = None, *, require_feeds: bool = True) -> Settings:
    """Read and validate settings; raise ConfigError naming the first bad one."""
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
        connect_timeout=_number(env, "FETCH_CONNECT_TIMEOUT", 5.0),
        total_timeout=_number(env, "FETCH_TOTAL_TIMEOUT", 20.0),
        max_bytes=int(_number(env, "FETCH_MAX_BYTES", 10 * MIB)),
        allow_private_networks=_bool(env.get("ALLOW_PRIVATE_NETWORKS", "")),
    )
    return Settings(
        archive_bucket=bucket,
        archive_table=table,
        feed_urls=feeds,
        fetch=fetch,
        backoff_base_seconds=_number(env, "BACKOFF_BASE_SECONDS", 3600.0),
        backoff_cap_seconds=_number(env, "BACKOFF_CAP_SECONDS", 86400.0),
        deadline_margin_seconds=_number(env, "DEADLINE_MARGIN_SECONDS", 30.0),
        s3_concurrency=int(_number(env, "S3_CONCURRENCY", 16)),
        lease_seconds=_number(env, "FEED_LEASE_SECONDS", 900.0),
    )
