"""Tables the page shows and the CSV files it offers, built from cells, records and feed states.

Everything here is text for widgets that render text (st.dataframe, st.text,
CSV): nothing from a feed is ever turned into HTML or Markdown.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from dashboard.data import Archive, Record, item_date
from feed_archiver import archive_format as fmt
from feed_archiver.aggregates import Cell, stats_from_cells
from feed_archiver.clock import parse_rfc3339
from feed_archiver.feed_state import FeedState, Status

ITEM_COLUMNS = ("date", "headline", "link", "category", "regions", "countries")
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = "=+-@\t\r"
# Where a cell can start: the field's start, and, for a spreadsheet that splits on
# ";" (the list separator in most of Europe) or breaks the row, after a ";" or a
# line break inside it; spaces and quotes before the formula character do not help.
_FORMULA_CELL = re.compile(rf'(?:^|(?<=[;\n\r]))(?=[ "]*[{re.escape(_FORMULA_STARTS)}])')
# Inline Markdown, HTML, and Streamlit's :emoji: / :color[...] directives. ("-", "+"
# and "." only matter at the start of a line, which a one-line message never has.)
_MARKDOWN_SPECIALS = set("\\`*_{}[]()<>#|~$:")


def safe_link(url: Any) -> str | None:
    """The URL if it is http(s) with a host, else None: no javascript:, data: or relative links."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def _join(values: Any) -> str:
    return ", ".join(str(v) for v in values or ())


def items_frame(records: Sequence[Record]) -> pd.DataFrame:
    """The item table, in the order given (newest first), with unsafe links blanked."""
    rows = [
        {
            "date": item_date(r)[:10],
            "headline": str(r.get("headline") or r.get("title") or ""),
            "link": safe_link(r.get("link")),
            "category": str(r.get("category", "")),
            "regions": _join(r.get("regions")),
            "countries": _join(r.get("countries")),
        }
        for r in records
    ]
    return pd.DataFrame(rows, columns=list(ITEM_COLUMNS))


def item_label(record: Record) -> str:
    """How an item is named in the item picker (plain text)."""
    return f"{item_date(record)[:10]}  {record.get('title') or record.get('headline') or ''}"


# --- counts ------------------------------------------------------------------------
def _frame(counter: Counter[tuple[str, ...]], columns: list[str]) -> pd.DataFrame:
    rows = [(*key, n) for key, n in sorted(counter.items()) if n]
    return pd.DataFrame(rows, columns=[*columns, "items"])


def month_category_frame(cells: Iterable[Cell]) -> pd.DataFrame:
    counts: Counter[tuple[str, ...]] = Counter()
    for c in cells:
        if c.kind == fmt.TOTAL_CELL:
            counts[(c.month, c.category)] += c.n
    return _frame(counts, ["month", "category"])


def region_month_frame(cells: Iterable[Cell]) -> pd.DataFrame:
    counts: Counter[tuple[str, ...]] = Counter()
    for c in cells:
        if c.region is not None:
            counts[(c.region, c.month)] += c.n
    return _frame(counts, ["region", "month"])


def category_frame(cells: Sequence[Cell]) -> pd.DataFrame:
    by_category = stats_from_cells(list(cells)).by_category
    return pd.DataFrame(list(by_category.items()), columns=["category", "items"])


def region_frame(cells: Sequence[Cell]) -> pd.DataFrame:
    by_region = stats_from_cells(list(cells)).by_region
    return pd.DataFrame(list(by_region.items()), columns=["region", "items"])


def month_frame(cells: Sequence[Cell]) -> pd.DataFrame:
    by_month = stats_from_cells(list(cells)).by_month
    return pd.DataFrame(list(by_month.items()), columns=["month", "items"])


# --- CSV ---------------------------------------------------------------------------
def _csv_text(value: Any) -> str:
    """The value with a ' before every place a spreadsheet could read a formula from."""
    return _FORMULA_CELL.sub("'", "" if value is None else str(value))


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    # Every field quoted: a ";" or "," inside a value never splits it in a reader that
    # honours the quotes (what a reader splitting on ";" may still do: _csv_text).
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows([_csv_text(v) for v in row] for row in rows)
    # With a BOM, spreadsheets read the file as UTF-8 ("Kızılay", en dashes).
    return out.getvalue().encode("utf-8-sig")


def items_csv(records: Sequence[Record]) -> bytes:
    """The filtered items as CSV; cells a spreadsheet would run as formulas are quoted with '."""
    header = ["date", "category", "headline", "title", "link", "regions", "countries",
              "programmes", "month", "feed_url", "key"]  # fmt: skip
    rows = (
        [
            item_date(r),
            r.get("category"),
            r.get("headline"),
            r.get("title"),
            safe_link(r.get("link")),
            _join(r.get("regions")),
            _join(r.get("countries")),
            _join(r.get("programmes")),
            r.get("month"),
            r.get("feed_url"),
            r.get("key"),
        ]
        for r in records
    )
    return _csv(header, rows)


def counts_csv(cells: Sequence[Cell]) -> bytes:
    """Every count the charts show, long form: dimension, month, category, region, items."""
    stats = stats_from_cells(list(cells))
    rows: list[list[Any]] = [["total", "", "", "", stats.total]]
    rows += [["category", "", k, "", n] for k, n in stats.by_category.items()]
    rows += [["region", "", "", k, n] for k, n in stats.by_region.items()]
    rows += [["month", k, "", "", n] for k, n in sorted(stats.by_month.items())]
    for month, category, n in month_category_frame(cells).itertuples(index=False):
        rows.append(["month × category", month, category, "", n])
    for region, month, n in region_month_frame(cells).itertuples(index=False):
        rows.append(["region × month", month, "", region, n])
    return _csv(["dimension", "month", "category", "region", "items"], rows)


# --- feeds ---------------------------------------------------------------------------
def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_rfc3339(value)
    except ValueError:
        return None


def age_text(then: str | None, now: datetime) -> str:
    """'5 min ago', '3 h ago', '12 d ago'; 'never' when there is no time."""
    moment = parse_time(then)
    if moment is None:
        return "never"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def status_text(state: FeedState) -> str:
    """ok, not modified, failing since …, inactive, never fetched."""
    if state.status == Status.FAILING:
        since = state.failing_since or state.last_attempt or "?"
        return f"failing since {since} ({state.consecutive_failures} attempts)"
    labels: dict[str, str] = {
        Status.OK: "ok",
        Status.NOT_MODIFIED: "not modified",
        Status.INACTIVE: "inactive",
        Status.NEVER: "never fetched",
    }
    return labels.get(state.status, state.status)


def feeds_frame(archive: Archive, now: datetime) -> pd.DataFrame:
    """One row per feed: its URL, status, last successful fetch and how long ago that was."""
    items = Counter[str]()
    for c in archive.cells:
        if c.kind == fmt.TOTAL_CELL:
            items[c.feed] += c.n
    states = {s.feed_key: s for s in archive.feeds}
    rows = []
    for key in archive.feed_keys:
        state = states.get(key)
        rows.append(
            {
                "feed": archive.feed_url(key),
                "status": status_text(state) if state else "no state recorded",
                "last successful fetch": (state.last_success if state else None) or "never",
                "age": age_text(state.last_success if state else None, now),
                "items": items[key],
                "last error": (state.last_error if state else None) or "",
            }
        )
    return pd.DataFrame(
        rows, columns=["feed", "status", "last successful fetch", "age", "items", "last error"]
    )


def latest_success(archive: Archive) -> str | None:
    times = [s.last_success for s in archive.feeds if s.last_success]
    return max(times) if times else None


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown so a message (never feed content) shows as typed."""
    return "".join(f"\\{ch}" if ch in _MARKDOWN_SPECIALS else ch for ch in text)
