"""The tagging step: category, headline, countries, regions and programmes of an item.

Everything the tagger knows lives in data files beside this module:

- data/categories.json: known categories and their aliases;
- data/gazetteer.json: country terms (names, variants, demonyms, cities) by
  ISO 3166-1 alpha-2 code, each code's ICMPD region, and the guards; generated
  by scripts/build_gazetteer.py from country_converter, pycountry and
  scripts/gazetteer_additions.yaml (which documents the decisions);
- data/programmes.json: ICMPD dialogues and programmes, their aliases and regions.

`tagger_version()` hashes those files, so an archive can tell which items were
tagged with older data. The data is loaded on first use, never at import.

Decisions in brief (the reasons are in scripts/gazetteer_additions.yaml):
countries are matched as whole words, proper-noun-cased, leftmost-longest
("South Sudan" over "Sudan"); adjectives tag their country unless used as a
language ("in Spanish."); capitals of partner countries tag (Kabul, Baku,
Rabat, Istanbul), but Vienna, Brussels, Geneva and EU capitals do not (seat,
EU institutions, meeting venues); dialogues named after a city ("Rabat
Process") are programmes, not countries; "Jordan"/"Chad" are countries unless
followed by a surname; a bare "Congo" is the Republic of the Congo and a bare
"Korea" the Republic of Korea; Kosovo is XK. Regions come from the countries
and from the programmes and region phrases ("Silk Routes"); continent words
("Africa", "Europe") add none, or nearly every item would be "Europe".
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from feed_archiver.archive_format import UNCATEGORISED, UNSPECIFIED_REGION
from feed_archiver.tag_matcher import TermMatcher

# Bump when the code changes what it outputs for the same data.
CODE_VERSION = "1"
DATA_FILES = ("categories.json", "gazetteer.json", "programmes.json")

# ICMPD's regional structure: the only region names an item can carry.
REGIONS = (
    "Africa",
    "Mediterranean and Middle East",
    "Silk Routes",
    "Eastern Europe and Central Asia",
    "Western Balkans and Türkiye",
    "Europe",
    "Americas",
    "Asia and Pacific",
)

MAX_CATEGORY_CHARS = 80
_MAX_PREFIX_WORDS = 5
# Small words that stay lowercase inside a title-cased category.
_FUNCTION_WORDS = frozenset(
    {"a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"}
)


@dataclass(frozen=True)
class Tags:
    """What the tagger says about one item."""

    category: str  # canonical category
    headline: str  # title without the category prefix
    countries: tuple[str, ...]  # ISO 3166-1 alpha-2, sorted, unique
    regions: tuple[str, ...]  # sorted; ("Unspecified",) when none
    programmes: tuple[str, ...]  # sorted canonical programme names


def tag(title: str, text: str, categories: Sequence[str] = ()) -> Tags:
    """title: plain-text title; text: plain-text summary + content; categories: <category> values from the feed."""
    category, headline = split_category(title, categories)
    haystack = f"{title}\n{text}"
    countries = find_countries(haystack)
    programmes, programme_regions = find_programmes(haystack)
    country_regions = _gazetteer().regions
    regions = {country_regions[code] for code in countries} | programme_regions
    return Tags(
        category=category,
        headline=headline,
        countries=tuple(sorted(countries)),
        regions=tuple(sorted(regions)) or (UNSPECIFIED_REGION,),
        programmes=tuple(sorted(programmes)),
    )


@functools.cache
def tagger_version() -> str:
    """e.g. '1+3f2a9c0d1b': the code version plus a short hash of the data files."""
    digest = hashlib.sha256()
    for name in DATA_FILES:
        digest.update(name.encode())
        digest.update(_data_bytes(name))
    return f"{CODE_VERSION}+{digest.hexdigest()[:10]}"


# --- category ----------------------------------------------------------------

# "Prefix: rest", split at the first colon; a stray space before it is allowed.
_TITLE_PREFIX = re.compile(r"\s*([^:]{1,80}?)\s*:\s*(\S.*)", re.DOTALL)
_PREFIX_CHARS = re.compile(r"[^\W\d_][\w'’&\- ]*")
_KEY_SEPARATORS = re.compile(r"[\s_\-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def split_category(title: str, categories: Sequence[str] = ()) -> tuple[str, str]:
    """(category, headline) of an item.

    The first non-empty <category> value wins; otherwise the title prefix
    before a colon, if it looks like a category (see `_looks_like_category`);
    otherwise Uncategorised. The headline drops the prefix when the prefix
    was (or agrees with) the category.
    """
    prefix, rest = _title_prefix(title)
    from_element = next((c for c in map(canonical_category, categories) if c), None)
    if from_element is None:
        if prefix is None:
            return UNCATEGORISED, _one_line(title)
        return canonical_category(prefix) or UNCATEGORISED, rest
    if prefix is not None and (
        _known_category(prefix) or canonical_category(prefix) == from_element
    ):
        return from_element, rest
    return from_element, _one_line(title)


def canonical_category(value: str) -> str | None:
    """The stored form of a category: the known name, or the words title-cased; None if empty.

    '#' never survives: storage keys use it as a separator.
    """
    cleaned = _one_line(_CONTROL.sub(" ", value.replace("#", " "))).rstrip(":").strip()
    if not cleaned:
        return None
    known = _known_category(cleaned)
    if known:
        return known
    words = cleaned.split(" ")
    titled = [
        w if (i > 0 and w.lower() in _FUNCTION_WORDS) else w[:1].upper() + w[1:]
        for i, w in enumerate(words)
    ]
    return " ".join(titled)[:MAX_CATEGORY_CHARS].strip()


def _title_prefix(title: str) -> tuple[str | None, str]:
    match = _TITLE_PREFIX.fullmatch(title)
    if match is None:
        return None, _one_line(title)
    prefix, rest = _one_line(match.group(1)), _one_line(match.group(2))
    if _known_category(prefix) or _looks_like_category(prefix, rest):
        return prefix, rest
    return None, _one_line(title)


def _looks_like_category(prefix: str, rest: str) -> bool:
    """An unknown prefix counts only if it reads like a label, not like part of a sentence.

    At most five words, letters only (no digits or sentence punctuation), every
    word capitalised except small function words, no country name on its own
    ("Turkey: new law" is a headline), and the rest starts like a headline
    (not in lowercase: "Migration: a long sentence" is one sentence).
    """
    words = prefix.split(" ")
    if len(words) > _MAX_PREFIX_WORDS or not _PREFIX_CHARS.fullmatch(prefix):
        return False
    if not all(w[:1].isupper() or w in _FUNCTION_WORDS or w == "&" for w in words):
        return False
    if rest[:1].islower():
        return False
    return not any(hit.start == 0 and hit.end == len(prefix) for hit in _countries().find(prefix))


def _known_category(value: str) -> str | None:
    return _categories().get(_KEY_SEPARATORS.sub(" ", value.lower()).strip())


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- countries and programmes ----------------------------------------------

# A language adjective used as the language: "Turkish language courses",
# "Russian-speaking", "available in English and Spanish.", "translated into Turkish".
_LANGUAGE_NOUN_AFTER = re.compile(
    r"\s*-?\s*(?:languages?|speaking|speakers?|versions?|translations?|courses?|lessons?"
    r"|classes|subtitles|interpretation|interpreters?)\b",
    re.IGNORECASE,
)
_IN_LANGUAGE_BEFORE = re.compile(
    r"\b(?i:in|into|from)\s+(?:[A-Z]\w*\s*(?:,|/|\band\b|\bor\b)\s*)*$"
)
_LOWERCASE_WORD_AFTER = re.compile(r"\s+(?!and\b|or\b)[a-z]")
_NEXT_CAPITALISED_WORD = re.compile(r"[ \t]+([A-Z][a-z]+)\b")
_THE_BEFORE = re.compile(r"\b(?i:the)\s+$")


def find_countries(text: str) -> set[str]:
    """ISO2 codes of the countries `text` names (see data/gazetteer.json and its additions)."""
    gazetteer = _gazetteer()
    found = set()
    for hit in _countries().find(text):
        if hit.payload in found:
            continue
        if hit.form in gazetteer.languages and _used_as_language(text, hit.start, hit.end):
            continue
        if hit.form in gazetteer.person_names and _looks_like_person(text, hit.end):
            continue
        if hit.form in gazetteer.only_after_the and not _THE_BEFORE.search(
            text, max(0, hit.start - 8), hit.start
        ):
            continue
        found.add(hit.payload)
    return found


def find_programmes(text: str) -> tuple[set[str], set[str]]:
    """(programme names, regions they and the region phrases add) found in `text`."""
    programmes: set[str] = set()
    regions: set[str] = set()
    for hit in _programmes().find(text):
        kind, name, region = hit.payload
        if kind == "programme":
            programmes.add(name)
        if region:
            regions.add(region)
    return programmes, regions


def _used_as_language(text: str, start: int, end: int) -> bool:
    if _LANGUAGE_NOUN_AFTER.match(text, end):
        return True
    in_language = _IN_LANGUAGE_BEFORE.search(text, max(0, start - 80), start)
    return in_language is not None and not _LOWERCASE_WORD_AFTER.match(text, end)


def _looks_like_person(text: str, end: int) -> bool:
    """'Jordan Peterson', 'Chad Smith': a given name followed by a capitalised surname."""
    following = _NEXT_CAPITALISED_WORD.match(text, end)
    return following is not None and following.group(1) not in _gazetteer().allowed_next


# --- data, loaded once --------------------------------------------------------


@dataclass(frozen=True)
class _Gazetteer:
    regions: dict[str, str]  # ISO2 -> ICMPD region
    terms: dict[str, list[str]]  # ISO2 -> forms
    exclusions: tuple[str, ...]
    languages: frozenset[str]
    only_after_the: frozenset[str]
    person_names: frozenset[str]
    allowed_next: frozenset[str]


def _data_bytes(name: str) -> bytes:
    return resources.files("feed_archiver").joinpath("data", name).read_bytes()


def _data(name: str) -> Any:
    return json.loads(_data_bytes(name))


@functools.cache
def _gazetteer() -> _Gazetteer:
    raw = _data("gazetteer.json")
    return _Gazetteer(
        regions=raw["regions"],
        terms=raw["terms"],
        exclusions=tuple(raw["exclusions"]),
        languages=frozenset(raw["languages"]),
        only_after_the=frozenset(raw["only_after_the"]),
        person_names=frozenset(raw["person_names"]["names"]),
        allowed_next=frozenset(raw["person_names"]["allowed_next"]),
    )


@functools.cache
def _countries() -> TermMatcher[str]:
    gazetteer = _gazetteer()
    entries: list[tuple[str, str | None]] = [
        (form, code) for code, forms in gazetteer.terms.items() for form in forms
    ]
    entries += [(phrase, None) for phrase in gazetteer.exclusions]
    return TermMatcher(entries)


_Programme = tuple[str, str, str | None]  # (kind, name, region)


@functools.cache
def _programmes() -> TermMatcher[_Programme]:
    raw = _data("programmes.json")
    entries: list[tuple[str, _Programme | None]] = []
    for programme in raw["programmes"]:
        payload = ("programme", programme["name"], programme["region"])
        entries += [(alias, payload) for alias in [programme["name"], *programme["aliases"]]]
    for phrase in raw["region_phrases"]:
        entries.append((phrase["phrase"], ("region", phrase["phrase"], phrase["region"])))
    entries += [(phrase, None) for phrase in raw["exclusions"]]
    return TermMatcher(entries)


@functools.cache
def _categories() -> dict[str, str]:
    """Lookup key -> canonical name, for every canonical name and alias."""
    known: dict[str, str] = {}
    for name, aliases in _data("categories.json")["categories"].items():
        for value in [name, *aliases]:
            known[_KEY_SEPARATORS.sub(" ", value.lower()).strip()] = name
    return known
