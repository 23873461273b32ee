"""Item identity and content hashing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feed_archiver.archive_format import sha256_hex
from feed_archiver.identity import content_hash, item_id, normalise_link
from feed_archiver.parse import Entry, parse_feed

FIXTURE = Path(__file__).parents[1] / "fixtures" / "icmpd-news-centre-2019-07.xml"
ICMPD_LINK = (
    "https://www.icmpd.org//news-centre/news-detail/"
    "project-news-icmpd-summer-school-2019-took-place-in-kachreti-georgia/"
)


def _entry(**changes: object) -> Entry:
    base = Entry(
        guid=None,
        link="https://www.icmpd.org//news-centre/news-detail/x/",
        title="Project News: X",
        summary_text="Teaser...",
        content_text="Body.",
        content_html="<p>Body.</p>",
        published=datetime(2019, 7, 16, 13, 32, 30, tzinfo=UTC),
        categories=(),
        problems=(),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- normalise_link ---------------------------------------------------------


def test_double_slash_after_the_host_is_the_same_item() -> None:
    # Given the link as the ICMPD feed writes it and as it should be
    with_double = "https://www.icmpd.org//news-centre/x/"
    without = "https://www.icmpd.org/news-centre/x/"
    # When both are normalised / Then they are one and the same
    assert normalise_link(with_double) == normalise_link(without) == without


def test_repeated_slashes_anywhere_in_the_path_collapse() -> None:
    # Given a path with runs of slashes / Then each run becomes one slash
    assert normalise_link("https://example.org///a//b///c/") == "https://example.org/a/b/c/"


def test_utm_parameters_are_dropped_and_others_kept_in_order() -> None:
    # Given a link with tracking parameters between real ones
    url = "https://example.org/x?b=2&utm_source=rss&a=1&UTM_Medium=feed&utm_campaign=&c=3"
    # When it is normalised / Then only the utm_* ones are gone, the rest keep their order
    assert normalise_link(url) == "https://example.org/x?b=2&a=1&c=3"


def test_only_utm_parameters_leaves_no_query() -> None:
    # Given a link whose only parameters are tracking ones / Then no "?" remains
    assert normalise_link("https://example.org/x?utm_source=a&utm_medium=b") == (
        "https://example.org/x"
    )


def test_other_parameters_keep_their_encoding() -> None:
    # Given a parameter with percent-encoding and a plus / Then it is kept as written
    assert normalise_link("https://example.org/x?q=a%20b+c&id=3") == (
        "https://example.org/x?q=a%20b+c&id=3"
    )


def test_fragment_is_dropped() -> None:
    assert normalise_link("https://example.org/x/#comments") == "https://example.org/x/"


def test_scheme_and_host_case_are_lowered_but_not_the_path() -> None:
    # Given a link with upper-case scheme, host and path
    url = "HTTPS://WWW.ICMPD.ORG/News-Centre/X/"
    # Then scheme and host are lower-cased; the path is case-sensitive and kept
    assert normalise_link(url) == "https://www.icmpd.org/News-Centre/X/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org:443/x", "https://example.org/x"),
        ("http://example.org:80/x", "http://example.org/x"),
        ("https://example.org:8443/x", "https://example.org:8443/x"),
        ("http://example.org:443/x", "http://example.org:443/x"),
    ],
)
def test_default_ports_are_dropped_and_others_kept(url: str, expected: str) -> None:
    assert normalise_link(url) == expected


def test_empty_path_becomes_slash() -> None:
    assert normalise_link("https://Example.org") == "https://example.org/"


def test_ipv6_host_and_userinfo_survive() -> None:
    assert normalise_link("http://user@[::1]:8080//a") == "http://user@[::1]:8080/a"


def test_unsplittable_url_is_returned_stripped() -> None:
    # Given a URL urllib refuses (bad port) / Then it comes back as it was, not an exception
    assert normalise_link(" http://example.org:notaport/x ") == "http://example.org:notaport/x"


def test_normalising_twice_changes_nothing() -> None:
    once = normalise_link("HTTPS://WWW.ICMPD.ORG:443//a//b/?utm_source=x&k=v#f")
    assert normalise_link(once) == once == "https://www.icmpd.org/a/b/?k=v"


# --- item_id ----------------------------------------------------------------


def test_guid_takes_precedence_over_the_link() -> None:
    # Given an entry with both a guid and a link
    entry = _entry(guid="urn:uuid:1234")
    # Then the guid is its id, verbatim
    assert item_id(entry) == "urn:uuid:1234"


def test_without_guid_the_normalised_link_is_the_id() -> None:
    # Given two entries differing only in the link's double slash and tracking
    first = _entry(link="https://www.icmpd.org//news-centre/x/")
    second = _entry(link="https://WWW.icmpd.org/news-centre/x/?utm_source=rss#top")
    # Then they have the same id, the normalised link
    assert item_id(first) == item_id(second) == "https://www.icmpd.org/news-centre/x/"


def test_without_guid_or_link_the_id_is_a_hash_of_title_and_date() -> None:
    # Given an entry with neither guid nor link
    entry = _entry(link=None)
    # Then its id is the hash of the title, a newline and the ISO date
    expected = sha256_hex("Project News: X\n2019-07-16T13:32:30+00:00")
    assert item_id(entry) == "sha256:" + expected


def test_title_hash_without_a_date_uses_an_empty_date() -> None:
    entry = _entry(link=None, published=None)
    assert item_id(entry) == "sha256:" + sha256_hex("Project News: X\n")


def test_title_hash_depends_on_title_and_date() -> None:
    # Given entries without guid or link that differ in title or date
    base = _entry(link=None)
    other_title = _entry(link=None, title="Project News: Y")
    other_date = _entry(link=None, published=datetime(2019, 7, 17, tzinfo=UTC))
    # Then their ids differ
    assert len({item_id(base), item_id(other_title), item_id(other_date)}) == 3


def test_fixture_items_have_ten_distinct_link_ids() -> None:
    # Given the real sample parsed
    feed = parse_feed(FIXTURE.read_bytes())
    ids = [item_id(entry) for entry in feed.entries]
    # Then every item is known by its normalised link (no guid), all distinct
    assert len(set(ids)) == 10
    assert ICMPD_LINK.replace(".org//", ".org/") in ids


# --- content_hash -----------------------------------------------------------


def test_content_hash_is_stable_for_the_same_entry() -> None:
    assert content_hash(_entry()) == content_hash(_entry())
    assert len(content_hash(_entry())) == 64


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "Project News: X!"},
        {"link": "https://www.icmpd.org/news-centre/other/"},
        {"link": None},
        {"summary_text": "Another teaser..."},
        {"content_html": "<p>Body changed.</p>"},
    ],
)
def test_content_hash_changes_when_a_hashed_field_changes(changes: dict[str, object]) -> None:
    assert content_hash(_entry(**changes)) != content_hash(_entry())


@pytest.mark.parametrize(
    "changes",
    [
        {"guid": "urn:x"},
        {"content_text": "different plain text"},
        {"published": None},
        {"categories": ("News",)},
        {"problems": ("no date",)},
        # The same link written differently is the same link.
        {"link": "https://WWW.icmpd.org/news-centre/news-detail/x/?utm_source=rss#top"},
    ],
)
def test_content_hash_ignores_other_fields(changes: dict[str, object]) -> None:
    assert content_hash(_entry(**changes)) == content_hash(_entry())


def test_fields_cannot_bleed_into_each_other() -> None:
    # Given two entries whose fields concatenate to the same string
    first = _entry(title="ab", summary_text="c")
    second = _entry(title="a", summary_text="bc")
    # Then their hashes differ
    assert content_hash(first) != content_hash(second)


def test_separator_inside_a_field_cannot_forge_another_entry() -> None:
    # Given a title that contains what a naive separator-joined encoding would use
    first = _entry(title='a","x', summary_text="y")
    second = _entry(title="a", summary_text='x","y')
    # Then the JSON encoding keeps them apart
    assert content_hash(first) != content_hash(second)
