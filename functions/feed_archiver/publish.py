"""Publish what the archive derives from its items: monthly exports and the Atom archive feed.

After a run (the Lambda, `feed-archiver run`) only the months its writes touched
are rewritten (`publish_changes`, from the store's journal); `feed-archiver
publish` rebuilds every month (`publish_all`). For each month rewritten:

1. its index records (one by-month Query per 1 MB), with this process's own
   commits laid over them (the by-month index is eventually consistent);
2. a row per item: from the document this process just stored, else the row of
   the previous export when it was built from the same S3 version, else the
   document read back (and the captured article's text, when there is one);
3. `exports/items/month=M/items.jsonl.gz`, then `feed/archive/M.atom`.

Then the pages next to a month that appeared or emptied (their links change),
`feed/current.atom`, and last the manifest (`exports/published.json`: the
months published with their item counts). A run also rewrites any month whose
stored count differs from the manifest's, so a publish that failed after its
items were committed is caught up by the next run that writes anything.
A run that wrote nothing sends no request here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feed_archiver import archive_format as fmt
from feed_archiver import atom
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.clock import rfc3339, utcnow
from feed_archiver.errors import FeedArchiverError
from feed_archiver.exports import (
    SOURCE_VERSION,
    decode_rows,
    encode_rows,
    export_row,
    row_order,
    text_key,
)
from feed_archiver.storage import Store
from feed_archiver.storage.journal import Written

MONTH_PAGE = 1000  # index records per by-month Query (DynamoDB stops at 1 MB anyway)
DEFAULT_TITLE = "feed-archiver"


@dataclass
class PublishReport:
    exported: list[str] = field(default_factory=list)  # months whose export was rewritten
    pages: list[str] = field(default_factory=list)  # months whose archive page was rewritten
    current_items: int = 0
    documents_read: int = 0  # item documents read back from S3 (the rest came from memory)
    deferred: list[str] = field(default_factory=list)  # left for later: out of time

    def as_dict(self) -> dict[str, Any]:
        return {
            "months_exported": self.exported,
            "archive_pages": self.pages,
            "current_items": self.current_items,
            "documents_read": self.documents_read,
            "deferred": self.deferred,
        }

    def lines(self) -> list[str]:
        lines = [
            f"{len(self.exported)} months exported, {len(self.pages)} archive pages written, "
            f"current.atom with {self.current_items} items "
            f"({self.documents_read} documents read)"
        ]
        if self.deferred:
            lines.append(f"{len(self.deferred)} months left for the next run (out of time)")
        return lines


def publish_changes(
    store: Store,
    *,
    pool_size: int = 16,
    out_of_time: Callable[[], bool] = lambda: False,
    now: Callable[[], datetime] = utcnow,
) -> PublishReport | None:
    """Rewrite what this store's writes made stale; None (and no request) if it wrote nothing.

    On failure, or for months left when time ran out, the journal keeps what it
    noted, so the next publish of this process (a warm Lambda) does it.
    """
    written = store.journal.take()
    if not written:
        return None
    publisher = _Publisher(store, written, pool_size, out_of_time, now)
    try:
        report = publisher.publish(written.months)
    except BaseException:
        store.journal.put_back(written)
        raise
    if report.deferred:
        store.journal.put_back(Written(months=set(report.deferred)))
    return report


def publish_all(
    store: Store,
    *,
    pool_size: int = 16,
    on_month: Callable[[str], None] = lambda month: None,
    now: Callable[[], datetime] = utcnow,
) -> PublishReport:
    """Rebuild every month's export and archive page from the documents, and current.atom."""
    store.journal.take()  # everything is rebuilt from S3: nothing noted is needed
    publisher = _Publisher(store, Written(), pool_size, lambda: False, now, on_month=on_month)
    return publisher.publish(None)


class _Publisher:
    def __init__(
        self,
        store: Store,
        written: Written,
        pool_size: int,
        out_of_time: Callable[[], bool],
        now: Callable[[], datetime],
        *,
        on_month: Callable[[str], None] = lambda month: None,
    ) -> None:
        self.store, self.written, self.pool_size = store, written, pool_size
        self.out_of_time, self.now, self.on_month = out_of_time, now, on_month
        self.report = PublishReport()
        self.rows: dict[str, list[dict[str, Any]]] = {}  # rows of the months in hand
        self.archive = f"s3://{store.bucket}/{fmt.FEED_PREFIX}"
        self._title: str | None = None

    def publish(self, changed: set[str] | None) -> PublishReport:
        """Rewrite `changed` months and those whose counts moved; every month when None."""
        store, full = self.store, changed is None
        counts = stats_from_cells(parse_cells(store.read_cells())).by_month
        before = store.get_published_manifest()
        if changed is None:
            months = set(counts) | set(before) | set(self._exported_months())
        else:
            moved = {m for m in set(counts) | set(before) if counts.get(m) != before.get(m)}
            months = changed | moved
        manifest = dict(before)
        for month in sorted(months, reverse=True):
            if self.out_of_time():
                self.report.deferred.append(month)
                continue
            rows = self._month_rows(month, reuse=not full)
            store.put_export(month, encode_rows(rows))
            self.rows[month] = rows
            if rows:
                manifest[month] = len(rows)
            else:
                manifest.pop(month, None)
            self.report.exported.append(month)
            self.on_month(month)
        published = sorted(manifest)
        pages = set(self.report.exported) | (set(published) if full else set())
        for month in set(published) ^ set(before):  # appeared or emptied: neighbours relink
            pages.update(m for m in _neighbours(published, month) if m)
        self._write_pages(sorted(pages), published)
        self._write_current(published)
        if manifest != before:
            store.put_published_manifest(manifest)
        return self.report

    # -- rows ---------------------------------------------------------------------------
    def _month_records(self, month: str) -> list[dict[str, Any]]:
        """The month's index records, with this process's own commits laid over them."""
        records: dict[str, dict[str, Any]] = {}
        start: dict[str, Any] | None = None
        while True:
            page, start = self.store.query_month(month, limit=MONTH_PAGE, start_key=start)
            records.update((r["key"], r) for r in page)
            if not start:
                break
        for key, record in self.written.records.items():
            seen = records.get(key)
            if record.get("month") == month:
                if seen is None or int(seen.get("revision", 0)) <= int(record["revision"]):
                    records[key] = record
            elif seen is not None and int(seen.get("revision", 0)) <= int(record["revision"]):
                del records[key]  # moved to another month; the index has not caught up yet
        return list(records.values())

    def _month_rows(self, month: str, *, reuse: bool) -> list[dict[str, Any]]:
        records = self._month_records(month)
        previous: dict[str, dict[str, Any]] | None = None
        rows: list[dict[str, Any]] = []
        wanted: list[tuple[dict[str, Any] | None, str, str | None]] = []
        for record in records:
            key, version = record["key"], record.get("s3_version_id")
            document = self.written.documents.get((key, version))
            if document is None and reuse and version:
                if previous is None:
                    data = self.store.get_export(month)
                    previous = {r["key"]: r for r in decode_rows(data, month)} if data else {}
                row = previous.get(key)
                if row and row.get(SOURCE_VERSION) == version:
                    rows.append(row)
                    continue
            wanted.append((document, key, version))
        rows += self._rows_from_documents(wanted)
        return rows

    def _rows_from_documents(
        self, wanted: Iterable[tuple[dict[str, Any] | None, str, str | None]]
    ) -> list[dict[str, Any]]:
        def row(task: tuple[dict[str, Any] | None, str, str | None]) -> dict[str, Any]:
            document, key, version = task
            if document is None:
                document = self.store.get_document(key, version)
            text = None
            article = text_key(document)
            if article:
                stored = self.store.get_text_object(article) or {}
                value = stored.get("text")
                text = value if isinstance(value, str) else None
            return export_row(document, version, text)

        tasks = list(wanted)
        self.report.documents_read += sum(1 for document, _, _ in tasks if document is None)
        if len(tasks) <= 1:
            return [row(t) for t in tasks]
        with ThreadPoolExecutor(max_workers=max(1, min(self.pool_size, len(tasks)))) as pool:
            return list(pool.map(row, tasks))

    def _rows_of(self, month: str) -> list[dict[str, Any]]:
        """A month's rows: rebuilt in this publish, else read back from its export."""
        if month not in self.rows:
            data = self.store.get_export(month)
            self.rows[month] = decode_rows(data, month) if data else []
        return self.rows[month]

    # -- feed documents -----------------------------------------------------------------
    def _title_and_author(self) -> str:
        if self._title is None:
            titles = sorted({s.title for s in self.store.list_feed_states() if s.title})
            self._title = " + ".join(titles) or DEFAULT_TITLE
        return self._title

    def _write_pages(self, months: list[str], published: list[str]) -> None:
        for month in months:
            prev_month, next_month = _neighbours(published, month)
            rows = sorted(self._rows_of(month), key=row_order, reverse=True)
            title = self._title_and_author()
            page = atom.archive_page(
                month,
                rows,
                prev_month=prev_month,
                next_month=next_month,
                archive=self.archive,
                title=title,
                author=title,
            )
            self.store.put_feed_document(fmt.feed_archive_s3_key(month), page)
            self.report.pages.append(month)

    def _write_current(self, published: list[str]) -> None:
        newest: list[dict[str, Any]] = []
        for month in reversed(published):
            if len(newest) >= atom.CURRENT_ITEMS:
                break
            newest += self._rows_of(month)
        newest = sorted(newest, key=row_order, reverse=True)[: atom.CURRENT_ITEMS]
        title = self._title_and_author()
        body = atom.current_feed(
            newest,
            newest_month=published[-1] if published else None,
            archive=self.archive,
            title=title,
            author=title,
            now=rfc3339(self.now()),
        )
        self.store.put_feed_document(fmt.FEED_CURRENT_KEY, body)
        self.report.current_items = len(newest)

    def _exported_months(self) -> list[str]:
        """Months that have an export object (so a full publish also rewrites stale ones)."""
        months = []
        for key in self.store.list_export_keys():
            part = key.removeprefix(fmt.EXPORTS_PREFIX).split("/", 1)[0]
            if part.startswith("month="):
                months.append(part.removeprefix("month="))
        return months


def _neighbours(months: list[str], month: str) -> tuple[str | None, str | None]:
    """The published months just before and just after `month` (which need not be one)."""
    before = [m for m in months if m < month]
    after = [m for m in months if m > month]
    return (before[-1] if before else None, after[0] if after else None)


def publish_after_run(
    store: Store, *, pool_size: int = 16, out_of_time: Callable[[], bool] = lambda: False
) -> dict[str, Any] | None:
    """`publish_changes` for a run's summary: its report, `{"error": ...}` if it failed (the
    items stay archived, and the next run or `feed-archiver publish` catches up), or None
    when the run wrote nothing."""
    try:
        report = publish_changes(store, pool_size=pool_size, out_of_time=out_of_time)
    except FeedArchiverError as exc:
        return {"error": f"publishing the exports and the archive feed failed: {exc}"}
    return report.as_dict() if report else None
