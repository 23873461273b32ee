"""The store's transactions: counts move with their records, exactly once."""

from __future__ import annotations

from typing import Any

from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.storage import IndexChange, Store
from tests.index_records import record


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
    old = record("c" * 32, month="2019-06", countries=("TN",))
    store.commit([IndexChange(old, None)])
    # When an edit moves it to July, Expert Voice, Europe, France and Germany
    new = record(
        "c" * 32,
        revision=2,
        month="2019-07",
        category="Expert Voice",
        regions=("Europe",),
        countries=("DE", "FR"),
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
        "by_country": {"DE": 1, "FR": 1},
        "countries_counted": 1,
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


def test_index_records_are_read_in_batches_of_100(store: Store, calls: Any) -> None:
    # Given 250 committed items
    store.commit([IndexChange(record(f"{i:032x}"), None) for i in range(250)])
    calls.reset()
    # When all are read back with unknown keys mixed in
    found = store.get_index_records([f"{i:032x}" for i in range(260)])
    # Then the 250 come back in three requests
    assert len(found) == 250
    assert calls.calls["BatchGetItem"] == 3
