"""`feed-archiver`: the same code path as the Lambda, from a shell.

Errors a person can cause (no bucket, no credentials, a bad URL) end with one
line on stderr and exit code 2; a failed feed or drift found by verify exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from feed_archiver.analytics_cli import register_analytics_commands
from feed_archiver.capture.cli import register_capture_commands
from feed_archiver.cli_common import Command, settings_from, store_for
from feed_archiver.errors import ConfigError, ExitCode, FeedArchiverError
from feed_archiver.feed_state import Status
from feed_archiver.history.cli import register_history_commands
from feed_archiver.settings import debug_on, parse_feed_urls
from feed_archiver.storage import Store


def cmd_init(args: argparse.Namespace) -> int:
    from feed_archiver.stack import create_bucket, create_table, find_template, load_template
    from feed_archiver.storage.clients import make_clients

    settings = settings_from(args)
    template = load_template(Path(args.template) if args.template else find_template())
    clients = make_clients()
    made_bucket = create_bucket(clients.s3, settings.archive_bucket, template)
    made_table = create_table(clients.dynamodb, settings.archive_table, template)
    for kind, name, made in (
        ("bucket", settings.archive_bucket, made_bucket),
        ("table", settings.archive_table, made_table),
    ):
        print(f"{kind} {name}: {'created' if made else 'already there'}")
    return ExitCode.OK


def cmd_run(args: argparse.Namespace) -> int:
    from feed_archiver.run import run_feeds

    settings = settings_from(args, require_feeds=not args.feed)
    feeds = parse_feed_urls(",".join(args.feed)) if args.feed else settings.feed_urls
    from feed_archiver.publish import publish_after_run

    store = Store.from_settings(settings)
    summary = run_feeds(store, settings, feeds, force=args.force)
    output = summary.as_dict()
    # The months this run changed: their exports and archive pages, and current.atom.
    published = publish_after_run(store, pool_size=settings.s3_concurrency)
    if published:
        output["published"] = published
    print(json.dumps(output, indent=2, ensure_ascii=False))
    failed = summary.failed or (published and "error" in published)
    return ExitCode.FAILED if failed else ExitCode.OK


def cmd_stats(args: argparse.Namespace) -> int:
    from feed_archiver.aggregates import parse_cells, stats_from_cells

    stats = stats_from_cells(parse_cells(store_for(args).read_cells()))
    if args.format == "json":
        print(json.dumps(stats.as_dict(), indent=2, ensure_ascii=False))
        return ExitCode.OK
    from feed_archiver.countries import country_name

    print(f"Total items: {stats.total}")
    by_country = {f"{code} {country_name(code)}": n for code, n in stats.by_country.items()}
    for title, counts in (
        ("By category", stats.by_category),
        ("By region (an item counts once in each of its regions)", stats.by_region),
        ("By country (an item counts once in each of its countries)", by_country),
        ("By month", stats.by_month),
    ):
        print(f"\n{title}")
        width = max((len(k) for k in counts), default=0)
        for name, n in counts.items():
            print(f"  {name:<{width}}  {n:>6}")
    if stats.countries_counted < stats.total:
        print(
            f"\nBy country covers {stats.countries_counted} of {stats.total} items: run "
            "`feed-archiver backfill-counters` to count the items archived before country counters"
        )
    return ExitCode.OK


def cmd_verify(args: argparse.Namespace) -> int:
    from feed_archiver.verify import verify

    report = verify(store_for(args))
    print("\n".join(report.lines()))
    return ExitCode.OK if report.ok else ExitCode.FAILED


def cmd_backfill_counters(args: argparse.Namespace) -> int:
    from feed_archiver.counter_backfill import backfill_counters

    report = backfill_counters(store_for(args), dry_run=args.dry_run)
    print("\n".join(report.lines()))
    return ExitCode.OK if report.ok else ExitCode.FAILED


def cmd_feeds(args: argparse.Namespace) -> int:
    states = store_for(args).list_feed_states()
    if not states:
        print("no feed has been archived yet")
    for state in states:
        line = f"{state.status:<12} {state.feed_url}  last success: {state.last_success or 'never'}"
        if state.consecutive_failures:
            line += f"  failures: {state.consecutive_failures}, next attempt after {state.next_attempt_after}"
        print(line)
        if state.last_error:
            print(f"{'':<12} last error: {state.last_error}")
    return ExitCode.OK


def cmd_reactivate(args: argparse.Namespace) -> int:
    """Clear a feed's inactive mark (410 Gone) and its back-off, so the next run tries it."""
    store = store_for(args)
    state = store.get_feed_state(args.url)
    if state.status == Status.NEVER:
        raise ConfigError(f"no state is stored for {args.url}: nothing to reactivate")
    previous = state.status
    state.reactivate()
    store.put_feed_state(state)
    print(f"{args.url}: was {previous}; the next run will fetch it")
    return ExitCode.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feed-archiver",
        description="Archive RSS/Atom feeds to S3 and DynamoDB with exact counts.",
        epilog="Settings come from ARCHIVE_BUCKET, ARCHIVE_TABLE, FEED_URLS and the standard "
        "AWS variables (AWS_ENDPOINT_URL, AWS_PROFILE, AWS_REGION).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        return sub

    init = add("init", cmd_init, "create the bucket and table as template.yaml declares them")
    init.add_argument("--template", help="path to template.yaml (default: found upwards)")

    run = add("run", cmd_run, "run one archiving pass over the feeds")
    run.add_argument(
        "--feed",
        action="append",
        default=[],
        metavar="URL",
        help="feed URL (repeatable; default FEED_URLS)",
    )
    run.add_argument("--force", action="store_true", help="ignore back-off after failures")
    run.add_argument(
        "--allow-private-networks",
        action="store_true",
        help="allow feeds on private/loopback addresses (local demo and tests only)",
    )

    stats = add("stats", cmd_stats, "print the counts from the stored aggregates")
    stats.add_argument("--format", choices=("table", "json"), default="table")

    add("verify", cmd_verify, "recount from the S3 documents and compare with index and counts")
    backfill = add(
        "backfill-counters",
        cmd_backfill_counters,
        "count the items archived before country counters existed in them (from the index; "
        "safe while the archiver runs, idempotent)",
    )
    backfill.add_argument("--dry-run", action="store_true", help="write nothing")
    add("feeds", cmd_feeds, "list every archived feed with its status, last success and last error")
    reactivate = add(
        "reactivate", cmd_reactivate, "clear a feed's inactive mark (410 Gone) and its back-off"
    )
    reactivate.add_argument("url", help="the feed URL, as configured")
    register_history_commands(add)
    register_capture_commands(add)
    register_analytics_commands(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except FeedArchiverError as exc:
        print(f"feed-archiver: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except Exception as exc:
        # One clear line instead of a traceback; FEED_ARCHIVER_DEBUG=1 shows the traceback.
        if debug_on():
            raise
        from feed_archiver.storage.clients import describe_aws_error

        print(f"feed-archiver: {describe_aws_error(exc)}", file=sys.stderr)
        return ExitCode.USAGE


if __name__ == "__main__":
    sys.exit(main())
