"""`feed-archiver`: the same code path as the Lambda, from a shell.

Errors a person can cause (no bucket, no credentials, a bad URL) end with one
line on stderr and exit code 2; a failed feed or drift found by verify exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from feed_archiver.errors import ConfigError, FeedArchiverError
from feed_archiver.settings import Settings, load_settings, parse_feed_urls
from feed_archiver.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def store_for(settings: Settings) -> Store:
    """The archive the settings name (clients built from the standard AWS variables)."""
    return Store(settings.archive_bucket, settings.archive_table)


def settings_from(args: argparse.Namespace, *, require_feeds: bool = False) -> Settings:
    """Settings from the environment, with the command's --allow-private-networks applied."""
    env = dict(os.environ)
    if getattr(args, "allow_private_networks", False):
        env["ALLOW_PRIVATE_NETWORKS"] = "1"
    return load_settings(env, require_feeds=require_feeds)


def cmd_init(args: argparse.Namespace) -> int:
    from feed_archiver.aws import make_clients
    from feed_archiver.stack import create_bucket, create_table, find_template, load_template

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
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from feed_archiver.run import run_feeds

    settings = settings_from(args, require_feeds=not args.feed)
    feeds = parse_feed_urls(",".join(args.feed)) if args.feed else settings.feed_urls
    summary = run_feeds(store_for(settings), settings, feeds, force=args.force)
    print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    return EXIT_FAILED if summary.failed else EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from feed_archiver.aggregates import parse_cells, stats_from_cells

    stats = stats_from_cells(parse_cells(store_for(settings_from(args)).read_cells()))
    if args.format == "json":
        print(json.dumps(stats.as_dict(), indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"Total items: {stats.total}")
    for title, counts in (
        ("By category", stats.by_category),
        ("By region (an item counts once in each of its regions)", stats.by_region),
        ("By month", stats.by_month),
    ):
        print(f"\n{title}")
        width = max((len(k) for k in counts), default=0)
        for name, n in counts.items():
            print(f"  {name:<{width}}  {n:>6}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from feed_archiver.verify import verify

    report = verify(store_for(settings_from(args)))
    print("\n".join(report.lines()))
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_feeds(args: argparse.Namespace) -> int:
    states = store_for(settings_from(args)).list_feed_states()
    if not states:
        print("no feed has been archived yet")
    for state in states:
        line = f"{state.status:<12} {state.feed_url}  last success: {state.last_success or 'never'}"
        if state.consecutive_failures:
            line += f"  failures: {state.consecutive_failures}, next attempt after {state.next_attempt_after}"
        print(line)
        if state.last_error:
            print(f"{'':<12} last error: {state.last_error}")
    return EXIT_OK


def cmd_reactivate(args: argparse.Namespace) -> int:
    """Clear a feed's inactive mark (410 Gone) and its back-off, so the next run tries it."""
    store = store_for(settings_from(args))
    state = store.get_feed_state(args.url)
    if state.status == "never":
        raise ConfigError(f"no state is stored for {args.url}: nothing to reactivate")
    previous = state.status
    # Failures stay counted until a success resets them; only the wait and the mark go.
    state.status = "failing" if state.consecutive_failures else "ok"
    state.next_attempt_after = None
    store.put_feed_state(state)
    print(f"{args.url}: was {previous}; the next run will fetch it")
    return EXIT_OK


Command = Callable[[argparse.Namespace], int]


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
    add("feeds", cmd_feeds, "list every archived feed with its status, last success and last error")
    reactivate = add(
        "reactivate", cmd_reactivate, "clear a feed's inactive mark (410 Gone) and its back-off"
    )
    reactivate.add_argument("url", help="the feed URL, as configured")
    _add_extra_commands(add)
    return parser


def _add_extra_commands(add: Callable[[str, Command, str], argparse.ArgumentParser]) -> None:
    """History commands (import, backfill, retag, reprocess) register here when present."""
    try:
        from feed_archiver.history_cli import register
    except ImportError:
        return
    register(add)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except FeedArchiverError as exc:
        print(f"feed-archiver: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        # One clear line instead of a traceback; FEED_ARCHIVER_DEBUG=1 shows the traceback.
        if os.environ.get("FEED_ARCHIVER_DEBUG"):
            raise
        from feed_archiver.aws import describe_aws_error

        print(f"feed-archiver: {describe_aws_error(exc)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
