"""A digest's charts as PNG images for email, drawn with Altair in the pages' style (the
colours, axis formats and whole legends of ui/charts.py) and rendered on the server by
vl-convert.

Dates are given to Vega as "YYYY-MM-DD" text on a UTC time scale, so the picture does not
depend on the server's time zone; sizes are fixed (an email is about 600 px wide) and drawn
at twice the pixels for sharp screens.
"""

from __future__ import annotations

from typing import Literal

import altair as alt
import pandas as pd
import vl_convert

from metricx.semantic.catalogue import Metric

#: The pages' palette and legend (ui/charts.py).
BLUE, ORANGE, GREEN, RED = "#4c78a8", "#f58518", "#54a24b", "#e45756"
LEGEND = alt.Legend(orient="bottom", labelLimit=0, title=None)
WIDTH, HEIGHT = 520, 200
SCALE = 2
#: The Vega-Lite version the installed Altair writes ("v6.4.1" -> "6.4"), when vl-convert
#: bundles it; otherwise vl-convert's newest (a spec of an older schema renders the same).
_WRITTEN = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
VL_VERSION = _WRITTEN if _WRITTEN in vl_convert.get_vegalite_versions() else None
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _title(metric: Metric, currency: str) -> str:
    return metric.label + (f" ({currency})" if metric.unit == "currency" else "")


def _axis_format(metric: Metric) -> str:
    return {"currency": ",.0f", "percent": ".1%", "ratio": ".2f"}.get(metric.unit, ",.0f")


def _sides(left: Metric, right: Metric) -> tuple[tuple[Metric, Literal["left", "right"], str], ...]:
    return ((left, "left", BLUE), (right, "right", ORANGE))


def trend_chart(frame: pd.DataFrame, left: Metric, right: Metric, currency: str) -> alt.LayerChart:
    """Two metrics by day (frame columns "day" as "YYYY-MM-DD" and the metrics' ids), each on
    its own y axis, coloured alike in lines, axis titles and legend (ui.charts.two_axis_lines)."""
    labels = {left.id: left.label, right.id: right.label}
    long = frame[["day", left.id, right.id]].melt(id_vars="day", var_name="id", value_name="amount")
    long["metric"] = long["id"].map(labels)
    colour = alt.Color(
        "metric:N",
        scale=alt.Scale(domain=list(labels.values()), range=[BLUE, ORANGE]),
        legend=LEGEND,
    )
    x = alt.X(
        "day:T",
        title=None,
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format="%b %-d", labelAngle=0, labelOverlap=True),
    )
    layers = [
        alt.Chart(long[long["id"] == entry.id])
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(
                "amount:Q",
                title=_title(entry, currency),
                axis=alt.Axis(orient=side, titleColor=hue, format=_axis_format(entry)),
            ),
            color=colour,
        )
        for entry, side, hue in _sides(left, right)
    ]
    return (
        alt.layer(*layers)
        .resolve_scale(y="independent")
        .properties(width=WIDTH, height=HEIGHT, background="white")
    )


def movers_chart(changes: pd.DataFrame, metric: Metric, currency: str) -> alt.Chart:
    """Each campaign's contribution to the change (columns campaign, change), largest first:
    green bars added, red bars took away."""
    shown = changes.assign(direction=["up" if c >= 0 else "down" for c in changes["change"]])
    return (
        alt.Chart(shown)
        .mark_bar()
        .encode(
            y=alt.Y(
                "campaign:N",
                sort=list(shown["campaign"]),
                title=None,
                axis=alt.Axis(labelLimit=220),
            ),
            x=alt.X(
                "change:Q",
                title=f"Change in {_title(metric, currency)}",
                axis=alt.Axis(format=_axis_format(metric)),
            ),
            color=alt.Color(
                "direction:N",
                legend=None,
                scale=alt.Scale(domain=["up", "down"], range=[GREEN, RED]),
            ),
        )
        .properties(width=WIDTH - 180, height=alt.Step(22), background="white")
    )


def png(chart: alt.TopLevelMixin) -> bytes:
    """The chart as PNG bytes (SCALE times its size in pixels)."""
    spec = chart.to_dict()
    if VL_VERSION is not None:
        return vl_convert.vegalite_to_png(spec, vl_version=VL_VERSION, scale=SCALE)
    return vl_convert.vegalite_to_png(spec, scale=SCALE)
