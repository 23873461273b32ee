"""Build functions/feed_archiver/data/gazetteer.json, the tagger's country table, and
countries.json, the names and ISO numeric codes the dashboard and `stats` show.

Sources, merged in this order:

1. country_converter's country_data.tsv: ISO2, short and official names, and
   Continent_7 (the region of every country ICMPD's structure does not name);
2. pycountry: name, official_name and common_name of every ISO 3166-1 country;
3. scripts/gazetteer_additions.yaml: the project's variants, demonyms, cities,
   exclusions, regions and guards (read it for the decisions and their reasons).

country_converter's `regex` column is a cross-check: a term that its regex for
another country matches ("Turks" -> Turks and Caicos) fails the build unless
the additions say why the project reads it differently (cc_overrides). Neither
library is imported at run time; tag.py reads only the generated file, which
is committed. The output is deterministic (sorted keys and lists).

countries.json holds, for every code of the gazetteer, a display name
(country_converter's short name: "Türkiye", "South Korea"), the ISO 3166-1
numeric code (pycountry; null for Kosovo, which has none) that the dashboard's
world map joins on, and the ICMPD region. It is a file of its own, not part of
gazetteer.json, because the tagger's version hashes gazetteer.json: adding
display data there would mark every archived item for `retag`.

Usage: uv run python scripts/build_gazetteer.py [--check]
  --check  exit 1 (and write nothing) if a committed file is stale
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import importlib.util
import json
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))

from feed_archiver.tag import REGIONS as ICMPD_REGIONS  # noqa: E402
from feed_archiver.tag_matcher import term_key  # noqa: E402

ADDITIONS = ROOT / "scripts" / "gazetteer_additions.yaml"
OUTPUT = ROOT / "functions" / "feed_archiver" / "data" / "gazetteer.json"
COUNTRIES_OUTPUT = ROOT / "functions" / "feed_archiver" / "data" / "countries.json"
FORMAT = 1
_NO_PLURAL = re.compile(r"(ese|sh|ch|ss|s|x|z)$")


class GazetteerError(Exception):
    """The sources and the additions disagree; the message says where."""


@dataclass(frozen=True)
class CcRow:
    code: str  # "" for the rows without a current ISO2 code (Channel Islands, USSR...)
    names: tuple[str, str]
    regex: re.Pattern[str]
    continent: str


def load_country_converter() -> list[CcRow]:
    """country_converter's table, read as a file: importing the package would pull in pandas."""
    spec = importlib.util.find_spec("country_converter")
    if spec is None or spec.origin is None:
        raise GazetteerError("country_converter is not installed (it is a dev dependency)")
    path = Path(spec.origin).with_name("country_data.tsv")
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            # ISO2 is a regex in a few rows ("^GR$|^EL$", "^GB$|^UK$"): the first code is ISO's.
            code = re.search(r"[A-Z]{2}", row["ISO2"])
            rows.append(
                CcRow(
                    code=code.group() if code else "",
                    names=(row["name_short"], row["name_official"]),
                    regex=re.compile(row["regex"], re.IGNORECASE),
                    continent=row["Continent_7"],
                )
            )
    return rows


def load_pycountry() -> dict[str, list[str]]:
    import pycountry

    names: dict[str, list[str]] = {}
    for country in pycountry.countries:
        fields = ("name", "official_name", "common_name")
        names[country.alpha_2] = [v for f in fields if (v := getattr(country, f, None))]
    return names


def source_forms(name: str) -> list[str]:
    """The forms of a source name that can appear in running text.

    "Korea, Republic of" -> "Republic of Korea"; "Virgin Islands, British" ->
    "British Virgin Islands"; "Bonaire, Sint Eustatius and Saba" -> "Bonaire";
    "Holy See (Vatican City State)" -> "Holy See"; "the State of Palestine" ->
    "State of Palestine".
    """
    name = " ".join(re.sub(r"\([^)]*\)", " ", name).split())
    if "," in name:
        head, tail = (part.strip() for part in name.split(",", 1))
        tail = re.sub(r"^The\b", "the", tail)
        inverted = re.search(r"\bof( the)?$", tail) or " " not in tail
        name = f"{tail} {head}" if inverted else head
    name = re.sub(r"^[Tt]he ", "", name)
    return [name] if name else []


def ascii_fold(term: str) -> str:
    decomposed = unicodedata.normalize("NFKD", term)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def plural(demonym: str) -> list[str]:
    return [] if _NO_PLURAL.search(demonym) else [demonym + "s"]


def build() -> dict[str, Any]:
    """The gazetteer as a JSON-ready dict; raises GazetteerError on any inconsistency."""
    additions = yaml.safe_load(ADDITIONS.read_text(encoding="utf-8"))
    cc_rows = load_country_converter()
    cc_by_code = {row.code: row for row in cc_rows if row.code}
    py_names = load_pycountry()

    codes = (set(py_names) | set(additions["extra_codes"])) - set(additions["skip_codes"])
    missing = sorted(codes - set(cc_by_code))
    if missing:
        raise GazetteerError(f"no country_converter row for {missing}")
    unknown = sorted(_codes_named_in(additions) - codes)
    if unknown:
        raise GazetteerError(f"additions name codes outside the gazetteer: {unknown}")

    terms: dict[str, set[str]] = defaultdict(set)
    dropped = set(additions["drop_terms"])
    for code in codes:
        for name in [*cc_by_code[code].names, *py_names.get(code, [])]:
            terms[code].update(f for f in source_forms(name) if f not in dropped)
        terms[code].update(additions["names"].get(code, []))
        for demonym in additions["demonyms"].get(code, []):
            terms[code].update([demonym, *plural(demonym)])
        terms[code].update(additions["cities"].get(code, []))
    no_fold = set(additions["no_ascii_fold"])
    for forms in terms.values():
        forms.update([ascii_fold(f) for f in forms if f not in no_fold])

    exclusions = sorted(set(additions["exclusions"]))
    _check_unique_meaning(terms, exclusions)
    _check_against_cc_regexes(terms, cc_rows, additions["cc_overrides"])
    regions = _regions(codes, cc_by_code, additions)
    all_forms = {form for forms in terms.values() for form in forms}
    languages = sorted(additions["languages"])
    person_names = additions["person_names"]
    only_after_the = sorted(additions["only_after_the"])
    for word in [*languages, *person_names["names"], *only_after_the]:
        if word not in all_forms:
            raise GazetteerError(f"{word!r} is listed under a guard but is no term")
    uncapitalised = sorted(f for f in [*all_forms, *exclusions] if not f[:1].isupper())
    if uncapitalised:
        raise GazetteerError(f"terms must start with a capital letter: {uncapitalised}")

    return {
        "format": FORMAT,
        "sources": {
            "country_converter": importlib.metadata.version("country_converter"),
            "pycountry": importlib.metadata.version("pycountry"),
        },
        "regions": {code: regions[code] for code in sorted(codes)},
        "terms": {code: sorted(terms[code]) for code in sorted(codes)},
        "exclusions": exclusions,
        "languages": languages,
        "only_after_the": only_after_the,
        "person_names": {
            "names": sorted(person_names["names"]),
            "allowed_next": sorted(person_names["allowed_next"]),
        },
    }


def build_countries(gazetteer: dict[str, Any]) -> dict[str, Any]:
    """Name, ISO numeric code and region of every code of `gazetteer` (see the module doc)."""
    import pycountry

    cc_by_code = {row.code: row for row in load_country_converter() if row.code}
    countries = {}
    for code, region in sorted(gazetteer["regions"].items()):
        iso = pycountry.countries.get(alpha_2=code)
        countries[code] = {
            "name": source_forms(cc_by_code[code].names[0])[0],
            "numeric": iso.numeric if iso else None,
            "region": region,
        }
    return {"format": FORMAT, "sources": gazetteer["sources"], "countries": countries}


def _codes_named_in(additions: dict[str, Any]) -> set[str]:
    named = set(additions["names"]) | set(additions["demonyms"]) | set(additions["cities"])
    named |= set(additions["cc_overrides"].values())
    for members in additions["regions"].values():
        named |= set(members)
    return named


def _check_unique_meaning(terms: dict[str, set[str]], exclusions: Iterable[str]) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for code, forms in terms.items():
        for form in forms:
            owners[term_key(form)].add(code)
    clashes = {key: sorted(codes) for key, codes in owners.items() if len(codes) > 1}
    if clashes:
        raise GazetteerError(f"terms naming two countries: {dict(sorted(clashes.items()))}")
    excluded_terms = sorted(e for e in exclusions if term_key(e) in owners)
    if excluded_terms:
        raise GazetteerError(f"exclusions that are also terms: {excluded_terms}")


def _check_against_cc_regexes(
    terms: dict[str, set[str]], cc_rows: list[CcRow], overrides: dict[str, str]
) -> None:
    problems = []
    used_overrides = set()
    for code in sorted(terms):
        for form in sorted(terms[code]):
            others = sorted({row.code or "?" for row in cc_rows if row.regex.search(form)} - {code})
            if not others:
                continue
            if overrides.get(form) == code:
                used_overrides.add(form)
            else:
                problems.append(f"{form!r} ({code}) is {others} to country_converter")
    stale = sorted(set(overrides) - used_overrides)
    if stale:
        problems.append(f"cc_overrides no longer needed: {stale}")
    if problems:
        raise GazetteerError("; ".join(problems))


def _regions(
    codes: set[str], cc_by_code: dict[str, CcRow], additions: dict[str, Any]
) -> dict[str, str]:
    regions: dict[str, str] = {}
    for region, members in additions["regions"].items():
        for code in members:
            if code in regions:
                raise GazetteerError(f"{code} is in two regions: {regions[code]}, {region}")
            regions[code] = region
    for code in codes - set(regions):
        continent = cc_by_code[code].continent
        if continent not in additions["continent_regions"]:
            raise GazetteerError(f"{code}: no region for continent {continent!r}")
        regions[code] = additions["continent_regions"][continent]
    outside = sorted({r for r in regions.values()} - set(ICMPD_REGIONS))
    if outside:
        raise GazetteerError(f"regions outside ICMPD's structure: {outside}")
    return regions


def render(gazetteer: dict[str, Any]) -> str:
    """The committed text: one term per line, so a review diff shows what changed."""
    return json.dumps(gazetteer, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed file is stale"
    )
    args = parser.parse_args(argv)
    try:
        gazetteer = build()
        outputs = {OUTPUT: render(gazetteer), COUNTRIES_OUTPUT: render(build_countries(gazetteer))}
    except GazetteerError as exc:
        print(f"build_gazetteer: {exc}", file=sys.stderr)
        return 2
    stale = [
        path
        for path, text in outputs.items()
        if (path.read_text(encoding="utf-8") if path.exists() else None) != text
    ]
    if args.check:
        for path in stale:
            print(
                f"{path.relative_to(ROOT)} is stale: run scripts/build_gazetteer.py",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path], encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)} ({len(outputs[path].encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
