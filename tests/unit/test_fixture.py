"""The XML fixture is the seed text with its tags put back: nothing dropped, nothing invented.

These checks read the XML with the stdlib ElementTree and compare against the
seed text directly, independently of scripts/build_fixture.py (one test at the
end also checks that the script reproduces the committed fixture).
"""

from __future__ import annotations

import html
import importlib.util
import re
import sys
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures"
FIXTURE = FIXTURES / "icmpd-news-centre-2019-07.xml"
SEED = FIXTURES / "seed" / "icmpd-news-centre-2019-07.txt"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"

# The channel header as the seed README maps it (element path -> text).
EXPECTED_CHANNEL = [
    ("title", "www.icmpd.org"),
    ("link", "https://www.icmpd.org/"),
    ("description", "NEWS CENTRE"),
    ("language", "en"),
    ("image/title", "www.icmpd.org"),
    ("image/url", "https://www.icmpd.org/typo3conf/ext/tt_news/ext_icon.gif"),
    ("image/link", "https://www.icmpd.org/"),
    ("image/width", "18"),
    ("image/height", "16"),
    ("image/description", "NEWS CENTRE"),
    ("generator", "TYPO3 - get.content.right"),
    ("docs", "http://blogs.law.harvard.edu/tech/rss"),
    ("lastBuildDate", "Tue, 16 Jul 2019 15:32:30 +0200"),
]


def _seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def _channel() -> ET.Element:
    root = ET.parse(FIXTURE).getroot()  # noqa: S314 - our own fixture, not untrusted input
    channel = root.find("channel")
    assert channel is not None
    return channel


def _paragraphs(content_html: str) -> list[str]:
    # Every character of the content must sit inside a <p>...</p>: nothing in between.
    pieces = re.split(r"<p>(.*?)</p>", content_html, flags=re.DOTALL)
    between, inside = pieces[0::2], pieces[1::2]
    assert all(not gap.strip() for gap in between), "text outside <p> paragraphs"
    return [html.unescape(p) for p in inside]


class ItemFields(NamedTuple):
    title: str
    link: str
    description: str
    paragraphs: list[str]
    pub_date: str


def _item_fields(item: ET.Element) -> ItemFields:
    return ItemFields(
        title=item.findtext("title") or "",
        link=item.findtext("link") or "",
        description=item.findtext("description") or "",
        paragraphs=_paragraphs(item.findtext(CONTENT_ENCODED) or ""),
        pub_date=item.findtext("pubDate") or "",
    )


def _ordered_fields() -> list[str]:
    """Every text field of the fixture in document order."""
    channel = _channel()
    fields = [channel.findtext(path) or "" for path, _ in EXPECTED_CHANNEL]
    for item in channel.findall("item"):
        parts = _item_fields(item)
        fields += [parts.title, parts.link, parts.description, *parts.paragraphs, parts.pub_date]
    return fields


def _words(text: str) -> list[str]:
    # Split on ASCII whitespace only: non-breaking spaces are content and must survive.
    return [word for word in re.split(r"[ \t\r\n]+", text) if word]


def test_fixture_is_rss_2_with_the_content_namespace() -> None:
    # Given the fixture file
    raw = FIXTURE.read_text(encoding="utf-8")
    # When it is parsed as XML
    root = ET.fromstring(raw.encode("utf-8"))  # noqa: S314 - our own fixture
    # Then it is RSS 2.0 and declares the content module namespace
    assert root.tag == "rss"
    assert root.get("version") == "2.0"
    assert 'xmlns:content="http://purl.org/rss/1.0/modules/content/"' in raw


def test_channel_header_matches_the_seed_readme() -> None:
    # Given the channel element
    channel = _channel()
    # When each header field is read / Then it holds the value the README maps to it
    for path, expected in EXPECTED_CHANNEL:
        assert channel.findtext(path) == expected, path


def test_ten_items_without_guid_or_category() -> None:
    # Given the channel
    items = _channel().findall("item")
    # Then there are ten items, each with exactly the five expected elements
    assert len(items) == 10
    for item in items:
        assert [child.tag for child in item] == [
            "title",
            "link",
            "description",
            CONTENT_ENCODED,
            "pubDate",
        ]
        assert item.find("guid") is None
        assert item.find("category") is None


def test_item_fields_have_the_shape_of_the_real_feed() -> None:
    # Given each item's fields
    for item in _channel().findall("item"):
        fields = _item_fields(item)
        # Then the link keeps the double slash, the teaser ends in "...",
        # there is content, and the date is RFC 822 with the +0200 offset
        assert fields.link.startswith("https://www.icmpd.org//news-centre/news-detail/")
        assert fields.description.endswith("...")
        assert fields.paragraphs
        assert all(fields.paragraphs)
        assert parsedate_to_datetime(fields.pub_date).utcoffset() is not None


def test_every_field_occurs_in_the_seed_in_order() -> None:
    # Given the seed text and the fixture's fields in document order
    seed = _seed_text()
    cursor = 0
    # When each field is looked for after the previous one
    for field in _ordered_fields():
        found = seed.find(field, cursor)
        # Then it is there, verbatim, further along than the one before
        assert found >= cursor, f"not found in order: {field[:80]!r}"
        cursor = found + len(field)
    # And nothing but whitespace follows the last field
    assert not seed[cursor:].strip()


def test_fields_concatenated_reproduce_the_seed_modulo_whitespace() -> None:
    # Given all the fixture's text fields joined with spaces
    rebuilt = " ".join(_ordered_fields())
    # Then word for word (non-breaking spaces included) it is the seed text
    assert _words(rebuilt) == _words(_seed_text())


def test_typographic_characters_are_kept() -> None:
    # Given the fixture text
    raw = FIXTURE.read_text(encoding="utf-8")
    # Then the characters of the seed that are easy to lose are all there, as often
    seed = _seed_text()
    for char in ["–", "“", "”", "’", "‘", "ı", "á", "\u00a0"]:
        assert raw.count(char) == seed.count(char), repr(char)
    assert "Kızılay" in raw


def test_second_item_content_starts_on_the_teaser_line() -> None:
    # Given the second item, whose first paragraph shares the seed line with the teaser
    item = _channel().findall("item")[1]
    fields = _item_fields(item)
    # Then the teaser stops at "..." and the paragraph is the first of the content
    assert fields.description == (
        "ICMPD organised a roundtable discussion among Turkish institutions and "
        "European Return and..."
    )
    assert fields.paragraphs[0].startswith(
        "During the roundtable, participants from the Directorate General"
    )


def _load_build_script() -> ModuleType:
    path = Path(__file__).parents[2] / "scripts" / "build_fixture.py"
    spec = importlib.util.spec_from_file_location("build_fixture", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the script executes
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_build_script_reproduces_the_committed_fixture() -> None:
    # Given the script that rebuilds the fixture from the seed
    script = _load_build_script()
    # When it builds the XML / Then it is the committed fixture, byte for byte
    assert script.build() == FIXTURE.read_text(encoding="utf-8")


def test_build_script_refuses_a_seed_with_a_different_header() -> None:
    # Given a seed whose channel header is not the expected one
    script = _load_build_script()
    # When it is parsed / Then the script refuses rather than guessing
    with pytest.raises(ValueError, match="channel header"):
        script.parse_seed("something else entirely")
