"""The one period of the whole app: picked once in the sidebar, the same on every data page,
kept in the URL (?period=…&compare=…&from=…&to=…) so a link or a reload shows the same days.

app.py renders the picker (widgets in the entry script keep their state on every page);
pages read it with `current_period()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal, TypedDict
from zoneinfo import ZoneInfo

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from metricx.semantic.dates import compare_range_for, resolve_phrase, today_in
from metricx.semantic.query import TimeRange
from metricx.services.workspaces import Workspace
from metricx.vocabulary import COMPARISONS, DEFAULT_PERIOD, PERIODS
from ui.format import span

PRESETS = [*PERIODS, "custom"]
DEFAULT_PRESET = DEFAULT_PERIOD


class Kept(TypedDict):
    """Where a widget keeps its value: in the URL and across pages (`**KEPT`)."""

    bind: Literal["query-params"]
    persist_state: Literal["session"]


KEPT: Kept = {"bind": "query-params", "persist_state": "session"}
_STATE = "app_period"  # the resolved Period of this run, for the pages


@dataclass(frozen=True)
class Period:
    """What the user picked, resolved to the workspace's days."""

    preset: str
    range: TimeRange
    compare: TimeRange | None

    @property
    def partial(self) -> bool:
        """Today so far: the range and its comparison stop at the same local clock time."""
        return self.range.until is not None

    def caption(self, workspace: Workspace) -> str:
        """ "Nov 3 – 9, 2026 vs Oct 27 – Nov 2, 2026 · days in Europe/Berlin · USD"."""
        shown = _described(self.range)
        if self.compare is not None:
            shown += f" vs {_described(self.compare)}"
        return f"{shown} · days in {workspace.timezone} · {workspace.currency}"


def _described(period: TimeRange) -> str:
    text = span(period.start, period.end)
    return text + (f" until {period.until:%H:%M}" if period.until is not None else "")


def _cutoff(timezone: str, now: datetime | None = None) -> time | None:
    """The local clock time "so far" ends at (to the minute); None in the day's first minute,
    when nothing can be compared yet and whole days are the honest fallback."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone))
    cutoff = time(local.hour, local.minute)
    return cutoff if cutoff != time(0) else None


def resolve(
    preset: str,
    compare: str,
    start: date | None,
    end: date | None,
    timezone: str,
    now: datetime | None = None,
) -> Period:
    """The Period a choice means now in `timezone`. "today" stops at the current minute and so
    does its comparison (yesterday until the same time); "custom" without both dates is the
    default preset's range."""
    today = today_in(timezone, now)  # refuses an unknown zone with a clear message
    if preset == "custom" and start is not None and end is not None:
        chosen = TimeRange(start=min(start, end), end=max(start, end))
    elif preset == "today" and (until := _cutoff(timezone, now)) is not None:
        chosen = TimeRange(start=today, end=today, until=until)
    else:
        chosen = resolve_phrase(preset if preset in PERIODS else DEFAULT_PRESET, today)
    kind = COMPARISONS.get(compare)
    return Period(preset, chosen, compare_range_for(kind, chosen) if kind else None)


def period_picker(workspace: Workspace, area: DeltaGenerator) -> Period:
    """The period's widgets in `area` (of the sidebar); each keeps its value in one key, in
    the URL and across pages."""
    with area:
        st.markdown("**Period**")
        preset = st.selectbox(
            "Period",
            PRESETS,
            index=PRESETS.index(DEFAULT_PRESET),
            key="period",
            label_visibility="collapsed",
            **KEPT,
        )
        start = end = None
        if preset == "custom":
            left, right = st.columns(2)
            start = left.date_input("From", None, key="from", format="YYYY-MM-DD", **KEPT)
            end = right.date_input("To", None, key="to", format="YYYY-MM-DD", **KEPT)
            if start is None or end is None:
                st.caption("Pick both dates; until then the last 7 days are shown.")
        compare = st.selectbox("Compare with", list(COMPARISONS), key="compare", **KEPT)
    period = resolve(preset, compare, start, end, workspace.timezone)
    st.session_state[_STATE] = period
    return period


def current_period() -> Period:
    """The period app.py resolved for this run."""
    period = st.session_state.get(_STATE)
    if period is None:  # a page opened without app.py (never in the app itself)
        st.error("The period picker did not run; open the page from the app.")
        st.stop()
    return period
