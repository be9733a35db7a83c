"""How values look on screen: one place, so every page formats alike."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal

import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig

from metricx.markdown import markdown_literal
from metricx.semantic import catalogue
from metricx.semantic.catalogue import Metric, format_value
from metricx.services import finance


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """'never', 'just now', '5 min ago', '3 h ago', '2 days ago'."""
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def is_late(
    last_synced_at: datetime | None, now: datetime | None = None, minutes: int = 60
) -> bool:
    """A connection synced every 15 minutes that has not synced for an hour is late."""
    if last_synced_at is None:
        return True
    return ((now or datetime.now(UTC)) - last_synced_at).total_seconds() > minutes * 60


STATUS_BADGES = {
    "active": "🟢 active",
    "paused": "⏸️ paused",
    "needs_reauth": "🔑 needs re-authentication",
    "error": "🔴 error",
    "upgrade_needed": "⬆️ API upgrade needed",
    "misconfigured": "🛠️ setup needs a fix",
    "blocked": "⛔ blocked by the platform",
    "disconnected": "🔌 disconnected",
}
# States that need a person: shown as a warning with the platform's message.
ATTENTION_STATUSES = (
    "needs_reauth",
    "error",
    "upgrade_needed",
    "misconfigured",
    "blocked",
    "disconnected",
)


def status_badge(status: str) -> str:
    return STATUS_BADGES.get(status, status)


def money(value: float | None, currency: str) -> str:
    """An amount as the KPI tiles show it: "$1,234.50", "SEK 1,234.50", "—" for none."""
    return format_value("spend", None if value is None or value != value else value, currency)


def in_markdown(text: str) -> str:
    """Text for markdown (captions, st.markdown): a "$" there would open a LaTeX formula."""
    return text.replace("$", r"\$")


def literal(text: str) -> str:
    """A name someone else chose (a campaign, an ad, a search) shown as itself in markdown:
    no link, emphasis, HTML or formula."""
    return in_markdown(markdown_literal(text))


def money_column(label: str, currency: str) -> ColumnConfig:
    """A table column of amounts in `currency`, shown with the tiles' symbol and thousands
    separators, and still sorted as numbers."""
    symbol = money(0, currency).removesuffix("0.00")  # the catalogue's own "$" or "SEK "
    return st.column_config.NumberColumn(label, format=f"{symbol}%,.2f")


# --- metrics -------------------------------------------------------------------------------


def metric(metric_id: str | Metric) -> Metric:
    """A catalogue metric or a P&L line, by id."""
    if isinstance(metric_id, Metric):
        return metric_id
    if metric_id in catalogue.METRICS:
        return catalogue.get_metric(metric_id)
    return finance.get_line(metric_id)


def _missing(number: Any) -> bool:
    return (
        number is None
        or (isinstance(number, float) and math.isnan(number))
        or (not isinstance(number, (int, float)) and pd.isna(number))
    )


def value(metric_id: str | Metric, number: Any, currency: str) -> str:
    """One figure as the tiles show it: "$1,234.50", "1,234", "2.31x", "1.23%"; "—" for none."""
    return format_value(metric(metric_id), None if _missing(number) else float(number), currency)


def change(now: Any, before: Any) -> float | None:
    """The fractional change from `before` to `now`; None when there is nothing to compare
    with (no previous value, or a previous value of zero)."""
    if _missing(now) or _missing(before) or before == 0:
        return None
    return (float(now) - float(before)) / abs(float(before))


#: st.metric's delta colours this app uses: by direction, reversed, or neutral grey.
DeltaColour = Literal["normal", "inverse", "off"]


def delta(metric_id: str | Metric, now: Any, before: Any) -> tuple[str | None, DeltaColour]:
    """The change for st.metric: its text ("+2.6%") and colour by the metric's direction
    (green when it moved the good way, red the bad way, grey when neither is good)."""
    moved = change(now, before)
    better = metric(metric_id).higher_is_better
    colour: DeltaColour = "off" if better is None else ("normal" if better else "inverse")
    return (None if moved is None else f"{moved * 100:+.1f}%"), colour


def label(metric_id: str | Metric) -> str:
    return metric(metric_id).label


def metric_column(metric_id: str | Metric, currency: str, title: str | None = None) -> Any:
    """The table column for one metric: money with the currency symbol, percents, ratios as
    "2.31x", counts with separators; the values stay numbers, so the column sorts."""
    entry = metric(metric_id)
    title = title or entry.label
    if entry.unit == "currency":
        return money_column(title, currency)
    if entry.unit == "percent":
        return st.column_config.NumberColumn(title, format="percent", help=entry.definition)
    if entry.unit == "ratio":
        return st.column_config.NumberColumn(title, format="%.2fx", help=entry.definition)
    return st.column_config.NumberColumn(
        title,
        format="%,.2f" if entry.id.startswith("attributed") else "%,.0f",
        help=entry.definition,
    )


def change_column(title: str) -> Any:
    """A change given in percent (0.026 as 2.6) shown signed, "+2.6%": Streamlit's "percent"
    format has no sign, and a rise must not read like a level."""
    return st.column_config.NumberColumn(title, format="%+.1f%%")


# Decimals kept in a CSV per unit: cents, ratios to 4 places, percents as fractions to 6.
_CSV_PLACES = {"currency": 2, "ratio": 4, "percent": 6, "count": 2}


def clean_csv(frame: pd.DataFrame, metric_ids: Mapping[str, str | Metric] | None = None) -> bytes:
    """The frame as CSV without float noise: each column known as a metric (by its own name or
    through `metric_ids`, column -> metric id, for "Spend (previous)" and the like) is rounded
    by its unit; whole counts are written as integers."""
    out = frame.copy()
    for column in out.columns:
        metric_id = (metric_ids or {}).get(column, column)
        if not isinstance(metric_id, (str, Metric)) or not pd.api.types.is_float_dtype(out[column]):
            continue
        try:
            unit = metric(metric_id).unit
        except (KeyError, ValueError):
            continue
        rounded = out[column].round(_CSV_PLACES[unit])
        whole = rounded.dropna()
        out[column] = (
            rounded.astype("Int64")
            if unit == "count" and (whole == whole.round()).all()
            else rounded
        )
    return out.to_csv(index=False).encode()


# --- dates ---------------------------------------------------------------------------------


def day(moment: date) -> str:
    """ "Nov 3, 2026": the one way a date is written on every page."""
    return f"{moment:%b} {moment.day}, {moment.year}"


def span(start: date, end: date) -> str:
    """ "Nov 3 – 9, 2026", "Oct 27 – Nov 2, 2026", "Dec 28, 2025 – Jan 3, 2026", "Nov 3, 2026"."""
    if start == end:
        return day(start)
    if start.year != end.year:
        return f"{day(start)} – {day(end)}"
    if start.month != end.month:
        return f"{start:%b} {start.day} – {day(end)}"
    return f"{start:%b} {start.day} – {end.day}, {end.year}"
