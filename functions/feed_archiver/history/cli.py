"""The history subcommands of `feed-archiver`: import, backfill-wayback, retag, reprocess.

cli.py calls `register_history_commands(add)`. Summaries go to stdout, progress bars and
per-snapshot problems to stderr. Exit codes as in cli.py: 0 done, 1 some
snapshot or item failed (the rest was done), 2 nothing could start.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from feed_archiver.cli_common import AddCommand, settings_from
from feed_archiver.errors import ExitCode
from feed_archiver.settings import check_feed_url
from feed_archiver.storage import Store

if TYPE_CHECKING:
    from feed_archiver.history.snapshots import HistoryTally


def register_history_commands(add: AddCommand) -> None:
    """Add the history subcommands to the feed-archiver parser."""
    imp = add("import", cmd_import, "import saved feed files (RSS/Atom, gzipped or not, folders)")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="feed file or folder (recursive)")
    imp.add_argument("--feed-url", help="feed the items count under (default: the one FEED_URLS)")
    _common(imp)

    way = add(
        "backfill-wayback",
        cmd_backfill_wayback,
        "import the feed's captures from the Internet Archive's Wayback Machine",
    )
    way.add_argument("feed", metavar="FEED_URL", help="the feed URL as the web archive captured it")
    way.add_argument("--from", dest="month_from", metavar="YYYY-MM", help="first month")
    way.add_argument("--to", dest="month_to", metavar="YYYY-MM", help="last month")
    way.add_argument("--feed-url", help="feed the items count under (default: FEED_URL)")
    way.add_argument("--retry-failed", action="store_true", help="try broken captures again")
    way.add_argument(
        "--cdx-url", help="CDX API endpoint (default: WAYBACK_CDX_URL or web.archive.org)"
    )
    way.add_argument(
        "--capture-url",
        help="capture base URL (default: WAYBACK_CAPTURE_URL or web.archive.org/web/)",
    )
    way.add_argument(
        "--pause",
        type=float,
        metavar="SECONDS",
        help="pause between requests (default: WAYBACK_PAUSE_SECONDS or 1)",
    )
    way.add_argument(
        "--allow-private-networks",
        action="store_true",
        help="allow archive hosts on private/loopback addresses (local tests only)",
    )
    _common(way, dry_run_help="only list the captures it would fetch")

    retag = add("retag", cmd_retag, "tag again the items tagged by an older tagger version")
    _common(retag)

    again = add("reprocess", cmd_reprocess, "rebuild items from the stored raw/ feed snapshots")
    again.add_argument("--feed", metavar="URL", help="only this feed's snapshots")
    _common(again)


def _common(parser: argparse.ArgumentParser, *, dry_run_help: str = "write nothing") -> None:
    parser.add_argument("--dry-run", action="store_true", help=dry_run_help)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def counted_feed(given: str | None, configured: Sequence[str]) -> str:
    """The feed imported items count under: --feed-url, else the only URL in FEED_URLS."""
    from feed_archiver.history.snapshots import HistoryError

    if given:
        return check_feed_url(given)
    if len(configured) == 1:
        return configured[0]
    if not configured:
        raise HistoryError("which feed do the items count under? give --feed-url URL")
    raise HistoryError(
        f"FEED_URLS names {len(configured)} feeds: say which one the items count under "
        "with --feed-url URL"
    )


def _err(line: str) -> None:
    print(line, file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    from feed_archiver.history.file_import import import_files
    from feed_archiver.progress import terminal_progress

    settings = settings_from(args)
    feed_url = counted_feed(args.feed_url, settings.feed_urls)
    store = Store.from_settings(settings)
    tally = import_files(
        store,
        args.paths,
        feed_url=feed_url,
        max_bytes=settings.fetch.max_bytes,
        dry_run=args.dry_run,
        pool_size=settings.s3_concurrency,
        progress=terminal_progress(quiet=args.quiet),
    )
    _publish(store, settings.s3_concurrency)
    return _print_tally(tally, dry_run=args.dry_run)


def cmd_reprocess(args: argparse.Namespace) -> int:
    from feed_archiver.history.reprocess import reprocess
    from feed_archiver.progress import terminal_progress

    settings = settings_from(args)
    store = Store.from_settings(settings)
    tally = reprocess(
        store,
        configured_feeds=settings.feed_urls,
        only_feed=check_feed_url(args.feed) if args.feed else None,
        dry_run=args.dry_run,
        pool_size=settings.s3_concurrency,
        progress=terminal_progress(quiet=args.quiet),
    )
    _publish(store, settings.s3_concurrency)
    return _print_tally(tally, dry_run=args.dry_run)


def cmd_retag(args: argparse.Namespace) -> int:
    from feed_archiver.history.retag import retag
    from feed_archiver.progress import terminal_progress

    settings = settings_from(args)
    store = Store.from_settings(settings)
    report = retag(
        store,
        dry_run=args.dry_run,
        pool_size=settings.s3_concurrency,
        progress=terminal_progress(quiet=args.quiet),
    )
    _publish(store, settings.s3_concurrency)
    print("\n".join(report.lines()))
    return ExitCode.FAILED if report.errors else ExitCode.OK


def cmd_backfill_wayback(args: argparse.Namespace) -> int:
    from feed_archiver.history.backfill import backfill_wayback
    from feed_archiver.history.wayback import month_param
    from feed_archiver.progress import terminal_progress
    from feed_archiver.settings import load_wayback_options

    settings = settings_from(args)
    feed = check_feed_url(args.feed)
    store = Store.from_settings(settings)
    report = backfill_wayback(
        store,
        feed,
        count_as=check_feed_url(args.feed_url) if args.feed_url else None,
        options=load_wayback_options(
            os.environ,
            cdx_url=args.cdx_url,
            capture_url=args.capture_url,
            pause_seconds=args.pause,
        ),
        fetch_options=settings.fetch,
        month_from=month_param(args.month_from, "--from"),
        month_to=month_param(args.month_to, "--to"),
        dry_run=args.dry_run,
        retry_failed=args.retry_failed,
        pool_size=settings.s3_concurrency,
        progress=terminal_progress(quiet=args.quiet),
    )
    _publish(store, settings.s3_concurrency)
    print("\n".join(report.lines(dry_run=args.dry_run)))
    for line in report.problems():
        _err(line)
    return ExitCode.OK if report.ok else ExitCode.FAILED


def _publish(store: Store, pool_size: int) -> None:
    """Rewrite the exports and archive pages of the months the command changed (none for a
    dry run). A failure leaves the items archived: say how to catch up."""
    from feed_archiver.publish import publish_after_run

    published = publish_after_run(store, pool_size=pool_size)
    if published and "error" in published:
        _err(f"{published['error']}; run `feed-archiver publish` to rebuild them")


def _print_tally(tally: HistoryTally, *, dry_run: bool) -> int:
    print(tally.summary(dry_run=dry_run))
    for name, error in tally.failed:
        _err(f"failed: {name}: {error}")
    for note in tally.notes:
        _err(f"note: {note}")
    return ExitCode.FAILED if tally.failed else ExitCode.OK
