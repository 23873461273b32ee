"""Importing saved feed files, the parts decided before anything is stored: dates and paths."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feed_archiver.history.file_import import find_feed_files
from feed_archiver.history.snapshots import HistoryError, feed_time
from tests.conftest import SEED_XML


def test_feed_time_is_the_channel_date_not_an_item_date() -> None:
    rss = SEED_XML.read_bytes()
    assert feed_time(rss) == datetime(2019, 7, 16, 13, 32, 30, tzinfo=UTC)
    no_channel_date = re.sub(rb"<lastBuildDate>.*?</lastBuildDate>", b"", rss)
    assert feed_time(no_channel_date) is None  # items' pubDates are not the feed's
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b"<updated>2020-02-03T04:05:06Z</updated><entry><updated>2021-01-01T00:00:00Z</updated>"
        b"</entry></feed>"
    )
    assert feed_time(atom) == datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC)


def test_paths_that_do_not_exist_or_hold_no_feeds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no such file or folder"):
        find_feed_files([tmp_path / "missing"])
    (tmp_path / "readme.md").write_text("hello")
    with pytest.raises(HistoryError, match="no feed files"):
        find_feed_files([tmp_path])
