"""Country counter cells (issue 13): their keys, how items pack into transactions, and the stats.

Pure logic: no moto. The transactions themselves are tested in
tests/integration/test_country_counters.py.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from feed_archiver import archive_format as fmt
from feed_archiver.aggregates import expected_cells, parse_cells, stats_from_cells
from feed_archiver.countries import countries, country_name
from feed_archiver.storage import IndexChange, counter_deltas, pack_transactions
from feed_archiver.storage.index import MAX_TRANSACTION_ACTIONS
from feed_archiver.tag import MAX_CATEGORY_CHARS, REGIONS
from tests.index_records import FEED
from tests.index_records import record as index_record

F = fmt.feed_key(FEED)
ALL_CODES = sorted(countries())


def record(key: str, *, regions: tuple[str, ...] = ("Europe",), **fields: Any) -> dict[str, Any]:
    """An index record (tests/index_records.py) in Europe unless told otherwise."""
    return index_record(key, regions=regions, **fields)


def actions(batch: list[IndexChange]) -> int:
    """What a transaction of this batch sends: one record action per item plus each cell's move."""
    return len(batch) + len(counter_deltas(batch))


def test_an_item_adds_one_to_its_total_region_counted_and_country_cells() -> None:
    # Given an item in two regions naming two countries
    cells = fmt.cells_for(F, "2019-07", "Project News", ["Africa", "Europe"], ["TN", "FR"])
    # Then it is counted once in each: total, each region, the counted cell, each country
    assert cells == [
        f"T#{F}#2019-07#Project News",
        f"R#{F}#2019-07#Project News#Africa",
        f"R#{F}#2019-07#Project News#Europe",
        f"K#{F}#2019-07#Project News",
        f"C#{F}#2019-07#Project News#FR",
        f"C#{F}#2019-07#Project News#TN",
    ]
    # And every key reads back
    assert [fmt.parse_cell_sk(c)[::4] for c in cells] == [
        ("T", None), ("R", "Africa"), ("R", "Europe"), ("K", None), ("C", "FR"), ("C", "TN"),
    ]  # fmt: skip


def test_a_record_from_before_country_counters_counts_in_total_and_regions_only() -> None:
    old = record("a" * 32, countries=("TN",), version=None)
    assert fmt.counter_version(old) == 1
    assert [c[0] for c in fmt.record_cells(old)] == ["T", "R"]
    # And at the current version it also counts by country
    upgraded = fmt.record_cells(old, version=fmt.COUNTER_VERSION)
    assert [c[0] for c in upgraded] == ["T", "R", "K", "C"]


def test_an_item_naming_many_countries_counts_in_one_country_set_cell() -> None:
    # Given an item naming more countries than MAX_COUNTRY_CELLS
    named = ALL_CODES[: fmt.MAX_COUNTRY_CELLS + 1]
    cells = fmt.cells_for(F, "2019-07", "Project News", ["Europe"], named)
    # Then one S cell holds the whole set, and reads back as one country cell per country
    (country_set,) = [c for c in cells if c.startswith("S#")]
    assert not [c for c in cells if c.startswith("C#")]
    parsed = parse_cells({country_set: 2})
    assert [(c.kind, c.country, c.n) for c in parsed] == [("C", code, 2) for code in named]
    # And at the limit itself, each country still has its own cell
    at_limit = fmt.cells_for(F, "2019-07", "X", ["Europe"], ALL_CODES[: fmt.MAX_COUNTRY_CELLS])
    assert sum(c.startswith("C#") for c in at_limit) == fmt.MAX_COUNTRY_CELLS


def test_a_country_set_key_fits_dynamodb_even_for_every_country_and_the_longest_category() -> None:
    # Given the longest category the tagger makes, in 4-byte characters, and every country
    category = "𝔄" * MAX_CATEGORY_CHARS
    key = fmt.country_set_cell_sk(F, "2019-07", category, ALL_CODES)
    # Then the sort key stays under DynamoDB's 1,024 bytes
    assert len(key.encode("utf-8")) < 1024
    assert fmt.country_set(fmt.parse_cell_sk(key)[4] or "") == ALL_CODES


def test_an_item_naming_every_country_fits_one_transaction_new_or_moved() -> None:
    # Given an item in every region naming every country of the gazetteer
    everything = record("b" * 32, countries=tuple(ALL_CODES), regions=REGIONS)
    # When it is new, or edited so that every one of its cells moves
    moved = record(
        "b" * 32, countries=tuple(ALL_CODES[:-1]), regions=REGIONS, month="2019-08", revision=2
    )
    # Then each commit is one transaction within DynamoDB's 100 actions
    for change in (IndexChange(everything, None), IndexChange(moved, everything)):
        (batch,) = pack_transactions([change])
        assert actions(batch) <= MAX_TRANSACTION_ACTIONS


def test_the_worst_edit_below_the_country_set_limit_fits_one_transaction() -> None:
    # Given an edit of an item in every region with MAX_COUNTRY_CELLS countries, moving
    # month, category and every country
    n = fmt.MAX_COUNTRY_CELLS
    old = record("c" * 32, countries=tuple(ALL_CODES[:n]), regions=REGIONS)
    new = record(
        "c" * 32,
        countries=tuple(ALL_CODES[n : 2 * n]),
        regions=REGIONS,
        month="2019-08",
        category="Expert Voice",
        revision=2,
    )
    # Then every cell of both moves, and it still fits
    change = IndexChange(new, old)
    assert len(counter_deltas([change])) == 2 * (1 + len(REGIONS) + 1 + n)
    assert actions([change]) <= MAX_TRANSACTION_ACTIONS


def test_items_with_fifteen_countries_pack_into_transactions_of_at_most_100_actions() -> None:
    # Given 200 items naming 15 countries each, over many months and categories
    changes = [
        IndexChange(
            record(
                f"{i:032x}",
                countries=tuple(ALL_CODES[(i * 7) % 200 : (i * 7) % 200 + 15]),
                regions=("Africa", "Europe"),
                month=f"20{i % 20:02d}-0{1 + i % 9}",
                category=("Project News", "Expert Voice")[i % 2],
            ),
            None,
        )
        for i in range(200)
    ]
    # When they are packed
    batches = pack_transactions(changes)
    # Then each transaction fits, every item is in exactly one, in order
    assert [c for batch in batches for c in batch] == changes
    for batch in batches:
        assert actions(batch) <= MAX_TRANSACTION_ACTIONS
    # And the batches are as full as they can be: the next item would not have fitted
    for batch, following in pairwise(batches):
        assert actions([*batch, following[0]]) > MAX_TRANSACTION_ACTIONS


def test_an_edit_that_keeps_its_countries_moves_no_country_cell() -> None:
    old = record("d" * 32, countries=("FR", "TN"))
    new = record("d" * 32, countries=("FR", "TN"), revision=2)
    assert counter_deltas([IndexChange(new, old)]) == {}
    # And one that drops a country moves just that cell
    fewer = record("d" * 32, countries=("FR",), revision=2)
    assert counter_deltas([IndexChange(fewer, old)]) == {f"C#{F}#2019-07#Project News#TN": -1}


def test_upgrading_a_record_adds_only_its_counted_and_country_cells() -> None:
    old = record("e" * 32, countries=("FR", "TN"), version=None)
    new = {**old, fmt.COUNTER_VERSION_FIELD: fmt.COUNTER_VERSION}
    assert counter_deltas([IndexChange(new, old)]) == {
        f"K#{F}#2019-07#Project News": 1,
        f"C#{F}#2019-07#Project News#FR": 1,
        f"C#{F}#2019-07#Project News#TN": 1,
    }


def test_stats_count_an_item_once_in_each_of_its_countries() -> None:
    # Given four items: France and Tunisia; France; none; 40 countries (a country-set cell)
    many = (*ALL_CODES[:39], "FR")
    records = [
        record("1" * 32, countries=("FR", "TN")),
        record("2" * 32, countries=("FR",), category="Expert Voice"),
        record("3" * 32),
        record("4" * 32, countries=many),
    ]
    stats = stats_from_cells(parse_cells(expected_cells(records)))
    # Then France counts once per item naming it, and all four items are covered
    assert stats.total == 4 and stats.countries_counted == 4
    assert stats.by_country["FR"] == 3
    assert stats.by_country["TN"] == 1
    assert stats.by_country["AD"] == 1
    assert sum(stats.by_country.values()) == 2 + 1 + 40
    # And the category filter applies to country counts too
    expert = stats_from_cells(parse_cells(expected_cells(records)), categories={"Expert Voice"})
    assert expert.by_country == {"FR": 1}
    assert list(stats.as_dict()) == [
        "total", "by_category", "by_region", "by_month", "by_country", "countries_counted",
    ]  # fmt: skip


def test_expected_cells_follow_each_items_counter_version() -> None:
    # Given one item counted by country and one from before country counters
    counted = record("5" * 32, countries=("FR",))
    behind = record("6" * 32, countries=("TN",), version=None)
    versions = {counted["key"]: 2, behind["key"]: 1}
    stats = stats_from_cells(parse_cells(expected_cells([counted, behind], versions=versions)))
    # Then only the counted one is in the country cells
    assert stats.total == 2 and stats.countries_counted == 1
    assert stats.by_country == {"FR": 1}


@pytest.mark.parametrize(("code", "name"), [("TR", "Türkiye"), ("MT", "Malta"), ("ZZ", "ZZ")])
def test_country_names_come_from_the_generated_table(code: str, name: str) -> None:
    assert country_name(code) == name
