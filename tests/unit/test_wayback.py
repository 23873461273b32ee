"""The web-archive backfill without a web archive: capture choice, CDX answers, settings."""

from __future__ import annotations

import pytest

from feed_archiver.errors import ConfigError
from feed_archiver.history.wayback import (
    Capture,
    CdxError,
    distinct_captures,
    month_param,
    parse_cdx,
)
from feed_archiver.settings import load_wayback_options
from tests.history_feeds import FEED_URL


def test_identical_captures_are_fetched_once_even_when_not_adjacent() -> None:
    # Given a listing where the same digest comes back after another one
    rows = [
        Capture("20190101000000", FEED_URL, "AAA"),
        Capture("20190201000000", FEED_URL, "BBB"),
        Capture("20190301000000", FEED_URL, "AAA"),
    ]
    # Then only the oldest of each digest is kept, oldest first
    assert [c.timestamp for c in distinct_captures(reversed(rows))] == [
        "20190101000000",
        "20190201000000",
    ]


def test_cdx_answers_are_read_defensively() -> None:
    assert parse_cdx(b"", "cdx") == []
    assert parse_cdx(b"[]", "cdx") == []
    rows = b'[["timestamp","original","digest","statuscode"],["20190101000000","u","D","200"],[],["x","u","E","200"]]'
    assert parse_cdx(rows, "cdx") == [Capture("20190101000000", "u", "D")]
    with pytest.raises(CdxError, match="did not answer CDX JSON"):
        parse_cdx(b"<html>", "cdx")
    with pytest.raises(CdxError, match="without digest"):
        parse_cdx(b'[["timestamp","original"]]', "cdx")


def test_settings_and_months_are_validated_with_one_clear_line() -> None:
    assert month_param("2019-07", "--from") == "201907"
    with pytest.raises(ConfigError, match="--from must be a month as YYYY-MM"):
        month_param("2019-13", "--from")
    with pytest.raises(ConfigError, match="WAYBACK_CDX_URL"):
        load_wayback_options({"WAYBACK_CDX_URL": "ftp://example.org/cdx"})
    with pytest.raises(ConfigError, match="WAYBACK_PAUSE_SECONDS"):
        load_wayback_options({"WAYBACK_PAUSE_SECONDS": "soon"})
    options = load_wayback_options({"WAYBACK_CAPTURE_URL": "http://127.0.0.1:9/web"})
    assert options.capture_url == "http://127.0.0.1:9/web/"
    assert options.pause_seconds == 1.0
