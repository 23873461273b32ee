"""The dashboard page under streamlit.testing's AppTest, over a moto archive.

AppTest runs dashboard/app.py in this process, so moto's mock (the `aws` and
`store` fixtures) answers the app's own boto3 clients, built from the same
environment variables as the archiver's.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from feed_archiver import archive_format as fmt
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.storage import Store
from tests.dashboard_apptest import dashboard_env, metric, run_app
from tests.dashboard_seed import (
    HOSTILE_TITLE,
    OTHER_FEED,
    SEED,
    record,
    seed,
    write,
    write_feed_state,
)


def table(at: AppTest, first_column: str) -> pd.DataFrame:
    """The st.dataframe whose first column is `first_column`."""
    found = [d.value for d in at.dataframe if list(d.value.columns)[:1] == [first_column]]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def counts(at: AppTest, dimension: str) -> dict[str, int]:
    frame = table(at, dimension)
    return {str(k): int(v) for k, v in zip(frame[dimension], frame["items"], strict=True)}


def items(at: AppTest) -> pd.DataFrame:
    return table(at, "date")


def test_counts_shown_equal_feed_archiver_stats(store: Store) -> None:
    # Given the ten seed items
    seed(store)
    stats = stats_from_cells(parse_cells(store.read_cells()))
    # When the page renders with no filter
    at = run_app()
    # Then every number on it is `feed-archiver stats`
    assert metric(at, "Items in the archive") == stats.total == 10
    assert metric(at, "Matching the filters") == 10
    assert metric(at, "Feeds archived") == 1
    assert counts(at, "category") == stats.by_category
    assert counts(at, "region") == stats.by_region
    assert counts(at, "month") == stats.by_month
    assert len(items(at)) == 10
    assert not at.error


def test_header_shows_each_feed_with_its_status_and_age(store: Store) -> None:
    seed(store)
    write_feed_state(
        store, OTHER_FEED, status="failing", failing_since="2019-07-15T00:00:00Z", last_success=None
    )
    at = run_app()
    feeds = table(at, "feed").set_index("feed")
    assert feeds.loc[OTHER_FEED, "status"].startswith("failing since 2019-07-15T00:00:00Z")
    assert feeds.loc[OTHER_FEED, "last successful fetch"] == "never"
    assert feeds.loc["https://www.icmpd.org/home/?type=100", "status"] == "ok"
    assert metric(at, "Feeds archived") == 2


def test_category_filter(store: Store) -> None:
    seed(store)
    at = run_app()
    at.multiselect(key="categories").set_value(["Expert Voice", "ICMPD Around the Globe"]).run()
    assert metric(at, "Matching the filters") == 2
    assert metric(at, "Items in the archive") == 10
    assert counts(at, "category") == {"Expert Voice": 1, "ICMPD Around the Globe": 1}
    assert set(items(at)["category"]) == {"Expert Voice", "ICMPD Around the Globe"}


def test_region_filter_counts_from_the_items_and_says_so(store: Store) -> None:
    seed(store)
    at = run_app()
    at.multiselect(key="regions").set_value(["Silk Routes"]).run()
    assert metric(at, "Matching the filters") == 2
    assert counts(at, "region") == {"Silk Routes": 2}
    assert all("Silk Routes" in r for r in items(at)["regions"])
    assert any("region filter is active" in c.value for c in at.caption)


def test_month_range_filter(store: Store) -> None:
    seed(store)
    at = run_app()
    at.select_slider(key="month_range").set_range("2019-07", "2019-07").run()
    assert metric(at, "Matching the filters") == 6
    assert counts(at, "month") == {"2019-07": 6}
    assert set(items(at)["date"].str[:7]) == {"2019-07"}


def test_feed_filter(store: Store) -> None:
    seed(store)
    write(
        store,
        [record(f"other feed item {i}", feed_url=OTHER_FEED, category="Other") for i in range(3)],
    )
    write_feed_state(store, OTHER_FEED)
    at = run_app()
    assert metric(at, "Matching the filters") == 13
    at.selectbox(key="feed").set_value(fmt.feed_key(OTHER_FEED)).run()
    assert metric(at, "Matching the filters") == 3
    assert counts(at, "category") == {"Other": 3}


def test_text_search_over_titles(store: Store) -> None:
    seed(store)
    at = run_app()
    at.text_input(key="search").input("process").run()
    # Rabat Process, Budapest Process, Prague Process, Khartoum Process
    assert metric(at, "Matching the filters") == 4
    assert all("process" in h.lower() for h in items(at)["headline"])
    assert sum(counts(at, "category").values()) == 4


def test_filters_that_match_nothing_say_so(store: Store) -> None:
    seed(store)
    at = run_app()
    at.text_input(key="search").input("no such words anywhere").run()
    assert metric(at, "Matching the filters") == 0
    assert any("No item matches" in i.value for i in at.info)


def test_choosing_an_item_shows_its_summary_as_plain_text(store: Store) -> None:
    # Given an item whose title and summary are markup
    seed(store)
    hostile = record(
        "hostile",
        title=HOSTILE_TITLE,
        published="2019-07-20T00:00:00Z",
        summary="**not bold** <b>not bold</b> [link](javascript:alert(1))",
        link="javascript:alert(1)",
    )
    write(store, [hostile])
    at = run_app()
    # When it is chosen (it is the newest, so it is the default choice)
    assert at.selectbox(key="item_choice").value == hostile["key"]
    # Then title and summary are st.text elements, verbatim, and its link is blanked
    texts = [t.value for t in at.text]
    assert HOSTILE_TITLE in texts
    assert "**not bold** <b>not bold</b> [link](javascript:alert(1))" in texts
    assert pd.isna(items(at)["link"].iloc[0])
    assert "javascript" not in str(items(at)["link"].tolist())
    # When the next item is chosen, Then its summary replaces the first one
    picker = at.selectbox(key="item_choice")
    picker.set_value(picker.options[1]).run()
    texts = [t.value for t in at.text]
    assert f"Summary of {SEED[0][1]}." in texts
    assert HOSTILE_TITLE not in texts


def test_no_feed_text_goes_through_markdown(store: Store) -> None:
    # Given a category and a title full of Markdown
    write(store, [record("*x*", category="**Bold** [c](http://e)", title="# Heading _x_")])
    at = run_app()
    # Then no Markdown element carries them (they are in tables, widget options and st.text)
    markdown = (
        [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    )
    assert not any("Heading" in m or "Bold" in m for m in markdown)
    assert "# Heading _x_" in [t.value for t in at.text]


def test_empty_archive_shows_how_to_fill_it(store: Store) -> None:
    # Given the bucket and table exist but nothing was archived
    at = run_app()
    # Then the page explains what to run, with no error
    assert any("empty" in i.value for i in at.info)
    assert any("make demo" in c.value and "feed-archiver run" in c.value for c in at.code)
    assert not at.error
    assert not at.metric


def test_missing_table_shows_one_clear_error(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_TABLE", "no-such-table")
    at = run_app()
    assert len(at.error) == 1
    assert "ARCHIVE\\_TABLE" in at.error[0].value  # escaped Markdown of "ARCHIVE_TABLE"
    assert "feed-archiver init" in at.error[0].value


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_unreachable_storage_shows_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an endpoint where nothing listens (no moto mock: the app really connects)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    # (botocore still retries each call 5 times; only its random back-off, up to 15 s in
    # all, is skipped: the message after the last attempt is what this test reads)
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    at = run_app()
    # Then one message says what to check, and nothing raised
    assert len(at.error) == 1
    assert "cannot reach the storage endpoint" in at.error[0].value
    assert "AWS\\_ENDPOINT\\_URL" in at.error[0].value


def test_missing_credentials_show_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given no credentials anywhere (and no instance metadata to ask)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    at = run_app()
    assert len(at.error) == 1
    assert "no AWS credentials found" in at.error[0].value


def test_missing_settings_show_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARCHIVE_BUCKET")
    at = run_app()
    assert len(at.error) == 1
    assert "ARCHIVE\\_BUCKET is not set" in at.error[0].value


def test_refresh_reads_the_archive_again(store: Store) -> None:
    # Given a rendered page, cached
    seed(store)
    at = run_app()
    assert metric(at, "Items in the archive") == 10
    write(store, [record("a late item", published="2019-07-30T00:00:00Z")])
    at.run()
    assert metric(at, "Items in the archive") == 10  # still the cached read
    # When refresh is pressed
    at.button(key="refresh").click().run()
    # Then the new item is counted
    assert metric(at, "Items in the archive") == 11


def test_a_filter_that_hides_the_chosen_item_moves_the_choice(store: Store) -> None:
    # Given the newest item chosen (the browser test checks the picker's display follows too)
    seed(store)
    at = run_app()
    newest = at.selectbox(key="item_choice").value
    # When a filter leaves it out
    at.multiselect(key="categories").set_value(["Expert Voice"]).run()
    # Then the picker and the summary both move to an item that is shown
    expert = items(at)["headline"].iloc[0]
    picker = at.selectbox(key="item_choice")
    assert picker.value != newest
    assert expert in picker.format_func(picker.value)
    assert any(expert in t.value for t in at.text)


__all__ = ["dashboard_env"]  # the autouse fixture, imported to apply it here
