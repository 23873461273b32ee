"""Hostile and broken feeds, end to end: served over HTTP, run by run_feeds or the handler.

Each case serves one hostile feed next to a good feed and runs them
together. Whatever the hostile feed does, the run returns (no traceback, no
hang), the hostile feed's problem is one clear line in its feed state and in
the run summary, every valid item of it is archived, the good feed is archived as
always, and verify finds the archive exact.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest

from feed_archiver import handler as handler_module
from feed_archiver.run import RunSummary, run_feeds
from feed_archiver.settings import Settings
from feed_archiver.storage import FeedState, Store
from tests.faults import FakeLambdaContext
from tests.hardening import (
    INPUTS,
    SEED_BODY,
    Clock,
    assert_archive_exact,
    atom,
    documents,
    one_line,
    rdf,
    reliability,
    rss,
    rss_item,
    rss_text,
)
from tests.httpserver import FeedServer, Reply, endless, gzip_bomb

pytestmark = pytest.mark.timeout(90)

# The good feed served beside every hostile one: two plain items, on their own links.
GOOD_BODY = rss(
    [rss_item(n, link=f"https://example.org/good/{n}") for n in (1, 2)], title="Good feed"
)
GOOD_ITEMS = 2
MIB = 1024 * 1024


@dataclass
class Outcome:
    """One run of a hostile feed beside a good feed."""

    url: str
    feed: Any  # FeedSummary of the hostile feed
    state: FeedState
    docs: list[dict[str, Any]]  # documents of the hostile feed
    summary: RunSummary


Runner = Callable[..., Outcome]


@pytest.fixture
def run_hostile(store: Store, settings: Settings, feed_server: FeedServer) -> Runner:
    """Serve `reply` as a feed beside a good one, run both, and check the good one came through."""
    clock = Clock()

    def run(reply: Reply | bytes, *, options: Settings = settings) -> Outcome:
        if isinstance(reply, bytes):
            reply = Reply(body=reply)
        hostile = feed_server.route("/hostile.xml", reply)
        good = feed_server.route("/good.xml", Reply(body=GOOD_BODY))
        summary = run_feeds(store, options, [hostile, good], now=clock)
        by_url = {f.feed_url: f for f in summary.feeds}
        other = by_url[good]
        assert (other.status, other.items_new) in (("ok", GOOD_ITEMS), ("not_modified", 0)), other
        docs = [d for d in documents(store) if d["feed_url"] == hostile]
        clock.advance(hours=1)
        return Outcome(hostile, by_url[hostile], store.get_feed_state(hostile), docs, summary)

    return run


def links(outcome: Outcome) -> set[str]:
    return {d["link"] for d in outcome.docs}


def news(*numbers: int) -> set[str]:
    return {f"https://example.org/news/{n}" for n in numbers}


def assert_failed_cleanly(outcome: Outcome, pattern: str) -> None:
    """The feed failed; the error is one line, in the summary and the state; nothing stored."""
    feed, state = outcome.feed, outcome.state
    assert feed.status == "failed"
    assert one_line(feed.error) and re.search(pattern, feed.error), feed.error
    assert state.last_error == feed.error
    assert (state.status, state.consecutive_failures) == ("failing", 1)
    assert outcome.docs == []
    assert outcome.summary.failed == [feed]


def assert_repaired_cleanly(outcome: Outcome, pattern: str) -> None:
    """The feed was archived; what was wrong with it is one line in the summary and the state."""
    feed, state = outcome.feed, outcome.state
    assert feed.status == "ok", feed
    assert one_line(feed.parse_error) and re.search(pattern, feed.parse_error), feed.parse_error
    assert state.last_error == feed.parse_error
    assert outcome.summary.failed == []


# --- broken bodies -----------------------------------------------------------------------

FOUR = [rss_item(n) for n in (1, 2, 3, 4)]
BROKEN_ITEM = "<item><title>Broken <b>unclosed</title><link>https://example.org/news/x</link>"


@reliability(
    INPUTS,
    "malformed XML: an unclosed tag in the middle of the feed",
    "feed ok, the parse problem is one line in summary and state; every valid item archived",
)
def test_an_unclosed_tag_mid_feed_still_archives_every_valid_item(
    store: Store, run_hostile: Runner
) -> None:
    # Given a feed whose second item leaves a tag open
    body = rss([rss_item(1), BROKEN_ITEM, rss_item(2), rss_item(3)])
    # When it is archived
    outcome = run_hostile(body)
    # Then the valid items around it are archived and the problem is reported in one line
    assert_repaired_cleanly(outcome, r"mismatched tag|not well-formed")
    assert news(1, 2, 3) <= links(outcome)
    assert_archive_exact(store, count=GOOD_ITEMS + len(outcome.docs))


@reliability(
    INPUTS,
    "truncated body (cut inside the last item)",
    "feed ok, the problem reported; the complete items before the cut archived",
)
def test_a_truncated_body_archives_the_items_before_the_cut(
    store: Store, run_hostile: Runner
) -> None:
    # Given a feed cut off in the middle of its fourth item
    whole = rss(FOUR)
    body = whole[: whole.index(b"Summary of item 4")]
    # When it is archived
    outcome = run_hostile(body)
    # Then the three whole items are archived
    assert_repaired_cleanly(outcome, r"SAXParseException")
    assert news(1, 2, 3) <= links(outcome)
    assert_archive_exact(store, count=GOOD_ITEMS + len(outcome.docs))


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        pytest.param(
            b"<!DOCTYPE html><html><head><title>Maintenance</title></head>"
            b"<body><p>Back soon</p></body></html>",
            r"^the body is an HTML page, not a feed$",
            id="html-page",
            marks=reliability(
                INPUTS,
                "an HTML page instead of a feed",
                "feed failed with one clear line in summary and state; nothing stored",
            ),
        ),
        pytest.param(
            b"",
            r"^empty body: not a feed$",
            id="empty",
            marks=reliability(
                INPUTS, "an empty body", "feed failed with one clear line; nothing stored"
            ),
        ),
        pytest.param(
            b" \r\n\t \n",
            r"^empty body: not a feed$",
            id="whitespace",
            marks=reliability(
                INPUTS, "an empty body", "feed failed with one clear line; nothing stored"
            ),
        ),
        pytest.param(
            bytes(range(256)) * 40,
            r"^no feed found in the body",
            id="binary",
            marks=reliability(
                INPUTS,
                "not a feed at all (binary noise, JSON, plain text, a bare XML declaration)",
                "feed failed with one clear line; nothing stored",
            ),
        ),
        pytest.param(
            b'{"items": [{"title": "x"}]}',
            r"^no feed found in the body",
            id="json",
            marks=reliability(
                INPUTS,
                "not a feed at all (binary noise, JSON, plain text, a bare XML declaration)",
                "feed failed with one clear line; nothing stored",
            ),
        ),
        pytest.param(
            b"Service Unavailable",
            r"^no feed found in the body",
            id="text",
            marks=reliability(
                INPUTS,
                "not a feed at all (binary noise, JSON, plain text, a bare XML declaration)",
                "feed failed with one clear line; nothing stored",
            ),
        ),
        pytest.param(
            b'<?xml version="1.0" encoding="utf-8"?>',
            r"^no feed found in the body",
            id="declaration-only",
            marks=reliability(
                INPUTS,
                "not a feed at all (binary noise, JSON, plain text, a bare XML declaration)",
                "feed failed with one clear line; nothing stored",
            ),
        ),
    ],
)
def test_a_body_that_is_not_a_feed_fails_the_feed_with_one_clear_line(
    store: Store, run_hostile: Runner, body: bytes, pattern: str
) -> None:
    # When a body that is no feed is served
    outcome = run_hostile(body)
    # Then the feed failed with one readable line, recorded; the good feed beside it is archived
    assert_failed_cleanly(outcome, pattern)
    assert_archive_exact(store, count=GOOD_ITEMS)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(rss(FOUR) + b"<garbage>\x00</garbage>", id="trailing-garbage"),
        pytest.param(
            rss([rss_item(1), rss_item(2, title="Bell \x07 and \x01 control"), rss_item(3)]),
            id="control-characters",
        ),
        pytest.param(
            rss(
                [rss_item(1), rss_item(2, content="<p>open CDATA never closed"), rss_item(3)]
            ).replace(b"]]>", b"", 1),
            id="unclosed-cdata",
        ),
    ],
)
@reliability(
    INPUTS,
    "malformed XML: trailing garbage, control characters, an unclosed CDATA section",
    "no traceback; the problem reported in one line; the items outside the damage archived",
)
def test_other_malformed_bodies_end_with_a_recorded_problem(
    store: Store, run_hostile: Runner, body: bytes
) -> None:
    # When a malformed body is archived
    outcome = run_hostile(body)
    # Then the feed either archived what it could or failed cleanly, and the problem is recorded
    feed = outcome.feed
    assert feed.status in ("ok", "failed"), feed
    problem = feed.parse_error if feed.status == "ok" else feed.error
    assert one_line(problem) and outcome.state.last_error == problem
    assert news(1) <= links(outcome)
    assert_archive_exact(store, count=GOOD_ITEMS + len(outcome.docs))


@reliability(
    INPUTS,
    "a valid feed with no items",
    "feed ok, nothing stored, no error",
)
def test_a_feed_without_items_is_fine(store: Store, run_hostile: Runner) -> None:
    outcome = run_hostile(rss([]))
    assert (outcome.feed.status, outcome.feed.error, outcome.docs) == ("ok", None, [])
    assert_archive_exact(store, count=GOOD_ITEMS)


# --- encodings ---------------------------------------------------------------------------

LATIN = "Café, Straße, naïve, Ørsted"
CP1252 = "“Quoted” – Café €5"
WIDE = "Kızılay – “Žižek” über Flüchtlinge"


def _encoded(title: str, declaration: str, codec: str) -> bytes:
    return rss_text([rss_item(1, title=title)], declaration=declaration).encode(codec)


ENCODINGS = [
    ("iso-8859-1-declared", LATIN, _encoded(LATIN, '<?xml version="1.0" encoding="ISO-8859-1"?>', "latin-1"), "application/rss+xml"),
    ("windows-1252-undeclared", CP1252, _encoded(CP1252, '<?xml version="1.0"?>', "cp1252"), "application/rss+xml"),
    ("windows-1252-declared-latin1", CP1252, _encoded(CP1252, '<?xml version="1.0" encoding="iso-8859-1"?>', "cp1252"), "text/xml"),
    ("utf-16-le-bom", WIDE, _encoded(WIDE, '<?xml version="1.0" encoding="UTF-16"?>', "utf-16"), "application/rss+xml"),
    ("utf-16-be-bom", WIDE, b"\xfe\xff" + _encoded(WIDE, '<?xml version="1.0" encoding="UTF-16"?>', "utf-16-be"), "application/xml"),
    ("utf-8-bom", WIDE, b"\xef\xbb\xbf" + _encoded(WIDE, '<?xml version="1.0" encoding="utf-8"?>', "utf-8"), "application/rss+xml"),
    ("declared-latin1-but-utf8", WIDE, _encoded(WIDE, '<?xml version="1.0" encoding="ISO-8859-1"?>', "utf-8"), "application/rss+xml"),
    ("http-charset-only", LATIN, _encoded(LATIN, "", "latin-1"), "application/rss+xml; charset=ISO-8859-1"),
    ("http-says-utf8-body-is-cp1252", CP1252, _encoded(CP1252, "", "cp1252"), "application/rss+xml; charset=utf-8"),
    ("http-says-latin1-body-is-utf8", WIDE, _encoded(WIDE, '<?xml version="1.0"?>', "utf-8"), "text/xml; charset=iso-8859-1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("expected", "body", "content_type"),
    [pytest.param(e, b, c, id=name) for name, e, b, c in ENCODINGS],
)
@reliability(
    INPUTS,
    "encodings: declared ISO-8859-1, undeclared Windows-1252, UTF-16 with BOM, UTF-8 BOM, "
    "wrong declarations, HTTP charset only or contradicting the body",
    "the stored title is exactly the text the publisher meant: no mojibake, no U+FFFD",
)
def test_every_encoding_stores_the_intended_text(
    store: Store, run_hostile: Runner, expected: str, body: bytes, content_type: str
) -> None:
    # When the feed is served in that encoding
    outcome = run_hostile(Reply(body=body, content_type=content_type))
    # Then the stored title is the intended text
    assert outcome.feed.status == "ok", outcome.feed
    (doc,) = outcome.docs
    assert doc["title"] == expected
    assert "\ufffd" not in doc["title"] and "Ã" not in doc["title"]
    assert_archive_exact(store, count=GOOD_ITEMS + 1)


# --- formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "titles", "link_prefix"),
    [
        pytest.param(rdf(3), ["RDF item 1", "RDF item 2", "RDF item 3"], "https://example.org/rdf/", id="rss-1.0"),
        pytest.param(atom(3), ["Atom item 1", "Atom item 2", "Atom item 3"], "https://example.org/atom/", id="atom-1.0"),
        pytest.param(rss(FOUR[:3]), ["Item 1", "Item 2", "Item 3"], "https://example.org/news/", id="rss-2.0"),
        pytest.param(
            rss(FOUR[:3]).replace(b'version="2.0"', b'version="0.91"'),
            ["Item 1", "Item 2", "Item 3"],
            "https://example.org/news/",
            id="rss-0.91",
        ),
    ],
)  # fmt: skip
@reliability(
    INPUTS,
    "formats: RSS 1.0 (RDF), Atom 1.0, RSS 2.0, RSS 0.91",
    "every item archived with its title, http(s) link and date",
)
def test_every_feed_format_is_archived(
    store: Store, run_hostile: Runner, body: bytes, titles: list[str], link_prefix: str
) -> None:
    outcome = run_hostile(body)
    assert (outcome.feed.status, outcome.feed.items_new) == ("ok", 3)
    docs = sorted(outcome.docs, key=lambda d: d["title"])
    assert [d["title"] for d in docs] == titles
    assert all(d["link"].startswith(link_prefix) for d in docs)
    assert all(d["published"] and not d["date_estimated"] for d in docs)
    assert_archive_exact(store, count=GOOD_ITEMS + 3)


# --- missing fields, duplicates, dates ------------------------------------------------------

FIELDS = ("guid", "link", "title", "date")
COMBINATIONS = list(itertools.product((True, False), repeat=4))


def _combination_item(k: int, has: dict[str, bool]) -> str:
    return rss_item(
        k,
        guid=f"urn:combo:{k}" if has["guid"] else None,
        link=f"https://example.org/combo/{k}" if has["link"] else None,
        title=f"Combination {k}" if has["title"] else None,
        date=f"Tue, {k + 1:02d} Jul 2019 10:00:00 +0000" if has["date"] else None,
        description=f"Only this entry says {k}.",
    )


@reliability(
    INPUTS,
    "items without guid, link, title or date: all 16 combinations in one feed",
    "16 distinct items, each archived once with its gaps noted in `problems`; "
    "a second run finds all 16 unchanged",
)
def test_every_combination_of_missing_fields_is_archived_once(
    store: Store, run_hostile: Runner
) -> None:
    # Given one feed with an entry for every combination of guid, link, title and date
    combos = [dict(zip(FIELDS, present, strict=True)) for present in COMBINATIONS]
    body = rss([_combination_item(k, has) for k, has in enumerate(combos)])
    # When it is archived
    outcome = run_hostile(body)
    # Then each entry is its own item, with what it lacks recorded
    assert (outcome.feed.status, outcome.feed.items_new, outcome.feed.duplicates) == ("ok", 16, 0)
    by_summary = {d["summary"]: d for d in outcome.docs}
    for k, has in enumerate(combos):
        doc = by_summary[f"Only this entry says {k}."]
        assert (doc["guid"] is not None) == has["guid"]
        assert (doc["link"] is not None) == has["link"]
        assert bool(doc["title"]) == has["title"]
        assert (doc["published"] is not None) == has["date"]
        assert doc["date_estimated"] == (not has["date"])
        assert ("no title" in doc["problems"]) == (not has["title"])
        assert ("no date" in doc["problems"]) == (not has["date"])
        assert ("no link" in doc["problems"]) == (not has["link"])
    assert_archive_exact(store, count=GOOD_ITEMS + 16)
    # And the identities are stable: a second run finds every item unchanged
    again = run_hostile(body + b" ")  # a changed body, so it is parsed again
    assert (again.feed.items_new, again.feed.items_updated, again.feed.items_unchanged) == (
        0,
        0,
        16,
    )
    assert_archive_exact(store, count=GOOD_ITEMS + 16)


@reliability(
    INPUTS,
    "entries with no guid, link, title or date that differ only in their text",
    "each is its own item: none is merged into another and lost",
)
def test_untitled_undated_entries_without_guid_or_link_are_not_merged(
    store: Store, run_hostile: Runner
) -> None:
    # Given three bare entries that differ only in their description
    bare = [
        rss_item(n, guid=None, link=None, title=None, date=None, description=f"Bare entry {n}")
        for n in (1, 2, 3)
    ]
    # When the feed is archived
    outcome = run_hostile(rss(bare))
    # Then all three are stored, none counted as a duplicate of another
    assert (outcome.feed.items_new, outcome.feed.duplicates) == (3, 0)
    assert sorted(d["summary"] for d in outcome.docs) == [
        "Bare entry 1",
        "Bare entry 2",
        "Bare entry 3",
    ]
    assert_archive_exact(store, count=GOOD_ITEMS + 3)


@reliability(
    INPUTS,
    "two entries with the same guid in one feed",
    "one item (the first), reported as a duplicate; counted once",
)
def test_two_entries_with_the_same_guid_are_one_item(store: Store, run_hostile: Runner) -> None:
    # Given two entries that share a guid (and one that only shares the link)
    body = rss(
        [
            rss_item(1, guid="urn:same", title="First version"),
            rss_item(2, guid="urn:same", title="Second entry, same guid"),
            rss_item(3, guid="urn:other", link="https://example.org/news/1"),
        ]
    )
    # When it is archived
    outcome = run_hostile(body)
    # Then the guid decides: two items, the first entry of the shared guid kept
    assert (outcome.feed.items_new, outcome.feed.duplicates) == (2, 1)
    titles = sorted(d["title"] for d in outcome.docs)
    assert titles == ["First version", "Item 3"]
    assert_archive_exact(store, count=GOOD_ITEMS + 2)


@pytest.mark.parametrize(
    ("date", "problem"),
    [
        pytest.param("Wed, 01 Jan 2099 00:00:00 +0000", "date in the future", id="future"),
        pytest.param("not a date at all", "unparseable date", id="unparseable"),
        pytest.param("Fri, 31 Feb 2019 10:00:00 +0000", "unparseable date", id="impossible"),
        pytest.param("", "no date", id="empty"),
    ],
)
@reliability(
    INPUTS,
    "dates in the future, unparseable, impossible or empty",
    "item archived without a date, flagged `date_estimated`, counted in the month it was "
    "first seen, with the reason in `problems`",
)
def test_bad_dates_are_counted_in_the_month_first_seen(
    store: Store, run_hostile: Runner, date: str, problem: str
) -> None:
    outcome = run_hostile(rss([rss_item(1, date=date), rss_item(2)]))
    assert outcome.feed.status == "ok"
    doc = next(d for d in outcome.docs if d["link"].endswith("/1"))
    assert (doc["published"], doc["date_estimated"], doc["month"]) == (None, True, "2019-07")
    assert any(p.startswith(problem) for p in doc["problems"]), doc["problems"]
    assert_archive_exact(store, count=GOOD_ITEMS + 2)


# --- size and amplification --------------------------------------------------------------


def _small_cap(settings: Settings, max_bytes: int) -> Settings:
    return dataclasses.replace(
        settings, fetch=dataclasses.replace(settings.fetch, max_bytes=max_bytes)
    )


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(body=rss([rss_item(n) for n in range(800)])), id="declared-length"),
        pytest.param(Reply(stream=endless(total=8 * MIB)), id="no-length-streamed"),
    ],
)
@reliability(
    INPUTS,
    "a body over the size cap (with and without Content-Length)",
    "feed failed with one line naming the cap; the body is not read past it",
)
def test_a_body_over_the_cap_fails_the_feed(
    store: Store, run_hostile: Runner, settings: Settings, reply: Reply
) -> None:
    outcome = run_hostile(reply, options=_small_cap(settings, 64 * 1024))
    assert_failed_cleanly(outcome, r"larger than 64 KiB cap")
    assert outcome.feed.bytes_fetched == 0  # nothing of it was archived or kept
    assert_archive_exact(store, count=GOOD_ITEMS)


@reliability(
    INPUTS,
    "a gzip bomb (200 MB of zeros in 200 KB)",
    "feed failed at the 10 MiB decoded cap without inflating the rest",
)
def test_a_gzip_bomb_fails_the_feed_at_the_decoded_cap(store: Store, run_hostile: Runner) -> None:
    bomb = Reply(body=gzip_bomb(200 * MIB), headers={"Content-Encoding": "gzip"})
    outcome = run_hostile(bomb)
    assert_failed_cleanly(outcome, r"decoded gzip body larger than 10 MiB cap")
    assert_archive_exact(store, count=GOOD_ITEMS)


LAUGHS = (
    '<!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>"
)
QUADRATIC = f'<!DOCTYPE rss [<!ENTITY big "{"B" * 50_000}">]>'


@pytest.mark.parametrize(
    ("doctype", "reference"),
    [
        pytest.param(LAUGHS, "&lol9;", id="billion-laughs"),
        pytest.param(QUADRATIC, "&big;" * 2000, id="quadratic-blowup"),
    ],
)
@reliability(
    INPUTS,
    "entity expansion: billion laughs and quadratic blow-up",
    "nothing expanded: every stored text stays small; the items are archived; "
    "the disabled declarations are reported",
)
def test_entity_expansion_is_never_performed(
    store: Store, run_hostile: Runner, doctype: str, reference: str
) -> None:
    body = rss(
        [rss_item(1, description=reference, raw=True), rss_item(2)],
        declaration='<?xml version="1.0"?>',
        doctype=doctype,
    )
    outcome = run_hostile(body)
    assert_repaired_cleanly(outcome, r"declarations disabled, nothing expanded")
    assert links(outcome) == news(1, 2)
    for doc in outcome.docs:
        assert len(doc["summary"]) + len(doc["content_html"]) < 100_000
        assert "lollollol" not in doc["summary"] and "BBBBBBBB" not in doc["summary"]
    assert_archive_exact(store, count=GOOD_ITEMS + 2)


@reliability(
    INPUTS,
    "external entities: file:///etc/passwd, an internal URL, cloud metadata, parameter "
    "entities, XInclude",
    "nothing is read or requested: no stored text holds the file or the internal page, "
    "and the internal URL never receives a request",
)
def test_external_entities_read_no_file_and_request_no_url(
    store: Store, run_hostile: Runner, feed_server: FeedServer
) -> None:
    # Given an internal page and a feed whose DOCTYPE points entities at it and at local files
    secret = feed_server.route(
        "/internal-secret", Reply(body=b"TOPSECRET", content_type="text/plain")
    )
    doctype = (
        "<!DOCTYPE rss ["
        '<!ENTITY passwd SYSTEM "file:///etc/passwd">'
        f'<!ENTITY internal SYSTEM "{secret}">'
        '<!ENTITY metadata SYSTEM "http://169.254.169.254/latest/meta-data/iam/">'
        f'<!ENTITY % remote SYSTEM "{secret}"> %remote;'
        "]>"
    )
    items = [
        rss_item(1, description="&passwd;", raw=True),
        rss_item(2, description="&internal;", raw=True),
        rss_item(3, description="&metadata;", raw=True),
        rss_item(
            4,
            raw=True,
            extra='<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>',
        ),
    ]
    # When it is archived
    outcome = run_hostile(rss(items, declaration='<?xml version="1.0"?>', doctype=doctype))
    # Then the items are archived, and nothing from the file or the internal URL is in them
    assert outcome.feed.status == "ok"
    assert links(outcome) == news(1, 2, 3, 4)
    stored = repr(outcome.docs)
    assert "root:" not in stored and "TOPSECRET" not in stored
    assert feed_server.requests("/internal-secret") == []
    assert_archive_exact(store, count=GOOD_ITEMS + 4)


@reliability(
    INPUTS,
    "a large feed: 120 items (index reads and transactions in several batches)",
    "all 120 archived exactly once",
)
def test_a_large_feed_is_archived_exactly_once(store: Store, run_hostile: Runner) -> None:
    outcome = run_hostile(rss([rss_item(n) for n in range(120)]))
    assert (outcome.feed.status, outcome.feed.items_new) == ("ok", 120)
    assert_archive_exact(store, count=GOOD_ITEMS + 120)


@reliability(
    INPUTS,
    "oversized fields: a 450 KB title, a 450 KB guid, a 450 KB link",
    "the other items are archived (one entry must not block its batch); a huge title is "
    "stored whole in S3 and cut in the index; an entry whose id is huge is rejected with one "
    "clear line",
)
def test_oversized_fields_cannot_block_the_other_items(store: Store, run_hostile: Runner) -> None:
    # Given items with a 450 KB title, a 450 KB guid and a 450 KB link among normal ones
    huge = "A" * 450_000
    body = rss(
        [
            rss_item(1, title=huge),
            rss_item(2),
            rss_item(3, guid=huge),
            rss_item(4, link="https://example.org/" + huge),
            rss_item(5),
        ]
    )
    # When it is archived
    outcome = run_hostile(body)
    # Then the normal items and the long-titled one are archived; the huge ids are rejected
    feed = outcome.feed
    assert (feed.status, feed.items_new, feed.items_rejected) == ("ok", 3, 2)
    assert one_line(feed.error) and "over the 8,192 limit" in feed.error
    assert outcome.state.last_error == feed.error
    long_title = next(d for d in outcome.docs if d["link"].endswith("/1"))
    assert long_title["title"] == huge
    (record,) = [r for r in store.scan_index() if r["key"] == long_title["key"]]
    assert len(record["title"]) <= 2000
    assert_archive_exact(store, count=GOOD_ITEMS + 3)


@reliability(
    INPUTS,
    "deeply nested markup (50,000 levels) in an item's content",
    "archived without a recursion error; the text is kept",
)
def test_deeply_nested_markup_is_archived(store: Store, run_hostile: Runner) -> None:
    nested = "<div>" * 50_000 + "deep text" + "</div>" * 50_000
    outcome = run_hostile(rss([rss_item(1, content=nested), rss_item(2)]))
    assert (outcome.feed.status, outcome.feed.items_new) == ("ok", 2)
    doc = next(d for d in outcome.docs if d["link"].endswith("/1"))
    assert "deep text" in doc["content_text"]
    assert_archive_exact(store, count=GOOD_ITEMS + 2)


# --- hostile content -----------------------------------------------------------------------

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">js</a>',
    '<a href="JaVaScRiPt:alert(1)">mixed case</a>',
    '<a href="java&#x09;script:alert(1)">tab</a>',
    '<a href="&#106;avascript:alert(1)">entity</a>',
    '<a href=" \x01javascript:alert(1)">padded</a>',
    '<a href="vbscript:msgbox(1)">vb</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    "<svg onload=alert(1)><circle r=1 /></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<math><mi xlink:href="javascript:alert(1)">m</mi></math>',
    '<object data="javascript:alert(1)"></object><embed src="data:text/html,x">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">styled</div>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">b</button></form>',
    '<base href="javascript:alert(1)//">',
    '<img srcset="javascript:alert(1) 1x, https://example.org/ok.png 2x">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<details open ontoggle=alert(1)>d</details>",
    "<video><source onerror=alert(1)></video>",
    '<a href="https://example.org/fine" onclick="alert(1)" onmouseover="alert(1)">fine</a>',
]
BAD_LINKS = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://example.org/file",
]
DANGEROUS_TAGS = frozenset(
    {
        "script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
        "style", "link", "meta", "base", "form", "button", "input", "template",
    }
)  # fmt: skip
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel", "ftp"})
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "data", "poster", "background", "xlink:href",
     "srcset", "cite", "longdesc", "usemap", "codebase", "dynsrc", "lowsrc"}
)  # fmt: skip


class _Executable(HTMLParser):
    """Collects everything in a fragment a browser could execute or navigate to unsafely."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc"):
                self.found.append(f"{tag}[{name}]")
            elif name in URL_ATTRIBUTES and value:
                for url in value.split(",") if name == "srcset" else [value]:
                    scheme = _scheme(url)
                    if scheme and scheme not in SAFE_SCHEMES:
                        self.found.append(f"{tag}[{name}={scheme}:]")

    handle_startendtag = handle_starttag


def _scheme(url: str) -> str | None:
    cleaned = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(url)).lower()
    match = re.match(r"([a-z][a-z0-9+.-]*):", cleaned)
    return match.group(1) if match else None


def executable_parts(fragment: str) -> list[str]:
    parser = _Executable()
    parser.feed(fragment)
    parser.close()
    # A raw "<" inside an attribute value is how mutation XSS escapes a context
    # (<noscript><p title="</noscript><img onerror=...>">): escaped, it is only text.
    raw_lt = re.findall(r"""=\s*(?:"[^"]*<|'[^']*<)""", fragment)
    return parser.found + [f"raw < in an attribute: {m}" for m in raw_lt]


def test_the_executable_check_finds_what_it_must() -> None:
    # The oracle of the next test must itself catch each attack it is used on
    for attack in ATTACKS[:-1]:
        if "<style>" in attack:
            assert "<style>" in executable_parts(attack)
            continue
        assert executable_parts(attack), attack


@reliability(
    INPUTS,
    "hostile content: <script>, event handlers, javascript:/data:/vbscript: URLs (obfuscated "
    "too), SVG/MathML, styles, forms, meta refresh, in titles, summaries, content and links",
    "nothing executable in any stored `content_html`; no stored `link` with a scheme other "
    "than http/https; every entry still archived",
)
def test_hostile_content_is_stored_inert(store: Store, run_hostile: Runner) -> None:
    # Given a feed whose every field carries an attack
    items = []
    for n, attack in enumerate(ATTACKS):
        link = BAD_LINKS[n % len(BAD_LINKS)]
        items.append(
            rss_item(
                n,
                guid=f"urn:attack:{n}",
                link=link,
                title=f"Attack {n} {attack}",
                description=f"Summary {attack}",
                content=f"<p>Body {n}</p>{attack}",
            )
        )
    # When it is archived
    outcome = run_hostile(rss(items))
    # Then every entry is stored, and none holds anything executable or an unsafe link
    assert (outcome.feed.status, outcome.feed.items_new) == ("ok", len(ATTACKS))
    records = {r["key"]: r for r in store.scan_index()}
    for doc in outcome.docs:
        assert executable_parts(doc["content_html"]) == [], doc["content_html"]
        for link in (doc["link"], records[doc["key"]]["link"]):
            assert link is None or re.match(r"^https?://", link), link
        assert "unsafe link dropped" in " ".join(doc["problems"]) or doc["link"] is None
        for text in (doc["title"], doc["summary"], doc["content_text"]):
            assert "<script" not in text.lower() and "onerror=" not in text.lower(), text
    assert_archive_exact(store, count=GOOD_ITEMS + len(ATTACKS))


@reliability(
    INPUTS,
    "several hostile feeds in one Lambda invocation (HTML page, gzip bomb, broken XML, "
    "hostile content, the seed)",
    "the handler returns a summary (no exception); each hostile feed's problem is in it; "
    "the seed is archived",
)
def test_hostile_feeds_through_the_handler(
    store: Store,
    feed_server: FeedServer,
    handler_env: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    # Given four hostile feeds and the seed configured for the Lambda
    urls = [
        feed_server.route("/html", Reply(body=b"<html><body>login</body></html>")),
        feed_server.route(
            "/bomb", Reply(body=gzip_bomb(100 * MIB), headers={"Content-Encoding": "gzip"})
        ),
        feed_server.route("/broken", Reply(body=rss([rss_item(1), BROKEN_ITEM, rss_item(2)]))),
        feed_server.route(
            "/attack",
            Reply(
                body=rss(
                    [
                        rss_item(n, link=f"https://example.org/attack/{n}", content=a)
                        for n, a in enumerate(ATTACKS)
                    ]
                )
            ),
        ),
        feed_server.route("/seed", Reply(body=SEED_BODY)),
    ]
    handler_env.setenv("FEED_URLS", ",".join(urls))
    # When the handler runs
    result = handler_module.lambda_handler({"id": "hostile"}, lambda_context)
    # Then it returns every feed's outcome
    by_path = {f["feed_url"].rsplit("/", 1)[1]: f for f in result["feeds"]}
    assert by_path["html"]["status"] == "failed" and "HTML page" in by_path["html"]["error"]
    assert by_path["bomb"]["status"] == "failed" and "cap" in by_path["bomb"]["error"]
    assert by_path["broken"]["status"] == "ok" and by_path["broken"]["parse_error"]
    assert by_path["attack"]["items_new"] == len(ATTACKS)
    assert by_path["seed"]["items_new"] == 10
    for doc in documents(store):
        assert executable_parts(doc["content_html"]) == []
    assert_archive_exact(store)
