"""The dashboard's countries under streamlit.testing's AppTest, over a moto archive (issue 13).

The map, the top countries and the region → countries breakdown follow the
filters; the country filter changes every total; a country the map has no shape
for (Malta) is named under it; an empty archive and an archive naming no
country render without error.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest

from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.storage import Store
from tests.dashboard_apptest import dashboard_env, metric, run_app
from tests.dashboard_seed import record, seed, write, write_feed_state


def country_counts(at: AppTest) -> dict[str, int]:
    """The "numbers behind the charts" table of countries: code -> items."""
    (frame,) = [
        d.value for d in at.dataframe if list(d.value.columns) == ["country", "code", "items"]
    ]
    return {str(c): int(n) for c, n in zip(frame["code"], frame["items"], strict=True)}


def breakdown(at: AppTest) -> pd.DataFrame:
    """The region → countries table (region and country as its index)."""
    (frame,) = [d.value for d in at.dataframe if list(d.value.columns) == ["code", "items"]]
    return frame


def vega_specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(element.proto.spec) for element in at.get("vega_lite_chart")]


def the_map(at: AppTest) -> dict[str, Any]:
    (found,) = [s for s in vega_specs(at) if "Items by country on the map" in json.dumps(s)]
    return found


def map_counts(at: AppTest) -> dict[str, int]:
    """What the map colours: shape id -> items (the lookup table Streamlit sends as Arrow)."""
    (element,) = [
        e for e in at.get("vega_lite_chart") if "Items by country on the map" in e.proto.spec
    ]
    (dataset,) = element.proto.datasets
    frame = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
    return {str(i): int(n) for i, n in zip(frame["id"], frame["items"], strict=True)}


def test_the_page_shows_the_map_and_country_counts_equal_to_stats(store: Store) -> None:
    # Given the ten seed items
    seed(store)
    stats = stats_from_cells(parse_cells(store.read_cells()))
    # When the page renders with no filter
    at = run_app()
    # Then the country counts on it are `feed-archiver stats` by_country
    assert country_counts(at) == stats.by_country
    assert country_counts(at)["TN"] == 2
    # And the world map is there, its TopoJSON inline (the browser fetches nothing)
    world = the_map(at)
    topology = world["datasets"][world["data"]["name"]]
    assert topology["type"] == "Topology"
    assert "url" not in json.dumps(world["data"])
    assert map_counts(at)["788"] == 2  # Tunisia's shape, by its ISO numeric code
    # And every region's countries are under it
    table = breakdown(at)
    assert table.loc[("Mediterranean and Middle East", "Tunisia"), "items"] == 2
    assert not at.warning  # every item is counted by country


def test_the_country_filter_changes_every_total(store: Store) -> None:
    # Given the seed, two of whose items name Tunisia
    seed(store)
    at = run_app()
    assert metric(at, "Matching the filters") == 10
    # When the country filter is set to Tunisia
    at.multiselect(key="countries").set_value(["TN"]).run()
    assert not at.exception
    # Then two items match, counted from the items, and the country table shows Tunisia alone
    assert metric(at, "Matching the filters") == 2
    assert metric(at, "Items in the archive") == 10
    assert country_counts(at) == {"TN": 2}
    assert any("country filter" in c.value and "read one by one" in c.value for c in at.caption)
    # And the options name countries, not just codes
    assert "Tunisia (TN)" in at.multiselect(key="countries").options


def test_a_country_the_map_cannot_draw_is_named_under_it(store: Store) -> None:
    # Given items naming Malta, which the 110m map has no shape for, and Austria
    write(store, [record("Malta first", countries=("MT",), regions=("Europe",)),
                  record("Malta again", countries=("MT", "AT"), regions=("Europe",))])  # fmt: skip
    write_feed_state(store)
    # When the page renders
    at = run_app()
    # Then Malta is counted, and named as not on the map, with no error
    assert country_counts(at) == {"MT": 2, "AT": 1}
    assert any("Malta (MT): 2" in c.value for c in at.caption)
    assert not at.error
    # And the map colours Austria (ISO numeric 040) only
    assert map_counts(at) == {"040": 1}


def test_an_archive_naming_no_country_shows_an_empty_map_and_says_so(store: Store) -> None:
    write(store, [record("Nowhere in particular")])
    write_feed_state(store)
    at = run_app()
    assert the_map(at)
    assert any("No matching item names a country" in c.value for c in at.caption)
    assert not at.error


def test_the_empty_archive_has_no_map_and_no_error(store: Store) -> None:
    at = run_app()
    assert any("empty" in i.value for i in at.info)
    assert not vega_specs(at) and not at.error


def test_an_archive_not_yet_backfilled_says_how_to_count_by_country(store: Store) -> None:
    # Given items written by an archiver from before country counters (counter version 1)
    old = [record(f"old item {i}", countries=("TN",)) for i in range(3)]
    for r in old:
        del r["counter_version"]
    write(store, [*old, record("new item", countries=("FR",))])
    write_feed_state(store)
    at = run_app()
    # Then the page counts what it can and says what to run
    assert country_counts(at) == {"FR": 1}
    assert any("backfill-counters" in w.value and "1 of 4" in w.value for w in at.warning)


__all__ = ["dashboard_env"]  # the autouse fixture, imported to apply it here
