"""The parse step: feed bytes → typed, plain, safe entries."""

from __future__ import annotations

import itertools
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feed_archiver.errors import FeedParseError
from feed_archiver.parse import Entry, ParsedFeed, parse_feed
from feed_archiver.text import collapse_whitespace

FIXTURES = Path(__file__).parents[1] / "fixtures"
FIXTURE = FIXTURES / "icmpd-news-centre-2019-07.xml"
SEED = FIXTURES / "seed" / "icmpd-news-centre-2019-07.txt"
FEED_URL = "https://www.icmpd.org/home/?type=100"
NOW = datetime(2019, 7, 17, 12, 0, tzinfo=UTC)

# Titles and publication dates (UTC) of the ten items of the real sample.
EXPECTED_ITEMS = [
    (
        "Project News: MMD Support Project – Rabat Process organised Thematic Meeting on "
        "Border Management",
        "2019-07-16T13:32:30+00:00",
    ),
    (
        "Project News: ICMPD supports Turkey with a new voluntary return and reintegration "
        "programme",
        "2019-07-12T11:39:32+00:00",
    ),
    (
        "Project News: ICMPD Summer School 2019 took place in Kachreti, Georgia",
        "2019-07-10T15:04:48+00:00",
    ),
    (
        "Project News: Enhancing Integrated Border Management in the Silk Routes Region",
        "2019-07-03T09:01:12+00:00",
    ),
    (
        "Project News: Sfax Municipality hosts MC2CM event in urban migration governance",
        "2019-07-03T07:28:20+00:00",
    ),
    ("Expert voice: Migration policy-making in times of crisis", "2019-07-01T11:16:00+00:00"),
    (
        "ICMPD Around the Globe: Michael Spindelegger opens the Mobility Partnership "
        "Conference while on mission in Baku",
        "2019-06-27T13:52:54+00:00",
    ),
    (
        "Project News: FReM III organises First Annual Lessons Learned Meeting",
        "2019-06-27T12:22:12+00:00",
    ),
    (
        "Project News: Comprehensive Migration Policy for Afghanistan presented in Kabul, "
        "Afghanistan",
        "2019-06-25T08:58:41+00:00",
    ),
    (
        "Project News :ICMPD expert panel at the 2019 European Development Days",
        "2019-06-19T14:32:19+00:00",
    ),
]


def _fixture_feed() -> ParsedFeed:
    return parse_feed(
        FIXTURE.read_bytes(),
        headers={"Content-Type": "application/rss+xml; charset=utf-8"},
        base_url=FEED_URL,
        now=NOW,
    )


def _rss(items: str, *, channel_title: str = "Test feed", decl: str = "") -> str:
    return (
        f'{decl}<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{channel_title}</title><link>https://example.org/</link>"
        f"{items}</channel></rss>"
    )


def _one(xml: str | bytes, **kwargs: object) -> Entry:
    body = xml.encode("utf-8") if isinstance(xml, str) else xml
    feed = parse_feed(body, now=NOW, **kwargs)  # type: ignore[arg-type]
    assert len(feed.entries) == 1
    return feed.entries[0]


# --- the real sample ----------------------------------------------------------


def test_fixture_parses_as_rss_2_with_ten_entries_and_no_error() -> None:
    # Given the fixture rebuilt from the real feed
    # When it is parsed
    feed = _fixture_feed()
    # Then it is a clean RSS 2.0 feed of ten entries
    assert feed.version == "rss20"
    assert feed.title == "www.icmpd.org"
    assert feed.error is None
    assert len(feed.entries) == 10


def test_fixture_titles_and_utc_dates_are_exact() -> None:
    feed = _fixture_feed()
    got = [(e.title, e.published.isoformat() if e.published else None) for e in feed.entries]
    assert got == EXPECTED_ITEMS
    assert feed.entries[0].published == datetime(2019, 7, 16, 13, 32, 30, tzinfo=UTC)


def test_fixture_links_are_the_seed_links_with_their_double_slash() -> None:
    # Given the links as they appear in the seed text
    seed_links = re.findall(r"https://www\.icmpd\.org//\S+", SEED.read_text("utf-8"))
    # When the fixture is parsed / Then each entry has its link, untouched by parsing
    assert [e.link for e in _fixture_feed().entries] == seed_links
    assert len(seed_links) == 10


def test_fixture_entries_have_no_guid_no_categories_and_no_problems() -> None:
    for entry in _fixture_feed().entries:
        assert entry.guid is None
        assert entry.categories == ()
        assert entry.problems == ()


def test_fixture_summaries_are_the_teasers() -> None:
    entries = _fixture_feed().entries
    assert all(e.summary_text.endswith("...") for e in entries)
    assert entries[1].summary_text == (
        "ICMPD organised a roundtable discussion among Turkish institutions and "
        "European Return and..."
    )


def test_fixture_content_text_holds_every_paragraph_of_the_seed_in_order() -> None:
    # Given the seed text with whitespace collapsed
    seed = collapse_whitespace(SEED.read_text("utf-8"))
    cursor = 0
    paragraph_count = 0
    for entry in _fixture_feed().entries:
        paragraphs = entry.content_text.split("\n\n")
        paragraph_count += len(paragraphs)
        # Then each plain-text paragraph is a piece of the seed, in order
        for paragraph in paragraphs:
            found = seed.find(paragraph, cursor)
            assert found >= 0, paragraph[:80]
            cursor = found + len(paragraph)
    # And none was lost or merged (the fixture has 81 <p> paragraphs)
    assert paragraph_count == FIXTURE.read_text("utf-8").count("<p>") == 81


def test_fixture_keeps_non_ascii_text() -> None:
    entry = _fixture_feed().entries[1]
    assert "Turkish Red Crescent (Kızılay)" in entry.content_text
    assert "ICMPD’s SUPREME - TR project “Strengthening" in entry.content_text
    assert "<p>During the roundtable" in entry.content_html


# --- formats ------------------------------------------------------------------

RSS_1_0 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.org/"><title>RSS one</title>
    <link>https://example.org/</link><description>d</description></channel>
  <item rdf:about="https://example.org/1">
    <title>Türkiye &amp; the EU</title><link>https://example.org/1</link>
    <description>Short &lt;b&gt;teaser&lt;/b&gt;</description>
    <dc:date>2019-07-01T10:00:00+02:00</dc:date><dc:subject>Migration</dc:subject>
  </item>
</rdf:RDF>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Atom &amp;amp; co</title><id>urn:feed</id>
  <updated>2019-07-02T00:00:00Z</updated>
  <entry>
    <title type="html">Caf&amp;eacute; &lt;b&gt;news&lt;/b&gt;</title>
    <id> urn:uuid:1 </id>
    <link rel="alternate" href="/news/1"/>
    <updated>2019-07-02T10:00:00+02:00</updated>
    <category term="Border management"/><category term="Border management"/>
    <summary>Plain &lt;summary&gt;</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <p>Hello <a href="/x">there</a></p><p>Second</p></div></content>
  </entry>
</feed>"""


def test_rss_1_0() -> None:
    # Given an RSS 1.0 (RDF) feed
    feed = parse_feed(RSS_1_0.encode(), now=NOW)
    # Then entries come out like RSS 2.0 ones; dc:date is the date, rdf:about the id
    assert feed.version == "rss10"
    assert feed.title == "RSS one"
    entry = feed.entries[0]
    assert entry.title == "Türkiye & the EU"
    assert entry.link == "https://example.org/1"
    assert entry.guid == "https://example.org/1"
    assert entry.summary_text == "Short teaser"
    assert entry.content_text == "Short teaser"  # no content: the summary stands in
    assert entry.published == datetime(2019, 7, 1, 8, 0, tzinfo=UTC)
    assert entry.categories == ("Migration",)
    assert entry.problems == ()


def test_atom_1_0() -> None:
    # Given an Atom feed with a relative link, xhtml content and an HTML title
    feed = parse_feed(ATOM.encode(), base_url="https://example.org/feed.atom", now=NOW)
    # Then the link and content URLs are resolved, texts are plain, id is the guid
    assert feed.version == "atom10"
    assert feed.title == "Atom & co"
    assert feed.error is None
    entry = feed.entries[0]
    assert entry.title == "Café news"
    assert entry.guid == "urn:uuid:1"
    assert entry.link == "https://example.org/news/1"
    assert entry.summary_text == "Plain <summary>"  # Atom type="text": literal text
    assert entry.content_text == "Hello there\n\nSecond"
    assert '<a href="https://example.org/x">there</a>' in entry.content_html
    assert entry.published == datetime(2019, 7, 2, 8, 0, tzinfo=UTC)  # from <updated>
    assert entry.categories == ("Border management",)


def test_atom_published_is_preferred_to_updated() -> None:
    xml = ATOM.replace(
        "<updated>2019-07-02T10:00:00+02:00</updated>",
        "<published>2019-06-30T00:00:00Z</published><updated>2019-07-02T10:00:00+02:00</updated>",
    )
    assert _one(xml).published == datetime(2019, 6, 30, tzinfo=UTC)


def test_atom_html_content_without_summary_gives_a_plain_summary() -> None:
    # Given an Atom entry with HTML content and no summary (feedparser copies
    # the content into the summary, without saying it is HTML)
    xml = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><entry><title>t</title>'
        '<content type="html">&lt;p&gt;One &amp;amp; two&lt;/p&gt;</content></entry></feed>'
    )
    entry = _one(xml)
    # Then the summary is plain text too
    assert entry.summary_text == entry.content_text == "One & two"


def test_rss_categories_are_plain_text_and_deduplicated() -> None:
    xml = _rss(
        "<item><title>t</title><category>Migration &amp;amp; Asylum</category>"
        "<category> Migration  &amp;amp; Asylum </category>"
        "<category>&lt;b&gt;Bold&lt;/b&gt;</category><category></category></item>"
    )
    assert _one(xml).categories == ("Migration & Asylum", "Bold")


def test_html_in_rss_titles_becomes_text() -> None:
    # Given RSS titles with entity-escaped markup, including tags feedparser leaves alone
    xml = _rss(
        "<item><title>&lt;b&gt;Bold&lt;/b&gt; &amp;amp; &lt;script&gt;alert(1)&lt;/script&gt;"
        "title</title></item>",
        channel_title="Feed &amp;lt;i&amp;gt;",
    )
    feed = parse_feed(xml.encode(), now=NOW)
    # Then tags are gone (script with its content) and entities are text
    assert feed.entries[0].title == "Bold & title"
    assert feed.title == "Feed <i>"


def test_a_plain_less_than_sign_in_a_title_survives() -> None:
    assert _one(_rss("<item><title>A &lt; B &amp; C</title></item>")).title == "A < B & C"


# --- malformed feeds and missing fields ---------------------------------------


def test_bozo_feed_returns_what_parsed_and_the_error() -> None:
    # Given a feed with an unescaped ampersand (not well-formed XML)
    xml = _rss(
        "<item><title>Fish & chips</title><link>https://example.org/1</link>"
        "<pubDate>Tue, 16 Jul 2019 15:32:30 +0200</pubDate></item>"
    )
    # When it is parsed
    feed = parse_feed(xml.encode(), now=NOW)
    # Then the entry is still there and the error says what was wrong, on one line
    assert [e.title for e in feed.entries] == ["Fish & chips"]
    assert feed.error is not None and "not well-formed" in feed.error
    assert "\n" not in feed.error


ITEM_PARTS = {
    "title": "<title>Title</title>",
    "link": "<link>https://example.org/a</link>",
    "date": "<pubDate>Tue, 16 Jul 2019 15:32:30 +0200</pubDate>",
}


@pytest.mark.parametrize(
    "present", list(itertools.product([True, False], repeat=3)), ids=lambda p: repr(p)
)
def test_missing_fields_in_every_combination(present: tuple[bool, bool, bool]) -> None:
    # Given an item with any combination of title, link and date (and a description)
    has_title, has_link, has_date = present
    parts = [part for part, keep in zip(ITEM_PARTS.values(), present, strict=True) if keep]
    xml = _rss("<item>" + "".join(parts) + "<description>Teaser...</description></item>")
    # When it is parsed
    entry = _one(xml)
    # Then the entry is returned with what it has and a note for each missing field
    assert entry.title == ("Title" if has_title else "")
    assert entry.link == ("https://example.org/a" if has_link else None)
    assert entry.published == (datetime(2019, 7, 16, 13, 32, 30, tzinfo=UTC) if has_date else None)
    assert entry.summary_text == "Teaser..."
    expected = [
        note
        for note, has in [("no title", has_title), ("no link", has_link), ("no date", has_date)]
        if not has
    ]
    assert list(entry.problems) == expected


def test_an_empty_item_is_returned_with_all_problems() -> None:
    entry = _one(_rss("<item></item>"))
    assert (entry.title, entry.link, entry.published, entry.guid) == ("", None, None, None)
    assert (entry.summary_text, entry.content_text, entry.content_html) == ("", "", "")
    assert entry.problems == ("no title", "no link", "no date")


def test_content_without_description_gives_both_texts() -> None:
    xml = _rss(
        "<item><title>t</title><content:encoded><![CDATA[<p>Only</p>]]></content:encoded></item>"
    )
    entry = _one(xml)
    assert entry.content_text == "Only"
    assert entry.content_html == "<p>Only</p>"


def test_guid_is_stripped_and_an_empty_guid_is_none() -> None:
    assert _one(_rss("<item><guid isPermaLink='false'>  abc-1 </guid></item>")).guid == "abc-1"
    assert _one(_rss("<item><guid isPermaLink='false'>   </guid></item>")).guid is None


# --- dates ---------------------------------------------------------------------


# FeedParserDict aliases a missing 'updated' to 'published' with a warning; it must not be read.
@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_unparseable_date_is_none_with_a_problem() -> None:
    entry = _one(_rss("<item><title>t</title><pubDate>sometime soon</pubDate></item>"))
    assert entry.published is None
    assert "unparseable date 'sometime soon'" in entry.problems


def test_far_future_date_is_not_believed() -> None:
    # Given an item dated 2099
    entry = _one(
        _rss("<item><title>t</title><pubDate>Thu, 01 Jan 2099 00:00:00 GMT</pubDate></item>")
    )
    # Then it has no date (so month counts are not polluted) and a problem says why
    assert entry.published is None
    assert any(p.startswith("date in the future") for p in entry.problems)


def test_a_date_within_a_day_ahead_is_kept() -> None:
    # Given an item dated 23 hours after "now" (clock skew, time zones)
    ahead = NOW + timedelta(hours=23)
    date = ahead.strftime("%a, %d %b %Y %H:%M:%S +0000")
    entry = _one(_rss(f"<item><title>t</title><pubDate>{date}</pubDate></item>"))
    # Then it is believed
    assert entry.published == ahead
    assert entry.problems == ("no link",)


def test_the_future_is_relative_to_now() -> None:
    xml = _rss("<item><title>t</title><pubDate>Tue, 16 Jul 2019 15:32:30 +0200</pubDate></item>")
    early = parse_feed(xml.encode(), now=datetime(2019, 7, 1, tzinfo=UTC)).entries[0]
    assert early.published is None
    assert any(p.startswith("date in the future") for p in early.problems)


def test_dates_are_converted_to_aware_utc() -> None:
    entry = _one(
        _rss("<item><title>t</title><pubDate>Wed, 19 Jun 2019 16:32:19 +0200</pubDate></item>")
    )
    assert entry.published == datetime(2019, 6, 19, 14, 32, 19, tzinfo=UTC)
    assert entry.published is not None and entry.published.utcoffset() == timedelta(0)


# --- links -----------------------------------------------------------------------


def test_relative_link_is_resolved_against_the_feed_url() -> None:
    entry = _one(
        _rss("<item><title>t</title><link>/news-centre/x/</link></item>"), base_url=FEED_URL
    )
    assert entry.link == "https://www.icmpd.org/news-centre/x/"


def test_relative_link_without_a_base_is_dropped() -> None:
    entry = _one(_rss("<item><title>t</title><link>/news-centre/x/</link></item>"))
    assert entry.link is None
    assert entry.problems == ("relative link dropped ('/news-centre/x/')", "no date")


@pytest.mark.parametrize(
    ("link", "scheme"),
    [
        ("javascript:alert(1)", "javascript"),
        ("JavaScript:alert(document.cookie)", "javascript"),
        ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "data"),
        ("vbscript:msgbox(1)", "vbscript"),
        ("ftp://example.org/file", "ftp"),
        ("file:///etc/passwd", "file"),
    ],
)
def test_non_http_links_are_dropped_with_a_problem(link: str, scheme: str) -> None:
    entry = _one(_rss(f"<item><title>t</title><link>{link}</link></item>"), base_url=FEED_URL)
    assert entry.link is None
    assert f"unsafe link dropped ({scheme}:)" in entry.problems


def test_an_obfuscated_javascript_link_is_dropped() -> None:
    # Given a javascript: link split by a tab and a newline (browsers ignore them)
    entry = _one(_rss("<item><title>t</title><link>java&#9;scr&#10;ipt:alert(1)</link></item>"))
    assert entry.link is None
    assert "unsafe link dropped (javascript:)" in entry.problems


@pytest.mark.parametrize(
    "link", ["https://exa mple.org/x", "https:", "http://", "https://:80/x", "http://[::1/x"]
)
def test_malformed_http_links_are_dropped(link: str) -> None:
    entry = _one(_rss(f"<item><title>t</title><link>{link}</link></item>"))
    assert entry.link is None
    assert any(p.startswith("malformed link dropped") for p in entry.problems)


# --- hostile content -------------------------------------------------------------

HOSTILE_HTML = (
    "<p>Safe text</p>"
    "<script>alert('content')</script>"
    '<img src="https://example.org/i.png" onerror="alert(1)" alt="i">'
    '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" alt="d">'
    '<a href="javascript:alert(1)" onclick="alert(2)">js link</a>'
    '<a href="https://example.org/ok">ok link</a>'
    '<iframe src="https://evil.example/"></iframe>'
    '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/e">'
)


def _assert_inert(markup: str) -> None:
    lowered = markup.lower()
    for needle in ["<script", "alert(", "onerror", "onclick", "javascript:", "data:", "<iframe",
                   "<object", "<embed"]:  # fmt: skip
        assert needle not in lowered, needle


def test_hostile_content_is_sanitised() -> None:
    # Given content:encoded with script, event handlers, javascript:/data: URLs and embeds
    xml = _rss(
        f"<item><title>t</title><content:encoded><![CDATA[{HOSTILE_HTML}]]></content:encoded></item>"
    )
    entry = _one(xml)
    # Then the HTML keeps the safe parts only and the text has no script
    _assert_inert(entry.content_html)
    assert 'src="https://example.org/i.png"' in entry.content_html
    assert '<a href="https://example.org/ok">ok link</a>' in entry.content_html
    assert entry.content_text == "Safe text\n\njs linkok link"
    assert "alert" not in entry.content_text


def test_data_urls_in_content_are_removed_by_the_post_check() -> None:
    # Given an image with a data: URL (feedparser's sanitiser lets this one through)
    xml = _rss(
        '<item><title>t</title><content:encoded><![CDATA[<img src="data:image/png;base64,AAAA" '
        'alt="x"><a href="data:text/html,hi">d</a>]]></content:encoded></item>'
    )
    # Then the defensive post-check removes it (feedparser itself blanks the href)
    assert _one(xml).content_html == '<img alt="x" /><a href="">d</a>'


def test_hostile_summary_is_sanitised_when_it_stands_in_for_content() -> None:
    xml = _rss(
        f"<item><title>t</title><description><![CDATA[{HOSTILE_HTML}]]></description></item>"
    )
    entry = _one(xml)
    _assert_inert(entry.content_html)
    assert "alert" not in entry.summary_text
    assert entry.summary_text == entry.content_text


def test_hostile_title_is_plain_text() -> None:
    xml = _rss(
        '<item><title><![CDATA[<a href="javascript:alert(1)" onmouseover="x()">Click</a>'
        "<script>alert(1)</script> <img src=x onerror=alert(1)>me]]></title></item>"
    )
    assert _one(xml).title == "Click me"


def test_hostile_atom_content_is_sanitised() -> None:
    xml = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><entry><title>t</title>'
        '<link href="javascript:alert(1)"/>'
        f'<content type="html"><![CDATA[{HOSTILE_HTML}]]></content></entry></feed>'
    )
    entry = _one(xml)
    _assert_inert(entry.content_html)
    assert entry.link is None
    assert "unsafe link dropped (javascript:)" in entry.problems


# --- not a feed ------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \n\t  "])
def test_empty_body_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(FeedParseError, match="empty"):
        parse_feed(body)


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>News</title></head><body><p>Hi</p></body></html>",
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    ],
)
def test_an_html_page_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(FeedParseError, match="HTML page"):
        parse_feed(body, headers={"Content-Type": "text/html; charset=utf-8"})


@pytest.mark.parametrize("body", [b'{"items": []}', b"just some text", b"\x00\x01\x02\xff"])
def test_other_non_feeds_are_refused(body: bytes) -> None:
    with pytest.raises(FeedParseError, match="no feed"):
        parse_feed(body)


def test_a_valid_feed_without_items_is_not_an_error() -> None:
    feed = parse_feed(_rss("").encode())
    assert feed.entries == ()
    assert feed.version == "rss20"


def test_truncated_body_returns_the_complete_items_and_an_error() -> None:
    # Given the real sample cut off in the middle of its third item
    body = FIXTURE.read_bytes()
    third = body.index(b"<item>", body.index(b"<item>", body.index(b"<item>") + 1) + 1)
    truncated = body[: third + 300]
    # When it is parsed
    feed = parse_feed(truncated, now=NOW)
    # Then the first two items are complete and the error says the body was cut
    assert [e.title for e in feed.entries[:2]] == [t for t, _ in EXPECTED_ITEMS[:2]]
    assert feed.entries[1].published == datetime(2019, 7, 12, 11, 39, 32, tzinfo=UTC)
    assert feed.error is not None


def test_bytes_that_look_like_a_file_name_are_not_opened(tmp_path: Path) -> None:
    # Given a real feed file on disk, and a body that is nothing but its path
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(_rss("<item><title>SECRET FILE ITEM</title></item>").encode())
    # When the path's bytes are parsed (feedparser.parse(bytes) would open the file)
    # Then they are a non-feed body, and the file's item never appears
    with pytest.raises(FeedParseError):
        parse_feed(str(feed_file).encode())


# --- entities: no expansion, no file access ---------------------------------------


def _with_doctype(subset: str, item: str, *, one_line: bool) -> bytes:
    sep = "" if one_line else "\n"
    return (
        f'<?xml version="1.0"?>{sep}<!DOCTYPE rss [{sep}{subset}{sep}]>{sep}' + _rss(item)
    ).encode()


@pytest.mark.parametrize("one_line", [False, True])
def test_external_entities_are_not_read(tmp_path: Path, one_line: bool) -> None:
    # Given a secret file and a feed that declares an external entity pointing at it
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = _with_doctype(
        f'<!ENTITY xxe SYSTEM "file://{secret}">',
        "<item><title>a&xxe;b</title><description>x&xxe;y</description></item>",
        one_line=one_line,
    )
    # When it is parsed
    feed = parse_feed(body, now=NOW)
    # Then the file's content appears nowhere
    assert "TOP-SECRET" not in repr(feed)


def test_an_external_dtd_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "evil.dtd"
    secret.write_text('<!ENTITY leak "TOP-SECRET-CONTENT">')
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file://{secret}">'
        + _rss("<item><title>a&leak;b</title></item>")
    ).encode()
    assert "TOP-SECRET" not in repr(parse_feed(body, now=NOW))


@pytest.mark.parametrize("one_line", [False, True])
def test_billion_laughs_is_not_expanded(one_line: bool) -> None:
    # Given the classic nested-entity bomb
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    body = _with_doctype(
        ("" if one_line else "\n").join(levels),
        "<item><title>&lol9;</title><description>&lol9;</description></item>",
        one_line=one_line,
    )
    # When it is parsed / Then nothing was expanded and the error says so
    feed = parse_feed(body, now=NOW)
    assert len(repr(feed)) < len(body)
    assert feed.error is not None and "entities" in feed.error


@pytest.mark.parametrize("one_line", [False, True])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_large_literal_entity_is_not_multiplied(one_line: bool, encoding: str) -> None:
    # Given one 1,000-character entity referenced 4,000 times: a 13 KB body that
    # feedparser (multi-line DOCTYPE) or expat (one-line DOCTYPE) expands to 4 MB
    body = _with_doctype(
        f'<!ENTITY big "{"A" * 1000}">',
        "<item><title>t</title><description>" + "&big;" * 4000 + "</description></item>",
        one_line=one_line,
    )
    if encoding == "utf-16":
        text = body.decode().replace(
            '<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>'
        )
        body = text.encode("utf-16")
    # When it is parsed
    feed = parse_feed(body, now=NOW)
    # Then the entry is there but nothing grew: the declarations were disabled
    assert [e.title for e in feed.entries] == ["t"]
    assert len(feed.entries[0].summary_text) < 100_000
    assert feed.error is not None and "DOCTYPE declares entities" in feed.error


def test_a_doctype_without_entities_is_left_alone() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>c</title><item><title>Caf&#233;</title></item>'
        b"</channel></rss>"
    )
    feed = parse_feed(body, now=NOW)
    assert feed.error is None
    assert feed.entries[0].title == "Café"


# --- encodings ----------------------------------------------------------------------

TEXT = "Kızılay in Türkiye, a café “quoted” – dash"
LATIN1_TEXT = "Türkiye café"
CP1252_TEXT = "Türkiye café “quoted” – dash"


def _encoded(title: str, *, decl: str, encoding: str) -> bytes:
    return _rss(f"<item><title>{title}</title></item>", decl=decl).encode(encoding)


def test_declared_iso_8859_1() -> None:
    body = _encoded(
        LATIN1_TEXT, decl='<?xml version="1.0" encoding="ISO-8859-1"?>', encoding="latin-1"
    )
    feed = parse_feed(body, now=NOW)
    assert feed.entries[0].title == LATIN1_TEXT
    assert feed.error is None


def test_character_references_carry_what_latin_1_cannot() -> None:
    body = _encoded(
        "K&#305;z&#305;lay caf\xe9",
        decl='<?xml version="1.0" encoding="ISO-8859-1"?>',
        encoding="latin-1",
    )
    assert _one(body).title == "Kızılay café"


def test_undeclared_windows_1252() -> None:
    body = _encoded(CP1252_TEXT, decl="", encoding="cp1252")
    assert _one(body).title == CP1252_TEXT


def test_iso_8859_1_label_on_windows_1252_bytes_reads_as_windows_1252() -> None:
    # Given curly quotes and a dash (bytes 0x93, 0x94, 0x96) under an ISO-8859-1 label
    body = _encoded(
        CP1252_TEXT, decl='<?xml version="1.0" encoding="iso-8859-1"?>', encoding="cp1252"
    )
    # Then they come out as the characters meant, not as C1 control characters
    feed = parse_feed(body, now=NOW)
    assert feed.entries[0].title == CP1252_TEXT
    assert feed.error is not None and "windows-1252" in feed.error


@pytest.mark.parametrize("decl", ['<?xml version="1.0" encoding="UTF-16"?>', ""])
def test_utf_16_with_bom(decl: str) -> None:
    body = _encoded(TEXT, decl=decl, encoding="utf-16")
    assert body[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert _one(body).title == TEXT


def test_declared_utf_8_but_windows_1252() -> None:
    body = _encoded(CP1252_TEXT, decl='<?xml version="1.0" encoding="utf-8"?>', encoding="cp1252")
    assert _one(body).title == CP1252_TEXT


@pytest.mark.parametrize(
    ("decl", "headers"),
    [
        ('<?xml version="1.0" encoding="iso-8859-1"?>', None),
        ('<?xml version="1.0" encoding="windows-1252"?>', None),
        ("", {"Content-Type": "text/xml; charset=ISO-8859-1"}),
        (
            '<?xml version="1.0" encoding="utf-8"?>',
            {"content-type": "application/rss+xml; charset=latin1"},
        ),
    ],
)
def test_declared_single_byte_but_utf_8(decl: str, headers: dict[str, str] | None) -> None:
    # Given a UTF-8 body labelled (declaration or HTTP charset) as a single-byte encoding
    body = _encoded(TEXT, decl=decl, encoding="utf-8")
    # When it is parsed
    feed = parse_feed(body, headers=headers, now=NOW)
    # Then the text is right, not mojibake, and the repair is reported
    assert feed.entries[0].title == TEXT
    assert feed.error is not None and "the body is utf-8" in feed.error


def test_utf_8_without_any_content_type_header() -> None:
    # Given response headers without Content-Type (feedparser alone assumes ISO-8859-1)
    body = _encoded(TEXT, decl="", encoding="utf-8")
    feed = parse_feed(body, headers={"Server": "TYPO3"}, now=NOW)
    assert feed.entries[0].title == TEXT


def test_text_xml_without_charset_still_reads_utf_8() -> None:
    body = _encoded(TEXT, decl='<?xml version="1.0" encoding="utf-8"?>', encoding="utf-8")
    assert _one(body, headers={"Content-Type": "text/xml"}).title == TEXT


def test_other_single_byte_encodings_are_trusted() -> None:
    body = _encoded("Привет", decl='<?xml version="1.0" encoding="koi8-r"?>', encoding="koi8-r")
    feed = parse_feed(body, now=NOW)
    assert feed.entries[0].title == "Привет"
    assert feed.error is None


# --- robustness -------------------------------------------------------------------------


def _outcome(body: bytes) -> ParsedFeed | None:
    """Parse, allowing only the documented failure."""
    try:
        return parse_feed(body, now=NOW)
    except FeedParseError:
        return None


def test_random_bytes_never_crash() -> None:
    rng = random.Random(20190716)
    for _ in range(150):
        _outcome(rng.randbytes(rng.randrange(1, 3000)))


def test_corrupted_and_truncated_fixture_never_crashes() -> None:
    rng = random.Random(1607)
    original = FIXTURE.read_bytes()
    for _ in range(60):
        corrupted = bytearray(original)
        for _ in range(rng.randrange(1, 40)):
            corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
        cut = rng.randrange(1, len(corrupted) + 1)
        result = _outcome(bytes(corrupted[:cut]))
        if result is not None:
            assert all(isinstance(e, Entry) for e in result.entries)


def test_markup_soup_never_crashes() -> None:
    rng = random.Random(42)
    pieces = [
        b"<rss>", b"<channel>", b"<item>", b"</item>", b"<title>", b"</title>", b"<![CDATA[",
        b"]]>", b"&amp;", b"&#xD800;", b"&#0;", b"<!DOCTYPE x [", b"<!ENTITY e 'v'>", b"]>",
        b"<?xml version='1.0' encoding='utf-16'?>", b"\x00", b"\xff\xfe", b"<link>",
        b"javascript:", b"<script>", b"<", b">", b'"', b"x", b"<pubDate>", b"99 Foo 2019",
    ]  # fmt: skip
    for _ in range(150):
        _outcome(b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 200))))


def test_deeply_nested_xml_and_html() -> None:
    # Given 20,000 nested XML elements inside an item and 20,000 nested divs in its content
    nested_xml = "<x>" * 20_000 + "z" + "</x>" * 20_000
    nested_html = "&lt;div&gt;" * 20_000 + "deep" + "&lt;/div&gt;" * 20_000
    xml = _rss(f"<item><title>t</title>{nested_xml}<description>{nested_html}</description></item>")
    # When it is parsed / Then it neither crashes nor loses the item
    entry = _one(xml)
    assert entry.title == "t"
    assert entry.content_text == "deep"


def test_a_naive_now_is_taken_as_utc() -> None:
    xml = _rss("<item><title>t</title><pubDate>Thu, 01 Jan 2099 00:00:00 GMT</pubDate></item>")
    entry = parse_feed(xml.encode(), now=datetime(2019, 7, 17)).entries[0]
    assert entry.published is None


def test_an_exception_inside_feedparser_becomes_a_parse_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a feedparser that blows up on some input
    def explode(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("feed_archiver.parse.feedparser.parse", explode)
    # When a body is parsed / Then the run sees the documented error, not a crash
    with pytest.raises(FeedParseError, match="feedparser failed: RecursionError"):
        parse_feed(FIXTURE.read_bytes())


def test_text_xml_without_charset_lets_the_xml_declaration_decide() -> None:
    # Given a clean UTF-8 feed served as text/xml with no charset (RFC 7303: the declaration decides)
    body = FIXTURE.read_bytes()
    # When it is parsed
    feed = parse_feed(body, headers={"Content-Type": "text/xml"}, now=NOW)
    # Then no encoding error is recorded and the non-ASCII text is intact
    assert feed.error is None
    assert any("Kızılay" in e.content_text for e in feed.entries)
