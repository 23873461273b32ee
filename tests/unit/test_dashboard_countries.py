"""The dashboard's country tables, world map and category colours, built from cells (no AWS)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from dashboard import charts, frames, geo
from feed_archiver.aggregates import Cell, expected_cells, parse_cells, stats_from_cells
from feed_archiver.countries import countries
from tests.dashboard_seed import record, seed_records

CATEGORIES = ["Project News", "Expert Voice", "ICMPD Around the Globe", "Uncategorised"]


def cells_of(records: list[dict[str, Any]]) -> list[Cell]:
    return parse_cells(expected_cells(records))


def spec(chart: Any) -> dict[str, Any]:
    made: dict[str, Any] = chart.to_dict()
    return made


def colour_scales(chart_spec: Any) -> list[dict[str, Any]]:
    """Every scale of a `color` encoding anywhere in a Vega-Lite spec."""
    found = []
    if isinstance(chart_spec, dict):
        colour = chart_spec.get("encoding", {}).get("color", {})
        if isinstance(colour, dict) and "scale" in colour:
            found.append(colour["scale"])
        for value in chart_spec.values():
            found += colour_scales(value)
    elif isinstance(chart_spec, list):
        for value in chart_spec:
            found += colour_scales(value)
    return found


def test_a_category_has_one_colour_in_every_chart() -> None:
    # Given the months chart and the category bars of a view filtered to one category
    cells = cells_of(seed_records())
    months = spec(charts.months_by_category(frames.month_category_frame(cells), CATEGORIES))
    only_news = [c for c in cells if c.category == "Project News"]
    bars = spec(charts.by_category(frames.category_frame(only_news), CATEGORIES))
    # Then both colour categories with the same scale: the archive's categories sorted, one range
    (months_scale,) = colour_scales(months)
    (bars_scale,) = colour_scales(bars)
    assert months_scale == bars_scale
    assert months_scale["domain"] == sorted(CATEGORIES)
    assert months_scale["range"] == list(charts.CATEGORY_COLOURS)
    # So "Project News" is the same colour in both, whatever the filter left
    position = months_scale["domain"].index("Project News")
    assert bars_scale["range"][position] == months_scale["range"][position]


def test_top_countries_then_the_others_in_one_bar() -> None:
    # Given 25 items, each naming one more country than the one before (1 to 25 countries)
    codes = sorted(countries())[:25]
    records = [record(f"item {i}", countries=codes[: i + 1]) for i in range(25)]
    frame = frames.top_countries_frame(cells_of(records))
    # Then the 20 countries with most items come first, most first, then the other five as one
    assert len(frame) == 21
    assert list(frame["items"])[:20] == list(range(25, 5, -1))
    assert frame["country"].iloc[-1] == "5 other countries"
    assert frame["items"].iloc[-1] == 5 + 4 + 3 + 2 + 1
    assert frame["country"].iloc[0] == frames.country_label(codes[0])


def test_region_to_countries_breakdown_groups_countries_under_their_region() -> None:
    frame = frames.region_country_frame(cells_of(seed_records()))
    table = countries()
    # Every row's region is its country's, regions with most items first
    assert all(
        table[code].region == region
        for region, code in zip(frame["region"], frame["code"], strict=True)
    )
    regions = list(dict.fromkeys(frame["region"]))
    totals = [frame[frame["region"] == r]["items"].sum() for r in regions]
    assert totals == sorted(totals, reverse=True)
    assert len(regions) == len(set(regions))  # each region's countries are together


def test_counts_csv_includes_every_country_with_code_name_and_region() -> None:
    cells = cells_of(seed_records())
    rows = list(csv.DictReader(io.StringIO(frames.counts_csv(cells).decode("utf-8-sig"))))
    by_country = {r["country"]: r for r in rows if r["dimension"] == "country"}
    assert {code: int(r["items"]) for code, r in by_country.items()} == stats_from_cells(
        cells
    ).by_country
    assert by_country["TN"]["country_name"] == "Tunisia"
    assert by_country["TN"]["region"] == countries()["TN"].region == "Mediterranean and Middle East"


def test_the_world_map_is_inline_topojson_with_no_address_to_fetch() -> None:
    # Given counts for Austria, Kosovo (no ISO numeric code) and Malta (too small for 110m)
    by_country = {"AT": 3, "XK": 2, "MT": 1}
    chart = charts.world_map(geo.map_frame(by_country), geo.world(), geo.FEATURE)
    # Then the map travels in the spec as TopoJSON, drawn as SVG, and nothing is fetched
    assert chart["data"]["format"] == {"type": "topojson", "feature": "countries"}
    topology = chart["datasets"][chart["data"]["name"]]  # inline, as a named dataset
    assert topology["type"] == "Topology" and "countries" in topology["objects"]
    assert chart["usermeta"] == {"embedOptions": {"renderer": "svg"}}
    assert '"url"' not in json.dumps(chart)
    # And Austria and Kosovo are joined to their shapes, Malta is listed as not on the map
    assert set(geo.map_frame(by_country)["id"]) == {"040", "XK"}
    assert geo.not_on_map(by_country) == [("Malta (MT)", 1)]


def test_every_shape_of_the_map_is_a_country_of_the_gazetteer_or_left_neutral() -> None:
    numeric = {c.numeric for c in countries().values() if c.numeric}
    shapes = geo.shape_ids()
    # Every country with a numeric code the map draws is found by its code
    assert len(shapes & numeric) >= 170
    # The shapes left are parts no ISO code names (N. Cyprus, Somaliland: drawn grey)
    assert shapes - numeric == {"XK", "260"}  # Kosovo by name; French Southern Lands (TF)
    assert "010" not in shapes  # Antarctica is left off
