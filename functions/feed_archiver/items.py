"""Build the archived form of an item: the S3 document and its DynamoDB index record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from feed_archiver import archive_format as fmt
from feed_archiver.clock import rfc3339

if TYPE_CHECKING:
    from feed_archiver.parse import Entry
    from feed_archiver.tag import Tags

# identity, parse (feedparser) and tag are imported where they are used: a run whose
# feed is unchanged never needs them, and the Lambda's cold start should not load them.


def tag_entry(entry: Entry) -> Tags:
    from feed_archiver.tag import tag

    return tag(entry.title, f"{entry.summary_text}\n\n{entry.content_text}", entry.categories)


def build_document(
    entry: Entry,
    *,
    feed_url: str,
    seen_at: str,
    previous: dict[str, Any] | None,
    via: str = "feed",
    tags: Tags | None = None,
) -> fmt.ItemDocument:
    """The S3 document for `entry`, continuing `previous` (its index record) if any.

    `id`, `revision`, `first_seen`, `first_seen_via`, `feed_url` and `feed_urls` carry
    over from `previous` (an item found through an alias keeps the id it is archived
    under, aliases.py); an item without a date takes the month it was first seen and
    is flagged.
    """
    from feed_archiver.capture.tags import carried_capture, counted_tags, counted_version
    from feed_archiver.identity import content_hash, item_id
    from feed_archiver.tag import tagger_version

    # An edit keeps the item's article capture, and the tags it adds (capture/tags.py).
    capture = carried_capture(previous, entry.link)
    tags = counted_tags(tags or tag_entry(entry), capture)
    ident = previous["id"] if previous else item_id(entry)
    digest = content_hash(entry)
    first_seen = previous["first_seen"] if previous else seen_at
    published = rfc3339(entry.published) if entry.published else None
    month = (published or first_seen)[:7]
    document: fmt.ItemDocument = {
        "schema_version": fmt.SCHEMA_VERSION,
        "id": ident,
        "key": fmt.item_key(ident),
        "feed_url": previous["feed_url"] if previous else feed_url,
        "feed_urls": feed_urls_of(previous) if previous else [feed_url],
        # What each feed showed last: a revision is made when that changes (archive.py).
        "feed_hashes": {**(feed_hashes_of(previous) if previous else {}), feed_url: digest},
        "guid": entry.guid,
        "link": entry.link,
        "title": entry.title,
        "headline": tags.headline,
        "category": tags.category,
        "feed_categories": list(entry.categories),
        "published": published,
        "date_estimated": published is None,
        "month": month,
        "summary": entry.summary_text,
        "content_text": entry.content_text,
        "content_html": entry.content_html,
        "countries": list(tags.countries),
        "regions": list(tags.regions),
        "programmes": list(tags.programmes),
        "content_hash": digest,
        "revision": previous["revision"] + 1 if previous else 1,
        "first_seen": first_seen,
        "first_seen_via": previous.get("first_seen_via", "feed") if previous else via,
        "last_seen": seen_at,
        "tagger_version": counted_version(capture, tagger_version()),
        "problems": list(entry.problems),
    }
    if capture is not None:
        document["capture"] = capture
    return document


def feed_urls_of(record: dict[str, Any]) -> list[str]:
    """Every feed an item appeared in, the one it is counted under first (a record
    written before `feed_urls` existed has only its `feed_url`)."""
    return list(record.get("feed_urls") or [record["feed_url"]])


def feed_hashes_of(record: dict[str, Any]) -> dict[str, str]:
    """The content hash each feed of the item showed last (a record written before
    `feed_hashes` existed: its feed's is the item's content hash)."""
    return dict(record.get("feed_hashes") or {record["feed_url"]: record["content_hash"]})


def retagged_document(document: dict[str, Any], tags: Tags, version: str) -> dict[str, Any]:
    """The next revision of `document` with these tags (retag, article captures)."""
    return {
        **document,
        "category": tags.category,
        "headline": tags.headline,
        "countries": list(tags.countries),
        "regions": list(tags.regions),
        "programmes": list(tags.programmes),
        "revision": document["revision"] + 1,
        "tagger_version": version,
    }


def index_record(document: Mapping[str, Any], s3_version_id: str | None) -> fmt.IndexRecord:
    """The DynamoDB index record of a document: enough to list and filter without S3."""
    key = document["key"]
    record: dict[str, Any] = {f: document[f] for f in fmt.INDEX_FIELDS if f in document}
    record.update(fmt.item_pk(key))
    record.update(
        fmt.month_gsi_keys(document["month"], document["published"] or document["first_seen"], key)
    )
    record["s3_key"] = fmt.item_s3_key(key)
    record["s3_version_id"] = s3_version_id
    record["summary"] = document["summary"][: fmt.INDEX_SUMMARY_CHARS]
    record["first_seen_via"] = document["first_seen_via"]
    # Counted in every cell kind: the commit moves its country cells too.
    record[fmt.COUNTER_VERSION_FIELD] = fmt.COUNTER_VERSION
    return cast(fmt.IndexRecord, record)


def document_matches_record(document: dict[str, Any], record: dict[str, Any]) -> list[str]:
    """Fields on which a stored document and its index record disagree (for verify)."""
    fields = (
        "id", "feed_url", "feed_urls", "feed_hashes", "category", "month", "regions",
        "content_hash", "revision",
    )  # fmt: skip
    return [f for f in fields if document.get(f) != record.get(f)]
