"""Put a capture on its item: the document's `capture` object and the tags it counts under.

The write goes through `archive.write_planned`, like retag: the document is
read at the revision the index names, rewritten (a new S3 version, revision + 1),
and the index record commits together with its counter moves, conditional on
that revision. A concurrent writer (the archiver editing the item, another
capture) makes the commit fail as a whole; the planner then reads the item
again and re-applies the capture. So a capture that arrives after the item was
counted moves its counts exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from feed_archiver.archive import Pending
from feed_archiver.capture.tags import CAPTURED, counted_tags, counted_version
from feed_archiver.errors import FeedArchiverError
from feed_archiver.items import retagged_document
from feed_archiver.storage import Store
from feed_archiver.tag import Tags, tag, tagger_version

# Statuses that do not replace an earlier successful capture: the text already kept stays.
NOT_REPLACING = frozenset({"failed", "robots_disallowed", "not_html", "gone", "pending"})


def feed_tags(document: dict[str, Any]) -> Tags:
    """The tags of what the feed gave: title, teaser and content."""
    text = f"{document['summary']}\n\n{document['content_text']}"
    return tag(document["title"], text, document.get("feed_categories") or ())


def article_tags(title: str | None, text: str) -> Tags:
    """The tags of the article's own title and main text."""
    return tag(title or "", text)


def with_article_tags(capture: dict[str, Any], tags: Tags, version: str) -> dict[str, Any]:
    return {
        **capture,
        "countries": list(tags.countries),
        "regions": list(tags.regions),
        "programmes": list(tags.programmes),
        "tagger_version": version,
    }


def apply_capture(document: dict[str, Any], capture: dict[str, Any]) -> dict[str, Any]:
    """The next revision of `document` with `capture` and the tags it is counted under."""
    version = tagger_version()
    tags = counted_tags(feed_tags(document), capture)
    new = retagged_document(document, tags, counted_version(capture, version))
    new["capture"] = capture
    return new


def same_document(old: dict[str, Any], new: dict[str, Any]) -> bool:
    ignored = {"revision"}
    return {k: v for k, v in old.items() if k not in ignored} == {
        k: v for k, v in new.items() if k not in ignored
    }


class CapturePlanner:
    """Plans the document write of one capture for write_planned (re-planned on conflict)."""

    def __init__(self, store: Store, capture: dict[str, Any], link: str) -> None:
        self.store = store
        self.capture = capture
        self.link = link
        self.errors: list[str] = []
        self.skipped: str | None = None  # why nothing was written, when nothing was

    def __call__(
        self, keys: Sequence[str], records: dict[str, dict[str, Any]]
    ) -> tuple[list[Pending], int]:
        pending: list[Pending] = []
        for key in keys:
            record = records.get(key)
            planned = self._plan(key, record)
            if planned is not None and record is not None:
                pending.append((planned, record))
        return pending, len(keys) - len(pending)

    def _plan(self, key: str, record: dict[str, Any] | None) -> dict[str, Any] | None:
        self.skipped = None
        if record is None:
            self.skipped = "the item is not in the index"
            return None
        if record.get("link") != self.link:
            self.skipped = "the item's link changed meanwhile: this capture is of the old page"
            return None
        current = record.get("capture") or {}
        if str(current.get("checked_at") or "") > str(self.capture.get("checked_at") or ""):
            self.skipped = "a later capture of the item is already stored"
            return None
        if current.get("status") == CAPTURED and self.capture["status"] in NOT_REPLACING:
            self.skipped = "the item keeps its earlier capture"
            return None
        try:
            document = self.store.get_document(key, record.get("s3_version_id"))
        except FeedArchiverError as exc:
            self.errors.append(str(exc))
            return None
        if document.get("revision") != record["revision"]:
            self.errors.append(
                f"item {key}: document and index disagree on the revision (run verify)"
            )
            return None
        new = apply_capture(document, self.capture)
        if same_document(document, new):
            self.skipped = "nothing changed"
            return None
        return new


def retag_capture(store: Store, document: dict[str, Any]) -> dict[str, Any] | None:
    """The document's capture with its article tagged again by the current tagger (for retag).

    Reads the captured text; a capture without one (not captured) comes back as it is.
    """
    capture = document.get("capture")
    if not isinstance(capture, dict):
        return None
    if capture.get("status") != CAPTURED or not capture.get("text_key"):
        return capture
    text = store.get_capture_text(capture["text_key"])
    tags = article_tags(text.get("title"), str(text.get("text") or ""))
    return with_article_tags(capture, tags, tagger_version())
