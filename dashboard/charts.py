"""The dashboard's Altair charts, each drawn from a small counts table.

Vega draws labels as text (canvas/SVG), and its tooltips escape HTML, so names
that came from a feed (categories) cannot inject markup. A category has one
colour in every chart: `category_scale` maps the archive's categories, sorted,
onto one fixed palette, whatever the filters leave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

# Pixels per row of a discrete axis. A fixed pixel height collapses discrete
# bands in Streamlit's Vega renderer; a step sizes the chart to its rows instead.
ROW_STEP = alt.Step(28)
REGION_NOTE = "An item counts once in each of its regions"
# Pass to st.altair_chart(height=...): a height set on the chart itself includes
# the legend, which squeezes the bars.
MONTH_CHART_HEIGHT = 400
COUNTRY_NOTE = "An item counts once in each of its countries"
# Category colours (Vega's "tableau10", written out so a category's colour never
# depends on a theme); more categories than colours reuse them in order.
CATEGORY_COLOURS = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b",
                    "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac")  # fmt: skip
NO_ITEMS_COLOUR = "#e2e2e2"  # countries of the map with no item
OTHERS_COLOUR = "#8c8c8c"  # the bar adding up the countries after the top ones
MAP_HEIGHT = 430
WORLD_DATASET = "world-110m"  # the map's TopoJSON, inline in the spec under this name
# Axis and legend text: Streamlit's chart theme draws it in #808495, a contrast of 3.7 on
# white (WCAG AA wants 4.5); this grey has 7.0.
CHART_TEXT = "#595959"


def _accessible(chart: Any, description: str) -> Any:
    """The chart with a description (Vega's aria-label for it, else "Vega visualization")
    and readable axis and legend text."""
    return (
        chart.properties(description=description)
        .configure_axis(labelColor=CHART_TEXT, titleColor=CHART_TEXT)
        .configure_legend(labelColor=CHART_TEXT, titleColor=CHART_TEXT)
    )


def category_scale(categories: Sequence[str]) -> alt.Scale:
    """The one colour scale of categories: every category of the archive, sorted, on a fixed range."""
    return alt.Scale(domain=sorted(set(categories)), range=list(CATEGORY_COLOURS))


def months_by_category(frame: pd.DataFrame, categories: Sequence[str]) -> alt.Chart:
    """Items per month, stacked by category (frame: month, category, items).

    `categories`: every category of the archive, so colours hold when filtered.
    """
    chart = (
        alt.Chart(frame, title="Items per month, by category")
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("sum(items):Q", title="Items", axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color(
                "category:N",
                title="Category",
                scale=category_scale(categories),
                # The legend lists the categories the view shows; the scale keeps them all.
                legend=alt.Legend(
                    orient="bottom", columns=2, values=sorted(set(frame["category"]))
                ),
            ),
            tooltip=[
                alt.Tooltip("month:O", title="Month"),
                alt.Tooltip("category:N", title="Category"),
                alt.Tooltip("items:Q", title="Items"),
            ],
        )
    )
    return _accessible(chart, "Bar chart: items per month, stacked by category.")


def _horizontal_bars(
    frame: pd.DataFrame,
    field: str,
    title: str | alt.TitleParams,
    *,
    colour: Any = None,
    order: list[str] | None = None,
) -> alt.LayerChart:
    """Bars with their counts, most first (or in `order`)."""
    sort: Any = order if order is not None else "-x"
    base = alt.Chart(frame, title=title).encode(
        y=alt.Y(f"{field}:N", sort=sort, title=None, axis=alt.Axis(labelLimit=240)),
        x=alt.X("items:Q", title="Items", axis=alt.Axis(tickMinStep=1, format="d")),
        tooltip=[
            alt.Tooltip(f"{field}:N", title=field.capitalize()),
            alt.Tooltip("items:Q", title="Items"),
        ],
    )
    bars = base.mark_bar().encode(color=colour) if colour is not None else base.mark_bar()
    labels = base.mark_text(align="left", dx=4).encode(text="items:Q")
    return (bars + labels).properties(height=ROW_STEP)


def by_category(frame: pd.DataFrame, categories: Sequence[str]) -> alt.LayerChart:
    """Items by category, horizontal bars in the categories' colours (frame: category, items)."""
    colour = alt.Color("category:N", scale=category_scale(categories), legend=None)
    chart = _horizontal_bars(frame, "category", "Items by category", colour=colour)
    return _accessible(chart, "Bar chart: items by category, most first.")


def by_country(frame: pd.DataFrame, others: str | None = None) -> alt.LayerChart:
    """The countries with most items, then the others as one grey bar labelled `others`
    (frame: country, items)."""
    title = alt.TitleParams("Items by country", subtitle=COUNTRY_NOTE)
    # Only the others' bar gets a colour of its own; the rest keep the theme's.
    grey = {"condition": {"test": alt.datum.country == others, "value": OTHERS_COLOUR}}
    colour = grey if others else None
    chart = _horizontal_bars(frame, "country", title, colour=colour, order=list(frame["country"]))
    return _accessible(
        chart, f"Bar chart: the countries named by most items, most first. {COUNTRY_NOTE}."
    )


def world_map(frame: pd.DataFrame, world: dict[str, Any], feature: str) -> dict[str, Any]:
    """Items per country on the world (frame: id, country, code, items; `world`: TopoJSON),
    as a Vega-Lite spec for st.vega_lite_chart.

    Countries with no item are drawn in a neutral grey under the coloured ones. The
    map travels inline in the spec, as a named dataset (no tiles, no CDN), drawn as
    SVG. It is added after Altair has built the spec: Altair would otherwise check
    every one of its 100 KB of arcs against the schema (about half a second a page).
    """
    shapes = alt.NamedData(
        name=WORLD_DATASET, format=alt.DataFormat(type="topojson", feature=feature)
    )
    # The grey land is decoration (aria=False): a screen reader reads the counted countries.
    land = alt.Chart().mark_geoshape(
        fill=NO_ITEMS_COLOUR, stroke="white", strokeWidth=0.5, aria=False
    )
    counted = (
        alt.Chart()
        .mark_geoshape(stroke="white", strokeWidth=0.5)
        .transform_lookup(
            lookup="id",
            from_=alt.LookupData(frame, key="id", fields=["country", "items"]),
        )
        .transform_filter("isValid(datum.items)")
        .encode(
            color=alt.Color(
                "items:Q",
                title="Items",
                scale=alt.Scale(scheme=alt.SchemeParams("blues", extent=[0.3, 1])),
                legend=alt.Legend(format="d", tickMinStep=1),
            ),
            tooltip=[
                alt.Tooltip("country:N", title="Country"),
                alt.Tooltip("items:Q", title="Items"),
            ],
        )
    )
    layered = alt.LayerChart(layer=[land, counted], data=shapes)
    spec: dict[str, Any] = _accessible(
        layered.project(type="equalEarth").properties(
            title=alt.TitleParams("Items by country on the map", subtitle=COUNTRY_NOTE),
            height=MAP_HEIGHT,
            usermeta={"embedOptions": {"renderer": "svg"}},
        ),
        "World map: each country coloured by how many items name it; grey countries have none.",
    ).to_dict()
    spec.setdefault("datasets", {})[WORLD_DATASET] = world
    return spec


def by_region(frame: pd.DataFrame) -> alt.LayerChart:
    """Items by region, horizontal bars; the subtitle says how multi-region items count."""
    chart = _horizontal_bars(
        frame, "region", alt.TitleParams("Items by region", subtitle=REGION_NOTE)
    )
    return _accessible(chart, f"Bar chart: items by region, most first. {REGION_NOTE}.")


def region_month_heatmap(frame: pd.DataFrame) -> alt.LayerChart:
    """Region × month heat map with the count in each cell (frame: region, month, items)."""
    base = alt.Chart(
        frame, title=alt.TitleParams("Items by region and month", subtitle=REGION_NOTE)
    ).encode(
        x=alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("region:N", title=None, axis=alt.Axis(labelLimit=240)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "items:Q",
            title="Items",
            scale=alt.Scale(scheme="blues"),
            legend=alt.Legend(format="d", tickMinStep=1),
        ),
        tooltip=[
            alt.Tooltip("region:N", title="Region"),
            alt.Tooltip("month:O", title="Month"),
            alt.Tooltip("items:Q", title="Items"),
        ],
    )
    # Dark cells get white numbers, light ones black, so every count stays readable.
    limit = float(frame["items"].max()) / 2 if len(frame) else 0.0
    numbers = base.mark_text().encode(
        text="items:Q",
        color=alt.condition(alt.datum.items > limit, alt.value("white"), alt.value("black")),
    )
    return _accessible(
        (cells + numbers).properties(height=ROW_STEP),
        f"Heat map: items by region and month, the count in each cell. {REGION_NOTE}.",
    )
