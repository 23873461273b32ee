"""The store's transactions: counts move with their records, exactly once."""

from __future__ import annotations

from typing import Any

from feed_archiver import archive_format as fmt
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.storage import IndexChange, Store, counter_deltas, pack_transactions

FEED = "https://example.org/feed"


def record(
    key: str,
    *,
    revision: int = 1,
    month: str = "2019-07",
    category: str = "Project News",
    regions: tuple[str, ...] = ("Africa",),
) -> dict[str, Any]:
    return {
        **fmt.item_pk(key),
        **fmt.month_gsi_keys(month, f"{month}-01T00:00:00Z", key),
        "key": key,
        "feed_url": FEED,
        "month": month,
        "category": category,
        "regions": list(regions),
        "revision": revision,
        "content_hash": f"{revision:064x}",
    }


def test_new_items_add_one_to_their_total_and_region_cells(store: Store) -> None:
    # Given two new items, one in two regions
    changes = [
        IndexChange(record("a" * 32, regions=("Africa", "Europe")), None),
        IndexChange(record("b" * 32), None),
    ]
    # When they are committed
    result = store.commit(changes)
    # Then both are acknowledged and the counts are exact
    assert sorted(result.committed) == ["a" * 32, "b" * 32]
    stats = stats_from_cells(parse_cells(store.read_cells()))
    assert stats.total == 2
    assert stats.by_region == {"Africa": 2, "Europe": 1}
    assert stats.by_category == {"Project News": 2}


def test_an_edit_moves_its_counts_from_old_cells_to_new(store: Store) -> None:
    # Given an archived item in June, Africa
    old = record("c" * 32, month="2019-06")
    store.commit([IndexChange(old, None)])
    # When an edit moves it to July, Expert Voice, Europe
    new = record(
        "c" * 32, revision=2, month="2019-07", category="Expert Voice", regions=("Europe",)
    )
    result = store.commit([IndexChange(new, old)])
    # Then the old cells are emptied and the new ones hold it
    assert result.committed == ["c" * 32]
    stats = stats_from_cells(parse_cells(store.read_cells()))
    assert stats.as_dict() == {
        "total": 1,
        "by_category": {"Expert Voice": 1},
        "by_region": {"Europe": 1},
        "by_month": {"2019-07": 1},
    }


def test_a_stale_plan_conflicts_and_moves_no_count(store: Store) -> None:
    # Given an item already committed by another run
    first = record("d" * 32)
    store.commit([IndexChange(first, None)])
    # When a second run, which read nothing, tries to add it again
    result = store.commit([IndexChange(record("d" * 32), None)])
    # Then the transaction is refused as a whole and nothing is counted twice
    assert result.conflicted == ["d" * 32]
    assert stats_from_cells(parse_cells(store.read_cells())).total == 1


def test_an_edit_based_on_an_old_revision_conflicts(store: Store) -> None:
    # Given an item at revision 2
    r1 = record("e" * 32)
    r2 = record("e" * 32, revision=2, category="Expert Voice")
    store.commit([IndexChange(r1, None)])
    store.commit([IndexChange(r2, r1)])
    # When a writer that still believes revision 1 edits it
    result = store.commit([IndexChange(record("e" * 32, revision=2, category="Other"), r1)])
    # Then it conflicts and the counts follow revision 2 only
    assert result.conflicted == ["e" * 32]
    assert stats_from_cells(parse_cells(store.read_cells())).by_category == {"Expert Voice": 1}


def test_transactions_stay_within_100_actions() -> None:
    # Given 300 items spread over many cells
    changes = [
        IndexChange(
            record(f"{i:032x}", month=f"20{i % 20:02d}-0{1 + i % 9}", regions=("Africa", "Europe")),
            None,
        )
        for i in range(300)
    ]
    # When they are packed
    batches = pack_transactions(changes)
    # Then every transaction (items + distinct cells) fits and nothing is lost
    assert sum(len(b) for b in batches) == 300
    for batch in batches:
        assert len(batch) + len(counter_deltas(batch)) <= 100


def test_net_zero_cells_are_not_sent() -> None:
    # Given an edit that changes only the content, not month, category or regions
    old = record("f" * 32)
    new = record("f" * 32, revision=2)
    # Then no counter moves
    assert counter_deltas([IndexChange(new, old)]) == {}


def test_index_records_are_read_in_batches_of_100(store: Store, calls: Any) -> None:
    # Given 250 committed items
    store.commit([IndexChange(record(f"{i:032x}"), None) for i in range(250)])
    calls.reset()
    # When all are read back with unknown keys mixed in
    found = store.get_index_records([f"{i:032x}" for i in range(260)])
    # Then the 250 come back in three requests
    assert len(found) == 250
    assert calls.calls["BatchGetItem"] == 3
