"""The `sql`, `export` and `publish` subcommands of `feed-archiver`.

cli.py calls `register_analytics_commands(add)`. Results go to stdout (or the
export's file), progress bars to stderr (hidden with --quiet or when stderr is
not a terminal). DuckDB and tqdm are imported inside the commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from feed_archiver.cli_common import AddCommand, settings_from
from feed_archiver.errors import ExitCode
from feed_archiver.storage import Store


def register_analytics_commands(add: AddCommand) -> None:
    """Add sql, export and publish to the feed-archiver parser."""
    sql = add(
        "sql",
        cmd_sql,
        "run a SQL query with DuckDB over the archive's exports (the table `items`, as in Athena)",
    )
    sql.add_argument(
        "query", metavar="SQL", help='e.g. "SELECT category, count(*) FROM items GROUP BY 1"'
    )
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument("--quiet", action="store_true", help="no progress bar")

    export = add(
        "export", cmd_export, "write the whole archive to one CSV, JSON Lines or Parquet file"
    )
    export.add_argument("path", metavar="PATH", type=Path, help="the file to write (replaced)")
    export.add_argument("--format", choices=("csv", "jsonl", "parquet"), required=True)
    export.add_argument("--quiet", action="store_true", help="no progress bar")

    publish = add(
        "publish",
        cmd_publish,
        "rebuild every month's export and Atom archive page, and feed/current.atom",
    )
    publish.add_argument("--quiet", action="store_true", help="no progress bar")


def _bar(total: int | None, unit: str, description: str, *, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit=unit,
        desc=description,
        file=sys.stderr,
        disable=quiet or not sys.stderr.isatty(),
        dynamic_ncols=True,
        leave=False,
    )


def _ticker(bar: Any) -> Callable[[int], object]:
    return lambda n: bar.update(n)


def _open(args: argparse.Namespace) -> Any:
    """The archive's exports in DuckDB (feed_archiver.analytics), with a download bar."""
    from feed_archiver.analytics import open_archive

    store = Store.from_settings(settings_from(args))
    with _bar(None, "month", "downloading exports", quiet=args.quiet) as bar:
        return open_archive(store, _ticker(bar))


def cmd_sql(args: argparse.Namespace) -> int:
    from feed_archiver.analytics import render_csv, render_json, render_table, run_query

    connection = _open(args)
    try:
        header, rows = run_query(connection, args.query)
    finally:
        connection.close()
    if args.format == "json":
        print(render_json(header, rows))
    elif args.format == "csv":
        render_csv(sys.stdout, header, rows)
    elif header:
        print(render_table(header, rows))
    return ExitCode.OK


def cmd_export(args: argparse.Namespace) -> int:
    from feed_archiver.analytics import count_items, export_archive

    path: Path = args.path
    connection = _open(args)
    try:
        total = count_items(connection)
        with _bar(total, "item", f"writing {path.name}", quiet=args.quiet) as bar:
            written = export_archive(connection, path, args.format, _ticker(bar))
    finally:
        connection.close()
    print(f"{written} items written to {path} ({args.format})")
    return ExitCode.OK


def cmd_publish(args: argparse.Namespace) -> int:
    from feed_archiver.publish import publish_all

    settings = settings_from(args)
    store = Store.from_settings(settings)
    months = _months(store)
    with _bar(len(months) or None, "month", "publishing", quiet=args.quiet) as bar:
        report = publish_all(
            store, pool_size=settings.s3_concurrency, on_month=lambda month: bar.update(1)
        )
    print("\n".join(report.lines()))
    return ExitCode.OK


def _months(store: Store) -> list[str]:
    """The months with items (one Query of the counters): the progress bar's total."""
    from feed_archiver.aggregates import parse_cells, stats_from_cells

    return list(stats_from_cells(parse_cells(store.read_cells())).by_month)
