"""The analytics export: one gzipped JSON Lines file per month, one row per item.

`COLUMNS` is the one definition of the table: the Glue table in template.yaml
(Athena) and the DuckDB view `items` (`feed-archiver sql`) both follow it, and
tests/integration/test_exports_and_feed.py checks that they do. `month` is not
in the rows: it is the partition, read from the object's path
(exports/items/month=YYYY-MM/), as Athena's partition projection reads it.

Why JSON Lines and not Parquet: writing Parquet needs pyarrow (a 52 MB arm64
wheel, 165 MB installed) or DuckDB (22 MB wheel, 66 MB installed) in the
archiver Lambda, whose artifact must stay under 2 MiB; gzip and json are in the
standard library. At this archive's size Athena scans kilobytes either way.
`feed-archiver export --format parquet` writes Parquet locally, with DuckDB.

Pure: no AWS here (feed_archiver.publish reads and writes the objects).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    name: str
    athena: str  # the Glue/Hive type
    duckdb: str
    comment: str


_TEXT = ("string", "VARCHAR")
_LIST = ("array<string>", "VARCHAR[]")
_BOOL = ("boolean", "BOOLEAN")
_INT = ("int", "INTEGER")

COLUMNS: tuple[Column, ...] = tuple(
    Column(name, *types, comment)
    for name, types, comment in (
        ("id", _TEXT, "the item's stable id (guid, normalised link, or sha256: hash)"),
        ("key", _TEXT, "sha256(id)[:32]: the item's storage key"),
        ("feed_url", _TEXT, "the feed the item was first seen in"),
        ("title", _TEXT, "the title as the feed gave it (plain text)"),
        ("headline", _TEXT, "the title without its category prefix"),
        ("link", _TEXT, "the article (http/https only), or null"),
        ("published", _TEXT, "RFC 3339 UTC, e.g. 2019-07-16T13:32:30Z, or null"),
        ("date_estimated", _BOOL, "true when month comes from first_seen (no usable date)"),
        ("first_seen", _TEXT, "RFC 3339 UTC: when the archiver first stored the item"),
        ("last_seen", _TEXT, "RFC 3339 UTC: the fetch or import that gave this revision"),
        ("category", _TEXT, "Project News, Expert Voice, ICMPD Around the Globe, ..."),
        ("feed_categories", _LIST, "the feed's own <category> values"),
        ("countries", _LIST, "ISO 3166-1 alpha-2 codes named in title, summary or content"),
        ("regions", _LIST, "ICMPD regions (Unspecified when none)"),
        ("programmes", _LIST, "ICMPD dialogues and programmes named"),
        ("summary", _TEXT, "the feed's description as plain text, complete"),
        ("revision", _INT, "1 when first archived, +1 on every edit or re-tag"),
        ("article_status", _TEXT, "the article capture's status, null before any capture"),
        ("article_text", _TEXT, "the captured article's extracted text, or null"),
        ("article_countries", _LIST, "countries named in the captured article, or null"),
        ("article_regions", _LIST, "regions of the captured article, or null"),
        ("article_programmes", _LIST, "programmes named in the captured article, or null"),
    )
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
PARTITION = Column("month", "string", "VARCHAR", "YYYY-MM: month of published, else first_seen")

# Not a column: which S3 version of the document a row was built from, so that a month's
# rewrite reuses the rows of unchanged items instead of reading their documents again.
# Athena's SerDe and the DuckDB view (explicit columns) both ignore keys they do not name.
SOURCE_VERSION = "s3_version_id"


def article_fields(capture: Any, text: str | None) -> dict[str, Any]:
    """The article_* columns from a document's `capture` object (issue 12) and its text."""
    if not isinstance(capture, Mapping):
        return {
            "article_status": None,
            "article_text": None,
            "article_countries": None,
            "article_regions": None,
            "article_programmes": None,
        }

    def names(field: str) -> list[str] | None:
        value = capture.get(field)
        return [str(v) for v in value] if isinstance(value, list) else None

    status = capture.get("status")
    return {
        "article_status": str(status) if status is not None else None,
        "article_text": text,
        "article_countries": names("countries"),
        "article_regions": names("regions"),
        "article_programmes": names("programmes"),
    }


def text_key(document: Mapping[str, Any]) -> str | None:
    """The S3 key of the captured article's text JSON, if the document has one."""
    capture = document.get("capture")
    key = capture.get("text_key") if isinstance(capture, Mapping) else None
    return key if isinstance(key, str) and key else None


def export_row(
    document: Mapping[str, Any], version: str | None, article_text: str | None = None
) -> dict[str, Any]:
    """One row from an item document (the S3 document, or what the journal kept of it)."""

    def texts(field: str) -> list[str]:
        return [str(v) for v in document.get(field) or ()]

    row: dict[str, Any] = {
        "id": document["id"],
        "key": document["key"],
        "feed_url": document.get("feed_url"),
        "title": document.get("title"),
        "headline": document.get("headline"),
        "link": document.get("link"),
        "published": document.get("published"),
        "date_estimated": bool(document.get("date_estimated")),
        "first_seen": document.get("first_seen"),
        "last_seen": document.get("last_seen"),
        "category": document.get("category"),
        "feed_categories": texts("feed_categories"),
        "countries": texts("countries"),
        "regions": texts("regions"),
        "programmes": texts("programmes"),
        "summary": document.get("summary"),
        "revision": document.get("revision"),
        **article_fields(document.get("capture"), article_text),
    }
    row[SOURCE_VERSION] = version
    row[PARTITION.name] = document.get("month")  # in memory only: the file's path holds it
    return row


def row_order(row: Mapping[str, Any]) -> tuple[str, str]:
    """Newest first within a month, as the dashboard lists it; the key breaks ties."""
    return (str(row.get("published") or row.get("first_seen") or ""), str(row["key"]))


def encode_rows(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Gzipped JSON Lines, newest first; the same rows always give the same bytes."""
    ordered = sorted(rows, key=row_order, reverse=True)
    lines = "".join(
        json.dumps({k: v for k, v in r.items() if k != PARTITION.name}, ensure_ascii=False) + "\n"
        for r in ordered
    )
    return gzip.compress(lines.encode("utf-8"), mtime=0)


def decode_rows(data: bytes, month: str) -> list[dict[str, Any]]:
    """The rows of one month's export, with `month` put back from the partition."""
    text = gzip.decompress(data).decode("utf-8")
    return [{**json.loads(line), PARTITION.name: month} for line in text.splitlines() if line]
