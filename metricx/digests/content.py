"""What a digest says: the Dashboard's KPI tiles against the previous period, the campaigns
that moved spend and platform-reported revenue, the alerts fired, today's pacing and how
fresh each connection is, for one window of whole workspace-local days.

Windows (`window_for`): a daily digest covers yesterday; a weekly one the 7 days ending
yesterday (sent on a Monday, the previous Monday to Sunday). Each is compared with the
previous period of the same length (metricx.semantic.dates.compare_range_for). Every number
is the metric engine's (`run_query`) or a service's (P&L, pacing, decompose), read as the
Dashboard reads it, so the digest and the page it links to agree. A period without spend or
orders is "no data", never 0; a previous period without any makes no change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from metricx.connection_store import list_connections
from metricx.copilot.why import decompose
from metricx.db import new_session
from metricx.errors import MetricxError
from metricx.models import AlertEvent, AlertMonitor, AlertRule, Workspace
from metricx.semantic import catalogue
from metricx.semantic.catalogue import Metric
from metricx.semantic.dates import compare_range_for, utc_bounds
from metricx.semantic.engine import run_query
from metricx.semantic.query import SemanticQuery, TimeRange
from metricx.services import finance, pacing
from metricx.services.custom_definitions import dashboard_tiles

CADENCES = ("daily", "weekly")
#: Days a cadence's window spans.
WINDOW_DAYS = {"daily": 1, "weekly": 7}
#: Days of context in the trend chart, ending with the window.
TREND_DAYS = {"daily": 14, "weekly": 28}
#: As on the Dashboard: a period where all of these are zero or empty has no data at all.
ACTIVITY = ("spend", "orders", "store_revenue")
#: What the movers split, by campaign: ad spend and the revenue the platforms report.
MOVER_METRICS = ("spend", "conversion_value")
TOP_MOVERS = 5
#: Fired alerts listed one by one; more are counted.
MAX_ALERTS = 10
#: A connection synced every 15 minutes that has not synced for an hour is late.
LATE_AFTER = timedelta(hours=1)
NO_DATA = "no data"


class DigestWindowError(MetricxError, ValueError):
    """A cadence or window a digest cannot cover."""


def window_for(cadence: str, today: date) -> TimeRange:
    """The whole local days a digest sent on `today` covers: yesterday (daily), or the 7
    days ending yesterday (weekly)."""
    if cadence not in WINDOW_DAYS:
        raise DigestWindowError(f"a digest is daily or weekly, got {cadence!r}")
    end = today - timedelta(days=1)
    return TimeRange(start=end - timedelta(days=WINDOW_DAYS[cadence] - 1), end=end)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


@dataclass(frozen=True)
class Kpi:
    """One Dashboard tile: the window's value and the previous period's (None: no data)."""

    metric: Metric
    value: float | None
    previous: float | None
    note: str | None = None  # why a value is missing, when the engine withheld it

    @property
    def change(self) -> float | None:
        """The fractional change (0.081 for +8.1%); None without a previous value or from 0."""
        if self.value is None or self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / abs(self.previous)

    @property
    def good(self) -> bool | None:
        """Whether the change went the metric's good way (None: neither way is good, or no
        change)."""
        moved = self.change
        better = self.metric.higher_is_better
        if moved is None or moved == 0 or better is None:
            return None
        return (moved > 0) == better


@dataclass(frozen=True)
class Mover:
    campaign: str
    before: float | None
    after: float | None
    change: float


@dataclass(frozen=True)
class Movers:
    """The campaigns whose change added most to the change of `metric` (largest first);
    `others` is what the rest added, so `sum(change) + others == total change`."""

    metric: Metric
    before: float | None
    after: float | None
    top: tuple[Mover, ...]
    others: float

    @property
    def total_change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class FiredAlert:
    source: str  # the rule's name, or the built-in monitor's
    message: str
    fired_at: datetime


@dataclass(frozen=True)
class PacingSummary:
    """Today so far against the same weekday last week, up to the same clock time."""

    clock: time
    last_week_day: date
    spend: float
    spend_last_week: float
    conversions: float
    conversions_last_week: float


@dataclass(frozen=True)
class Freshness:
    name: str
    provider: str
    status: str
    last_synced_at: datetime | None
    last_error: str | None
    late: bool


@dataclass(frozen=True)
class DigestContent:
    workspace_id: int
    workspace_name: str
    cadence: str
    window: TimeRange
    compare: TimeRange
    currency: str
    timezone: str
    has_data: bool  # the window has spend or orders
    previous_has_data: bool
    kpis: tuple[Kpi, ...]
    movers: tuple[Movers, ...]
    alerts: tuple[FiredAlert, ...]
    more_alerts: int  # fired in the window beyond those listed
    pacing: PacingSummary | None
    pacing_note: str | None  # why there is no pacing
    freshness: tuple[Freshness, ...]
    #: spend and store revenue by day (columns day, spend, store_revenue), TREND_DAYS long
    trend: pd.DataFrame
    notes: tuple[str, ...] = ()  # what could not be computed, in words

    def kpi(self, metric_id: str) -> Kpi | None:
        return next((k for k in self.kpis if k.metric.id == metric_id), None)


def _kpis(
    workspace_id: int, window: TimeRange, compare: TimeRange
) -> tuple[list[Kpi], bool, bool, list[str]]:
    """The Dashboard's tiles (as views/dashboard.py reads them: the tiles and ACTIVITY in one
    query with its comparison), then net profit from the P&L."""
    tiles = dashboard_tiles(workspace_id)
    named = list(dict.fromkeys([*tiles, *ACTIVITY]))
    result = run_query(
        workspace_id,
        {
            "metrics": named,
            "time_range": window.model_dump(mode="json"),
            "compare_range": compare.model_dump(mode="json"),
        },
    )
    now = result.frame.iloc[0]
    before = result.compare_frame.iloc[0] if result.compare_frame is not None else None

    def active(row: pd.Series | None) -> bool:
        return row is not None and any(_number(row[m]) not in (None, 0.0) for m in ACTIVITY)

    has_data, previous_has_data = active(now), active(before)
    kpis = [
        Kpi(
            result.metric(m),
            _number(now[m]) if has_data else None,
            _number(before[m]) if previous_has_data and before is not None else None,
            result.withheld.get(m),
        )
        for m in tiles
    ]
    notes: list[str] = []
    if has_data:
        try:
            profit = finance.profit_and_loss(workspace_id, window.start, window.end).total
            earlier = (
                finance.profit_and_loss(workspace_id, compare.start, compare.end).total
                if previous_has_data
                else None
            )
        except MetricxError as problem:
            notes.append(f"Net profit: {problem}")
        else:
            kpis.append(
                Kpi(
                    finance.get_line("net_profit"),
                    _number(profit["net_profit"]),
                    _number(earlier["net_profit"]) if earlier is not None else None,
                )
            )
    return kpis, has_data, previous_has_data, notes


def _movers(workspace_id: int, window: TimeRange, compare: TimeRange) -> list[Movers]:
    """Per metric, the campaigns that moved it most (metricx.copilot.why.decompose)."""
    found = []
    for metric_id in MOVER_METRICS:
        query = SemanticQuery.parse(
            {
                "metrics": [metric_id],
                "time_range": window.model_dump(mode="json"),
                "compare_range": compare.model_dump(mode="json"),
            }
        )
        split = decompose(workspace_id, query, "campaign")
        table = split.table[split.table["change"] != 0]
        top = tuple(
            Mover(
                str(row.segment),
                _number(row.before),
                _number(row.after),
                _number(row.change) or 0.0,
            )
            for row in table.head(TOP_MOVERS).itertuples(index=False)
        )
        others = float(table["change"].iloc[TOP_MOVERS:].sum())
        found.append(
            Movers(catalogue.get_metric(metric_id), split.before, split.after, top, others)
        )
    return found


def monitor_title(kind: str) -> str:
    """A built-in monitor's name as people read it ("data_stale" -> "Data stale")."""
    return kind.replace("_", " ").capitalize()


def _alerts(workspace_id: int, window: TimeRange, tz: str) -> tuple[list[FiredAlert], int]:
    """The firings of the window's days (rules and monitors), first fired first."""
    start, end = utc_bounds(window, tz)
    with new_session() as session:
        rows = session.execute(
            select(AlertEvent.message, AlertEvent.fired_at, AlertRule.name, AlertMonitor.kind)
            .outerjoin(AlertRule, AlertRule.id == AlertEvent.rule_id)
            .outerjoin(AlertMonitor, AlertMonitor.id == AlertEvent.monitor_id)
            .where(
                AlertEvent.workspace_id == workspace_id,
                AlertEvent.fired_at >= start,
                AlertEvent.fired_at < end,
            )
            .order_by(AlertEvent.fired_at, AlertEvent.id)
        ).all()
    fired = [
        FiredAlert(name if name is not None else monitor_title(kind or ""), message, at)
        for message, at, name, kind in rows
    ]
    return fired[:MAX_ALERTS], max(0, len(fired) - MAX_ALERTS)


def _pacing(workspace_id: int, now: datetime) -> PacingSummary:
    paced = pacing.pacing(workspace_id, now)
    elapsed = paced.now - datetime.combine(paced.today.day, time())
    today, last_week = paced.today.by(elapsed), paced.last_week.by(elapsed)
    return PacingSummary(
        clock=paced.now.time().replace(second=0, microsecond=0),
        last_week_day=paced.last_week.day,
        spend=float(today["spend"]),
        spend_last_week=float(last_week["spend"]),
        conversions=float(today["conversions"]),
        conversions_last_week=float(last_week["conversions"]),
    )


def _freshness(workspace_id: int, now: datetime) -> list[Freshness]:
    return [
        Freshness(
            c.name,
            c.provider,
            c.status,
            c.last_synced_at,
            c.last_error,
            c.status == "active"
            and (c.last_synced_at is None or now - c.last_synced_at > LATE_AFTER),
        )
        for c in list_connections(workspace_id)
    ]


def _trend(workspace_id: int, cadence: str, window: TimeRange) -> pd.DataFrame:
    span = TimeRange(start=window.end - timedelta(days=TREND_DAYS[cadence] - 1), end=window.end)
    frame = run_query(
        workspace_id,
        {
            "metrics": ["spend", "store_revenue"],
            "time_range": span.model_dump(mode="json"),
            "grain": "day",
        },
    ).frame
    return frame[["day", "spend", "store_revenue"]].reset_index(drop=True)


def build_digest(
    workspace_id: int,
    cadence: str,
    start: date,
    end: date,
    *,
    now: datetime | None = None,
) -> DigestContent:
    """The digest of `start`..`end` (the workspace's days) for `cadence`, compared with the
    previous period of the same length; `now` (default: now) is when today's pacing and the
    freshness are read."""
    if cadence not in CADENCES:
        raise DigestWindowError(f"a digest is daily or weekly, got {cadence!r}")
    window = TimeRange(start=start, end=end)
    compare = compare_range_for("previous_period", window)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with new_session() as session:
        workspace = session.get_one(Workspace, workspace_id)
        name, tz, currency = workspace.name, workspace.timezone, workspace.currency
    kpis, has_data, previous_has_data, notes = _kpis(workspace_id, window, compare)
    movers = _movers(workspace_id, window, compare) if has_data else []
    alerts, more_alerts = _alerts(workspace_id, window, tz)
    freshness = _freshness(workspace_id, moment)
    paced: PacingSummary | None = None
    pacing_note: str | None = None
    if not any(f.provider != "shopify" for f in freshness):
        pacing_note = "no ad account connected"
    else:
        try:
            paced = _pacing(workspace_id, moment)
        except MetricxError as problem:
            pacing_note = str(problem)
    return DigestContent(
        workspace_id=workspace_id,
        workspace_name=name,
        cadence=cadence,
        window=window,
        compare=compare,
        currency=currency,
        timezone=tz,
        has_data=has_data,
        previous_has_data=previous_has_data,
        kpis=tuple(kpis),
        movers=tuple(movers),
        alerts=tuple(alerts),
        more_alerts=more_alerts,
        pacing=paced,
        pacing_note=pacing_note,
        freshness=tuple(freshness),
        trend=_trend(workspace_id, cadence, window),
        notes=tuple(notes),
    )
