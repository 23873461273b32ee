"""Capture one item's article: fetch it politely, keep it as WARC and text, update the item.

Per capture, in this order:
1. the index record is read: the item's link and its earlier capture (for a
   conditional request, and the payload digest it stored);
2. the page is fetched (capture/sources.py): live, or the web archive's copy of a dead link;
3. when the payload is new: captures/<key>/<ts>.warc.gz, then captures/<key>/<ts>.json;
4. the document's `capture` object and the tags it counts under, through the
   conditional index path (capture/document.py).
A payload whose digest equals the stored one (or a 304) writes nothing. A crash
between 3 and 4 leaves files no document names; the item stays pending and
the next capture writes its own. The CLI and the capture Lambda both call
`capture_item`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from feed_archiver import archive_format as fmt
from feed_archiver.archive import write_planned
from feed_archiver.capture.document import CapturePlanner, article_tags, with_article_tags
from feed_archiver.capture.sources import CAPTURED, FAILED, PENDING, Attempt, fetch_article
from feed_archiver.capture.warc import build_warc, payload_digest
from feed_archiver.clock import parse_rfc3339, rfc3339, utcnow
from feed_archiver.fetch.feed import Validators
from feed_archiver.fetch.polite import Politeness
from feed_archiver.settings import Settings
from feed_archiver.storage import Store
from feed_archiver.tag import tagger_version

STATUSES = (CAPTURED, PENDING, FAILED, "robots_disallowed", "not_html", "gone")
TEXT_SCHEMA_VERSION = 1


@dataclass
class CaptureResult:
    """What capturing one item did."""

    key: str
    status: str  # one of STATUSES
    link: str | None = None
    source: str | None = None  # live / web_archive
    error: str | None = None
    new_warc: bool = False  # a WARC file was written
    unchanged: bool = False  # same payload as the stored capture (or a 304): nothing written
    written: bool = False  # the item's document and index were updated
    warc_key: str | None = None
    text_chars: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def item_time(record: dict[str, Any]) -> datetime:
    """When the item appeared: its date, else when it was first seen."""
    return parse_rfc3339(str(record.get("published") or record["first_seen"]))


def validators_for(previous: dict[str, Any], link: str) -> Validators | None:
    """A conditional request only re-asks for the page that was captured."""
    if previous.get("status") != CAPTURED or previous.get("requested_url") != link:
        return None
    if previous.get("source") != "live":
        return None
    return Validators(previous.get("etag"), previous.get("last_modified"))


def capture_item(
    store: Store,
    key: str,
    settings: Settings,
    *,
    politeness: Politeness,
    now: datetime | None = None,
) -> CaptureResult:
    """Capture the article of the item `key` and record the outcome on the item."""
    moment = (now or utcnow()).astimezone(UTC)
    record = store.get_index_records([key]).get(key)
    if record is None:
        return CaptureResult(key, FAILED, error="no such item in the index")
    link = record.get("link")
    if not isinstance(link, str) or not link:
        return CaptureResult(key, FAILED, error="the item has no link to capture")
    previous: dict[str, Any] = dict(record.get("capture") or {})
    attempt = fetch_article(
        politeness,
        link,
        wayback=settings.wayback,
        item_time=item_time(record),
        validators=validators_for(previous, link),
        web_archive=not _captured_live(previous, link),
    )
    result = CaptureResult(key, attempt.status, link, attempt.source, attempt.error)
    if attempt.not_modified or _same_payload(attempt, previous, link):
        result.unchanged = True
        result.warc_key = previous.get("warc_key")
        result.text_chars = previous.get("text_chars")
        return result
    if attempt.status == CAPTURED:
        capture = _store_capture(store, record, link, attempt, moment, result)
    elif _same_failure(attempt, previous, link):
        return result  # recorded already: another revision would only move a timestamp
    else:
        capture = _failed_capture(link, attempt, rfc3339(moment))
    _write(store, key, capture, link, result)
    return result


def _same_failure(attempt: Attempt, previous: dict[str, Any], link: str) -> bool:
    return (
        previous.get("status") == attempt.status
        and previous.get("error") == attempt.error
        and previous.get("requested_url") == link
    )


def _captured_live(previous: dict[str, Any], link: str) -> bool:
    return (
        previous.get("status") == CAPTURED
        and previous.get("source") == "live"
        and previous.get("requested_url") == link
    )


def _same_payload(attempt: Attempt, previous: dict[str, Any], link: str) -> bool:
    if attempt.page is None or previous.get("status") != CAPTURED:
        return False
    same_page = previous.get("requested_url") == link and previous.get("source") == attempt.source
    return same_page and previous.get("payload_digest") == payload_digest(attempt.page.body)


def _store_capture(
    store: Store,
    record: dict[str, Any],
    link: str,
    attempt: Attempt,
    moment: datetime,
    result: CaptureResult,
) -> dict[str, Any]:
    """Write the WARC and the text; the `capture` object naming them."""
    from feed_archiver.capture.extract import extract_article

    page = attempt.page
    assert page is not None
    key = record["key"]
    captured_at = rfc3339(moment)
    warc_key, text_key = fmt.capture_s3_keys(key, moment)
    digest = payload_digest(page.body)
    warc = build_warc(
        page, captured_at=moment, filename=warc_key.rsplit("/", 1)[-1], is_part_of=record["id"]
    )
    article = extract_article(page.body, page.content_type, page.url)
    store.put_warc(warc_key, warc)
    result.new_warc = True
    text = {
        "schema_version": TEXT_SCHEMA_VERSION,
        "key": key,
        "item_id": record["id"],
        "requested_url": link,
        "url": page.url,
        "source": attempt.source,
        "captured_at": captured_at,
        "snapshot_at": attempt.snapshot_at,
        "http_status": page.status,
        "content_type": page.content_type,
        "payload_digest": digest,
        "warc_key": warc_key,
        "title": article.title,
        "author": article.author,
        "date": article.date,
        "language": article.language,
        "text": article.text,
        "encoding": article.encoding,
        "extractor": {"name": article.extractor, "version": article.extractor_version},
        "problem": article.problem,
    }
    store.put_capture_text(text_key, text)
    result.warc_key, result.text_chars = warc_key, len(article.text)
    capture = {
        "status": CAPTURED,
        "captured_at": captured_at,
        "checked_at": captured_at,
        "source": attempt.source,
        "requested_url": link,
        "url": page.url,
        "http_status": page.status,
        "snapshot_at": attempt.snapshot_at,
        "warc_key": warc_key,
        "text_key": text_key,
        "text_chars": len(article.text),
        "payload_digest": digest,
        "etag": page.etag,
        "last_modified": page.last_modified,
        "error": None,
    }
    return with_article_tags(capture, article_tags(article.title, article.text), tagger_version())


def _failed_capture(link: str, attempt: Attempt, checked_at: str) -> dict[str, Any]:
    """The `capture` object of an attempt that kept nothing (its earlier capture, if any, stays)."""
    return {
        "status": attempt.status,
        "captured_at": None,
        "checked_at": checked_at,
        "source": attempt.source,
        "requested_url": link,
        "url": None,
        "http_status": attempt.http_status,
        "snapshot_at": None,
        "warc_key": None,
        "text_key": None,
        "text_chars": 0,
        "payload_digest": None,
        "etag": None,
        "last_modified": None,
        "error": attempt.error,
        "countries": [],
        "regions": [],
        "programmes": [],
        "tagger_version": tagger_version(),
    }


def _write(
    store: Store, key: str, capture: dict[str, Any], link: str, result: CaptureResult
) -> None:
    planner = CapturePlanner(store, capture, link)
    outcome = write_planned(store, [key], planner)
    errors = planner.errors + outcome.errors
    if errors:
        message = "; ".join(errors)
        result.error = f"{result.error}; {message}" if result.error else message
        if result.status == CAPTURED:
            result.status = FAILED  # the files are stored, the item does not name them yet
        return
    result.written = outcome.updated > 0
    if not result.written and result.status == CAPTURED:
        # Stored, but the item does not name these files (they stay as orphans).
        result.status = FAILED
        result.error = f"the capture was not recorded on the item: {planner.skipped}"
