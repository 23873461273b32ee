"""The archive format: S3 keys, DynamoDB keys and record shapes, defined once.

Both the Lambda and the dashboard import this module; `docs/archive-format.md`
documents it and `data/item.schema.json` is the JSON Schema of an S3 document.
Changing anything here is a change of contract: bump SCHEMA_VERSION.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any, TypedDict

SCHEMA_VERSION = 1

# --- S3 -------------------------------------------------------------------
ITEMS_PREFIX = "items/"
RAW_PREFIX = "raw/"
CAPTURES_PREFIX = "captures/"  # captures/<item key>/<UTC timestamp>.warc.gz and .json
# Derived from items/ and the index (feed_archiver.publish): rebuilt, never the source of truth.
EXPORTS_PREFIX = "exports/items/"  # month=YYYY-MM/items.jsonl.gz: what Athena and DuckDB read
PUBLISHED_MANIFEST_KEY = "exports/published.json"  # the months published, with their item counts
FEED_PREFIX = "feed/"
FEED_CURRENT_KEY = "feed/current.atom"
FEED_ARCHIVE_PREFIX = "feed/archive/"  # YYYY-MM.atom: RFC 5005 archive documents, one a month

# --- DynamoDB: one table, generic string keys -------------------------------
PK = "pk"
SK = "sk"
BY_MONTH_INDEX = "by-month"
GSI1PK = "gsi1pk"
GSI1SK = "gsi1sk"

ITEM_PK_PREFIX = "ITEM#"  # pk=ITEM#<key>, sk=ITEM: the item index record
ITEM_SK = "ITEM"
FEED_PK = "FEED"  # pk=FEED, sk=<feed_key>: per-feed state (one query lists all feeds)
COUNT_PK = "COUNT"  # pk=COUNT, sk=T#... / R#... / K#... / C#... / S#...: the exact counters
TOTAL_CELL = "T"  # T#<feed_key>#<month>#<category>                 -> n
REGION_CELL = "R"  # R#<feed_key>#<month>#<category>#<region>       -> n
COUNTED_CELL = "K"  # K#<feed_key>#<month>#<category>               -> n items in the country cells
COUNTRY_CELL = "C"  # C#<feed_key>#<month>#<category>#<ISO2>        -> n
COUNTRY_SET_CELL = "S"  # S#<feed_key>#<month>#<category>#<ISO2ISO2...> -> n (many-country items)
CAPTURE_PK_PREFIX = "CAPTURE#"  # pk=CAPTURE#<feed_key>, sk=<timestamp>#<digest>
# pk=ALIAS#<key of the id as written>, sk=ALIAS: the item archived under an id resolved
# against the feed's URL before ids were kept as written (feed_archiver.aliases).
ALIAS_PK_PREFIX = "ALIAS#"
ALIAS_SK = "ALIAS"

UNCATEGORISED = "Uncategorised"
UNSPECIFIED_REGION = "Unspecified"

# Which counter cells an index record is counted in: absent (1) = T and R cells, as
# written before country counters existed; 2 = also K and C/S cells. Only the
# index record carries it (the document does not); `feed-archiver backfill-counters`
# brings version-1 records to 2, moving their cells in the same conditional transaction.
COUNTER_VERSION_FIELD = "counter_version"
COUNTER_VERSION = 2
# An item naming more countries than this adds 1 to one country-set cell instead of one
# cell per country, so that one item's counter moves always fit DynamoDB's 100 actions
# per transaction: an edit moves at most 2 × (1 + 1 + 8 regions + 30) cells + its record.
MAX_COUNTRY_CELLS = 30


def sha256_hex(data: str | bytes) -> str:
    """Hex SHA-256 of text (UTF-8) or bytes."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def item_key(item_id: str) -> str:
    """The storage key of an item: a fixed-length hash of its stable id."""
    return sha256_hex(item_id)[:32]


def feed_key(feed_url: str) -> str:
    """The storage key of a feed: a short hash of its configured URL."""
    return sha256_hex(feed_url)[:16]


def item_s3_key(key: str) -> str:
    return f"{ITEMS_PREFIX}{key}.json"


def raw_s3_key(feed: str, fetched_at: str, body_hash: str) -> str:
    """raw/<feed_key>/<YYYY>/<MM>/<fetched_at>-<hash12>.xml.gz"""
    return f"{RAW_PREFIX}{feed}/{fetched_at[:4]}/{fetched_at[5:7]}/{fetched_at}-{body_hash[:12]}.xml.gz"


def export_s3_key(month: str) -> str:
    """exports/items/month=<YYYY-MM>/items.jsonl.gz (a Hive-style partition: Athena's `month`)."""
    return f"{EXPORTS_PREFIX}month={month}/items.jsonl.gz"


def feed_archive_s3_key(month: str) -> str:
    return f"{FEED_ARCHIVE_PREFIX}{month}.atom"


def capture_s3_keys(key: str, captured_at: datetime) -> tuple[str, str]:
    """(WARC key, text key) of one article capture, named by its UTC time to the millisecond
    in ISO 8601 basic form (20190716T133230.123Z), which sorts as time does."""
    stamp = captured_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
    base = f"{CAPTURES_PREFIX}{key}/{stamp}"
    return f"{base}.warc.gz", f"{base}.json"


def item_pk(key: str) -> dict[str, str]:
    return {PK: f"{ITEM_PK_PREFIX}{key}", SK: ITEM_SK}


def alias_pk(key: str) -> dict[str, str]:
    return {PK: f"{ALIAS_PK_PREFIX}{key}", SK: ALIAS_SK}


def feed_state_pk(feed: str) -> dict[str, str]:
    return {PK: FEED_PK, SK: feed}


def total_cell_sk(feed: str, month: str, category: str) -> str:
    return f"{TOTAL_CELL}#{feed}#{month}#{category}"


def region_cell_sk(feed: str, month: str, category: str, region: str) -> str:
    return f"{REGION_CELL}#{feed}#{month}#{category}#{region}"


def counted_cell_sk(feed: str, month: str, category: str) -> str:
    return f"{COUNTED_CELL}#{feed}#{month}#{category}"


def country_cell_sk(feed: str, month: str, category: str, country: str) -> str:
    return f"{COUNTRY_CELL}#{feed}#{month}#{category}#{country}"


def country_set_cell_sk(feed: str, month: str, category: str, countries: list[str]) -> str:
    """One cell for an item naming many countries: the sorted ISO2 codes, run together.

    ISO2 codes are two letters, so the set reads back unambiguously, and the key stays
    under DynamoDB's 1,024 bytes for every country of the gazetteer at once.
    """
    return f"{COUNTRY_SET_CELL}#{feed}#{month}#{category}#{''.join(sorted(set(countries)))}"


def parse_cell_sk(sk: str) -> tuple[str, str, str, str, str | None]:
    """Split a counter sort key into (kind, feed, month, category, detail|None).

    detail is the region of an R cell, the country of a C cell, the run-together
    codes of an S cell (see `country_set`), None for T and K cells.
    Categories and regions never contain '#': the tagger canonicalises them.
    """
    parts = sk.split("#")
    if parts[0] in (TOTAL_CELL, COUNTED_CELL) and len(parts) == 4:
        return parts[0], parts[1], parts[2], parts[3], None
    if parts[0] in (REGION_CELL, COUNTRY_CELL, COUNTRY_SET_CELL) and len(parts) == 5:
        return parts[0], parts[1], parts[2], parts[3], parts[4]
    raise ValueError(f"not a counter key: {sk!r}")


def country_set(detail: str) -> list[str]:
    """The countries of an S cell's detail ("ATDEFR" -> ["AT", "DE", "FR"])."""
    return [detail[i : i + 2] for i in range(0, len(detail), 2)]


def counter_version(record: Mapping[str, Any]) -> int:
    """Which cells an index record is counted in (see COUNTER_VERSION_FIELD)."""
    return int(record.get(COUNTER_VERSION_FIELD) or 1)


def cells_for(
    feed: str,
    month: str,
    category: str,
    regions: list[str],
    countries: list[str] | None = None,
) -> list[str]:
    """The counter cells one item adds 1 to.

    One total cell and one per region; with `countries` (None for a record of
    counter version 1) also the counted cell and one cell per country, or a
    single country-set cell for an item naming more than MAX_COUNTRY_CELLS.
    """
    cells = [total_cell_sk(feed, month, category)]
    cells += [region_cell_sk(feed, month, category, region) for region in regions]
    if countries is None:
        return cells
    cells.append(counted_cell_sk(feed, month, category))
    unique = sorted(set(countries))
    if len(unique) > MAX_COUNTRY_CELLS:
        cells.append(country_set_cell_sk(feed, month, category, unique))
    else:
        cells += [country_cell_sk(feed, month, category, country) for country in unique]
    return cells


def record_cells(record: Mapping[str, Any], *, version: int | None = None) -> list[str]:
    """The cells an index record (or a document) is counted in, at its counter version."""
    counted = (version or counter_version(record)) >= COUNTER_VERSION
    return cells_for(
        feed_key(record["feed_url"]),
        record["month"],
        record["category"],
        list(record["regions"]),
        list(record.get("countries") or ()) if counted else None,
    )


def month_gsi_keys(month: str, published_or_seen: str, key: str) -> dict[str, str]:
    """Keys of the by-month index: newest first within a month via the sort key."""
    return {GSI1PK: f"MONTH#{month}", GSI1SK: f"{published_or_seen}#{key}"}


# Fields of the S3 document that the DynamoDB index record also carries, so the
# dashboard can list and filter items without reading S3.
INDEX_FIELDS = (
    "schema_version",
    "id",
    "key",
    "feed_url",
    "feed_urls",
    "feed_hashes",
    "link",
    "title",
    "headline",
    "category",
    "published",
    "date_estimated",
    "month",
    "countries",
    "regions",
    "programmes",
    "content_hash",
    "revision",
    "first_seen",
    "last_seen",
    "tagger_version",
    "s3_key",
    "capture",  # the article capture's status, keys and tags (small): `capture --missing` scans it
)
INDEX_SUMMARY_CHARS = 600


def load_item_schema() -> dict[str, Any]:
    """The JSON Schema of an S3 item document."""
    text = resources.files("feed_archiver").joinpath("data/item.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


class ItemDocument(TypedDict, total=False):
    """An S3 item document (items/<key>.json); data/item.schema.json is its JSON Schema."""

    schema_version: int
    id: str
    key: str
    feed_url: str
    feed_urls: list[str]  # optional: every feed the item appeared in, feed_url first
    feed_hashes: dict[str, str]  # optional: feed URL -> content hash that feed showed last
    guid: str | None
    link: str | None
    title: str
    headline: str
    category: str
    feed_categories: list[str]
    published: str | None
    date_estimated: bool
    month: str
    summary: str
    content_text: str
    content_html: str
    countries: list[str]
    regions: list[str]
    programmes: list[str]
    content_hash: str
    revision: int
    first_seen: str
    first_seen_via: str
    last_seen: str
    tagger_version: str
    problems: list[str]
    capture: dict[str, Any]  # the article capture (optional; see docs/archive-format.md)


class IndexRecord(TypedDict, total=False):
    """An item's DynamoDB index record: INDEX_FIELDS of its document plus keys and the S3 version."""

    pk: str
    sk: str
    gsi1pk: str
    gsi1sk: str
    schema_version: int
    id: str
    key: str
    feed_url: str
    feed_urls: list[str]
    feed_hashes: dict[str, str]
    link: str | None
    title: str
    headline: str
    category: str
    published: str | None
    date_estimated: bool
    month: str
    countries: list[str]
    regions: list[str]
    programmes: list[str]
    content_hash: str
    revision: int
    first_seen: str
    first_seen_via: str
    last_seen: str
    tagger_version: str
    s3_key: str
    s3_version_id: str | None
    summary: str
    capture: dict[str, Any]
    counter_version: int  # absent on records counted before country cells (see COUNTER_VERSION)
