"""The tagging step: categories, countries, regions and programmes, on the seed and on traps."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from feed_archiver import tag as tag_module
from feed_archiver.archive_format import UNCATEGORISED, UNSPECIFIED_REGION
from feed_archiver.tag import (
    REGIONS,
    Tags,
    canonical_category,
    find_countries,
    find_programmes,
    split_category,
    tag,
    tagger_version,
)

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "seed" / "icmpd-news-centre-2019-07.txt"
_DATE = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}"

WB = "Western Balkans and Türkiye"
EECA = "Eastern Europe and Central Asia"
MME = "Mediterranean and Middle East"


def codes(text: str) -> tuple[str, ...]:
    """ISO2 codes written as one space-separated string, for long expected lists."""
    return tuple(text.split())


def seed_items() -> list[tuple[str, str]]:
    """(title, text) of the ten seed items: the text is the teaser plus the content.

    The first line holds the channel header and lastBuildDate before item 1;
    every item ends at its pubDate line; an item starts "<title> <link> <teaser>".
    """
    body = re.split(_DATE + " ", SEED.read_text(encoding="utf-8"), maxsplit=1)[1]
    items = []
    for chunk in re.split(r"^" + _DATE + r"\s*$", body, flags=re.MULTILINE):
        if not chunk.strip():
            continue
        title, rest = chunk.strip().split(" https://www.icmpd.org//", 1)
        _link, text = rest.split(" ", 1)
        items.append((title, text))
    return items


# Read as a person would: every country the item names (a city only when it is
# in the gazetteer: Kabul, Baku, Istanbul, Rabat), never "the Sorbonne", the
# language codes "(EN, TR)" / "in EN and FR", "Brussels Mission" or "Barcelona".
SEED_EXPECTED = [
    (
        "Project News",
        "MMD Support Project – Rabat Process organised Thematic Meeting on Border Management",
        ("ES", "FR", "LB", "MA", "TN"),
        ("Africa", "Europe", MME),
        ("MMD", "Rabat Process"),
    ),
    (
        "Project News",
        "ICMPD supports Turkey with a new voluntary return and reintegration programme",
        ("FR", "GB", "TR"),
        ("Europe", WB),
        ("ERRIN", "SUPREME"),
    ),
    (
        "Project News",
        "ICMPD Summer School 2019 took place in Kachreti, Georgia",
        codes("AL AZ BA BY GB GE KG KZ MD MK NL RS RU TJ TM TR UA UZ"),
        (EECA, "Europe", WB),
        ("Prague Process",),
    ),
    (
        "Project News",
        "Enhancing Integrated Border Management in the Silk Routes Region",
        ("AF", "BD", "IQ", "IR", "PK", "TR"),
        ("Silk Routes", WB),
        ("IBM Silk Routes",),
    ),
    (
        "Project News",
        "Sfax Municipality hosts MC2CM event in urban migration governance",
        ("TN",),
        (MME,),
        ("MC2CM",),
    ),
    (
        "Expert Voice",
        "Migration policy-making in times of crisis",
        ("DE", "GB", "IT", "RU", "SE", "TR"),
        (EECA, "Europe", WB),
        ("MIND",),
    ),
    (
        "ICMPD Around the Globe",
        "Michael Spindelegger opens the Mobility Partnership Conference while on mission in Baku",
        ("AZ",),
        (EECA,),
        ("MOBILAZE",),
    ),
    (
        "Project News",
        "FReM III organises First Annual Lessons Learned Meeting",
        codes("AT BE BG CH CY CZ DE DK ES FI GR HR IS IT LU LV NL NO PL PT RO SE SI SK"),
        ("Europe",),
        ("FReM",),
    ),
    (
        "Project News",
        "Comprehensive Migration Policy for Afghanistan presented in Kabul, Afghanistan",
        ("AF",),
        ("Silk Routes",),
        (),
    ),
    (
        "Project News",
        "ICMPD expert panel at the 2019 European Development Days",
        ("CR", "FR"),
        ("Africa", "Americas", "Europe", MME),
        ("MC2CM", "MIEUX", "MMD", "Rabat Process"),
    ),
]


# --- the seed ----------------------------------------------------------------


def test_the_seed_splits_into_ten_items() -> None:
    # Given the seed text / When it is split at the pubDate lines
    items = seed_items()
    # Then there are ten items, each with a title and a real body
    assert len(items) == 10
    assert all(title and len(text) > 500 for title, text in items)


@pytest.mark.parametrize(
    ("index", "expected"), list(enumerate(SEED_EXPECTED)), ids=[f"item{i + 1}" for i in range(10)]
)
def test_seed_item_is_tagged_as_a_reader_would(
    index: int, expected: tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
) -> None:
    # Given one seed item
    title, text = seed_items()[index]
    category, headline, countries, regions, programmes = expected
    # When it is tagged (the real feed has no <category>)
    tags = tag(title, text)
    # Then every field is what a careful reader would say
    assert tags == Tags(category, headline, countries, regions, programmes)


def test_seed_category_counts() -> None:
    # Given the ten seed items / When tagged
    counts = Counter(tag(title, text).category for title, text in seed_items())
    # Then the prefixes (including "Project News :" and "Expert voice") are canonical
    assert counts == {"Project News": 8, "Expert Voice": 1, "ICMPD Around the Globe": 1}


# --- categories --------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "category", "headline"),
    [
        (
            "Expert voice: Migration in times of crisis",
            "Expert Voice",
            "Migration in times of crisis",
        ),
        ("Project News :ICMPD expert panel", "Project News", "ICMPD expert panel"),
        ("Project   news  : Two  spaces", "Project News", "Two spaces"),
        ("ICMPD around the globe: A visit", "ICMPD Around the Globe", "A visit"),
        ("Press releases: New director", "Press Release", "New director"),
        # An unknown short label is a category, title-cased with whitespace collapsed.
        ("Spotlight  on   Cities: Urban migration", "Spotlight on Cities", "Urban migration"),
        ("Field NOTES: MC2CM", "Field NOTES", "MC2CM"),
        # A colon inside a sentence is no prefix.
        (
            "Migration: a long sentence with fifteen words that goes on and on about policy",
            UNCATEGORISED,
            "Migration: a long sentence with fifteen words that goes on and on about policy",
        ),
        ("The EU, Turkey and others agree: More support", UNCATEGORISED, None),
        ("Six Words Is Far Too Long: Headline", UNCATEGORISED, None),
        ("Meeting at 10: Agenda", UNCATEGORISED, None),
        ("Mr. Smith: An interview", UNCATEGORISED, None),
        ("Why migration matters: An essay", UNCATEGORISED, None),
        ("Turkey: New law on foreigners", UNCATEGORISED, None),
        ("No colon at all", UNCATEGORISED, None),
        ("Project News:", UNCATEGORISED, None),
        ("", UNCATEGORISED, ""),
    ],
)
def test_category_from_the_title_prefix(title: str, category: str, headline: str | None) -> None:
    # Given a title and no <category> / When split
    got_category, got_headline = split_category(title)
    # Then the prefix is taken only when it reads like a label
    assert got_category == category
    assert got_headline == (headline if headline is not None else " ".join(title.split()))


def test_category_element_wins_over_the_title_prefix() -> None:
    # Given <category> values, the first empty / When split
    category, headline = split_category("Expert voice: Crisis", ["  ", "project news", "Other"])
    # Then the first non-empty value, canonicalised, is the category; the known prefix is dropped
    assert (category, headline) == ("Project News", "Crisis")


def test_headline_keeps_an_unrelated_prefix_when_the_element_gives_the_category() -> None:
    # Given an element category and a title whose prefix is another, unknown label
    category, headline = split_category("Spotlight: Crisis", ["News"])
    # Then the category is the element's and the headline keeps the whole title
    assert (category, headline) == ("News", "Spotlight: Crisis")


def test_headline_drops_a_prefix_that_agrees_with_the_element() -> None:
    category, headline = split_category("Spotlight: Crisis", ["spotlight"])
    assert (category, headline) == ("Spotlight", "Crisis")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Project#News", "Project News"),
        ("#Breaking", "Breaking"),
        ("news #1 #2", "News 1 2"),
        ("project_news", "Project News"),
        ("a day in the life", "A Day in the Life"),
        ("tab\tand\nnewline", "Tab and Newline"),
        ("x" * 200, "X" + "x" * 79),
        ("  #  ", None),
        ("", None),
    ],
)
def test_canonical_category(value: str, expected: str | None) -> None:
    # Given a raw category value / When canonicalised
    # Then known names win, others are title-cased, and '#' (the key separator) never survives
    assert canonical_category(value) == expected


def test_a_hash_in_an_element_category_never_reaches_storage() -> None:
    tags = tag("Title", "", ["Migration #Policy"])
    assert "#" not in tags.category
    assert tags.category == "Migration Policy"


# --- countries: traps --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        # Niger / Nigeria
        ("Niger and Nigeria signed", {"NE", "NG"}),
        ("Nigeria alone", {"NG"}),
        ("a Nigerien official", {"NE"}),
        ("a Nigerian official", {"NG"}),
        ("oil in the Niger Delta", {"NG"}),
        # The Guineas
        ("Guinea", {"GN"}),
        ("Guinea-Bissau", {"GW"}),
        ("Guinea Bissau", {"GW"}),
        ("Guinea and Guinea-Bissau", {"GN", "GW"}),
        ("Equatorial Guinea", {"GQ"}),
        ("Papua New Guinea", {"PG"}),
        ("a Papua New Guinean", {"PG"}),
        ("a Bissau-Guinean", {"GW"}),
        ("the island of New Guinea", {"PG"}),
        ("piracy in the Gulf of Guinea", set()),
        # Dominica / Dominican Republic
        ("Dominica", {"DM"}),
        ("the Dominican Republic", {"DO"}),
        ("Dominican migrants", {"DO"}),
        # Sudan / South Sudan
        ("Sudan", {"SD"}),
        ("South Sudan", {"SS"}),
        ("Sudan and South Sudan", {"SD", "SS"}),
        ("South Sudanese refugees", {"SS"}),
        ("Sudanese refugees", {"SD"}),
        # The Congos
        ("DR Congo", {"CD"}),
        ("the Democratic Republic of the Congo", {"CD"}),
        ("the Democratic Republic of Congo (DRC)", {"CD"}),
        ("the Republic of the Congo", {"CG"}),
        ("Congo-Brazzaville", {"CG"}),
        ("Congolese nationals", set()),
        # The Koreas
        ("North Korea", {"KP"}),
        ("South Korea", {"KR"}),
        ("the Democratic People’s Republic of Korea", {"KP"}),
        ("the Republic of Korea", {"KR"}),
        # Georgia
        ("Kachreti, Georgia", {"GE"}),
        ("South Georgia", {"GS"}),
        ("born in Atlanta, Georgia", set()),
        # Language codes and other codes are no countries
        ("(EN, TR)", set()),
        ("in EN and FR", set()),
        ("the EU Agency for Fundamental Rights (FRA)", set()),
        ("the Sorbonne", set()),
        # Whole words only
        ("Omani officials", {"OM"}),
        ("Romania", {"RO"}),
        ("Indian officials", {"IN"}),
        ("Indiana", set()),
        ("Iranian officials", {"IR"}),
        ("Moroccan Ministry", {"MA"}),
        ("Malian and Somali", {"ML", "SO"}),
        ("Maliki", set()),
        # Proper nouns are case-sensitive
        ("roast turkey and china plates with chile", set()),
        ("ICMPD SUPPORTS TURKEY", {"TR"}),
        ("TUrkey", set()),
        ("Papua new guinea", set()),
        # A wrongly cased long term still yields the correct term at its start
        ("Bosnia and herzegovina", {"BA"}),
        # Variants
        ("Türkiye", {"TR"}),
        ("Turkiye", {"TR"}),
        ("Turks", {"TR"}),
        ("the Turks and Caicos Islands", {"TC"}),
        ("Northern Macedonia", {"MK"}),
        ("North Macedonia", {"MK"}),
        ("the UK", {"GB"}),
        ("the Kingdom of Morocco", {"MA"}),
        ("the Republic of Azerbaijan", {"AZ"}),
        ("Côte d’Ivoire", {"CI"}),
        ("Bosnia and\nHerzegovina", {"BA"}),
        ("Bosnia And Herzegovina", {"BA"}),
        ("Kosovo", {"XK"}),
        ("EU-Turkey Statement", {"TR"}),
        ("the Afghanistan–Pakistan border", {"AF", "PK"}),
        ("Turkey’s return programme", {"TR"}),
        ("Benin City", {"NG"}),
        ("Benin", {"BJ"}),
        ("La Réunion", {"RE"}),
        ("Reunion of families", set()),
        # Cities that stand for the country, and the ones that do not
        ("in Kabul", {"AF"}),
        ("in Baku", {"AZ"}),
        ("in Istanbul", {"TR"}),
        ("signed in Rabat", {"MA"}),
        ("the Rabat Process", set()),
        ("the Khartoum Process", set()),
        ("Brussels Mission", set()),
        ("ICMPD headquarters in Vienna", set()),
        # Places named after countries
        ("New Mexico and New Jersey", set()),
        ("Latin American states", set()),
        ("the Indian Ocean", set()),
        # "the US", not a bare "US"
        ("in the US", {"US"}),
        ("The US and Canada", {"CA", "US"}),
        ("CONTACT US", set()),
        ("the USA", {"US"}),
    ],
)
def test_country_traps(text: str, codes: set[str]) -> None:
    # Given a text with a known trap / When countries are found
    # Then exactly the named countries come back
    assert find_countries(text) == codes


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("refugees in Jordan and Lebanon", {"JO", "LB"}),
        ("Jordan’s ministry", {"JO"}),
        ("the Jordan Valley", {"JO"}),
        ("Jordan Peterson said", set()),
        ("Chad Smith said", set()),
        ("the Lake Chad Basin", {"TD"}),
        ("Chad, Niger and Mali", {"ML", "NE", "TD"}),
    ],
)
def test_given_names_that_are_countries(text: str, codes: set[str]) -> None:
    # Given Jordan or Chad as a country or as a given name
    # When countries are found / Then a following capitalised surname means a person
    assert find_countries(text) == codes


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("The report is available in English and Spanish.", set()),
        ("translated into Turkish, Arabic and Persian.", set()),
        ("Turkish language courses", set()),
        ("Russian-speaking migrants", set()),
        ("French translation", set()),
        ("the Spanish Minister of the Interior", {"ES"}),
        ("cooperation with Spanish institutions", {"ES"}),
        ("in Spanish institutions", {"ES"}),
        ("the Turkish Red Crescent", {"TR"}),
        ("Spanish and Moroccan authorities", {"ES", "MA"}),
    ],
)
def test_language_adjectives(text: str, codes: set[str]) -> None:
    # Given an adjective that is also a language / When countries are found
    # Then it tags the country only when it is not used as the language
    assert find_countries(text) == codes


def test_countries_are_sorted_unique_iso2() -> None:
    # Given a text naming countries several times, out of order
    tags = tag("Turkey and Afghanistan", "Turkish, Afghan, Kabul, Turkey, Afghanistan")
    # Then each code appears once, sorted
    assert tags.countries == ("AF", "TR")


# --- regions and programmes --------------------------------------------------


def test_no_region_is_unspecified() -> None:
    # Given an item that names no country, programme or region phrase
    tags = tag("Expert voice: Migration and crisis", "A text about policy cycles.")
    # Then its only region is Unspecified
    assert tags.regions == (UNSPECIFIED_REGION,)
    assert tags.countries == ()
    assert tags.programmes == ()


@pytest.mark.parametrize(
    ("text", "programmes", "regions"),
    [
        ("the Rabat Process", {"Rabat Process"}, {"Africa"}),
        ("the Khartoum Process", {"Khartoum Process"}, {"Africa"}),
        ("the Africa-EU Migration and Mobility Dialogue (MMD)", {"MMD"}, {"Africa"}),
        ("the Budapest Process", {"Budapest Process"}, {"Silk Routes"}),
        ("countries of the Silk Routes", set(), {"Silk Routes"}),
        ("the Prague Process", {"Prague Process"}, {EECA}),
        ("MC2CM", {"MC2CM"}, {MME}),
        ("the MTM Dialogue", {"MTM"}, {MME}),
        ("EUROMED Migration IV", {"EUROMED Migration"}, {MME}),
        ("MIgration EU eXpertise (MIEUX)", {"MIEUX"}, set()),
        ("More information of FREM", {"FReM"}, set()),
        ("ERRIN and MICIC", {"ERRIN", "MICIC"}, set()),
        ("the Supreme Court", set(), set()),
        ("keep in mind", set(), set()),
        ("a global initiative", set(), set()),
        ("the Global Initiative against Transnational Organized Crime", set(), set()),
    ],
)
def test_programmes_and_their_regions(text: str, programmes: set[str], regions: set[str]) -> None:
    # Given a text naming a programme (or a look-alike) / When programmes are found
    # Then the canonical names come back with the regions they add
    assert find_programmes(text) == (programmes, regions)


def test_a_programme_region_joins_the_country_regions() -> None:
    # Given a Rabat Process item in Morocco
    tags = tag("Project News: Rabat Process meeting", "Held in Morocco.")
    # Then Morocco's region and the Rabat Process region are both there, sorted
    assert tags.regions == ("Africa", MME)
    assert tags.countries == ("MA",)


def test_programme_data_uses_only_icmpd_regions() -> None:
    raw = json.loads((Path(tag_module.__file__).parent / "data" / "programmes.json").read_text())
    regions = {p["region"] for p in raw["programmes"]} | {
        p["region"] for p in raw["region_phrases"]
    }
    assert regions - {None} <= set(REGIONS)


def test_regions_are_the_icmpd_names() -> None:
    assert set(REGIONS) == {
        "Africa",
        "Mediterranean and Middle East",
        "Silk Routes",
        "Eastern Europe and Central Asia",
        "Western Balkans and Türkiye",
        "Europe",
        "Americas",
        "Asia and Pacific",
    }


# --- version and loading -----------------------------------------------------


def test_tagger_version_names_code_and_data() -> None:
    assert re.fullmatch(r"\d+\+[0-9a-f]{10}", tagger_version())


def test_tagger_version_changes_with_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the version of the committed data
    before = tagger_version()
    real = tag_module._data_bytes

    def edited(name: str) -> bytes:
        data = real(name)
        return data + b" " if name == "programmes.json" else data

    # When one data file changes by one byte
    monkeypatch.setattr(tag_module, "_data_bytes", edited)
    tagger_version.cache_clear()
    try:
        after = tagger_version()
    finally:
        monkeypatch.undo()
        tagger_version.cache_clear()
    # Then the version changes, and only its data hash part
    assert after != before
    assert after.split("+")[0] == before.split("+")[0]
    assert tagger_version() == before
