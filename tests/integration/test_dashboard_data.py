"""dashboard.data and dashboard.frames over a moto archive: exact counts, filters, request costs, safety."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dashboard import frames
from dashboard.data import (
    Filters,
    count_recent,
    load_archive,
    load_matching_items,
    load_view,
)
from feed_archiver import archive_format as fmt
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.errors import StorageError
from feed_archiver.storage import Store
from tests.conftest import BUCKET, TABLE, CallCounter
from tests.dashboard_seed import FEED, OTHER_FEED, record, seed, write, write_feed_state

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"


def _stats(store: Store) -> dict[str, Any]:
    """What `feed-archiver stats` prints, from the same function."""
    return stats_from_cells(parse_cells(store.read_cells())).as_dict()


def _view_stats(cells: Any) -> dict[str, Any]:
    return stats_from_cells(list(cells)).as_dict()


def _month_of_items(month: str, n: int, *, category: str = "Project News") -> list[dict[str, Any]]:
    return [
        record(
            f"{month} item {i}",
            category=category,
            published=f"{month}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            regions=("Africa",),
        )
        for i in range(n)
    ]


# --- the archive at a glance ---------------------------------------------------------------
def test_counts_equal_feed_archiver_stats(store: Store) -> None:
    # Given the ten seed items
    seed(store)
    # When the dashboard loads the archive and the unfiltered view
    archive = load_archive(store, now=datetime(2019, 7, 20, tzinfo=UTC))
    view = load_view(store, archive, Filters())
    # Then its numbers are exactly `feed-archiver stats`
    stats = _stats(store)
    assert stats["total"] == 10
    assert stats["by_category"] == {
        "Project News": 8,
        "Expert Voice": 1,
        "ICMPD Around the Globe": 1,
    }
    assert stats["by_month"] == {"2019-07": 6, "2019-06": 4}
    assert archive.total == view.matching == 10
    assert _view_stats(view.cells) == stats
    assert archive.months == ["2019-06", "2019-07"]
    assert archive.categories == ["Project News", "Expert Voice", "ICMPD Around the Globe"]
    assert [archive.feed_url(k) for k in archive.feed_keys] == [FEED]


def test_the_default_view_reads_cells_feeds_and_one_page_only(
    store: Store, calls: CallCounter
) -> None:
    # Given the seed
    seed(store)
    calls.reset()
    # When the default view loads (the seed is years older than "now")
    archive = load_archive(store, now=datetime(2025, 1, 1, tzinfo=UTC))
    view = load_view(store, archive, Filters())
    # Then: one query of the cells, one of the feed states, one per month of items, no scan
    assert calls.calls == {"Query": 2 + 2}
    assert [r["published"] for r in view.items] == sorted(
        (r["published"] for r in view.items), reverse=True
    )


def test_the_default_view_costs_the_same_however_large_the_archive(
    store: Store, calls: CallCounter
) -> None:
    # Given an archive of 4 months × 20 items
    write(
        store,
        [r for m in ("2020-01", "2020-02", "2020-03", "2020-04") for r in _month_of_items(m, 20)],
    )
    calls.reset()
    archive = load_archive(store, now=datetime(2025, 1, 1, tzinfo=UTC))
    view = load_view(store, archive, Filters(), limit=30)
    small = dict(calls.calls)
    # When the archive grows to 16 months (four times as many items) and the same page is read
    write(
        store,
        [
            r
            for y in ("2018", "2019")
            for m in range(1, 7)
            for r in _month_of_items(f"{y}-{m:02d}", 20)
        ],
    )
    calls.reset()
    archive = load_archive(store, now=datetime(2025, 1, 1, tzinfo=UTC))
    grown = load_view(store, archive, Filters(), limit=30)
    # Then the requests are the same: two newest months fill a page of 30
    assert archive.total == 320
    assert calls.calls == small == {"Query": 2 + 2}
    assert len(view.items) == len(grown.items) == 30
    assert grown.truncated
    assert {r["month"] for r in grown.items} == {"2020-04", "2020-03"}


def test_recent_items_read_only_the_month_of_the_cutoff(store: Store, calls: CallCounter) -> None:
    # Given items around a cut-off of 2024-03-11 (now = 2024-04-10, 30 days)
    dates = [
        "2024-02-20",
        "2024-03-05",
        "2024-03-10",
        "2024-03-20",
        "2024-03-28",
        "2024-04-02",
        "2024-04-09",
    ]
    write(store, [record(f"item {d}", published=f"{d}T12:00:00Z") for d in dates])
    cells = parse_cells(store.read_cells())
    calls.reset()
    # When the recent count is made
    recent = count_recent(store, cells, datetime(2024, 4, 10, 12, 0, tzinfo=UTC))
    # Then it counts 03-20, 03-28, 04-02, 04-09, with one query of 2024-03 (April comes from the cells)
    assert recent == 4
    assert calls.calls == {"Query": 1}


def test_no_recent_month_means_no_query(store: Store, calls: CallCounter) -> None:
    seed(store)
    cells = parse_cells(store.read_cells())
    calls.reset()
    assert count_recent(store, cells, datetime(2030, 1, 1, tzinfo=UTC)) == 0
    assert calls.total == 0


# --- filters ---------------------------------------------------------------------------
def test_category_filter_uses_the_cells_and_only_matching_months(
    store: Store, calls: CallCounter
) -> None:
    # Given the seed (Expert Voice only in 2019-07)
    seed(store)
    archive = load_archive(store)
    calls.reset()
    # When filtered to Expert Voice
    view = load_view(store, archive, Filters(categories=("Expert Voice",)))
    # Then one item, counted from the cells, and only its month was queried
    assert view.matching == 1 and not view.from_items
    assert [r["category"] for r in view.items] == ["Expert Voice"]
    assert _view_stats(view.cells)["by_category"] == {"Expert Voice": 1}
    assert calls.calls == {"Query": 1}


def test_month_range_filter(store: Store) -> None:
    seed(store)
    archive = load_archive(store)
    view = load_view(store, archive, Filters(month_from="2019-06", month_to="2019-06"))
    assert view.matching == 4
    assert {r["month"] for r in view.items} == {"2019-06"}
    assert _view_stats(view.cells)["by_month"] == {"2019-06": 4}


def test_feed_filter(store: Store) -> None:
    # Given the seed and two items of another feed
    seed(store)
    write(store, [record(f"other {i}", feed_url=OTHER_FEED, category="Other") for i in range(2)])
    archive = load_archive(store)
    # When one feed is chosen
    view = load_view(store, archive, Filters(feed=fmt.feed_key(OTHER_FEED)))
    # Then only its items and counts
    assert view.matching == 2
    assert {r["feed_url"] for r in view.items} == {OTHER_FEED}
    assert _view_stats(view.cells)["by_category"] == {"Other": 2}
    assert len(archive.feed_keys) == 2


def test_region_filter_counts_items_once_from_the_records(store: Store) -> None:
    # Given the seed: 4 items in Africa, 3 in Mediterranean and Middle East, 2 of them in both
    records = seed(store)
    archive = load_archive(store)
    wanted = ("Africa", "Mediterranean and Middle East")
    expected = [r for r in records if set(r["regions"]) & set(wanted)]
    # When filtered to two regions
    view = load_view(store, archive, Filters(regions=wanted))
    stats = _view_stats(view.cells)
    # Then an item in both regions counts once in the total, once in each region's bar
    assert view.from_items
    assert view.matching == stats["total"] == len(expected) == 5
    assert stats["by_region"] == {"Africa": 4, "Mediterranean and Middle East": 3}
    assert sum(stats["by_category"].values()) == 5


def test_text_search_matches_every_word_of_the_title_in_any_case(
    store: Store, calls: CallCounter
) -> None:
    seed(store)
    archive = load_archive(store)
    calls.reset()
    view = load_view(store, archive, Filters(search="BORDER management"))
    assert view.from_items
    assert sorted(r["headline"] for r in view.items) == [
        "Border management training for Jordanian officers",
        "MMD Support Project – Rabat Process Thematic Meeting on Border Management",
    ]
    assert _view_stats(view.cells)["total"] == 2
    # It reads the months in range through the by-month index: never a scan
    assert set(calls.calls) == {"Query"}


def test_search_with_other_filters_and_nothing_found(store: Store) -> None:
    seed(store)
    archive = load_archive(store)
    view = load_view(store, archive, Filters(search="border", categories=("Expert Voice",)))
    assert view.matching == 0 and view.items == () and view.cells == ()


def test_all_matching_items_for_the_csv_go_past_the_page(store: Store) -> None:
    write(store, _month_of_items("2020-01", 30) + _month_of_items("2020-02", 30))
    archive = load_archive(store)
    view = load_view(store, archive, Filters(), limit=10)
    everything = load_matching_items(store, archive, Filters())
    assert view.truncated and len(view.items) == 10
    assert len(everything) == 60


def test_counts_csv_has_every_count_the_charts_show(store: Store) -> None:
    seed(store)
    cells = parse_cells(store.read_cells())
    rows = list(csv.DictReader(io.StringIO(frames.counts_csv(cells).decode("utf-8-sig"))))
    by = {(r["dimension"], r["month"], r["category"], r["region"]): int(r["items"]) for r in rows}
    assert by[("total", "", "", "")] == 10
    assert by[("category", "", "Project News", "")] == 8
    assert by[("month", "2019-06", "", "")] == 4
    assert by[("month × category", "2019-07", "Expert Voice", "")] == 1
    assert by[("region", "", "", "Africa")] == 4
    assert sum(n for (d, *_), n in by.items() if d == "region × month") == sum(
        n for (d, *_), n in by.items() if d == "region"
    )


def test_feeds_frame_lists_each_feed_with_status_and_age(store: Store) -> None:
    seed(store)
    write_feed_state(
        store, OTHER_FEED, status="failing", failing_since="2019-07-15T00:00:00Z", last_success=None
    )
    archive = load_archive(store)
    table = frames.feeds_frame(archive, datetime(2019, 7, 16, 16, 0, tzinfo=UTC))
    rows = {r["feed"]: r for r in table.to_dict("records")}
    assert (
        rows[FEED]["status"] == "ok"
        and rows[FEED]["age"] == "2 h ago"
        and rows[FEED]["items"] == 10
    )
    assert rows[OTHER_FEED]["status"].startswith("failing since 2019-07-15")
    assert rows[OTHER_FEED]["last successful fetch"] == "never"


def test_storage_errors_are_storage_errors(aws: tuple[Any, Any]) -> None:
    # Given a table that does not exist
    s3, ddb = aws
    store = Store(BUCKET, "no-such-table", s3_client=s3, dynamodb_client=ddb)
    # When the dashboard loads, Then the error says what to check
    with pytest.raises(StorageError, match="ARCHIVE_TABLE"):
        load_archive(store)
    assert TABLE != "no-such-table"
