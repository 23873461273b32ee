"""The page's countries: the world map, the countries with most items, region → countries.

Layout only, like app.py (which calls `show`); the counts come from the view's
cells (frames.py), the map from geo.py. Country names come from the generated
country table, never from a feed.
"""

from __future__ import annotations

import streamlit as st

from dashboard import charts, frames, geo
from dashboard.data import View
from feed_archiver.aggregates import stats_from_cells


def show(view: View) -> None:
    """The map across the page, then the top countries beside the region → countries table."""
    cells = list(view.cells)
    stats = stats_from_cells(cells)
    if stats.countries_counted < stats.total:
        st.warning(
            f"Counts by country cover {stats.countries_counted} of {stats.total} items: the "
            "others were archived before country counters existed. Run "
            "`feed-archiver backfill-counters` once to count them.",
            icon="🌍",
        )
    by_country = stats.by_country
    st.vega_lite_chart(
        spec=charts.world_map(geo.map_frame(by_country), geo.world(), geo.FEATURE),
        width="stretch",
        key="world_map",
    )
    missing = geo.not_on_map(by_country)
    if missing:
        listed = ", ".join(f"{label}: {n}" for label, n in missing)
        st.caption(f"Too small for this map's scale, or not on it: {listed}.")
    if not by_country:
        st.caption("No matching item names a country.")
        return
    left, right = st.columns(2)
    left.altair_chart(
        charts.by_country(frames.top_countries_frame(cells), frames.others_label(cells)),
        width="stretch",
    )
    with right:
        st.markdown("**Countries by region**")
        # Region and country as the (pinned) index: the table reads as a breakdown.
        st.dataframe(
            frames.region_country_frame(cells).set_index(["region", "country"]),
            key="region_countries",
            width="stretch",
            height=min(600, 38 + 35 * len(by_country)),
        )
