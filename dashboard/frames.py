"""Tables the page shows and the CSV files it offers, built from cells, records and feed states.

Everything here is text for widgets that render text (st.dataframe, st.text,
CSV): nothing from a feed is ever turned into HTML or Markdown.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from dashboard.data import Archive, CaptureInfo, Record, item_date
from feed_archiver import archive_format as fmt
from feed_archiver.aggregates import Cell, stats_from_cells
from feed_archiver.clock import parse_rfc3339
from feed_archiver.countries import countries, country_name
from feed_archiver.csv_safety import ENCODING, write_csv
from feed_archiver.feed_state import FeedState, Status
from feed_archiver.text import web_link

ITEM_COLUMNS = ("date", "headline", "link", "category", "regions", "countries")
TOP_COUNTRIES = 20  # bars in "Items by country"; the rest add up in one row
# Inline Markdown, HTML, and Streamlit's :emoji: / :color[...] directives. ("-", "+"
# and "." only matter at the start of a line, which a one-line message never has.)
_MARKDOWN_SPECIALS = set("\\`*_{}[]()<>#|~$:")


# The one rule for a link taken from a feed: http(s) with a host, else no link at all.
safe_link = web_link


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


def country_label(code: str) -> str:
    """'Türkiye (TR)': how the page names a country (the code alone if unknown)."""
    name = country_name(code)
    return f"{name} ({code})" if name != code else code


def country_frame(cells: Sequence[Cell]) -> pd.DataFrame:
    """Every country with items, most items first: country (name), code, region, items."""
    table = countries()
    rows = [
        (country_name(code), code, table[code].region if code in table else "", n)
        for code, n in stats_from_cells(list(cells)).by_country.items()
    ]
    rows.sort(key=lambda row: (-row[3], row[0]))
    return pd.DataFrame(rows, columns=["country", "code", "region", "items"])


def others_label(cells: Sequence[Cell], top: int = TOP_COUNTRIES) -> str | None:
    """The label of the row adding up the countries after the `top` ones; None if none."""
    rest = len(stats_from_cells(list(cells)).by_country) - top
    return f"{rest} other countries" if rest > 0 else None


def top_countries_frame(cells: Sequence[Cell], top: int = TOP_COUNTRIES) -> pd.DataFrame:
    """The `top` countries with most items, then one row adding up the others."""
    frame = country_frame(cells)
    rows = [(country_label(c), n) for c, n in zip(frame["code"], frame["items"], strict=True)]
    shown, rest = rows[:top], rows[top:]
    label = others_label(cells, top)
    if label:
        shown.append((label, sum(n for _, n in rest)))
    return pd.DataFrame(shown, columns=["country", "items"])


def region_country_frame(cells: Sequence[Cell]) -> pd.DataFrame:
    """Region → countries: each region (most items first) with its countries, most items first."""
    frame = country_frame(cells)
    totals = frame.groupby("region")["items"].sum()
    frame = frame.assign(_total=frame["region"].map(totals))
    frame = frame.sort_values(["_total", "region", "items", "country"],
                              ascending=[False, True, False, True])  # fmt: skip
    return frame[["region", "country", "code", "items"]].reset_index(drop=True)


# --- CSV ---------------------------------------------------------------------------
def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """Every field quoted, formulas defused (feed_archiver.csv_safety, shared with the CLI)."""
    out = io.StringIO()
    write_csv(out, header, rows)
    return out.getvalue().encode(ENCODING)


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
    """Every count the charts show, long form: dimension, month, category, region, country
    (ISO 3166-1 alpha-2), country_name, items."""
    stats = stats_from_cells(list(cells))
    rows: list[list[Any]] = [["total", "", "", "", "", "", stats.total]]
    rows += [["category", "", k, "", "", "", n] for k, n in stats.by_category.items()]
    rows += [["region", "", "", k, "", "", n] for k, n in stats.by_region.items()]
    rows += [["month", k, "", "", "", "", n] for k, n in sorted(stats.by_month.items())]
    for month, category, n in month_category_frame(cells).itertuples(index=False):
        rows.append(["month × category", month, category, "", "", "", n])
    for region, month, n in region_month_frame(cells).itertuples(index=False):
        rows.append(["region × month", month, "", region, "", "", n])
    for region, name, code, n in region_country_frame(cells).itertuples(index=False):
        rows.append(["country", "", "", region, code, name, n])
    header = ["dimension", "month", "category", "region", "country", "country_name", "items"]
    return _csv(header, rows)


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


# --- article captures (issue 12): plain text for st.text, never Markdown or HTML ----------
def capture_line(capture: CaptureInfo) -> str:
    """One line on an item's capture: status, when, from where."""
    words = {
        "captured": "captured",
        "pending": "not captured yet (pending)",
        "failed": "capture failed",
        "robots_disallowed": "not captured: the site's robots.txt disallows it",
        "not_html": "not captured: the link is not an HTML page",
        "gone": "not captured: the page is gone and the web archive has no copy",
    }
    parts = [f"Article: {words.get(capture.status, capture.status)}"]
    if capture.captured_at:
        parts.append(f"on {capture.captured_at[:16].replace('T', ' ')} UTC")
    elif capture.checked_at:
        parts.append(f"last tried {capture.checked_at[:16].replace('T', ' ')} UTC")
    if capture.source == "web_archive":
        taken = f" (copy of {capture.snapshot_at[:10]})" if capture.snapshot_at else ""
        parts.append(f"source: the web archive{taken}")
    elif capture.source == "live":
        parts.append("source: the live page")
    line = " · ".join(parts)
    return f"{line}\n{capture.error}" if capture.error and capture.status != "captured" else line


def capture_health_line(counts: dict[str, int], listed: int, total: int) -> str:
    """The captures health line: captured, pending and failed among the items listed."""
    others = sum(n for s, n in counts.items() if s not in ("captured", "pending", "failed"))
    scope = f"all {listed} items" if listed >= total else f"the {listed} newest items listed"
    line = (
        f"Article captures of {scope}: {counts.get('captured', 0)} captured, "
        f"{counts.get('pending', 0)} pending, {counts.get('failed', 0)} failed"
    )
    return line + (f", {others} not capturable (robots.txt, not HTML, gone)" if others else "")
