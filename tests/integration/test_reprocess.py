"""feed-archiver reprocess: items rebuilt from the raw/ snapshots when parsing improved."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from feed_archiver import archive_format as fmt
from feed_archiver.archive import archive_entries
from feed_archiver.cli import main
from feed_archiver.history.reprocess import reprocess
from feed_archiver.parse import Entry, parse_feed
from feed_archiver.storage import FeedState, Store
from feed_archiver.verify import verify
from tests.conftest import BUCKET, TABLE, CallCounter
from tests.history_feeds import FEED_URL, feed_xml, history, window

EDITED = "A teaser edited between the two fetches."
FIRST, SECOND = "2019-07-02T08:00:00Z", "2019-07-16T14:00:00Z"
SNAPSHOTS = ((FIRST, feed_xml(window(5))), (SECOND, feed_xml(window(10, edits={12: EDITED}))))
COMPARED = ("title", "summary", "content_text", "content_html", "content_hash", "published",
            "month", "category", "regions", "countries", "first_seen", "last_seen")  # fmt: skip


def old_parser(body: bytes) -> list[Entry]:
    """What a worse parser made of a body: the content cut short and the last item missed."""
    entries = parse_feed(body, base_url=FEED_URL).entries
    return [
        replace(e, content_html=e.content_html[:80], content_text=e.content_text[:80])
        for e in entries[:-1]
    ]


def run_archiver(store: Store, parser: Any, *, keep_raw: bool = True) -> None:
    """The live runs that stored the snapshots, with `parser`."""
    for fetched_at, body in SNAPSHOTS:
        if keep_raw:
            store.put_raw(fmt.feed_key(FEED_URL), fetched_at, body, fmt.sha256_hex(body))
        archive_entries(store, parser(body), feed_url=FEED_URL, seen_at=fetched_at)
    store.put_feed_state(FeedState.new(FEED_URL))


def documents(store: Store) -> dict[str, dict[str, Any]]:
    return {r["link"]: store.get_document(r["key"]) for r in store.scan_index()}


def test_reprocess_rebuilds_items_as_the_better_parser_makes_them(
    store: Store, fresh_store: Store, calls: CallCounter
) -> None:
    # Given an archive built by a parser that cut the content and missed an item
    run_archiver(store, old_parser)
    assert len(list(store.scan_index())) == 14
    # When the archive is reprocessed with today's parser
    tally = reprocess(store)
    # Then the missed item is added and every other item is rebuilt
    assert (tally.snapshots, tally.new, tally.updated, tally.failed) == (2, 1, 14, [])
    # And it is what the live runs would have stored with today's parser
    run_archiver(fresh_store, lambda body: parse_feed(body, base_url=FEED_URL).entries)
    rebuilt, fresh = documents(store), documents(fresh_store)
    assert rebuilt.keys() == fresh.keys()
    for link, document in fresh.items():
        assert {f: rebuilt[link][f] for f in COMPARED} == {f: document[f] for f in COMPARED}
    assert store.read_cells() == fresh_store.read_cells()
    assert verify(store).ok
    # And the edit made between the fetches stays (the older snapshot does not roll it back)
    assert rebuilt[history()[12].link]["summary"] == EDITED
    assert tally.older == 1
    # And the added item says where it came from
    assert rebuilt[history()[5].link]["first_seen_via"] == "reprocess"

    # When it is reprocessed again
    calls.reset()
    again = reprocess(store)
    # Then nothing is written
    assert (again.new, again.updated) == (0, 0)
    assert calls.writes == 0


def test_a_dry_run_counts_the_same_and_writes_nothing(store: Store, calls: CallCounter) -> None:
    run_archiver(store, old_parser)
    calls.reset()
    planned = reprocess(store, dry_run=True)
    assert calls.writes == 0
    done = reprocess(store)
    assert (planned.new, planned.updated, planned.older) == (done.new, done.updated, done.older)


def test_a_snapshot_of_an_unknown_feed_is_reported_and_the_others_done(store: Store) -> None:
    # Given snapshots of the archived feed and of a feed with neither state nor configuration
    run_archiver(store, old_parser)
    stranger = fmt.feed_key("https://unknown.example/feed")
    store.put_raw(stranger, SECOND, SNAPSHOTS[0][1], "f" * 64)
    # When the archive is reprocessed
    tally = reprocess(store)
    # Then that snapshot is named, with what to do, and the others are done
    ((name, error),) = tally.failed
    assert name.startswith(f"raw/{stranger}/")
    assert "add its URL to FEED_URLS or use --feed" in error
    assert tally.snapshots == 2
    # And with the feed configured it is reprocessed too
    assert reprocess(store, configured_feeds=["https://unknown.example/feed"]).failed == []


def test_the_command_line_reprocesses(
    aws: Any, store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_archiver(store, old_parser)
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    assert main(["reprocess", "--quiet"]) == 0
    assert "2 snapshots archived: 20 items seen, 1 new, 14 updated" in capsys.readouterr().out
