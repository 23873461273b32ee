"""The world map: the bundled world-atlas TopoJSON, and which countries it can draw.

dashboard/data/world-110m.json is world-atlas's countries-110m.json (ISC licence,
see dashboard/data/README.md). Each shape's `id` is its ISO 3166-1 numeric code,
which feed_archiver/data/countries.json (generated with the gazetteer) gives
for every country the tagger knows. The chart carries the map inline, so the
browser fetches nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.frames import country_label
from feed_archiver.aggregates import Cell, stats_from_cells
from feed_archiver.countries import countries

WORLD = Path(__file__).resolve().parent / "data" / "world-110m.json"
FEATURE = "countries"  # the TopoJSON object the map draws
# Shapes without an ISO numeric code, drawn for the country named instead: ISO has
# none for Kosovo, and the map's Kosovo has no id.
_SHAPES_BY_NAME = {"Kosovo": "XK"}
# Left off the map: no item is about Antarctica, and it would take a fifth of the height.
_LEFT_OUT = frozenset({"010"})


@functools.cache
def _world_text() -> str:
    return WORLD.read_text("utf-8")


def world() -> dict[str, Any]:
    """The map as TopoJSON: a fresh copy each call (a chart may keep it)."""
    topology: dict[str, Any] = json.loads(_world_text())
    shapes = topology["objects"][FEATURE]["geometries"]
    for shape in shapes:
        name = (shape.get("properties") or {}).get("name")
        if "id" not in shape and name in _SHAPES_BY_NAME:
            shape["id"] = _SHAPES_BY_NAME[name]
    topology["objects"][FEATURE]["geometries"] = [s for s in shapes if s.get("id") not in _LEFT_OUT]
    return topology


@functools.cache
def shape_ids() -> frozenset[str]:
    """The id of every shape the map draws."""
    geometries = world()["objects"][FEATURE]["geometries"]
    return frozenset(str(s["id"]) for s in geometries if "id" in s)


def map_id(code: str) -> str | None:
    """The id of the map's shape for an ISO2 code; None when the map has none (Malta, Tuvalu)."""
    country = countries().get(code)
    if country is None:
        return None
    for candidate in (country.numeric, code):
        if candidate and candidate in shape_ids():
            return candidate
    return None


def map_frame(by_country: dict[str, int]) -> pd.DataFrame:
    """The countries the map can colour: id (the shape's), country, code, items."""
    rows = [
        (shape, country_label(code), code, n)
        for code, n in by_country.items()
        if n and (shape := map_id(code)) is not None
    ]
    return pd.DataFrame(rows, columns=["id", "country", "code", "items"])


def not_on_map(by_country: dict[str, int]) -> list[tuple[str, int]]:
    """Countries with items that the map has no shape for, most items first: (label, items)."""
    missing = [(country_label(c), n) for c, n in by_country.items() if n and map_id(c) is None]
    return sorted(missing, key=lambda row: (-row[1], row[0]))


def by_country(cells: Sequence[Cell]) -> dict[str, int]:
    """Items per country from the cells (an item counts once in each of its countries)."""
    return stats_from_cells(list(cells)).by_country
