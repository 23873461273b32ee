"""The archive format: S3 keys, DynamoDB keys and record shapes, defined once.

Both the Lambda and the dashboard import this module; `docs/archive-format.md`
documents it and `data/item.schema.json` is the JSON Schema of an S3 document.
Changing anything here is a change of contract: bump SCHEMA_VERSION.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

SCHEMA_VERSION = 1

# --- S3 -------------------------------------------------------------------
ITEMS_PREFIX = "items/"
RAW_PREFIX = "raw/"

# --- DynamoDB: one table, generic string keys -------------------------------
PK = "pk"
SK = "sk"
BY_MONTH_INDEX = "by-month"
GSI1PK = "gsi1pk"
GSI1SK = "gsi1sk"

ITEM_PK_PREFIX = "ITEM#"  # pk=ITEM#<key>, sk=ITEM: the item index record
ITEM_SK = "ITEM"
FEED_PK = "FEED"  # pk=FEED, sk=<feed_key>: per-feed state (one query lists all feeds)
COUNT_PK = "COUNT"  # pk=COUNT, sk=T#... / R#...: the exact counters
TOTAL_CELL = "T"  # T#<feed_key>#<month>#<category>                 -> n
REGION_CELL = "R"  # R#<feed_key>#<month>#<category>#<region>       -> n
CAPTURE_PK_PREFIX = "CAPTURE#"  # pk=CAPTURE#<feed_key>, sk=<timestamp>#<digest>

UNCATEGORISED = "Uncategorised"
UNSPECIFIED_REGION = "Unspecified"


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


def item_pk(key: str) -> dict[str, str]:
    return {PK: f"{ITEM_PK_PREFIX}{key}", SK: ITEM_SK}


def feed_state_pk(feed: str) -> dict[str, str]:
    return {PK: FEED_PK, SK: feed}


def total_cell_sk(feed: str, month: str, category: str) -> str:
    return f"{TOTAL_CELL}#{feed}#{month}#{category}"


def region_cell_sk(feed: str, month: str, category: str, region: str) -> str:
    return f"{REGION_CELL}#{feed}#{month}#{category}#{region}"


def parse_cell_sk(sk: str) -> tuple[str, str, str, str, str | None]:
    """Split a counter sort key into (kind, feed, month, category, region|None).

    Categories and regions never contain '#': the tagger canonicalises them.
    """
    parts = sk.split("#")
    if parts[0] == TOTAL_CELL and len(parts) == 4:
        return parts[0], parts[1], parts[2], parts[3], None
    if parts[0] == REGION_CELL and len(parts) == 5:
        return parts[0], parts[1], parts[2], parts[3], parts[4]
    raise ValueError(f"not a counter key: {sk!r}")


def cells_for(feed: str, month: str, category: str, regions: list[str]) -> list[str]:
    """The counter cells one item adds 1 to: one total cell and one per region."""
    return [total_cell_sk(feed, month, category)] + [
        region_cell_sk(feed, month, category, region) for region in regions
    ]


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
)
INDEX_SUMMARY_CHARS = 600


def load_item_schema() -> dict[str, Any]:
    """The JSON Schema of an S3 item document."""
    text = resources.files("feed_archiver").joinpath("data/item.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
