"""The archive dashboard: layout and widgets only. Reading and counting live in dashboard.data.

Run with `make demo` (local, no AWS account) or `make dashboard` (a deployed stack).
Nothing that came from a feed is rendered as HTML or Markdown: feed text goes to
st.text, st.dataframe, widget options and chart data only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the project root.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402
from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402

from dashboard import cache, charts, countries_section, frames  # noqa: E402
from dashboard.data import (  # noqa: E402
    RECENT_DAYS,
    Archive,
    Filters,
    StoreConfig,
    View,
    capture_health,
    capture_info,
    item_date,
    load_matching_items,
    load_warc,
)
from feed_archiver.errors import FeedArchiverError  # noqa: E402
from feed_archiver.storage import Store  # noqa: E402
from feed_archiver.storage.clients import describe_aws_error  # noqa: E402

FILL_COMMANDS = """\
# locally, without AWS: moto, the bundled sample feed and this dashboard
make demo

# against a deployed stack (names from its outputs)
export ARCHIVE_BUCKET=<bucket> ARCHIVE_TABLE=<table> AWS_PROFILE=<profile> AWS_REGION=<region>
feed-archiver run --feed https://www.icmpd.org/home/?type=100"""

CHECKS = (
    "ARCHIVE_BUCKET and ARCHIVE_TABLE name the stack's bucket and table (its outputs); "
    "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY give credentials; AWS_REGION is "
    "the stack's region; AWS_ENDPOINT_URL is unset for AWS, or points to a running local "
    "endpoint (`make demo` starts one)."
)


def show_error(exc: Exception, config: StoreConfig | None) -> None:
    """One clear message with what to check; the details are ours, never feed content."""
    reason = str(exc) if isinstance(exc, FeedArchiverError) else describe_aws_error(exc)
    where = f" ({config.describe()})" if config else ""
    st.error(
        f"**Cannot read the archive**{frames.escape_markdown(where)}: "
        f"{frames.escape_markdown(reason)}\n\nCheck: {CHECKS}",
        icon="🚫",
    )


def _remember(key: str, options: list[Any], default: Any) -> None:
    """Start a widget at `default`, and reset it when the (refreshed) archive no longer offers its value.

    Setting the value through session state (rather than deleting it) makes the
    browser show the reset choice too; widgets then take no default argument.
    """
    if key not in st.session_state:
        st.session_state[key] = default
        return
    value = st.session_state[key]
    if isinstance(value, list):
        st.session_state[key] = [v for v in value if v in options]
    elif value not in options:
        st.session_state[key] = default


def sidebar(archive: Archive) -> Filters:
    """The filter widgets; returns what they select."""
    with st.sidebar:
        st.header("Filters")
        months = archive.months
        month_from = month_to = None
        if len(months) > 1:
            if not set(st.session_state.get("month_range", ())) <= set(months):
                del st.session_state["month_range"]  # a month gone after a refresh: start over
            first, last = st.select_slider(
                "Months", options=months, value=(months[0], months[-1]), key="month_range"
            )
            month_from = first if first != months[0] else None
            month_to = last if last != months[-1] else None
        elif months:
            st.caption(f"Months: {months[0]} (only one so far)")
        _remember("categories", archive.categories, [])
        categories = st.multiselect(
            "Categories", archive.categories, key="categories", placeholder="All categories"
        )
        _remember("regions", archive.regions, [])
        regions = st.multiselect(
            "Regions", archive.regions, key="regions", placeholder="All regions"
        )
        _remember("countries", archive.countries, [])
        countries = st.multiselect(
            "Countries",
            archive.countries,
            key="countries",
            format_func=frames.country_label,
            placeholder="All countries",
        )
        # "" rather than None for "all": Streamlit shows a None choice as an empty placeholder.
        feeds = ["", *archive.feed_keys]
        _remember("feed", feeds, "")
        feed = st.selectbox(
            "Feed",
            feeds,
            format_func=lambda k: archive.feed_url(k) if k else "All feeds",
            key="feed",
        )
        search = st.text_input("Search titles", key="search", placeholder="words in the title")
        st.divider()
        if st.button("Refresh data", key="refresh", help="Read the archive again now"):
            cache.clear()
            st.rerun()
        st.caption(f"Read at {archive.as_of}; kept for {cache.TTL_SECONDS // 60} min.")
    return Filters(
        month_from=month_from,
        month_to=month_to,
        categories=tuple(categories),
        regions=tuple(regions),
        countries=tuple(countries),
        feed=feed or None,
        search=search.strip(),
    )


def header(archive: Archive, view: View, now: datetime) -> None:
    total, matching, recent, feeds = st.columns(4)
    total.metric("Items in the archive", archive.total)
    matching.metric("Matching the filters", view.matching)
    recent.metric(f"Dated in the last {RECENT_DAYS} days", archive.recent)
    feeds.metric("Feeds archived", len(archive.feed_keys))
    st.dataframe(
        frames.feeds_frame(archive, now), hide_index=True, key="feeds_table", width="stretch"
    )


def chart_grid(archive: Archive, view: View) -> None:
    if view.from_items:
        st.caption(
            "A text search, country filter or region filter is active: these counts come from "
            f"the {view.matching} matching items of the months in range, read one by one (the "
            "stored counters cannot answer those filters)."
        )
    else:
        st.caption("Counts come from the archive's exact stored counters.")
    cells = list(view.cells)
    # Every category of the archive, so that a category keeps its colour when filtered.
    categories = archive.categories
    left, right = st.columns(2)
    left.altair_chart(
        charts.months_by_category(frames.month_category_frame(cells), categories),
        width="stretch",
    )
    right.altair_chart(
        charts.by_category(frames.category_frame(cells), categories), width="stretch"
    )
    left, right = st.columns(2)
    left.altair_chart(charts.by_region(frames.region_frame(cells)), width="stretch")
    right.altair_chart(
        charts.region_month_heatmap(frames.region_month_frame(cells)), width="stretch"
    )
    countries_section.show(view)
    with st.expander("The numbers behind the charts"):
        by_category, by_region, by_month, by_country = st.columns(4)
        by_category.dataframe(frames.category_frame(cells), hide_index=True, key="counts_category")
        by_region.dataframe(frames.region_frame(cells), hide_index=True, key="counts_region")
        by_month.dataframe(frames.month_frame(cells), hide_index=True, key="counts_month")
        by_country.dataframe(
            frames.country_frame(cells)[["country", "code", "items"]],
            hide_index=True,
            key="counts_country",
        )


def item_table(config: StoreConfig, archive: Archive, view: View, filters: Filters) -> None:
    st.header("Items")  # h2 under the page title (h1): no heading level skipped
    if view.truncated:
        st.caption(f"The {len(view.items)} newest of {view.matching} matching items, newest first.")
    else:
        st.caption(f"All {view.matching} matching items, newest first.")
    st.caption(
        frames.capture_health_line(capture_health(view.items), len(view.items), view.matching)
    )
    st.dataframe(
        frames.items_frame(view.items),
        hide_index=True,
        key="items_table",
        width="stretch",
        column_config={
            "date": st.column_config.TextColumn("Date", width="small"),
            "headline": st.column_config.TextColumn("Headline", width="large"),
            "link": st.column_config.LinkColumn("Article", display_text="open ↗", width="small"),
            "category": st.column_config.TextColumn("Category", width="medium"),
            "regions": st.column_config.TextColumn("Regions", width="medium"),
            "countries": st.column_config.TextColumn("Countries", width="small"),
        },
    )
    by_key = {r["key"]: r for r in view.items}
    _remember("item_choice", list(by_key), next(iter(by_key), None))
    chosen = st.selectbox(
        "Read the summary of",
        list(by_key),
        format_func=lambda k: frames.item_label(by_key[k]),
        key="item_choice",
    )
    if chosen:
        record = by_key[chosen]
        with st.container(border=True, key="item_detail"):
            st.text(str(record.get("title") or ""))
            st.text(
                f"{item_date(record)[:10]} · {record.get('category', '')} · regions: "
                f"{', '.join(record.get('regions') or ()) or '-'} · countries: "
                f"{', '.join(record.get('countries') or ()) or '-'}"
            )
            st.text(str(record.get("summary") or "(no summary)"))
            link = frames.safe_link(record.get("link"))
            if link:
                st.link_button("Open the article", link)
            capture_detail(config, record)

    items_data: bytes | Callable[[], bytes] = frames.items_csv(view.items)
    if view.truncated:
        # The page holds only the newest items: read them all only when someone downloads.
        items_data = partial(_all_items_csv, cache.store(config), archive, filters)
    left, right = st.columns(2)
    left.download_button(
        f"Download the {view.matching} items (CSV)",
        items_data,
        file_name="feed-archive-items.csv",
        mime="text/csv",
        key="download_items",
        on_click="ignore",
    )
    right.download_button(
        "Download the counts (CSV)",
        frames.counts_csv(list(view.cells)),
        file_name="feed-archive-counts.csv",
        mime="text/csv",
        key="download_counts",
        on_click="ignore",
    )


def capture_detail(config: StoreConfig, record: dict[str, Any]) -> None:
    """The item's article capture: status, date and source, its text (plain), its WARC."""
    capture = capture_info(record)
    st.text(frames.capture_line(capture))
    if capture.text_key:
        with st.expander("Captured article text", expanded=True):
            st.text(cache.capture_text(config, capture.text_key) or "(no text was extracted)")
    if capture.warc_key:
        name = f"{record['key']}-{capture.warc_key.rsplit('/', 1)[-1]}"
        st.download_button(
            "Download the capture (WARC)",
            partial(load_warc, cache.store(config), capture.warc_key),
            file_name=name,
            mime="application/warc",
            key="download_warc",
            on_click="ignore",
        )


def _all_items_csv(store: Store, archive: Archive, filters: Filters) -> bytes:
    return frames.items_csv(load_matching_items(store, archive, filters))


def empty_state(archive: Archive, now: datetime) -> None:
    st.info("The archive is empty: nothing has been archived yet. To fill it:", icon="📭")
    st.code(FILL_COMMANDS, language="bash")
    if archive.feeds:
        st.dataframe(frames.feeds_frame(archive, now), hide_index=True, key="feeds_table")


def main() -> None:
    st.set_page_config(page_title="ICMPD News Centre archive", page_icon="📰", layout="wide")
    st.title("ICMPD News Centre archive")
    config: StoreConfig | None = None
    try:
        config = StoreConfig.from_env()
        archive = cache.archive(config)
    except (FeedArchiverError, BotoCoreError, ClientError) as exc:
        show_error(exc, config)
        return
    now = datetime.now(UTC)
    if archive.empty:
        empty_state(archive, now)
        return
    filters = sidebar(archive)
    try:
        view = cache.view(config, filters)
    except (FeedArchiverError, BotoCoreError, ClientError) as exc:
        show_error(exc, config)
        return
    header(archive, view, now)
    if view.matching == 0:
        st.info("No item matches the filters.", icon="🔎")
        return
    chart_grid(archive, view)
    item_table(config, archive, view, filters)


main()
