"""Charts the pages share: lines on two axes when scales differ, the P&L waterfall with its
values, one small chart per metric. Legends and labels are never cut short."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import altair as alt
import pandas as pd

from metricx.semantic.catalogue import Metric
from ui import format as fmt

#: A metric by id, or as an entry (a custom metric has no id the catalogue knows).
MetricLike = str | Metric

#: Legends and axis labels show whole names ("Store revenue (Shopify)", long campaign names).
LEGEND = alt.Legend(orient="bottom", labelLimit=0, title=None)
BLUE, ORANGE, GREEN, RED = "#4c78a8", "#f58518", "#54a24b", "#e45756"


def _title(entry: Metric, currency: str) -> str:
    return entry.label + (f" ({currency})" if entry.unit == "currency" else "")


def _axis_format(entry: Metric) -> str:
    return {"currency": ",.0f", "percent": ".1%", "ratio": ".2f"}.get(entry.unit, ",.0f")


#: Buckets as the engine labels them: "2026-11-26" (days, weeks, months), "2026-11-26 14:00".
_BUCKET_LABEL = r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$"


def _with_times(frame: pd.DataFrame, x: str) -> pd.DataFrame:
    """`frame` with bucket labels in `x` as timestamps, so the axis and tooltips write them
    as dates ("Nov 26") rather than as the label's text."""
    values = frame[x]
    if (
        pd.api.types.is_string_dtype(values)
        and len(values)
        and values.astype(str).str.match(_BUCKET_LABEL).all()
    ):
        return frame.assign(**{x: pd.to_datetime(values)})
    return frame


def _kind(frame: pd.DataFrame, x: str) -> str:
    """Dates and times are temporal ("T"); anything else (hours as labels) is ordinal."""
    temporal = pd.api.types.is_datetime64_any_dtype(frame[x]) or bool(
        len(frame) and hasattr(frame[x].iloc[0], "isoformat")
    )
    return "T" if temporal else "O"


def _whole_days(frame: pd.DataFrame, x: str) -> bool:
    stamps = pd.to_datetime(frame[x])
    return bool((stamps == stamps.dt.normalize()).all())


#: On short ranges a tick sits on each data point: left alone, Vega puts ticks at noon too
#: (and "%b %-d" then prints every date twice) or between weeks. Longer ranges keep Vega's.
TICK_EACH_POINT_UP_TO = 16


def _time_axis(frame: pd.DataFrame, x: str) -> alt.X:
    if _kind(frame, x) != "T":
        return alt.X(f"{x}:O", title=None)
    if not _whole_days(frame, x):
        return alt.X(f"{x}:T", title=None, axis=alt.Axis(format="%H:%M", labelAngle=0))
    days = sorted(pd.to_datetime(frame[x]).unique())
    # DateTime objects are local time, as Vega reads the data's dates.
    ticks = (
        [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in days]
        if len(days) <= TICK_EACH_POINT_UP_TO
        else alt.Undefined
    )
    return alt.X(
        f"{x}:T",
        title=None,
        axis=alt.Axis(format="%b %-d", labelAngle=0, labelOverlap=True, values=ticks),
    )


def _time_tooltip(frame: pd.DataFrame, x: str) -> alt.Tooltip:
    if _kind(frame, x) != "T":
        return alt.Tooltip(f"{x}:O", title=" ")
    shown = "%a %b %-d, %Y" if _whole_days(frame, x) else "%a %b %-d, %H:%M"
    return alt.Tooltip(f"{x}:T", format=shown, title=" ")


def two_axis_lines(
    frame: pd.DataFrame, x: str, left: MetricLike, right: MetricLike, currency: str
) -> alt.LayerChart:
    """Two metrics over `x` (columns named by their ids), each on its own y axis (spend would
    be a flat line on revenue's scale), coloured alike in lines, axis titles and legend."""
    frame = _with_times(frame, x)
    first, second = fmt.metric(left), fmt.metric(right)
    labels = {first.id: first.label, second.id: second.label}
    colour = alt.Color(
        "metric:N",
        scale=alt.Scale(domain=list(labels.values()), range=[BLUE, ORANGE]),
        legend=LEGEND,
    )
    long = frame[[x, first.id, second.id]].melt(id_vars=x, var_name="id", value_name="amount")
    long["metric"] = long["id"].map(labels)
    layers = []
    sides: tuple[tuple[Metric, Literal["left", "right"], str], ...] = (
        (first, "left", BLUE),
        (second, "right", ORANGE),
    )
    for entry, side, hue in sides:
        layers.append(
            alt.Chart(long[long["id"] == entry.id])
            .mark_line(point=True)
            .encode(
                x=_time_axis(frame, x),
                y=alt.Y(
                    "amount:Q",
                    title=_title(entry, currency),
                    axis=alt.Axis(orient=side, titleColor=hue, format=_axis_format(entry)),
                ),
                color=colour,
                tooltip=[
                    _time_tooltip(frame, x),
                    "metric:N",
                    alt.Tooltip("amount:Q", format=",.2f", title="Value"),
                ],
            )
        )
    return alt.layer(*layers).resolve_scale(y="independent")


def waterfall(steps: pd.DataFrame, currency: str) -> alt.LayerChart:
    """From revenue to net profit: totals in blue, costs in red, credits in green, each bar
    labelled with its amount; steps that are zero are left out (they only add empty gaps)."""
    shown = steps[
        (steps["amount"].abs() >= 0.005) | steps["line"].isin(["store_revenue", "net_profit"])
    ].copy()
    shown["kind"] = [
        "total" if line in ("store_revenue", "net_profit") else "cost" if amount <= 0 else "credit"
        for line, amount in zip(shown["line"], shown["amount"], strict=True)
    ]
    shown["label"] = [fmt.money(amount, currency) for amount in shown["amount"]]
    shown["top"] = shown[["start", "end"]].max(axis=1)
    base = alt.Chart(shown).encode(
        x=alt.X(
            "step:N",
            sort=list(shown["step"]),
            title=None,
            axis=alt.Axis(labelAngle=-30, labelLimit=0),
        )
    )
    bars = base.mark_bar().encode(
        y=alt.Y("start:Q", title=currency, axis=alt.Axis(format=",.0f")),
        y2="end:Q",
        color=alt.Color(
            "kind:N",
            legend=None,
            scale=alt.Scale(domain=["total", "cost", "credit"], range=[BLUE, RED, GREEN]),
        ),
        tooltip=["step:N", alt.Tooltip("label:N", title="Amount")],
    )
    values = base.mark_text(dy=-6, fontSize=11).encode(y="top:Q", text="label:N")
    return alt.LayerChart(layer=[bars, values])


def metric_lines(
    frame: pd.DataFrame,
    x: str,
    metrics: Sequence[MetricLike],
    currency: str,
    color: str | None = None,
) -> alt.VConcatChart:
    """One small chart per metric over `x` (each with its own scale and unit), one line per
    value of `color` when given."""
    frame = _with_times(frame, x)
    charts = []
    for entry in map(fmt.metric, metrics):
        encoding = {
            "x": _time_axis(frame, x),
            "y": alt.Y(
                f"{entry.id}:Q",
                title=_title(entry, currency),
                axis=alt.Axis(format=_axis_format(entry)),
            ),
            "tooltip": [_time_tooltip(frame, x)]
            + ([alt.Tooltip(f"{color}:N")] if color else [])
            + [alt.Tooltip(f"{entry.id}:Q", format=",.2f", title=entry.label)],
        }
        if color:
            encoding["color"] = alt.Color(f"{color}:N", legend=LEGEND)
        charts.append(
            alt.Chart(frame)
            .mark_line(point=True)
            .encode(**encoding)
            .properties(height=180, width="container")
        )
    return alt.vconcat(*charts)


#: The two bars of a row when a period is compared with the one before.
SERIES = ["This period", "Previous period"]
PREVIOUS_BLUE = "#9ecae9"


def metric_bars(
    frame: pd.DataFrame,
    row: str,
    metrics: Sequence[MetricLike],
    currency: str,
    previous_suffix: str | None = None,
) -> alt.VConcatChart:
    """One bar chart per metric, a bar per row; with `previous_suffix`, the previous period's
    value (column metric + suffix) beside it."""
    layers = []
    for entry in map(fmt.metric, metrics):
        data = frame[[row, entry.id]].rename(columns={entry.id: "value"}).assign(period=SERIES[0])
        if previous_suffix:
            earlier = entry.id + previous_suffix
            data = pd.concat(
                [
                    data,
                    frame[[row, earlier]]
                    .rename(columns={earlier: "value"})
                    .assign(period=SERIES[1]),
                ]
            )
        encoding = {
            "y": alt.Y(f"{row}:N", sort=list(frame[row]), title=None, axis=alt.Axis(labelLimit=0)),
            "x": alt.X(
                "value:Q",
                title=_title(entry, currency),
                axis=alt.Axis(format=_axis_format(entry)),
            ),
            "tooltip": [
                alt.Tooltip(f"{row}:N", title=" "),
                "period:N",
                alt.Tooltip("value:Q", format=",.2f", title=entry.label),
            ],
        }
        if previous_suffix:
            encoding |= {
                "yOffset": alt.YOffset("period:N", sort=SERIES),
                "color": alt.Color(
                    "period:N",
                    legend=LEGEND,
                    scale=alt.Scale(domain=SERIES, range=[BLUE, PREVIOUS_BLUE]),
                ),
            }
        layers.append(alt.Chart(data).mark_bar().encode(**encoding).properties(width="container"))
    return alt.vconcat(*layers)


# --- cohorts -------------------------------------------------------------------------------

#: A cohort cell whose age has not fully elapsed: grey stripes, never a colour of the scale
#: (a low value there would read as a drop in repurchases).
NOT_YET = "not yet"
_STRIPES = alt.Gradient(
    gradient="linear",
    x1=0,
    y1=0,
    x2=1,
    y2=1,
    stops=[
        alt.GradientStop(color=colour, offset=offset / 10)
        for step in range(5)
        for colour, offset in (
            ("#d0d0d0", 2 * step),
            ("#d0d0d0", 2 * step + 1),
            ("#f0f0f0", 2 * step + 1),
            ("#f0f0f0", 2 * step + 2),
        )
    ],
)


def cohort_heatmap(
    cells: pd.DataFrame, entry: MetricLike, currency: str, age_title: str
) -> alt.LayerChart:
    """Cohorts as rows (column `row`, in the frame's order), ages as columns (`age`): each
    complete cell coloured by `value` and labelled with it, each cell whose age has not fully
    elapsed (`complete` false) striped grey with "not yet" in its tooltip."""
    metric = fmt.metric(entry)
    shown = cells.assign(
        label=[
            fmt.value(metric, value, currency) if complete else NOT_YET
            for value, complete in zip(cells["value"], cells["complete"], strict=True)
        ]
    )
    done = shown["value"].where(shown["complete"])
    low, high = done.min(), done.max()
    # Labels on the darkest third of the scale are white, the rest dark.
    shown["dark"] = (done - low) >= 0.66 * (high - low) if high > low else False
    base = alt.Chart(shown).encode(
        x=alt.X("age:O", title=age_title, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y(
            "row:N", sort=list(dict.fromkeys(shown["row"])), title=None, axis=alt.Axis(labelLimit=0)
        ),
        tooltip=[
            alt.Tooltip("row:N", title="Cohort"),
            alt.Tooltip("age:O", title=age_title),
            alt.Tooltip("label:N", title=metric.label),
        ],
    )
    complete = (
        base.transform_filter("datum.complete")
        .mark_rect(stroke="white")
        .encode(
            color=alt.Color(
                "value:Q", title=metric.label, scale=alt.Scale(scheme="blues"), legend=None
            )
        )
    )
    pending = base.transform_filter("!datum.complete").mark_rect(color=_STRIPES, stroke="white")
    values = (
        base.transform_filter("datum.complete")
        .mark_text(fontSize=10)
        .encode(
            text="label:N",
            color=alt.condition("datum.dark", alt.value("white"), alt.value("#262730")),
        )
    )
    return alt.LayerChart(layer=[complete, pending, values], height=alt.Step(24), width="container")


def curves(
    frame: pd.DataFrame, x: str, y: MetricLike, color: str, currency: str, x_title: str
) -> alt.Chart:
    """One line per value of `color` over a numeric `x` (ages), `y` a metric's column."""
    metric = fmt.metric(y)
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y(
                f"{metric.id}:Q",
                title=_title(metric, currency),
                axis=alt.Axis(format=_axis_format(metric)),
            ),
            color=alt.Color(f"{color}:N", legend=LEGEND, sort=list(dict.fromkeys(frame[color]))),
            tooltip=[
                alt.Tooltip(f"{color}:N", title=" "),
                alt.Tooltip(f"{x}:Q", title=x_title),
                alt.Tooltip(f"{metric.id}:Q", format=",.2f", title=metric.label),
            ],
        )
        .properties(width="container")
    )


def money_lines(
    frame: pd.DataFrame, x: str, metrics: Sequence[MetricLike], currency: str
) -> alt.Chart:
    """Amounts of several metrics over `x` on one money axis (profit beside the spend behind
    it), one line each, coloured alike in lines and legend."""
    frame = _with_times(frame, x)
    entries = [fmt.metric(m) for m in metrics]
    labels = {entry.id: entry.label for entry in entries}
    long = frame[[x, *labels]].melt(id_vars=x, var_name="id", value_name="amount")
    long["metric"] = long["id"].map(labels)
    long["shown"] = [fmt.money(amount, currency) for amount in long["amount"]]
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=_time_axis(frame, x),
            y=alt.Y("amount:Q", title=currency, axis=alt.Axis(format=",.0f")),
            color=alt.Color(
                "metric:N",
                scale=alt.Scale(domain=list(labels.values())),
                legend=LEGEND,
            ),
            tooltip=[_time_tooltip(frame, x), "metric:N", alt.Tooltip("shown:N", title="Amount")],
        )
        .properties(width="container")
    )
