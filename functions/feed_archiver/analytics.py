"""DuckDB over the monthly exports: `feed-archiver sql` and `feed-archiver export`.

The exports are downloaded through the store (so the same credentials, endpoint
and bucket as every other command: AWS, or moto in the demo) into a temporary
folder, and loaded as the table `items`, with exactly the columns and types of
the Athena table (feed_archiver.exports.COLUMNS) and `month` taken from each
object's partition path, as Athena's projection does: a query written for one
runs on the other. DuckDB is imported here only; the Lambda never loads it.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feed_archiver import archive_format as fmt
from feed_archiver.csv_safety import ENCODING, write_csv
from feed_archiver.errors import FeedArchiverError
from feed_archiver.exports import COLUMNS, PARTITION
from feed_archiver.storage import Store

if TYPE_CHECKING:
    import duckdb

TABLE = "items"
# Only keys exactly of this shape are downloaded: a key names a local file, so nothing
# else in the bucket (a "../" in a key) can write outside the temporary folder.
_EXPORT_KEY = re.compile(
    rf"^{re.escape(fmt.EXPORTS_PREFIX)}month=(\d{{4}}-\d{{2}})/items\.jsonl\.gz$"
)
# What the table renderer replaces: control characters would drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
CELL_CHARS = 80
FORMATS = ("table", "csv", "json")
EXPORT_FORMATS = ("csv", "jsonl", "parquet")
ORDER = "month DESC, coalesce(published, first_seen) DESC, key"
# Built from the constants above only; the one outside value, a file path, is quoted.
SELECT_ALL = f"SELECT * FROM {TABLE} ORDER BY {ORDER}"  # noqa: S608
COUNT_ALL = f"SELECT count(*) FROM {TABLE}"  # noqa: S608

Tick = Callable[[int], object]


class QueryError(FeedArchiverError):
    """DuckDB refused the query (a syntax error, an unknown column...)."""


def _duckdb() -> Any:
    """DuckDB, imported on first use (dependency group `analytics`, installed by default)."""
    import duckdb

    return duckdb


def download_exports(store: Store, folder: Path, tick: Tick = lambda n: None) -> list[Path]:
    """Every month's export object, as folder/month=YYYY-MM/items.jsonl.gz."""
    paths = []
    for key in store.list_export_keys():
        if not _EXPORT_KEY.match(key):
            continue
        path = folder / key.removeprefix(fmt.EXPORTS_PREFIX)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.download(key))
        paths.append(path)
        tick(1)
    return paths


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _struct(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_sql_string(k)}: {_sql_string(v)}" for k, v in mapping.items()) + "}"


def load_items(connection: duckdb.DuckDBPyConnection, paths: Sequence[Path]) -> None:
    """Create the table `items` from downloaded exports (empty, with its columns, if none)."""
    names = ", ".join(f'"{c.name}"' for c in (*COLUMNS, PARTITION))
    if paths:
        files = "[" + ", ".join(_sql_string(str(p)) for p in paths) + "]"
        columns = _struct({c.name: c.duckdb for c in COLUMNS})
        source = (
            f"read_json({files}, format = 'newline_delimited', columns = {columns}, "
            f"hive_partitioning = true, hive_types = {_struct({PARTITION.name: PARTITION.duckdb})})"
        )
        connection.execute(f"CREATE TABLE {TABLE} AS SELECT {names} FROM {source}")  # noqa: S608
    else:
        typed = ", ".join(f'CAST(NULL AS {c.duckdb}) AS "{c.name}"' for c in (*COLUMNS, PARTITION))
        connection.execute(f"CREATE TABLE {TABLE} AS SELECT {typed} WHERE false")


def open_archive(store: Store, tick: Tick = lambda n: None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection holding the archive's exports as the table `items`.

    The exports are downloaded into a temporary folder, loaded, and the folder removed.
    """
    duckdb = _duckdb()
    connection = duckdb.connect(":memory:")
    try:
        with tempfile.TemporaryDirectory(prefix="feed-archiver-") as folder:
            load_items(connection, download_exports(store, Path(folder), tick))
    except BaseException:
        connection.close()
        raise
    return connection


def run_query(connection: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    """The result's column names and rows; a query DuckDB refuses raises QueryError."""
    duckdb = _duckdb()
    try:
        cursor = connection.execute(sql)
        if cursor.description is None:
            return [], []
        header = [d[0] for d in cursor.description]
        return header, cursor.fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"the query failed: {' '.join(str(exc).split())}") from exc


# --- output ---------------------------------------------------------------------------
def cell_text(value: Any) -> str:
    """One value as a person reads it: lists as [a, b], null as NULL."""
    if value is None:
        return "NULL"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(cell_text(v) for v in value) + "]"
    return str(value)


def _plain(value: Any) -> str:
    """A value for a CSV cell: lists joined with ", " (as the dashboard's CSV), null empty."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def render_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned text table; control characters are shown as \\xNN, long cells cut."""

    def show(value: Any) -> str:
        text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", cell_text(value))
        text = text.replace("\n", " ").replace("\t", " ")
        return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"

    cells = [[show(h) for h in header]] + [[show(v) for v in row] for row in rows]
    numeric = [
        all(isinstance(row[i], int | float) and not isinstance(row[i], bool) for row in rows)
        and bool(rows)
        for i in range(len(header))
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def render_json(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    records = [dict(zip(header, row, strict=True)) for row in rows]
    return json.dumps(records, ensure_ascii=False, indent=2, default=str)


def render_csv(out: Any, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    write_csv(out, header, ([_plain(v) for v in row] for row in rows))


# --- export -----------------------------------------------------------------------------
def count_items(connection: duckdb.DuckDBPyConnection) -> int:
    row = connection.execute(COUNT_ALL).fetchone()
    return int(row[0]) if row else 0


def export_archive(
    connection: duckdb.DuckDBPyConnection, path: Path, fmt_name: str, tick: Tick = lambda n: None
) -> int:
    """Write the whole table to `path` as csv, jsonl or parquet; returns the items written."""
    if fmt_name == "parquet":
        total = count_items(connection)
        # DuckDB writes Parquet itself: no pyarrow needed.
        target = _sql_string(str(path))
        connection.execute(f"COPY ({SELECT_ALL}) TO {target} (FORMAT parquet, COMPRESSION zstd)")
        tick(total)
        return total
    cursor = connection.execute(SELECT_ALL)
    header = [d[0] for d in cursor.description or ()]

    def rows() -> Iterator[tuple]:
        while batch := cursor.fetchmany(500):
            yield from batch
            tick(len(batch))

    if fmt_name == "csv":
        with path.open("w", encoding=ENCODING, newline="") as out:
            return write_csv(out, header, ([_plain(v) for v in row] for row in rows()))
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows():
            record = dict(zip(header, row, strict=True))
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            written += 1
    return written
