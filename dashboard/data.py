"""What the dashboard reads, and how: counter cells, feed states and by-month pages of items.

The archive format is the archiver's (`feed_archiver.archive_format`); this module
only chooses the queries. The default view costs a fixed number of requests
however large the archive grows: one query of the counter cells, one of the feed
states, the by-month queries that fill one page of the newest items, and at most
a page or two of the month that straddles the 30-day cut-off. Only a text search,
a region or a country filter reads every index record of the months in range,
because exact counts for those need the items themselves.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError

from feed_archiver import archive_format as fmt
from feed_archiver.aggregates import Cell, expected_cells, parse_cells
from feed_archiver.errors import StorageError
from feed_archiver.settings import load_settings
from feed_archiver.storage import FeedState, Store
from feed_archiver.storage.clients import describe_aws_error

PAGE_SIZE = 200  # rows of the item table: the newest items that match
QUERY_PAGE = 500  # by-month page size when a filter may skip some of the month's items
RECENT_DAYS = 30

Record = dict[str, Any]


# --- where the archive is -----------------------------------------------------
@dataclass(frozen=True)
class StoreConfig:
    """Where the archive lives: the archiver's own environment variables."""

    bucket: str
    table: str
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StoreConfig:
        """Read ARCHIVE_BUCKET, ARCHIVE_TABLE and the AWS variables; ConfigError if unset."""
        env = os.environ if env is None else env
        settings = load_settings(env, require_feeds=False)
        return cls(
            bucket=settings.archive_bucket,
            table=settings.archive_table,
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            profile=env.get("AWS_PROFILE") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        )

    def describe(self) -> str:
        where = (
            self.endpoint_url
            or f"AWS ({self.profile or 'default credentials'}, {self.region or 'no region'})"
        )
        return f"bucket {self.bucket}, table {self.table} at {where}"


def make_store(config: StoreConfig) -> Store:
    """The archive's Store; clients come from the environment (feed_archiver.storage.clients.make_clients).

    Tests replace this function to inject clients.
    """
    if config.region and not os.environ.get("AWS_DEFAULT_REGION"):
        # boto3 reads AWS_DEFAULT_REGION only; the project's docs (and Lambda) use AWS_REGION.
        os.environ["AWS_DEFAULT_REGION"] = config.region
    try:
        return Store(config.bucket, config.table)
    except BotoCoreError as exc:  # no region, unknown profile: raised while building clients
        raise StorageError(f"opening the archive failed: {describe_aws_error(exc)}") from exc


# --- filters -------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """The sidebar's choices. Empty means everything."""

    month_from: str | None = None
    month_to: str | None = None
    categories: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # ISO 3166-1 alpha-2 codes
    feed: str | None = None  # a feed key
    search: str = ""

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.search.casefold().split())

    @property
    def needs_items(self) -> bool:
        """True when exact counts need the items: a text search, a region or a country filter."""
        return bool(self.terms or self.regions or self.countries)

    def keeps_cell(self, cell: Cell) -> bool:
        """Whether a counter cell is inside the feed, category and month filters."""
        return (
            (self.feed is None or cell.feed == self.feed)
            and (not self.categories or cell.category in self.categories)
            and (self.month_from is None or cell.month >= self.month_from)
            and (self.month_to is None or cell.month <= self.month_to)
        )

    def keeps_record(self, record: Record) -> bool:
        """Whether an index record matches every filter."""
        month = record.get("month", "")
        regions = record.get("regions") or ()
        named = record.get("countries") or ()
        title = str(record.get("title") or "").casefold()
        return (
            (self.feed is None or fmt.feed_key(record["feed_url"]) == self.feed)
            and (not self.categories or record.get("category") in self.categories)
            and (self.month_from is None or month >= self.month_from)
            and (self.month_to is None or month <= self.month_to)
            and (not self.regions or any(r in self.regions for r in regions))
            and (not self.countries or any(c in self.countries for c in named))
            and all(term in title for term in self.terms)
        )


# --- the archive at a glance: cells and feed states -------------------------------
@dataclass(frozen=True)
class Archive:
    """Everything the default view needs besides the item page."""

    cells: tuple[Cell, ...]
    feeds: tuple[FeedState, ...]
    recent: int  # items dated within RECENT_DAYS of `as_of`
    as_of: str

    @property
    def total(self) -> int:
        return sum(c.n for c in self.cells if c.kind == fmt.TOTAL_CELL)

    @property
    def empty(self) -> bool:
        return self.total == 0

    @property
    def months(self) -> list[str]:
        """Months that hold items, oldest first."""
        return sorted({c.month for c in self.cells if c.kind == fmt.TOTAL_CELL and c.n})

    @property
    def categories(self) -> list[str]:
        counts = Counter({c.category: 0 for c in self.cells})
        for c in self.cells:
            if c.kind == fmt.TOTAL_CELL:
                counts[c.category] += c.n
        return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    @property
    def regions(self) -> list[str]:
        return sorted({c.region for c in self.cells if c.region is not None})

    @property
    def countries(self) -> list[str]:
        """ISO2 codes of the countries that have items."""
        return sorted({c.country for c in self.cells if c.country is not None and c.n})

    @property
    def feed_keys(self) -> list[str]:
        """Every feed that has a state or items."""
        return sorted({f.feed_key for f in self.feeds} | {c.feed for c in self.cells})

    def feed_url(self, key: str) -> str:
        for state in self.feeds:
            if state.feed_key == key:
                return state.feed_url
        return key


def load_archive(store: Store, *, now: datetime | None = None) -> Archive:
    """Counter cells and feed states (one query each), and the 30-day count."""
    moment = now or datetime.now(UTC)
    cells = tuple(parse_cells(store.read_cells()))
    feeds = tuple(sorted(store.list_feed_states(), key=lambda f: f.feed_url))
    return Archive(
        cells=cells,
        feeds=feeds,
        recent=count_recent(store, cells, moment),
        as_of=_rfc3339(moment),
    )


def count_recent(
    store: Store, cells: Iterable[Cell], now: datetime, days: int = RECENT_DAYS
) -> int:
    """Items dated on or after now − `days`.

    Months after the cut-off's month count whole, from the cells; the cut-off's
    own month is read newest first only until the first older item, so the cost
    depends on how much was published lately, never on the archive's size.
    """
    cutoff = _rfc3339(now - timedelta(days=days))
    cutoff_month = cutoff[:7]
    totals = month_totals(cells)
    recent = sum(n for month, n in totals.items() if month > cutoff_month)
    if not totals.get(cutoff_month):
        return recent
    for record in _walk_month(store, cutoff_month, page=PAGE_SIZE):
        if item_date(record) < cutoff:
            break
        recent += 1
    return recent


# --- the filtered view: counts and the item page ----------------------------------
@dataclass(frozen=True)
class View:
    """What the page shows for one set of filters."""

    cells: tuple[Cell, ...]  # the counts behind every chart
    items: tuple[Record, ...]  # the newest matching items, at most PAGE_SIZE
    matching: int  # how many items match in all
    from_items: bool  # counts recomputed from index records (text search / region filter)

    @property
    def truncated(self) -> bool:
        return self.matching > len(self.items)


def load_view(store: Store, archive: Archive, filters: Filters, *, limit: int = PAGE_SIZE) -> View:
    """Counts and items for `filters`: from the cells when they can be exact, else from the items."""
    if filters.needs_items:
        return _view_from_items(store, archive, filters, limit)
    cells = tuple(c for c in archive.cells if filters.keeps_cell(c))
    wanted = month_totals(cells)
    everything = month_totals(archive.cells)
    # The cells say how many matching items each month holds, so the months that
    # fill the page are known before reading any, newest first.
    plan: list[tuple[str, int, int]] = []  # (month, items to take, query page size)
    remaining = limit
    for month in sorted((m for m, n in wanted.items() if n), reverse=True):
        if remaining <= 0:
            break
        take = min(wanted[month], remaining)
        # When every item of the month matches, ask for exactly what the page needs from it.
        page = remaining if wanted[month] == everything.get(month, 0) else QUERY_PAGE
        plan.append((month, take, page))
        remaining -= take

    def read(step: tuple[str, int, int]) -> list[Record]:
        month, take, page = step
        taken: list[Record] = []
        for record in _walk_month(store, month, page=page):
            if filters.keeps_record(record):
                taken.append(record)
                if len(taken) >= take:
                    break
        return taken

    # One month after the other: the page's cost is a few round trips for a busy
    # archive (a month or two fill it) and at most one per month for a sparse one.
    items = [record for step in plan for record in read(step)]
    return View(cells=cells, items=tuple(items), matching=sum(wanted.values()), from_items=False)


def load_matching_items(store: Store, archive: Archive, filters: Filters) -> list[Record]:
    """Every item matching `filters`, newest first: reads all index records of the months in range.

    The cells say which months hold anything inside the feed, category and month
    filters, so months with nothing to find are never queried.
    """
    totals = month_totals(c for c in archive.cells if filters.keeps_cell(c))
    months = sorted((m for m, n in totals.items() if n), reverse=True)

    def read(month: str) -> list[Record]:
        return [r for r in _walk_month(store, month, page=QUERY_PAGE) if filters.keeps_record(r)]

    return [record for month in months for record in read(month)]


def _view_from_items(store: Store, archive: Archive, filters: Filters, limit: int) -> View:
    matched = load_matching_items(store, archive, filters)
    return View(
        cells=cells_from_records(matched, regions=filters.regions, countries=filters.countries),
        items=tuple(matched[:limit]),
        matching=len(matched),
        from_items=True,
    )


def cells_from_records(
    records: Iterable[Record], *, regions: Iterable[str] = (), countries: Iterable[str] = ()
) -> tuple[Cell, ...]:
    """The counter cells these records would make, every item counted by country too.

    Region cells are limited to `regions` and country cells to `countries`, when given.
    """
    cells = parse_cells(expected_cells(list(records)))
    only_regions, only_countries = set(regions), set(countries)
    return tuple(
        c
        for c in cells
        if (not only_regions or c.region is None or c.region in only_regions)
        and (not only_countries or c.country is None or c.country in only_countries)
    )


def month_totals(cells: Iterable[Cell]) -> dict[str, int]:
    """Items per month from the total cells."""
    totals: Counter[str] = Counter()
    for c in cells:
        if c.kind == fmt.TOTAL_CELL:
            totals[c.month] += c.n
    return dict(totals)


def _walk_month(store: Store, month: str, *, page: int) -> Iterator[Record]:
    """Index records of one month, newest first, one query per page, as far as the caller reads."""
    start: dict[str, Any] | None = None
    while True:
        records, start = store.query_month(month, limit=page, start_key=start)
        yield from records
        if not start:
            return


def item_date(record: Record) -> str:
    """The time an item is filed under: published, else first seen (as in the by-month index)."""
    return str(record.get("published") or record.get("first_seen") or "")


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- article captures (issue 12) ----------------------------------------------------
# An item's capture lives on its index record (`capture`, see docs/archive-format.md), so
# listing items needs no S3 read; only the chosen item's text and its WARC are read from S3.
CAPTURE_STATUSES = ("captured", "pending", "failed", "robots_disallowed", "not_html", "gone")
PENDING = "pending"


@dataclass(frozen=True)
class CaptureInfo:
    """What the index record says about an item's article capture."""

    status: str  # one of CAPTURE_STATUSES; `pending` when the item has none yet
    captured_at: str | None = None
    checked_at: str | None = None
    source: str | None = None  # live / web_archive
    snapshot_at: str | None = None  # when the web archive took its copy
    url: str | None = None
    warc_key: str | None = None
    text_key: str | None = None
    text_chars: int = 0
    error: str | None = None


_CAPTURE_TEXTS = ("captured_at", "checked_at", "source", "snapshot_at", "url", "warc_key",
                  "text_key", "error")  # fmt: skip


def capture_info(record: Record) -> CaptureInfo:
    capture = record.get("capture")
    if not isinstance(capture, dict):
        return CaptureInfo(PENDING)
    texts = {f: v for f in _CAPTURE_TEXTS if isinstance(v := capture.get(f), str) and v}
    status, chars = capture.get("status"), capture.get("text_chars")
    return CaptureInfo(
        status=status if status in CAPTURE_STATUSES else PENDING,
        text_chars=chars if isinstance(chars, int) else 0,
        **texts,
    )


def capture_health(records: Iterable[Record]) -> dict[str, int]:
    """How many of `records` are in each capture status (every status present, zeros too)."""
    counts = Counter({status: 0 for status in CAPTURE_STATUSES})
    counts.update(capture_info(r).status for r in records)
    return dict(counts)


def load_capture_text(store: Store, text_key: str) -> str:
    """The captured article's main text (plain text, as extracted): one S3 GetObject."""
    text = store.get_capture_text(text_key).get("text")
    return text if isinstance(text, str) else ""


def load_warc(store: Store, warc_key: str) -> bytes:
    """The capture's WARC file, as stored (gzipped records): one S3 GetObject."""
    return store.get_warc(warc_key)
