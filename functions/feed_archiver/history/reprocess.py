"""`feed-archiver reprocess`: rebuild items from the stored raw/ snapshots, oldest first.

For when parsing improved: every body the archiver ever fetched is parsed
again and archived through the live path. An item whose parsed content now
differs gets a new revision (from the snapshot that produced its current
revision: older snapshots are "older" and skipped, see history.py); an item the
old parser missed is added with first_seen_via "reprocess". Re-running writes
nothing new, so an interrupted run is simply started again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from feed_archiver import archive_format as fmt
from feed_archiver.clock import parse_rfc3339
from feed_archiver.errors import FeedArchiverError
from feed_archiver.history.snapshots import (
    VIA_REPROCESS,
    HistoryRun,
    HistoryTally,
    Snapshot,
)
from feed_archiver.progress import ProgressFactory, no_progress
from feed_archiver.storage import Store

# raw/<feed key>/<YYYY>/<MM>/<fetched at>-<hash12>.xml.gz
_RAW_KEY = re.compile(
    r"^raw/([0-9a-f]{16})/\d{4}/\d{2}/(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)-[0-9a-f]{12}\.xml\.gz$"
)


@dataclass(frozen=True)
class RawSnapshot:
    key: str
    feed: str  # feed key
    fetched_at: str


def raw_snapshots(keys: Iterable[str]) -> tuple[list[RawSnapshot], list[str]]:
    """The raw/ keys as snapshots, oldest first across feeds; and keys not in the raw/ format."""
    snapshots, strays = [], []
    for key in keys:
        match = _RAW_KEY.match(key)
        if match:
            snapshots.append(RawSnapshot(key, match.group(1), match.group(2)))
        else:
            strays.append(key)
    snapshots.sort(key=lambda s: (s.fetched_at, s.key))
    return snapshots, strays


def feed_urls_by_key(store: Store, configured: Iterable[str]) -> dict[str, str]:
    """Feed URL of every feed key the archive knows: its feed states, and FEED_URLS."""
    urls = {state.feed_key: state.feed_url for state in store.list_feed_states()}
    for url in configured:
        urls.setdefault(fmt.feed_key(url), url)
    return urls


def reprocess(
    store: Store,
    *,
    configured_feeds: Iterable[str] = (),
    only_feed: str | None = None,
    dry_run: bool = False,
    pool_size: int = 16,
    progress: ProgressFactory = no_progress,
) -> HistoryTally:
    """Parse and archive every raw/ snapshot again (of `only_feed` if given), oldest first."""
    urls = feed_urls_by_key(store, [*configured_feeds, *([only_feed] if only_feed else [])])
    prefix = fmt.feed_key(only_feed) if only_feed else None
    snapshots, strays = raw_snapshots(store.list_raw_keys(prefix))
    run = HistoryRun(store, via=VIA_REPROCESS, dry_run=dry_run, pool_size=pool_size)
    run.tally.failed.extend((key, "not a raw/ snapshot name") for key in strays)
    bar = progress(len(snapshots), "snapshot")
    try:
        for raw in snapshots:
            _reprocess_one(store, run, raw, urls.get(raw.feed))
            bar.update(1)
            bar.set_postfix(run.tally.postfix())
    finally:
        bar.close()
    return run.tally


def _reprocess_one(store: Store, run: HistoryRun, raw: RawSnapshot, feed_url: str | None) -> None:
    if feed_url is None:
        # The key names the feed only by its hash: without a feed state or a
        # FEED_URLS entry there is no URL to count the items under.
        run.tally.failed.append(
            (raw.key, f"unknown feed {raw.feed}: add its URL to FEED_URLS or use --feed")
        )
        return
    try:
        body, retrieved_from = store.get_raw_snapshot(raw.key)
    except FeedArchiverError as exc:
        run.tally.failed.append((raw.key, str(exc)))
        return
    snapshot = Snapshot(
        name=raw.key,
        seen_at=raw.fetched_at,
        body=body,
        # The run's base: the URL the body came from (snapshots stored before it was
        # recorded: the feed URL, which it is unless the feed redirected).
        base_url=retrieved_from or feed_url,
        now=parse_rfc3339(raw.fetched_at),  # the clock of the run that fetched it
    )
    run.add(snapshot, feed_url)
