"""Reprocessing's order: the stored snapshots, oldest first across feeds."""

from __future__ import annotations

from feed_archiver.history.reprocess import raw_snapshots


def test_snapshots_are_taken_oldest_first_across_feeds() -> None:
    keys = [
        "raw/bbbbbbbbbbbbbbbb/2019/07/2019-07-01T00:00:00Z-0123456789ab.xml.gz",
        "raw/aaaaaaaaaaaaaaaa/2019/07/2019-07-02T00:00:00Z-0123456789ab.xml.gz",
        "raw/aaaaaaaaaaaaaaaa/2019/06/2019-06-30T00:00:00Z-0123456789ab.xml.gz",
        "raw/aaaaaaaaaaaaaaaa/stray.txt",
    ]
    snapshots, strays = raw_snapshots(keys)
    assert [s.fetched_at[:10] for s in snapshots] == ["2019-06-30", "2019-07-01", "2019-07-02"]
    assert strays == ["raw/aaaaaaaaaaaaaaaa/stray.txt"]
