"""What this Store wrote: the months whose items changed, and the documents it stored.

Every writer (a run, an import, retag, capture) goes through put_document and
commit, so noting it here catches them all. `feed_archiver.publish` then rewrites
only those months' exports and archive pages, from these documents where it can
instead of reading them back from S3. Drained by whoever publishes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# The big fields no export or feed entry carries: not kept in memory.
_NOT_KEPT = ("content_html", "content_text")


@dataclass
class Written:
    """What was written: the months committed index changes touched (the new record's and
    the replaced one's), the latest committed index record of each item, and the documents
    stored, by (key, S3 version)."""

    months: set[str] = field(default_factory=set)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[tuple[str, str | None], dict[str, Any]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.months)


class Journal:
    """Thread-safe: documents are stored from a thread pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._written = Written()

    def stored(self, document: dict[str, Any], version: str | None) -> None:
        kept = {k: v for k, v in document.items() if k not in _NOT_KEPT}
        with self._lock:
            self._written.documents[(str(document["key"]), version)] = kept

    def committed(self, changes: Iterable[tuple[dict[str, Any], dict[str, Any] | None]]) -> None:
        """Index records committed, each with the record it replaced (None if new)."""
        with self._lock:
            for new, old in changes:
                self._written.months.update(
                    m for m in (new.get("month"), (old or {}).get("month")) if m
                )
                self._written.records[str(new["key"])] = new

    def take(self) -> Written:
        """Everything noted so far; the journal starts empty again."""
        with self._lock:
            taken, self._written = self._written, Written()
        return taken

    def put_back(self, written: Written) -> None:
        """Return what a failed publish took, so the next one does it (a warm Lambda keeps it)."""
        with self._lock:
            self._written.months |= written.months
            self._written.records = {**written.records, **self._written.records}
            self._written.documents = {**written.documents, **self._written.documents}
