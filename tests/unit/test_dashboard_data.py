"""dashboard.data and dashboard.frames without an archive: configuration, safe text, links and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard import frames
from dashboard.data import StoreConfig, make_store
from feed_archiver.errors import ConfigError, StorageError
from feed_archiver.storage import FeedState
from tests.dashboard_seed import FEED, record

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"


# --- configuration -------------------------------------------------------------------
def test_config_comes_from_the_archiver_variables() -> None:
    # Given the archiver's environment variables
    env = {
        "ARCHIVE_BUCKET": "b",
        "ARCHIVE_TABLE": "t",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "AWS_PROFILE": "p",
        "AWS_REGION": "eu-central-1",
    }
    # When the dashboard reads them
    config = StoreConfig.from_env(env)
    # Then it uses the same names
    assert config == StoreConfig("b", "t", "http://127.0.0.1:5000", "p", "eu-central-1")


def test_missing_bucket_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="ARCHIVE_BUCKET"):
        StoreConfig.from_env({"ARCHIVE_TABLE": "t"})


def test_an_unknown_profile_is_a_storage_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a profile that no config file defines
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    # When the store is built, Then the error is one readable StorageError
    with pytest.raises(StorageError, match="profile"):
        make_store(StoreConfig("b", "t", profile="no-such-profile"))


def test_aws_region_alone_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given only AWS_REGION (the project's documented variable; boto3 itself reads AWS_DEFAULT_REGION)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    # When the store is built
    store = make_store(
        StoreConfig.from_env(
            {"ARCHIVE_BUCKET": "b", "ARCHIVE_TABLE": "t", "AWS_REGION": "eu-central-1"}
        )
    )
    # Then its clients are in that region
    assert store.ddb.meta.region_name == "eu-central-1"


# --- frames: text only, safe links, safe CSV --------------------------------------------------
@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("https://www.icmpd.org//news-centre/x/", "https://www.icmpd.org//news-centre/x/"),
        ("http://example.org/a", "http://example.org/a"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("/relative/path", None),
        ("https:///no-host", None),
        (None, None),
    ],
)
def test_only_http_links_reach_the_table(link: str | None, shown: str | None) -> None:
    frame = frames.items_frame(
        [record("x", link=link or "")] if link else [{**record("x"), "link": None}]
    )
    assert frame["link"].tolist() == [shown]


def test_items_csv_defuses_spreadsheet_formulas() -> None:
    # Given a title a spreadsheet would run as a formula
    hostile = record(
        "x", title='=HYPERLINK("http://evil.example","click")', link="javascript:alert(1)"
    )
    # When exported
    rows = list(csv.DictReader(io.StringIO(frames.items_csv([hostile]).decode("utf-8-sig"))))
    # Then the cell is text and the unsafe link is blank
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[0]["link"] == ""
    assert rows[0]["headline"] == "x"


def test_feed_status_texts() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    failing = FeedState.new(FEED)
    failing.status, failing.failing_since, failing.consecutive_failures = (
        "failing",
        "2024-04-30T08:00:00Z",
        3,
    )
    assert frames.status_text(failing) == "failing since 2024-04-30T08:00:00Z (3 attempts)"
    for status, text in (
        ("ok", "ok"),
        ("not_modified", "not modified"),
        ("inactive", "inactive"),
        ("never", "never fetched"),
    ):
        state = FeedState.new(FEED)
        state.status = status
        assert frames.status_text(state) == text
    assert frames.age_text("2024-05-01T11:55:00Z", now) == "5 min ago"
    assert frames.age_text("2024-05-01T02:00:00Z", now) == "10 h ago"
    assert frames.age_text("2024-04-20T12:00:00Z", now) == "11 d ago"
    assert frames.age_text(None, now) == "never"


def test_markdown_escape_shows_messages_as_typed() -> None:
    assert (
        frames.escape_markdown("**x** [a](javascript:b) <b>")
        == "\\*\\*x\\*\\* \\[a\\]\\(javascript\\:b\\) \\<b\\>"
    )


def test_no_dashboard_source_allows_html() -> None:
    # Streamlit renders HTML only when asked with unsafe_allow_html (or st.html): the dashboard never asks.
    offenders = [
        path.name
        for path in DASHBOARD.glob("*.py")
        for banned in ("unsafe_allow_html", "st.html(", "components.html")
        if banned in path.read_text("utf-8")
    ]
    assert offenders == []
