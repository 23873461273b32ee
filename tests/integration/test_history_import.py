"""feed-archiver import: saved feed files through the live parse → tag → archive path."""

from __future__ import annotations

import gzip
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.cli import main
from feed_archiver.history.file_import import import_files
from feed_archiver.storage import Store
from feed_archiver.verify import verify
from tests.conftest import BUCKET, TABLE, CallCounter
from tests.history_feeds import FEED_URL, feed_xml, history, window
from tests.httpserver import gzip_bomb

MIB = 1024 * 1024
EDITED = "A teaser edited after the first copy was saved."


def write(path: Path, body: bytes, *, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(body) if gz else body)
    return path


def load(store: Store, *paths: Path, **kwargs: Any) -> Any:
    return import_files(store, list(paths), feed_url=FEED_URL, max_bytes=MIB, **kwargs)


def by_link(store: Store) -> dict[str, dict[str, Any]]:
    return {r["link"]: r for r in store.scan_index()}


def test_a_folder_of_saved_feeds_is_imported_and_a_second_import_writes_nothing(
    store: Store, tmp_path: Path, calls: CallCounter
) -> None:
    # Given a folder with saved copies, plain and gzipped, nested, and a file that is no feed
    write(tmp_path / "2019" / "april.xml", feed_xml(window(0)))
    write(tmp_path / "2019" / "july" / "feed.xml.gz", feed_xml(window(10)), gz=True)
    write(tmp_path / "notes.txt", b"not a feed, and not picked from a folder")
    # When the folder is imported
    tally = load(store, tmp_path)
    # Then both copies' twenty items are archived, with their published dates
    assert (tally.snapshots, tally.new, tally.failed) == (2, 20, [])
    records = by_link(store)
    assert len(records) == 20
    newest = records[history()[-1].link]
    assert newest["published"] == "2019-07-16T13:32:30Z"
    assert newest["month"] == "2019-07"
    # And they record that they came from an import, seen when the copy was current
    assert {r["first_seen_via"] for r in records.values()} == {"import"}
    assert newest["first_seen"] == "2019-07-16T13:32:30Z"  # the feed's lastBuildDate
    assert stats_from_cells(parse_cells(store.read_cells())).total == 20
    assert verify(store).ok

    # When the same folder is imported again
    calls.reset()
    again = load(store, tmp_path)
    # Then nothing is written: no document, no index transaction, no other write
    assert (again.new, again.updated, again.unchanged) == (0, 0, 20)
    assert calls.calls["PutObject"] == 0
    assert calls.calls["TransactWriteItems"] == 0
    assert calls.writes == 0


def test_copies_are_imported_oldest_first_so_the_later_edit_wins(
    store: Store, tmp_path: Path
) -> None:
    # Given two copies whose names sort the other way round from their dates
    write(tmp_path / "a.xml", feed_xml(window(10, edits={15: EDITED})))
    write(
        tmp_path / "b.xml",
        feed_xml(window(10), build_date=datetime(2019, 7, 12, 12, 0, tzinfo=UTC)),
    )
    # When both are imported
    tally = load(store, tmp_path)
    # Then the older copy went first and the edit is a second revision
    assert (tally.new, tally.updated, tally.older) == (10, 1, 0)
    edited = by_link(store)[history()[15].link]
    assert (edited["summary"], edited["revision"]) == (EDITED, 2)
    assert verify(store).ok


def test_an_older_copy_imported_later_does_not_roll_an_item_back(
    store: Store, tmp_path: Path, calls: CallCounter
) -> None:
    # Given an archive that holds the edited (newer) text of an item
    load(store, write(tmp_path / "new.xml", feed_xml(window(10, edits={15: EDITED}))))
    # When a copy saved before the edit is imported afterwards
    calls.reset()
    old = write(
        tmp_path / "old.xml",
        feed_xml(window(10), build_date=datetime(2019, 7, 12, 12, 0, tzinfo=UTC)),
    )
    tally = load(store, old)
    # Then the item keeps the newer text and nothing is written
    assert (tally.older, tally.updated, tally.unchanged) == (1, 0, 9)
    assert by_link(store)[history()[15].link]["summary"] == EDITED
    assert calls.writes == 0


def test_without_a_feed_date_the_name_of_a_raw_snapshot_or_the_file_time_orders_copies(
    store: Store, tmp_path: Path
) -> None:
    # Given copies without lastBuildDate: one named as in raw/, one dated by its mtime
    def undated(body: bytes) -> bytes:
        return re.sub(rb"<lastBuildDate>.*?</lastBuildDate>", b"", body)

    raw = write(
        tmp_path / "2019-07-20T08:00:00Z-0123456789ab.xml.gz",
        undated(feed_xml(window(10, edits={15: EDITED}))),
        gz=True,
    )
    plain = write(tmp_path / "saved.xml", undated(feed_xml(window(10))))
    moment = datetime(2019, 7, 17, tzinfo=UTC).timestamp()
    os.utime(plain, (moment, moment))
    # When both are imported
    tally = load(store, raw, plain)
    # Then the mtime-dated copy went first, and the raw/ copy's fetch time is the edit's time
    assert tally.updated == 1
    edited = by_link(store)[history()[15].link]
    assert edited["first_seen"] == "2019-07-17T00:00:00Z"
    assert edited["last_seen"] == "2019-07-20T08:00:00Z"


def test_an_undated_item_counts_in_the_month_of_the_copy_not_of_the_import(
    store: Store, tmp_path: Path
) -> None:
    # Given a saved copy of May 2019 with an item that has no date
    body = feed_xml(window(0))
    body = re.sub(rb"<pubDate>[^<]*</pubDate>", b"", body, count=1)
    load(store, write(tmp_path / "may.xml", body))
    # Then that item is counted in May 2019, flagged as estimated
    (undated,) = [r for r in store.scan_index() if r["published"] is None]
    assert (undated["month"], undated["date_estimated"]) == ("2019-05", True)


def test_a_bad_file_is_reported_and_the_others_are_imported(store: Store, tmp_path: Path) -> None:
    # Given a folder with a good copy, an HTML page and a corrupt gzip file
    write(tmp_path / "good.xml", feed_xml(window(10)))
    write(tmp_path / "page.xml", b"<!DOCTYPE html><html><body>Moved</body></html>")
    write(tmp_path / "broken.xml.gz", b"\x1f\x8b\x08\x00 truncated")
    # When it is imported
    tally = load(store, tmp_path)
    # Then the good copy is archived and both bad files are named with their reason
    assert tally.new == 10
    failed = dict((Path(name).name, error) for name, error in tally.failed)
    assert set(failed) == {"page.xml", "broken.xml.gz"}
    assert "HTML page" in failed["page.xml"]
    assert "cannot read" in failed["broken.xml.gz"]


def test_a_gzip_bomb_is_refused_at_the_size_cap(store: Store, tmp_path: Path) -> None:
    # Given a small gzipped file that inflates to 8 MiB
    bomb = tmp_path / "bomb.xml.gz"
    bomb.write_bytes(gzip_bomb(8 * MIB))
    assert bomb.stat().st_size < 64 * 1024
    # When it is imported with a 1 MiB cap
    tally = load(store, bomb)
    # Then it is refused at the cap
    ((_name, error),) = tally.failed
    assert "larger than 1048576 bytes" in error


def test_a_dry_run_writes_nothing_and_counts_what_a_real_run_does(
    store: Store, tmp_path: Path, calls: CallCounter
) -> None:
    # Given three copies: an old feed, a later one, and the later one with an edit
    write(tmp_path / "1.xml", feed_xml(window(0)))
    write(tmp_path / "2.xml", feed_xml(window(5), build_date=datetime(2019, 6, 1, tzinfo=UTC)))
    write(tmp_path / "3.xml", feed_xml(window(5, edits={9: EDITED})))
    # When a dry run is made
    planned = load(store, tmp_path, dry_run=True)
    # Then nothing is written
    assert calls.writes == 0
    # And it counts what the real run then does
    done = load(store, tmp_path)
    assert (planned.new, planned.updated, planned.unchanged) == (15, 1, 14)
    assert (done.new, done.updated, done.unchanged) == (15, 1, 14)


@pytest.fixture
def env(aws: Any, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    monkeypatch.setenv("ARCHIVE_TABLE", TABLE)
    monkeypatch.delenv("FEED_URLS", raising=False)
    return monkeypatch


def test_the_command_line_imports_under_the_only_configured_feed(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given one configured feed, a good copy and a bad one
    env.setenv("FEED_URLS", FEED_URL)
    good = write(tmp_path / "good.xml", feed_xml(window(10)))
    bad = write(tmp_path / "bad.xml", b"")
    # When both are imported
    code = main(["import", str(good), str(bad), "--quiet"])
    # Then the summary is printed, the bad file named on stderr, and the exit code is 1
    out, err = capsys.readouterr()
    assert code == 1
    assert "1 snapshots archived: 10 items seen, 10 new" in out
    assert f"failed: {bad}: empty body: not a feed" in err


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ("", "which feed do the items count under? give --feed-url URL"),
        (
            "https://a.example/feed,https://b.example/feed",
            "FEED_URLS names 2 feeds: say which one the items count under with --feed-url URL",
        ),
    ],
)
def test_the_command_line_asks_for_the_feed_when_it_cannot_tell(
    env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    feeds: str,
    message: str,
) -> None:
    env.setenv("FEED_URLS", feeds)
    good = write(tmp_path / "good.xml", feed_xml(window(10)))
    assert main(["import", str(good), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == f"feed-archiver: {message}"
    # With --feed-url it goes ahead
    assert main(["import", str(good), "--feed-url", FEED_URL, "--quiet"]) == 0


def test_the_command_line_refuses_a_missing_path_in_one_line(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["import", str(tmp_path / "nope"), "--feed-url", FEED_URL])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        f"feed-archiver: no such file or folder: {tmp_path / 'nope'}"
    )
