"""feed-archiver retag: new tagging data reaches old items, with counts moved the safe way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from feed_archiver import tag as tagger
from feed_archiver.archive import archive_entries
from feed_archiver.cli import main
from feed_archiver.errors import StorageError
from feed_archiver.history.retag import retag
from feed_archiver.parse import parse_feed
from feed_archiver.storage import Store
from feed_archiver.verify import verify
from tests.conftest import BUCKET, SEED_XML, TABLE, CallCounter
from tests.history_feeds import FEED_URL

SEEN_AT = "2019-07-16T14:00:00Z"


def archive_seed(store: Store) -> None:
    entries = parse_feed(SEED_XML.read_bytes(), base_url=FEED_URL).entries
    outcome = archive_entries(store, entries, feed_url=FEED_URL, seen_at=SEEN_AT)
    assert outcome.new == 10


TAGS = ("category", "headline", "countries", "regions", "programmes", "tagger_version")


def tags_by_key(store: Store) -> dict[str, dict[str, Any]]:
    return {r["key"]: {f: r[f] for f in TAGS} for r in store.scan_index()}


def test_retag_makes_the_archive_what_a_fresh_archive_with_the_new_tagger_would_be(
    store: Store,
    fresh_store: Store,
    new_tagger: Callable[[], None],
    calls: CallCounter,
) -> None:
    # Given the seed archived with today's tagger
    archive_seed(store)
    old_version = tagger.tagger_version()
    # When the tagging data improves and the archive is retagged
    new_tagger()
    assert tagger.tagger_version() != old_version
    calls.reset()
    report = retag(store)

    # Then it says what changed
    assert report.lines()[0].startswith("4 items retagged (of 10 tagged by another tagger version")
    assert "  category: +Expert Opinion 1, −Expert Voice 1" in report.lines()
    assert "  regions: +Silk Routes 2, −Eastern Europe and Central Asia 1" in report.lines()
    assert "  programmes: +Comprehensive Migration Policy 1" in report.lines()
    # And only the four changed documents were rewritten, as new revisions
    assert calls.calls["PutObject"] == 4
    revisions = sorted(r["revision"] for r in store.scan_index())
    assert revisions == [1] * 6 + [2] * 4

    # And the tags and counts are those of a fresh archive built with the new tagger
    archive_seed(fresh_store)
    retagged, fresh = tags_by_key(store), tags_by_key(fresh_store)
    for key, tags in fresh.items():
        expected = {**tags, "tagger_version": retagged[key]["tagger_version"]}
        assert retagged[key] == expected
    assert store.read_cells() == fresh_store.read_cells()
    assert verify(store).ok


def test_retag_is_resumable_and_a_finished_retag_writes_nothing(
    store: Store,
    fresh_store: Store,
    new_tagger: Callable[[], None],
    calls: CallCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the seed archived, the tagger improved, and S3 failing after two document writes
    archive_seed(store)
    new_tagger()
    real_put = Store.put_document
    written: list[str] = []

    def flaky_put(self: Store, document: dict[str, Any]) -> str | None:
        if len(written) >= 2:
            raise StorageError("writing an item failed: SlowDown")
        written.append(document["key"])
        return real_put(self, document)

    monkeypatch.setattr(Store, "put_document", flaky_put)
    # When retag runs (one item per batch) and stops half-way
    first = retag(store, batch_size=1)
    # Then two items were retagged, the failures reported, and the archive is consistent
    assert first.retagged == 2
    assert len(first.errors) == 2
    assert verify(store).ok

    # When it runs again with S3 working
    monkeypatch.setattr(Store, "put_document", real_put)
    second = retag(store)
    # Then it finishes the other two, and the archive equals a fresh one
    assert (second.candidates, second.retagged) == (8, 2)
    archive_seed(fresh_store)
    assert store.read_cells() == fresh_store.read_cells()
    assert verify(store).ok

    # When it runs once more
    calls.reset()
    third = retag(store)
    # Then it examines the six unchanged items again and writes nothing
    assert (third.candidates, third.retagged, third.same_tags) == (6, 0, 6)
    assert calls.writes == 0


def test_a_dry_run_reports_the_changes_and_writes_nothing(
    store: Store, new_tagger: Callable[[], None], calls: CallCounter
) -> None:
    archive_seed(store)
    new_tagger()
    calls.reset()
    report = retag(store, dry_run=True)
    assert report.lines()[0].startswith("4 items would be retagged")
    assert calls.writes == 0
    assert {r["revision"] for r in store.scan_index()} == {1}


def test_retag_with_an_unchanged_tagger_has_nothing_to_do(store: Store, calls: CallCounter) -> None:
    archive_seed(store)
    calls.reset()
    report = retag(store)
    assert (report.candidates, report.retagged) == (0, 0)
    assert calls.writes == 0


def test_retag_tags_again_with_the_feeds_own_category_values(
    store: Store, new_tagger: Callable[[], None]
) -> None:
    # Given an item whose <category> element says "events" while its title has a prefix
    body = SEED_XML.read_bytes().replace(
        b"<pubDate>Tue, 16 Jul 2019", b"<category>events</category><pubDate>Tue, 16 Jul 2019", 1
    )
    entries = parse_feed(body, base_url=FEED_URL).entries
    archive_entries(store, entries, feed_url=FEED_URL, seen_at=SEEN_AT)
    (key,) = [k for k, t in tags_by_key(store).items() if t["category"] == "Event"]
    # Then the document keeps the element's value as the feed gave it
    assert store.get_document(key)["feed_categories"] == ["events"]
    # When the tagging data changes and the archive is re-tagged
    new_tagger()
    assert retag(store).errors == []
    # Then the element still decides the category, not the title prefix
    assert tags_by_key(store)[key]["category"] == "Event"


def test_the_command_line_prints_the_changes(
    aws: Any,
    store: Store,
    new_tagger: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    archive_seed(store)
    new_tagger()
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    assert main(["retag", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "4 items retagged" in out
    assert "+Silk Routes 2" in out
