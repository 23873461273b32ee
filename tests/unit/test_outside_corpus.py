"""Defects a corpus of public feed test files found (issue 11): ids, dates, links, duplicates,
and the https → http redirect. Pure logic: the parser, the entry rules, the redirect rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from feed_archiver import archive_format as fmt
from feed_archiver.archive import ArchiveOutcome, unique_entries
from feed_archiver.clock import rfc3339
from feed_archiver.errors import FetchError
from feed_archiver.fetch.redirects import next_hop
from feed_archiver.history.snapshots import feed_time
from feed_archiver.identity import item_id
from feed_archiver.items import build_document
from feed_archiver.parse import Entry, parse_feed
from feed_archiver.schema_check import schema_errors

GROUP = "Correctness (outside corpus)"
NOW = datetime(2019, 7, 16, 14, 0, tzinfo=UTC)
SEEN_AT = "2019-07-16T14:00:00Z"


def correctness(case: str, must_hold: str) -> pytest.MarkDecorator:
    return pytest.mark.reliability(group=GROUP, case=case, must_hold=must_hold)


def rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<link>https://site.example/</link><description>d</description>{''.join(items)}"
        "</channel></rss>"
    ).encode()


def atom(*entries: str) -> bytes:
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>r</title>'
        f"<id>urn:feed</id><updated>2019-07-16T10:00:00Z</updated>{''.join(entries)}</feed>"
    ).encode()


def entries(body: bytes, base_url: str) -> tuple[Entry, ...]:
    return parse_feed(body, base_url=base_url, now=NOW).entries


# --- 1. ids as written --------------------------------------------------------------------

GUID_FEED = rss(
    "<item><title>Numbered</title><guid>12345</guid><pubDate>Tue, 16 Jul 2019 10:00:00 GMT"
    "</pubDate></item>",
    "<item><title>Linked</title><link>news/2</link><guid>/posts/2</guid></item>",
)
REDDIT = atom(
    "<entry><id>t3_42tizy</id><title>A post</title>"
    "<link href='https://www.reddit.com/r/x/comments/42tizy/'/>"
    "<updated>2019-07-16T10:00:00Z</updated></entry>"
)


@correctness(
    "an RSS guid or Atom id that is not a URL, fetched from two URLs",
    "the id is the guid as written (12345, t3_42tizy), the same whatever URL the feed came "
    "from; the old resolved id is kept aside only to find items archived under it",
)
@pytest.mark.parametrize(
    ("body", "written"),
    [(GUID_FEED, ["12345", "/posts/2"]), (REDDIT, ["t3_42tizy"])],
    ids=["rss-guid", "reddit-atom-id"],
)
def test_given_a_non_url_guid_when_parsed_from_two_urls_then_the_id_is_as_written(
    body: bytes, written: list[str]
) -> None:
    # Given one body fetched from two URLs
    here = entries(body, "https://site.example/feed")
    there = entries(body, "https://mirror.example/other/path.rss")
    # Then the ids are the publisher's, exactly as written, and so the same items
    assert [item_id(e) for e in here] == written
    assert [item_id(e) for e in there] == written
    # And the id resolved against the fetch URL (how such items were archived before) is kept
    assert here[0].resolved_guid is not None
    assert here[0].resolved_guid.startswith("https://site.example/")


def test_given_a_relative_link_then_it_still_resolves_against_the_base() -> None:
    linked = entries(GUID_FEED, "https://site.example/feed")[1]
    assert linked.link == "https://site.example/news/2"


def test_given_url_guids_and_isPermaLink_false_then_nothing_changes() -> None:
    body = rss(
        "<item><title>a</title><guid>https://site.example/a</guid></item>",
        "<item><title>b</title><guid isPermaLink='false'>b-1</guid></item>",
    )
    parsed = entries(body, "https://other.example/feed")
    assert [e.guid for e in parsed] == ["https://site.example/a", "b-1"]
    assert [e.resolved_guid for e in parsed] == [None, None]


# --- 2. absurd dates -----------------------------------------------------------------------


@correctness(
    "dates before 1990: Hugo's Mon, 01 Jan 0001, Go/.NET's 0001-01-01T00:00:00Z, Unix 0",
    "taken as no date with a problem note (as a future date is): published null, month from "
    "first_seen; the document fits the schema",
)
@pytest.mark.parametrize(
    "tag",
    [
        "<pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate>",
        "<pubDate>0001-01-01T00:00:00Z</pubDate>",
        "<pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate>",
    ],
)
def test_given_a_placeholder_date_then_the_item_is_undated_with_a_note(tag: str) -> None:
    # Given an item whose date is a placeholder for "no date"
    body = rss(f"<item><title>Undated</title><link>https://site.example/u</link>{tag}</item>")
    (entry,) = entries(body, "https://site.example/feed")
    # Then it is undated, and the feed's date is quoted in a problem
    assert entry.published is None
    assert any(p.startswith("date before 1990") for p in entry.problems)
    # And its document is counted in the month it was first seen, and fits the schema
    document = build_document(entry, feed_url="https://site.example/feed", seen_at=SEEN_AT,
                              previous=None)  # fmt: skip
    assert (document["published"], document["month"]) == (None, "2019-07")
    assert schema_errors(document, fmt.load_item_schema()) == []


def test_given_1990_or_later_then_the_date_is_kept() -> None:
    body = rss("<item><title>Old</title><pubDate>Mon, 01 Jan 1990 00:00:00 GMT</pubDate></item>")
    (entry,) = entries(body, "https://site.example/feed")
    assert entry.published == datetime(1990, 1, 1, tzinfo=UTC)


def test_given_a_placeholder_feed_date_then_an_import_does_not_date_the_copy_by_it() -> None:
    body = rss().replace(
        b"<channel>", b"<channel><lastBuildDate>0001-01-01T00:00:00Z</lastBuildDate>"
    )
    assert feed_time(body) is None
    dated = body.replace(b"0001-01-01", b"2019-07-16")
    assert feed_time(dated) == datetime(2019, 7, 16, tzinfo=UTC)


@correctness(
    "a timestamp before year 1000 written by clock.rfc3339",
    "four digits always (0001-01-01T00:00:00Z, not 1-01-01T00:00:00Z: strftime's %Y does "
    "not pad on Linux)",
)
def test_rfc3339_writes_four_digit_years() -> None:
    assert rfc3339(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"
    assert rfc3339(datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)) == "0999-12-31T23:59:59Z"


# --- 3. links ------------------------------------------------------------------------------


@correctness(
    "a link written HTTP://WWW.Example.ORG/Thing",
    "stored with scheme and host lower-cased (http://www.example.org/Thing, path as written), "
    "so it fits the schema's ^https?://",
)
@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("HTTP://www.example.org/thing", "http://www.example.org/thing"),
        ("HTTPS://WWW.Example.ORG:8443/Path/Case?Q=A#Frag", "https://www.example.org:8443/Path/Case?Q=A#Frag"),
        ("Http://User:PassWord@Example.org/x", "http://User:PassWord@example.org/x"),
    ],
)  # fmt: skip
def test_given_an_upper_case_scheme_or_host_then_the_link_is_normalised(
    written: str, stored: str
) -> None:
    body = rss(f"<item><title>x</title><link>{written}</link></item>")
    (entry,) = entries(body, "https://site.example/feed")
    assert entry.link == stored
    document = build_document(entry, feed_url="https://site.example/feed", seen_at=SEEN_AT,
                              previous=None)  # fmt: skip
    assert schema_errors(document, fmt.load_item_schema()) == []


# --- 4. one guid twice in one body ---------------------------------------------------------


@correctness(
    "two different entries with one guid in one body",
    "the first in document order is kept, with a problem note naming the dropped one; the "
    "run counts it in duplicates and duplicates_conflicting (an identical repeat only in "
    "duplicates)",
)
def test_given_two_entries_with_one_guid_then_the_first_is_kept_and_the_second_noted() -> None:
    body = rss(
        "<item><title>First</title><guid isPermaLink='false'>g</guid></item>",
        "<item><title>Second</title><guid isPermaLink='false'>g</guid></item>",
        "<item><title>First</title><guid isPermaLink='false'>g</guid></item>",
    )
    outcome = ArchiveOutcome()
    # When the body's entries are taken each once
    unique = unique_entries(entries(body, "https://site.example/feed"), outcome)
    # Then the first is kept, and says what was dropped
    (kept,) = unique.values()
    assert kept.title == "First"
    assert (
        "another entry with the same id was in the same body and was dropped: Second"
        in kept.problems
    )
    # And both repeats are counted, one of them as conflicting
    assert (outcome.seen, outcome.duplicates, outcome.duplicates_conflicting) == (3, 2, 1)


def test_given_an_identical_repeat_then_no_note() -> None:
    entry = entries(rss("<item><title>A</title><guid>urn:a</guid></item>"), "")[0]
    outcome = ArchiveOutcome()
    unique = unique_entries([entry, replace(entry)], outcome)
    assert list(unique.values()) == [entry]
    assert (outcome.duplicates, outcome.duplicates_conflicting) == (1, 0)


# --- 9. https → http -----------------------------------------------------------------------


@correctness(
    "an https URL that redirects to http (feeds, article pages, the web archive)",
    'refused in the one redirect rule with FetchError "refused: https → http redirect '
    'downgrade"; http → https and https → https are followed',
)
def test_given_an_https_hop_when_redirected_to_http_then_refused() -> None:
    with pytest.raises(FetchError, match=r"^refused: https → http redirect downgrade") as raised:
        next_hop("https://feed.example/feed", "http://feed.example/feed", 301, 1, 5)
    assert raised.value.status == 301
    with pytest.raises(FetchError, match="downgrade"):
        next_hop("HTTPS://feed.example/feed", "HTTP://evil.example/x", 302, 1, 5)


def test_upgrades_and_same_scheme_redirects_are_followed() -> None:
    assert next_hop("http://a.example/f", "https://a.example/f", 301, 1, 5) == "https://a.example/f"
    assert next_hop("https://a.example/f", "/g", 302, 1, 5) == "https://a.example/g"
    assert next_hop("http://a.example/f", "http://b.example/", 302, 1, 5) == "http://b.example/"
