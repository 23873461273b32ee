"""Country names, ISO numeric codes and ICMPD regions, for people and maps.

Read from data/countries.json, which scripts/build_gazetteer.py generates next to
the tagger's gazetteer (`make gazetteer`). The tagger does not use it: `stats` and
the dashboard do, to name countries and to join them to a world map.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    name: str  # short English name ("Türkiye", "South Korea")
    numeric: str | None  # ISO 3166-1 numeric ("792"); None for Kosovo
    region: str  # the ICMPD region the tagger files it under


@functools.cache
def countries() -> dict[str, Country]:
    """Every country the tagger knows, by ISO2 code."""
    raw = json.loads(
        resources.files("feed_archiver").joinpath("data", "countries.json").read_bytes()
    )
    return {
        code: Country(code, entry["name"], entry["numeric"], entry["region"])
        for code, entry in raw["countries"].items()
    }


def country_name(code: str) -> str:
    """The country's name, or the code itself when it is not a known country."""
    known = countries().get(code)
    return known.name if known else code
