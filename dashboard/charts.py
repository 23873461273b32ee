"""The dashboard's four Altair charts, each drawn from a small counts table.

Vega draws labels as text (canvas/SVG), and its tooltips escape HTML, so names
that came from a feed (categories) cannot inject markup.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# Pixels per row of a discrete axis. A fixed pixel height collapses discrete
# bands in Streamlit's Vega renderer; a step sizes the chart to its rows instead.
ROW_STEP = alt.Step(28)
REGION_NOTE = "An item counts once in each of its regions"
# Pass to st.altair_chart(height=...): a height set on the chart itself includes
# the legend, which squeezes the bars.
MONTH_CHART_HEIGHT = 400


def months_by_category(frame: pd.DataFrame) -> alt.Chart:
    """Items per month, stacked by category (frame: month, category, items)."""
    return (
        alt.Chart(frame, title="Items per month, by category")
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("sum(items):Q", title="Items", axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color(
                "category:N", title="Category", legend=alt.Legend(orient="bottom", columns=2)
            ),
            tooltip=[
                alt.Tooltip("month:O", title="Month"),
                alt.Tooltip("category:N", title="Category"),
                alt.Tooltip("items:Q", title="Items"),
            ],
        )
    )


def _horizontal_bars(
    frame: pd.DataFrame, field: str, title: str | alt.TitleParams
) -> alt.LayerChart:
    base = alt.Chart(frame, title=title).encode(
        y=alt.Y(f"{field}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=240)),
        x=alt.X("items:Q", title="Items", axis=alt.Axis(tickMinStep=1, format="d")),
        tooltip=[
            alt.Tooltip(f"{field}:N", title=field.capitalize()),
            alt.Tooltip("items:Q", title="Items"),
        ],
    )
    bars = base.mark_bar()
    labels = base.mark_text(align="left", dx=4).encode(text="items:Q")
    return (bars + labels).properties(height=ROW_STEP)


def by_category(frame: pd.DataFrame) -> alt.LayerChart:
    """Items by category, horizontal bars with their counts (frame: category, items)."""
    return _horizontal_bars(frame, "category", "Items by category")


def by_region(frame: pd.DataFrame) -> alt.LayerChart:
    """Items by region, horizontal bars; the subtitle says how multi-region items count."""
    return _horizontal_bars(
        frame, "region", alt.TitleParams("Items by region", subtitle=REGION_NOTE)
    )


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
    return (cells + numbers).properties(height=ROW_STEP)
