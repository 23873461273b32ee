"""Which tags the counters use, decided by evidence: teaser, article or both (docs/tagging.md).

The labelled examples (tests/unit/tag_examples.py) are tagged three ways: the
feed's title and teaser, the article's main text as trafilatura extracts it
from the served page, and the union of both. Precision and recall are
micro-averaged over (item, country) and (item, region) pairs. The source the
code counts (capture/tags.py COUNTED_SOURCE) must be the best by F1, and the
numbers in docs/tagging.md must be the ones measured here, so neither the
decision nor its documentation can rot when the tagger, the gazetteer or the
extractor changes.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import lxml.html

from feed_archiver.archive_format import UNSPECIFIED_REGION
from feed_archiver.capture.document import article_tags
from feed_archiver.capture.extract import extract_article
from feed_archiver.capture.tags import ARTICLE, COUNTED_SOURCE, SOURCES, TEASER, UNION, combine
from feed_archiver.tag import REGIONS, Tags, find_countries, tag
from tests.unit.tag_examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "tagging.md"
PAGE = "page"  # a reference row: the whole page's text, without extraction
LABELS = {
    TEASER: "teaser (title + feed description)",
    ARTICLE: "article (main text extracted from the page)",
    UNION: "union of teaser and article",
    PAGE: "whole page, no extraction (reference)",
}
START, END = "<!-- measured by tests/unit/test_tag_sources.py -->", "<!-- end of measured -->"


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score(pairs: list[tuple[set[str], frozenset[str]]]) -> Score:
    tp = sum(len(found & true) for found, true in pairs)
    fp = sum(len(found - true) for found, true in pairs)
    fn = sum(len(true - found) for found, true in pairs)
    return Score(tp, fp, fn)


def regions_of(tags: Tags) -> set[str]:
    return set(tags.regions) - {UNSPECIFIED_REGION}


@functools.cache
def predictions() -> dict[str, list[Tags]]:
    """Each source's tags for every example, in order."""
    found: dict[str, list[Tags]] = {source: [] for source in (*SOURCES, PAGE)}
    for example in EXAMPLES:
        teaser = tag(example.title, example.teaser)
        page = example.page().encode("utf-8")
        extracted = extract_article(
            page, "text/html; charset=utf-8", "https://www.icmpd.org/news/x"
        )
        article = article_tags(extracted.title, extracted.text)
        whole = tag("", lxml.html.fromstring(page).text_content())
        for source in SOURCES:
            found[source].append(combine(teaser, article, source))
        found[PAGE].append(whole)
    return found


@functools.cache
def scores() -> dict[str, tuple[Score, Score]]:
    """(countries, regions) score of each source."""
    result = {}
    for source, tags in predictions().items():
        countries = score(
            [(set(t.countries), e.countries) for t, e in zip(tags, EXAMPLES, strict=True)]
        )
        regions = score([(regions_of(t), e.regions) for t, e in zip(tags, EXAMPLES, strict=True)])
        result[source] = (countries, regions)
    return result


def table() -> str:
    lines = [
        "| tags from | countries: precision | recall | F1 | regions: precision | recall | F1 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for source, (countries, regions) in scores().items():
        label = LABELS[source] + (" **← counted**" if source == COUNTED_SOURCE else "")
        cells = []
        for s in (countries, regions):
            cells += [
                f"{s.precision:.2f} ({s.tp}/{s.tp + s.fp})",
                f"{s.recall:.2f} ({s.tp}/{s.tp + s.fn})",
                f"{s.f1:.2f}",
            ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- the decision -------------------------------------------------------------------------


def test_the_counted_tags_come_from_the_source_with_the_best_f1_on_the_labelled_examples() -> None:
    # Given the teaser, the article and their union, scored against the hand labels
    measured = {s: scores()[s] for s in SOURCES}

    # Then the source the counters use is not beaten on countries nor on regions
    chosen_countries, chosen_regions = measured[COUNTED_SOURCE]
    for source, (countries, regions) in measured.items():
        assert chosen_countries.f1 >= countries.f1, (source, "countries", table())
        assert chosen_regions.f1 >= regions.f1, (source, "regions", table())
    # And it is strictly better than each other source on one of them (no tie decides it)
    for source, (countries, regions) in measured.items():
        if source != COUNTED_SOURCE:
            assert (chosen_countries.f1, chosen_regions.f1) != (countries.f1, regions.f1), source


def test_docs_tagging_md_holds_the_numbers_measured_here() -> None:
    text = DOC.read_text("utf-8")
    block = text[text.index(START) + len(START) : text.index(END)].strip()
    assert block == table(), f"docs/tagging.md is out of date; the measured table is:\n{table()}"
    assert f"`COUNTED_SOURCE = {COUNTED_SOURCE.upper()}`" in text


# --- the evidence is sound --------------------------------------------------------------


def test_every_label_is_a_known_country_and_region_and_the_regions_follow_the_countries() -> None:
    gazetteer = json.loads(
        (ROOT / "functions/feed_archiver/data/gazetteer.json").read_text("utf-8")
    )
    for example in EXAMPLES:
        assert example.countries <= set(gazetteer["regions"]), example.name
        assert example.regions <= set(REGIONS), example.name
        assert {gazetteer["regions"][c] for c in example.countries} <= example.regions, example.name


def test_the_extractor_keeps_the_sidebar_footer_and_navigation_out_of_the_article_tags() -> None:
    # Countries named only in the page's chrome (related news, offices in the footer)
    for example, article in zip(EXAMPLES, predictions()[ARTICLE], strict=True):
        told = find_countries("\n".join([example.title, example.teaser, *example.paragraphs]))
        chrome = lxml.html.fromstring(example.page())
        for node in chrome.xpath("//article | //div[@id='consent-wall']"):
            node.drop_tree()
        only_in_chrome = find_countries(chrome.text_content()) - told
        assert only_in_chrome, example.name  # every page names some
        # never reach the article's tags
        assert not set(article.countries) & only_in_chrome, example.name


def test_the_teaser_never_finds_what_the_article_does_not_on_readable_pages() -> None:
    # On every page whose article is in the HTML, the article's tags include the teaser's:
    # the union then only adds robustness (the consent wall), never a teaser-only tag.
    for example, teaser, article in zip(
        EXAMPLES, predictions()[TEASER], predictions()[ARTICLE], strict=True
    ):
        if example.main_html is None:
            assert set(teaser.countries) <= set(article.countries), example.name


def test_the_labelled_set_is_large_enough_to_decide() -> None:
    assert len(EXAMPLES) >= 15
    assert sum(len(e.countries) for e in EXAMPLES) >= 100
    assert len({e.name for e in EXAMPLES}) == len(EXAMPLES)
