"""respond: the deterministic answer (every number from the fetched result) and its chart.

The text states what was computed, over which dates, in which currency, with which
definitions (and attribution settings when they matter), so a reader can check it.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import altair as alt
import pandas as pd

from metricx.copilot.scope import scope_text
from metricx.markdown import markdown_literal
from metricx.semantic import catalogue
from metricx.semantic.engine import MetricsResult
from metricx.semantic.query import Attribution, TimeRange

MAX_LISTED_ROWS = 10


def _fmt(metric: catalogue.Metric, value: Any, currency: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return catalogue.EMPTY_VALUE
    return catalogue.format_value(metric, value, currency)


def _span(span: TimeRange) -> str:
    def day(d: date) -> str:
        return f"{d:%b} {d.day}, {d.year}"

    return day(span.start) if span.start == span.end else f"{day(span.start)} – {day(span.end)}"


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _change(metric: catalogue.Metric, now: Any, before: Any) -> str:
    """ ", +2.6%, worse" — better or worse by the metric's direction (none for spend)."""
    if before in (None, 0) or _empty(now) or _empty(before):
        return ""
    change = (now - before) / abs(before)
    text = f", {change * 100:+.1f}%"
    better = metric.higher_is_better
    if better is None or now == before:
        return text
    return text + (", better" if (now > before) == better else ", worse")


def _without_data(frame: pd.DataFrame | None, metrics: list[str]) -> bool:
    """True when a period has no row, or only zeros and empties: no data, not a zero."""
    if frame is None or frame.empty:
        return True
    values = frame[metrics].to_numpy(dtype=float, na_value=math.nan).ravel()
    return all(math.isnan(v) or v == 0 for v in values)


def like_for_like_question(result: MetricsResult) -> str | None:
    """When the two periods compared have different lengths (this month so far vs all of
    last month), the follow-up asking for the same number of days from each period's start."""
    query = result.query
    span, other = query.time_range, query.compare_range
    if other is None or span.days == other.days:
        return None
    days = min(span.days, other.days)
    end = span.start + timedelta(days=days - 1)
    other_end = other.start + timedelta(days=days - 1)
    # a follow-up, so the split, filters and attribution of the answer are kept
    return f"the same days: {span.start} to {end} vs {other.start} to {other_end}"


def _partial_warning(result: MetricsResult) -> str | None:
    query = result.query
    span, other = query.time_range, query.compare_range
    if other is None or span.days == other.days:
        return None
    return (
        f"Careful: these periods differ in length ({span.days} days vs {other.days} "
        f"days), so totals are not like for like. The same {min(span.days, other.days)} "
        "days of each period are offered below."
    )


def _row_name(result: MetricsResult, row: pd.Series) -> str:
    """The row's names; a name that several entities share gets its id (#123)."""
    frame = result.frame
    parts = []
    for d in result.query.dimensions:
        text = markdown_literal(row[d])
        key = f"{d}_id"
        if key in frame.columns and frame[frame[d] == row[d]][key].nunique() > 1:
            text += f" (#{row[key]})"
        parts.append(text)
    if result.query.grain:
        parts.append(str(row[result.query.grain]))
    return " · ".join(parts) or "Total"


def answer_text(result: MetricsResult, note: str = "", explanation: str = "") -> str:
    """The answer in words, built only from `result` (and the decomposition's `explanation`
    of a "why" question, itself built from the engine's results)."""
    query, frame, currency = result.query, result.frame, result.currency
    compare = result.compare_frame
    if compare is not None and _without_data(compare, list(query.metrics)):
        compare = None  # a period before any data: "no data", never "vs $0.00"
    metric_of = result.metric  # catalogue and custom metrics alike
    lines = [
        f"**{', '.join(metric_of(m).label for m in query.metrics)}** for {_span(query.time_range)}"
        + (f" compared with {_span(query.compare_range)}" if query.compare_range else "")
        + f" (days in {result.timezone}, money in {currency}). {scope_text(query)}"
    ]
    if query.compare_range is not None and compare is None:
        lines.append(f"There is no data for {_span(query.compare_range)} to compare with.")
    warning = _partial_warning(result)
    if warning:
        lines.append(warning)
    if frame.empty:
        lines.append(
            "There is no data for this period: nothing was spent or sold, or the "
            "accounts have not synced these days yet."
        )
    elif not query.dimensions and not query.grain:
        row = frame.iloc[0]
        before = compare.iloc[0] if compare is not None and len(compare) else None
        for metric in query.metrics:
            entry = metric_of(metric)
            text = f"- {entry.label}: **{_fmt(entry, row[metric], currency)}**"
            if before is not None:
                text += (
                    f" (vs {_fmt(entry, before[metric], currency)}"
                    f"{_change(entry, row[metric], before[metric])})"
                )
            lines.append(text)
    else:
        shown = frame.head(MAX_LISTED_ROWS)
        order = query.order_by if query.dimensions else None
        ranked = order is not None
        if order is not None:
            lines.append(
                f"Ranked by {metric_of(order.metric).label} "
                f"({'highest' if order.direction == 'desc' else 'lowest'} "
                "first):"
            )
        for index, (_, row) in enumerate(shown.iterrows(), start=1):
            values = []
            for metric in query.metrics:
                entry = metric_of(metric)
                value = f"{entry.label} {_fmt(entry, row[metric], currency)}"
                if compare is not None and index - 1 < len(compare):
                    prior = compare.iloc[index - 1][metric]
                    value += f" (vs {_fmt(entry, prior, currency)})"
                values.append(value)
            lead = f"{index}. " if ranked else "- "
            lines.append(f"{lead}{_row_name(result, row)}: {'; '.join(values)}")
        if len(frame) > MAX_LISTED_ROWS:
            lines.append(f"…and {len(frame) - MAX_LISTED_ROWS} more rows in the table.")
    if explanation:
        lines += ["", explanation]
    lines.append("")
    lines.append("Definitions: " + " ".join(result.definitions.values()))
    if query.needs_attribution:
        a = query.attribution or Attribution()  # the defaults the engine applied
        window = f"{a.window_days}-day" if a.window_days else "lifetime"
        lines.append(
            f"Attribution: {a.model.replace('_', ' ')}, {window} window, {a.mode} accounting."
        )
    if note:
        lines.append(f"Note: {note}")
    return "\n".join(lines)


def chart(result: MetricsResult) -> alt.Chart | None:
    """Lines over time, bars per dimension, grouped bars for a comparison; None for a total."""
    query, frame = result.query, result.frame
    if frame.empty or (not query.grain and not query.dimensions):
        return None
    metric = query.metrics[0]
    entry = result.metric(metric)
    title = f"{entry.label} ({result.currency})" if entry.unit == "currency" else entry.label
    if query.grain:
        data = frame.assign(period=frame[query.grain])
        color = alt.Color(f"{query.dimensions[0]}:N") if query.dimensions else alt.value("#4C78A8")
        return (
            alt.Chart(data)
            .mark_line(point=True)
            .encode(
                x=alt.X("period:T" if query.grain != "hour" else "period:O", title=query.grain),
                y=alt.Y(f"{metric}:Q", title=title),
                color=color,
                tooltip=list(data.columns),
            )
            .properties(title=title)
        )
    label = query.dimensions[-1]
    data = frame.assign(name=frame.apply(lambda r: _row_name(result, r), axis=1))
    if result.compare_frame is not None and len(result.compare_frame):
        before = result.compare_frame.assign(name=data["name"].values, period="comparison")
        data = pd.concat([data.assign(period="this period"), before])
        return (
            alt.Chart(data)
            .mark_bar()
            .encode(
                y=alt.Y("name:N", sort=None, title=label),
                x=alt.X(f"{metric}:Q", title=title),
                yOffset="period:N",
                color="period:N",
                tooltip=["name", "period", metric],
            )
            .properties(title=title)
        )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("name:N", sort=None, title=label),
            x=alt.X(f"{metric}:Q", title=title),
            tooltip=["name", metric],
        )
        .properties(title=title)
    )
