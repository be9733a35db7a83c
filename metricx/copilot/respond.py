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
from metricx.semantic.query import (
    EMAIL_CHANNEL_LABELS,
    EMAIL_DIMENSIONS,
    Attribution,
    Cohort,
    SemanticQuery,
    TimeRange,
)
from metricx.semantic.result import MetricsResult

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
        text = markdown_literal(_dimension_value(result.query, d, row[d]))
        key = f"{d}_id"
        if key in frame.columns and frame[frame[d] == row[d]][key].nunique() > 1:
            text += f" (#{row[key]})"
        parts.append(text)
    if result.query.grain:
        parts.append(str(row[result.query.grain]))
    return " · ".join(parts) or "Total"


# --- cohort and product answers -----------------------------------------------------------------

AGE, COMPLETE = "age", "complete"
#: Lines of a table by age: one per cohort (or segment), its ages side by side.
MAX_AGE_LINES = 12
_UNIT_WORDS = {"day": "day", "week": "week", "month": "month"}
_ACQUISITION_TEXT = {
    "acquisition_channel": "channel",
    "acquisition_platform": "platform",
    "acquisition_campaign": "campaign",
}


def _ages_text(cohort: Cohort) -> str:
    """ "at day 90 after their first order" / "by month since their first order, months
    0-11"."""
    unit = _UNIT_WORDS[cohort.age_unit]
    if cohort.at_age is None:
        return f"by {unit} since their first order, {unit}s 0–{cohort.max_age}"
    return f"at {unit} {cohort.read_age} after their first order"


def _dimension_value(query: SemanticQuery, dimension: str, value: Any) -> str:
    """A cell of a split as a person reads it: "Sep 2026", "month 3", "(none)"."""
    if _empty(value):
        return "(none)"
    cohort = query.cohort
    if cohort is not None and dimension == AGE:
        return f"{_UNIT_WORDS[cohort.age_unit]} {int(value)}"
    if cohort is not None and dimension == "cohort":
        first = date.fromisoformat(str(value)[:10])
        if cohort.grain == "month":
            return f"{first:%b %Y}"
        if cohort.grain == "quarter":
            return f"Q{(first.month - 1) // 3 + 1} {first.year}"
        return f"week of {first:%b} {first.day}, {first.year}"
    if dimension in EMAIL_DIMENSIONS:
        return EMAIL_CHANNEL_LABELS.get(str(value), str(value))
    return str(value)


def _by_age_lines(result: MetricsResult) -> list[str]:
    """A table by age in words: per cohort (or segment) its first metric, age by age."""
    query, frame = result.query, result.frame
    metric = result.metric(query.metrics[0])
    keys = [d for d in query.dimensions if d != AGE]
    groups = frame.groupby(keys, sort=False, dropna=False) if keys else [((), frame)]
    lines = [f"{metric.label}, age by age:"]
    for count, (key, rows) in enumerate(groups):
        if count == MAX_AGE_LINES:
            lines.append("…and more in the table.")
            break
        values = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        name = " · ".join(_dimension_value(query, d, values[d]) for d in keys) or "All"
        cells = ", ".join(
            f"{_dimension_value(query, AGE, row[AGE])} "
            f"{_fmt(metric, row[metric.id], result.currency)}"
            for _, row in rows.iterrows()
        )
        lines.append(f"- {markdown_literal(name)}: {cells}")
    return lines


def _incomplete_lines(result: MetricsResult) -> list[str]:
    """Which cells are not complete yet: left empty, never shown as a drop."""
    frame, cohort = result.frame, result.query.cohort
    if cohort is None or COMPLETE not in frame.columns or frame.empty:
        return []
    missing = int((~frame[COMPLETE].astype(bool)).sum())
    if not missing:
        return ["Every number is complete: each cohort's customers have all reached that age."]
    unit = _UNIT_WORDS[cohort.age_unit]
    if len(frame) == 1:
        return [
            f"Not complete yet: not every customer acquired by {_span_end(result)} has reached "
            f"{unit} {cohort.read_age}, so it is left empty rather than shown as a drop. Ask "
            "about an earlier period for a complete number."
        ]
    return [
        f"{missing} of {len(frame)} cells are not complete yet (not every customer of that "
        f"cohort has reached that {unit}): they are left empty (—), never shown as a drop."
    ]


def _span_end(result: MetricsResult) -> str:
    end = result.query.time_range.end
    return f"{end:%b} {end.day}, {end.year}"


def _product_lines(result: MetricsResult) -> list[str]:
    """Products losing money after ads, and the ad spend allocated to no product."""
    query, frame, currency = result.query, result.frame, result.currency
    lines = []
    if "contribution_after_ads" in query.metrics and not frame.empty:
        column = frame["contribution_after_ads"]
        losing = frame[column < 0]
        entry = result.metric("contribution_after_ads")
        if losing.empty:
            lines.append("No product lost money after ads in this period.")
        else:
            names = [
                f"{_row_name(result, row)} ({_fmt(entry, row[entry.id], currency)})"
                for _, row in losing.head(MAX_LISTED_ROWS).iterrows()
            ]
            lines.append(
                f"Losing money after ads ({len(losing)} of {len(frame)} rows): "
                + ", ".join(names)
                + ("…" if len(losing) > MAX_LISTED_ROWS else "")
            )
    spend = result.unallocated.get("allocated_spend")
    if spend:
        entry = result.metric("allocated_spend")
        lines.append(
            f"Ad spend allocated to no product (campaigns no order was credited to in the "
            f"period): {_fmt(entry, spend, currency)}, its own line so the total matches the "
            "period's ad spend."
        )
    return lines


def _family_definitions(query: SemanticQuery) -> list[str]:
    """What a cohort, an acquisition split or an allocation means, for the definitions."""
    cohort = query.cohort
    texts = []
    if cohort is not None:
        texts.append(
            f"A cohort is the customers whose first order (not test, not cancelled) falls in "
            f"its {cohort.grain}; ages are whole {cohort.age_unit}s since that order's day; an "
            "age not yet lived by every customer of a cohort is incomplete and left empty."
        )
        split = [_ACQUISITION_TEXT[d] for d in query.dimensions if d in _ACQUISITION_TEXT]
        if split:
            texts.append(
                f"Acquisition {' and '.join(split)} = that of the first order's first click "
                "(lifetime window); no touch counts as direct."
            )
        if "first_product" in query.dimensions:
            texts.append("First product = the product of the first order's largest line.")
        if "first_order_discount" in query.dimensions:
            texts.append("Discounted = the first order had a discount; else full price.")
    if query.family == "products" and {
        "allocated_spend",
        "product_roas",
        "product_poas",
        "contribution_after_ads",
    } & set(query.metrics):
        used = query.attribution or Attribution()
        window = f"{used.window_days}-day window" if used.window_days else "lifetime window"
        texts.append(
            f"Attribution used to allocate ad spend: {used.model.replace('_', ' ')}, {window}, "
            "cash basis."
        )
    return texts


#: "What share of sales came from email": the email revenue over the store figure beside it.
_SHARE_OF = {"email_revenue": ("net_sales", "store_revenue")}


def _share_lines(result: MetricsResult, row: pd.Series) -> list[str]:
    """The share an email figure is of the store's sales, when both are asked for together
    (their definitions say why it can exceed what last-click attribution gives email)."""
    lines = []
    for part, wholes in _SHARE_OF.items():
        whole = next((w for w in wholes if w in result.query.metrics), None)
        if part not in result.query.metrics or whole is None:
            continue
        label, of = result.metric(part).label, result.metric(whole).label.lower()
        if _empty(row[part]) or _empty(row[whole]) or float(row[whole]) <= 0:
            lines.append(f"- {label} as a share of {of}: no share, as there are no {of}.")
            continue
        share = float(row[part]) / float(row[whole])
        lines.append(f"- {label} as a share of {of}: **{share:.1%}**")
    return lines


def answer_text(result: MetricsResult, note: str = "", explanation: str = "") -> str:
    """The answer in words, built only from `result` (and the decomposition's `explanation`
    of a "why" question, itself built from the engine's results)."""
    query, frame, currency = result.query, result.frame, result.currency
    compare = result.compare_frame
    if compare is not None and _without_data(compare, list(query.metrics)):
        compare = None  # a period before any data: "no data", never "vs $0.00"
    metric_of = result.metric  # catalogue and custom metrics alike
    labels = ", ".join(metric_of(m).label for m in query.metrics)
    units = f"days in {result.timezone}, money in {currency}"
    if query.cohort is not None:  # cohort queries have no comparison period
        headline = (
            f"**{labels}** of customers acquired {_span(query.time_range)} ({units}), "
            f"{_ages_text(query.cohort)}."
        )
    else:
        headline = (
            f"**{labels}** for {_span(query.time_range)}"
            + (f" compared with {_span(query.compare_range)}" if query.compare_range else "")
            + f" ({units})."
        )
    lines = [f"{headline} {scope_text(query)}"]
    if query.compare_range is not None and compare is None:
        lines.append(f"There is no data for {_span(query.compare_range)} to compare with.")
    warning = _partial_warning(result)
    if warning:
        lines.append(warning)
    if frame.empty:
        lines.append(
            "No customer's first order falls in this period."
            if query.cohort is not None
            else "There is no data for this period: nothing was spent or sold, or the "
            "accounts have not synced these days yet."
        )
    elif query.cohort is not None and AGE in query.dimensions:
        lines += _by_age_lines(result)
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
        lines += _share_lines(result, row)
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
    if query.cohort is not None:
        lines += _incomplete_lines(result)
    if query.family == "products":
        lines += _product_lines(result)
    if explanation:
        lines += ["", explanation]
    lines.append("")
    lines.append(
        "Definitions: " + " ".join([*result.definitions.values(), *_family_definitions(query)])
    )
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
    if query.cohort is not None and AGE in query.dimensions:
        return _age_chart(result, metric, title)
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


def _age_chart(result: MetricsResult, metric: str, title: str) -> alt.Chart:
    """One line per cohort (or segment) over the ages; incomplete ages are gaps, not drops."""
    query = result.query
    keys = [d for d in query.dimensions if d != AGE]
    data = result.frame.assign(
        series=result.frame.apply(
            lambda row: " · ".join(_dimension_value(query, d, row[d]) for d in keys) or "All",
            axis=1,
        )
    )
    unit = query.cohort.age_unit if query.cohort is not None else "month"
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{AGE}:O", title=f"{unit}s since the first order"),
            y=alt.Y(f"{metric}:Q", title=title),
            color=alt.Color("series:N", title=keys[0] if keys else ""),
            tooltip=["series", AGE, metric],
        )
        .properties(title=title)
    )
