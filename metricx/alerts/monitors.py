"""The built-in monitors (issue #16): what every workspace watches without writing a rule.

Each kind is data (`KINDS`: its title, its one-line meaning and its parameters, a pydantic
model with the defaults) and a check: `check(kind, workspace_id, params, now)` returns the
findings at `now`, one per thing that is wrong, each under its split value (a connection id,
an entity id, a provider) so the cool-down and the once-per-window key hold per thing.
Nothing is recorded here (metricx.alerts.monitor_due records).

Numbers come from where the pages take them: connections from metricx.connection_store,
spend and conversions from `run_query` (so they equal the engine's), pacing's same-weekday
day shape from metricx.services.pacing, versions from metricx.connectors.versions. "No data"
never fires: a value the engine leaves empty (Meta's conversions of a cut day), a baseline
without volume, a connection still in its first sync.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import and_, func, or_, select

from metricx import validation
from metricx.alerts import anomaly
from metricx.alerts.evaluate import period_range
from metricx.connectors.errors import provider_name
from metricx.connectors.versions import END_OF_LIFE, VersionStatus
from metricx.db import get_reader, new_session
from metricx.errors import InvalidInputError
from metricx.models import (
    MONITOR_KINDS,
    Connection,
    Entity,
    PixelEvent,
    SyncRun,
    Touchpoint,
    Workspace,
)
from metricx.platforms import PLATFORMS
from metricx.semantic import catalogue
from metricx.semantic.compiler import Scope
from metricx.semantic.dates import utc_bounds
from metricx.semantic.engine import convert_daily, run_query
from metricx.semantic.query import TimeRange
from metricx.semantic.query import describe_errors as describe_query_errors
from metricx.services.pacing import pacing
from metricx.services.platform_notices import configured_versions

#: Connection states a person must act on, and what to do about each.
BROKEN = {
    "needs_reauth": "needs re-authorisation: reconnect it on the Connections page",
    "error": "failed to sync: see its last error on the Connections page",
    "upgrade_needed": "needs an upgrade (new permissions or app version): reinstall or "
    "reconnect it on the Connections page",
    "misconfigured": "is misconfigured: check its settings on the Connections page",
}
#: Weeks of the same weekday a tracking baseline takes the median of.
BASELINE_WEEKS = 4
#: A day's spend is projected only once this share of a usual day's spend has passed: earlier,
#: one burst would project to many budgets.
MIN_DAY_SHARE = 0.15
PAID_CHANNELS = tuple(sorted({p.channel for p in PLATFORMS.values() if p.channel}))
SPEND = catalogue.METRICS["spend"]


class MonitorParamsError(InvalidInputError, ValueError):
    """Monitor parameters that cannot be saved; the message is one line naming the problems."""


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    pass


class StaleParams(Params):
    minutes: int = Field(default=60, ge=15, le=7 * 24 * 60)


#: How far past its daily budget a platform itself may spend on one day, in percent (the rest
#: of the week spends less; each platform's figure is cited in metricx.platforms). A day within
#: it is the platform working as documented, not an overspend.
DAILY_OVERDELIVERY = {
    key: p.daily_overdelivery_percent
    for key, p in PLATFORMS.items()
    if p.daily_overdelivery_percent is not None
}


class PacingParams(Params):
    #: how far over the daily budget fires; None: past the platform's own daily allowance
    over_percent: float | None = Field(default=None, ge=0, le=1000)


class NoConversionParams(Params):
    min_spend: float = Field(default=50, gt=0, le=10_000_000)
    days: int = Field(default=1, ge=1, le=30)
    level: Literal["ad", "adset"] = "ad"


class TrackingParams(Params):
    drop_percent: float = Field(default=50, gt=0, le=100)
    sessions_tolerance_percent: float = Field(default=20, ge=0, le=100)
    #: a baseline below this many purchases is too small to call a drop
    min_baseline_purchases: float = Field(default=10, ge=1, le=1_000_000)
    #: also watch for the pixel going silent (all its events, every 15 minutes)
    pixel_silence: bool = True


class UtmParams(Params):
    rise_points: float = Field(default=10, gt=0, le=100)
    #: fewer paid visits than this in either week is too few to compare shares
    min_touches: int = Field(default=20, ge=1, le=1_000_000)


class VersionParams(Params):
    days_before: int = Field(default=30, ge=0, le=365)


@dataclass(frozen=True)
class Finding:
    """One thing wrong: under `split_value` (None: the workspace as a whole)."""

    split_value: str | None
    label: str
    value: float
    message: str
    reference: float | None = None


Check = Callable[[int, Any, datetime], list[Finding]]


@dataclass(frozen=True)
class Kind:
    kind: str
    title: str
    meaning: str
    params: type[Params]
    check: Check


def parse_params(kind: str, params: Mapping[str, Any] | None) -> Params:
    """A kind's parameters, defaults filled; a MonitorParamsError naming every problem."""
    entry = kind_of(kind)
    if params is not None and not isinstance(params, Mapping):
        raise MonitorParamsError(
            f"invalid {kind} monitor settings: expected its parameters as an object"
        )
    try:
        return entry.params.model_validate(dict(params or {}))
    except ValidationError as exc:
        raise MonitorParamsError(
            describe_query_errors(exc).replace("invalid query", f"invalid {kind} monitor settings")
        ) from None


def kind_of(kind: str) -> Kind:
    if kind not in KINDS:
        raise MonitorParamsError(
            f"unknown monitor {validation.quoted(kind)}; expected one of {', '.join(MONITOR_KINDS)}"
        )
    return KINDS[kind]


def check(
    kind: str, workspace_id: int, params: Mapping[str, Any] | None, now: datetime
) -> list[Finding]:
    """The findings of one monitor of a workspace at `now` (UTC-aware)."""
    entry = kind_of(kind)
    return entry.check(workspace_id, parse_params(kind, params), now.astimezone(UTC))


def _workspace(workspace_id: int) -> Scope:
    with new_session() as session:
        return Scope.of(session.get_one(Workspace, workspace_id))


def _connections(workspace_id: int) -> list[Connection]:
    with new_session() as session:
        rows = list(
            session.scalars(
                select(Connection)
                .where(Connection.workspace_id == workspace_id)
                .order_by(Connection.id)
            )
        )
        session.expunge_all()
        return rows


def _named(connection: Connection) -> str:
    return f"{provider_name(connection.provider)} connection {connection.name!r}"


# -- connection_broken -------------------------------------------------------------------------


def connection_broken(workspace_id: int, params: NoParams, now: datetime) -> list[Finding]:
    """One finding per connection in a state only a person can mend."""
    found = []
    for connection in _connections(workspace_id):
        if connection.status not in BROKEN:
            continue
        error = (connection.last_error or "").strip().splitlines()
        detail = f" (last error: {error[0][:200]})" if error else ""
        found.append(
            Finding(
                str(connection.id),
                connection.name,
                1,
                f"{_named(connection)} {BROKEN[connection.status]}{detail}",
            )
        )
    return found


# -- data_stale --------------------------------------------------------------------------------


def data_stale(workspace_id: int, params: StaleParams, now: datetime) -> list[Finding]:
    """Active connections whose last successful sync is older than `minutes`. A paused (or
    otherwise halted or broken) connection is not stale, it is stopped (connection_broken
    speaks of the broken ones); one that never synced is in its first backfill while a run of
    it is running, and stale once it was added longer ago than `minutes` with none running."""
    limit = now - timedelta(minutes=params.minutes)
    connections = [c for c in _connections(workspace_id) if c.status == "active"]
    with new_session() as session:
        running = set(
            session.scalars(
                select(SyncRun.connection_id).where(
                    SyncRun.workspace_id == workspace_id, SyncRun.status == "running"
                )
            )
        )
    found = []
    for connection in connections:
        synced = connection.last_synced_at
        if synced is None:
            if connection.id in running or connection.created_at > limit:
                continue  # its first backfill
            minutes = (now - connection.created_at).total_seconds() / 60
            words = f"has not completed a sync since it was added {_ago(minutes)}"
        elif synced < limit:
            minutes = (now - synced).total_seconds() / 60
            words = f"last synced {_ago(minutes)} ({synced:%Y-%m-%d %H:%M} UTC)"
        else:
            continue
        found.append(
            Finding(
                str(connection.id),
                connection.name,
                round(minutes),
                f"{_named(connection)} {words}: its data is stale (more than "
                f"{params.minutes} minutes old); see the Connections page",
            )
        )
    return found


def _ago(minutes: float) -> str:
    if minutes < 120:
        return f"{minutes:.0f} minutes ago"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} hours ago"
    return f"{minutes / 1440:.0f} days ago"


# -- pacing_over_budget ------------------------------------------------------------------------


def _day_share(workspace_id: int, now: datetime, elapsed: timedelta) -> float:
    """The share of a usual day's spend done by `elapsed` after midnight: the same weekday
    last week's (pacing's line), or the share of the day's hours when it spent nothing."""
    last_week = pacing(workspace_id, now).last_week
    total = float(last_week.points["spend"].iloc[-1])
    if total > 0:
        return float(last_week.by(elapsed)["spend"]) / total
    return elapsed / timedelta(days=1)


def pacing_over_budget(workspace_id: int, params: PacingParams, now: datetime) -> list[Finding]:
    """Campaigns and ad sets whose spend today, projected over the whole day by the day's
    usual shape, exceeds their daily budget by more than `over_percent` (by default, more
    than their platform itself may spend on a day: DAILY_OVERDELIVERY). Budgets are in the
    account's currency, converted at today's rate; a lifetime budget (Meta lets a campaign
    have one) is larger than any day's, so it never fires wrongly."""
    scope = _workspace(workspace_id)
    local_now = now.astimezone(ZoneInfo(scope.timezone))
    span = period_range("today", local_now)
    if span is None:
        return []
    with new_session() as session:
        budgets = session.execute(
            select(
                Entity.id,
                Entity.level,
                Entity.name,
                Entity.budget,
                Connection.currency,
                Connection.provider,
            )
            .join(Connection, Connection.id == Entity.connection_id)
            .where(
                Entity.workspace_id == workspace_id,
                Connection.workspace_id == workspace_id,
                Entity.level.in_(("campaign", "adset")),
                Entity.budget > 0,
            )
            .order_by(Entity.id)
        ).all()
    if not budgets:
        return []
    spent: dict[int, float] = {}
    for level in ("campaign", "adset"):
        frame = run_query(
            workspace_id,
            {
                "metrics": ["spend"],
                "time_range": span.model_dump(mode="json"),
                "dimensions": [level],
            },
        ).frame
        for entity_id, spend in zip(frame[f"{level}_id"], frame["spend"], strict=True):
            if entity_id is not None and not pd.isna(entity_id) and not math.isnan(spend):
                spent[int(entity_id)] = float(spend)
    budgets = [b for b in budgets if spent.get(b.id, 0.0) > 0]
    if not budgets:
        return []
    today = span.start
    converted = convert_daily(
        scope,
        [
            (b.currency or scope.currency, pd.Series([float(b.budget)], index=[today]))
            for b in budgets
        ],
    )
    elapsed = local_now.replace(tzinfo=None) - datetime.combine(today, datetime.min.time())
    share = _day_share(workspace_id, now, elapsed)
    found = []
    for row, budget_series in zip(budgets, converted, strict=True):
        budget = float(budget_series.iloc[0])
        so_far = spent[row.id]
        projected = so_far / share if share >= MIN_DAY_SHARE else so_far
        over = (projected - budget) / budget * 100 if budget > 0 else 0.0
        allowed = params.over_percent
        if allowed is None:
            allowed = DAILY_OVERDELIVERY.get(row.provider, 0.0)
        if over <= allowed:
            continue
        level = "Campaign" if row.level == "campaign" else "Ad set"
        found.append(
            Finding(
                str(row.id),
                row.name,
                projected,
                f"{level} {row.name!r} is on pace to spend "
                f"{catalogue.format_value(SPEND, projected, scope.currency)} today, "
                f"{over:,.0f}% over its daily budget of "
                f"{catalogue.format_value(SPEND, budget, scope.currency)} "
                f"({catalogue.format_value(SPEND, so_far, scope.currency)} spent by "
                f"{local_now:%H:%M})",
                budget,
            )
        )
    return found


# -- spend_no_conversions ----------------------------------------------------------------------


def spend_no_conversions(
    workspace_id: int, params: NoConversionParams, now: datetime
) -> list[Finding]:
    """Ads (or ad sets) that spent at least `min_spend` over the last `days` days (today so
    far included) and converted nothing, by the engine's numbers. Conversions the engine
    withholds (empty: Meta's of a cut day) are no data, not zero."""
    scope = _workspace(workspace_id)
    local_now = now.astimezone(ZoneInfo(scope.timezone))
    today = period_range("today", local_now)
    if today is None:
        return []
    span = today.model_copy(update={"start": today.end - timedelta(days=params.days - 1)})
    frame = run_query(
        workspace_id,
        {
            "metrics": ["spend", "conversions"],
            "time_range": span.model_dump(mode="json"),
            "dimensions": [params.level],
        },
    ).frame
    when = "today" if params.days == 1 else f"in the last {params.days} days (today so far)"
    what = "Ad" if params.level == "ad" else "Ad set"
    found = []
    for _, row in frame.iterrows():
        spend, conversions = float(row["spend"]), float(row["conversions"])
        if math.isnan(spend) or math.isnan(conversions) or pd.isna(row[f"{params.level}_id"]):
            continue
        if spend >= params.min_spend and conversions == 0:
            name = str(row[params.level])
            found.append(
                Finding(
                    str(int(row[f"{params.level}_id"])),
                    name,
                    spend,
                    f"{what} {name!r} spent "
                    f"{catalogue.format_value(SPEND, spend, scope.currency)} {when} with no "
                    "conversions",
                )
            )
    return found


# -- tracking_drop -----------------------------------------------------------------------------


def _same_weekday(span: TimeRange) -> list[TimeRange]:
    return [
        span.model_copy(
            update={"start": span.start - timedelta(weeks=k), "end": span.end - timedelta(weeks=k)}
        )
        for k in range(1, BASELINE_WEEKS + 1)
    ]


def _pixel_counts(workspace_id: int, start: datetime, end: datetime) -> tuple[float, float]:
    """Purchases and page views the pixel received for events in [start, end)."""
    with get_reader().connect() as conn:
        row = conn.execute(
            select(
                func.count().filter(PixelEvent.event == "purchase"),
                func.count().filter(PixelEvent.event == "page_view"),
            ).where(
                PixelEvent.workspace_id == workspace_id,
                PixelEvent.occurred_at >= start,
                PixelEvent.occurred_at < end,
            )
        ).one()
    return float(row[0]), float(row[1])


def _has_pixel(workspace_id: int) -> bool:
    with get_reader().connect() as conn:
        found = conn.execute(
            select(PixelEvent.id).where(PixelEvent.workspace_id == workspace_id).limit(1)
        ).first()
    return found is not None


def _platform_counts(workspace_id: int, span: TimeRange) -> dict[str, tuple[float, float]]:
    """Platform-reported purchases (conversions) and clicks per ad platform."""
    frame = run_query(
        workspace_id,
        {
            "metrics": ["conversions", "clicks"],
            "time_range": span.model_dump(mode="json"),
            "dimensions": ["provider"],
        },
    ).frame
    return {
        str(p): (float(c), float(k))
        for p, c, k in zip(frame["provider"], frame["conversions"], frame["clicks"], strict=True)
    }


def _median(values: list[float]) -> float | None:
    found = [v for v in values if not math.isnan(v)]
    return statistics.median(found) if found else None


def _drop(
    params: TrackingParams,
    split: str,
    what: str,
    traffic_word: str,
    now: tuple[float, float],
    weeks: list[tuple[float, float]],
) -> Finding | None:
    purchases, traffic = now
    base_purchases = _median([w[0] for w in weeks])
    base_traffic = _median([w[1] for w in weeks])
    if (
        math.isnan(purchases)
        or math.isnan(traffic)
        or base_purchases is None
        or base_traffic is None
        or base_purchases < params.min_baseline_purchases
        or base_traffic <= 0
    ):
        return None
    fell = (base_purchases - purchases) / base_purchases * 100
    traffic_fell = (base_traffic - traffic) / base_traffic * 100
    if fell < params.drop_percent or traffic_fell > params.sessions_tolerance_percent:
        return None
    if round(traffic_fell) == 0:
        moved = "unchanged"
    else:
        moved = f"down {traffic_fell:.0f}%" if traffic_fell > 0 else f"up {-traffic_fell:.0f}%"
    return Finding(
        split,
        what,
        purchases,
        f"{what} fell {fell:.0f}% today so far ({purchases:,.0f} vs a usual {base_purchases:,.0f} "
        f"on this weekday by this time) while {traffic_word} did not ({moved}): check the "
        "tracking (pixel, conversion setup) before trusting today's numbers",
        base_purchases,
    )


def _pixel_event_counts(workspace_id: int, windows: list[tuple[datetime, datetime]]) -> list[float]:
    """All the pixel's events (page views, carts, purchases) in each [start, end), in one
    query."""
    inside = [and_(PixelEvent.occurred_at >= s, PixelEvent.occurred_at < e) for s, e in windows]
    with get_reader().connect() as conn:
        row = conn.execute(
            select(*(func.count().filter(window) for window in inside)).where(
                PixelEvent.workspace_id == workspace_id, or_(*inside)
            )
        ).one()
    return [float(count) for count in row]


def pixel_silence(workspace_id: int, timezone: str, now: datetime) -> Finding | None:
    """The pixel gone silent: its events over the trailing hour (`anomaly.SILENCE_WINDOWS`,
    see `anomaly.pixel_silence`) up to the last quarter hour, against the same local window of
    the same weekday in each of the last `anomaly.WEEKS` weeks, and none in the last quarter
    hour. Purchases falling while page
    views hold cannot see this (a pixel that stops loses both); its page views, hundreds an
    hour, fall within the hour."""
    end = anomaly.floor_quarter(now.astimezone(ZoneInfo(timezone)))
    # (weeks back, hours): week 0 is now; local wall-clock arithmetic keeps the same weekday
    # hour across a daylight-saving change
    keys = [(k, h) for k in range(anomaly.WEEKS + 1) for h in anomaly.SILENCE_WINDOWS]
    windows = []
    for k, h in keys:
        stop = end - timedelta(weeks=k)
        windows.append(((stop - timedelta(hours=h)).astimezone(UTC), stop.astimezone(UTC)))
    # and the last quarter hour: a silent pixel sends nothing at all
    windows.append(((end - timedelta(minutes=15)).astimezone(UTC), end.astimezone(UTC)))
    *found, latest = _pixel_event_counts(workspace_id, windows)
    counts = dict(zip(keys, found, strict=True))
    index, verdict = anomaly.pixel_silence(
        [
            (counts[(0, h)], [counts[(k, h)] for k in range(1, anomaly.WEEKS + 1)])
            for h in anomaly.SILENCE_WINDOWS
        ],
        latest,
    )
    if not verdict.fires or verdict.median is None or verdict.change is None:
        return None
    hours = anomaly.SILENCE_WINDOWS[index]
    last = "the last hour" if hours == 1 else f"the last {hours} hours"
    return Finding(
        "pixel_silence",
        "Pixel events",
        counts[(0, hours)],
        f"The pixel received {counts[(0, hours)]:,.0f} events in {last} (to {end:%H:%M}) "
        f"against a usual {verdict.median:,.0f} on this weekday at this time (down "
        f"{-verdict.change * 100:.0f}%): it may have stopped sending; check that it is still "
        "installed and loads on the storefront (a theme change or a consent banner can remove it)",
        verdict.median,
    )


def tracking_drop(workspace_id: int, params: TrackingParams, now: datetime) -> list[Finding]:
    """Purchases falling by `drop_percent` while traffic holds (within
    `sessions_tolerance_percent`), today so far against the median of the same weekday at the
    same time of the last BASELINE_WEEKS weeks: the pixel's purchases against its page views
    (when the workspace has pixel events at all), and each ad platform's reported purchases
    against its clicks. And (`pixel_silence`, unless switched off) the pixel gone silent."""
    scope = _workspace(workspace_id)
    has_pixel = _has_pixel(workspace_id)
    found = []
    if has_pixel and params.pixel_silence:
        silent = pixel_silence(workspace_id, scope.timezone, now)
        if silent:
            found.append(silent)
    span = period_range("today", now.astimezone(ZoneInfo(scope.timezone)))
    if span is None:
        return found
    if has_pixel:
        counts = [
            _pixel_counts(workspace_id, *utc_bounds(s, scope.timezone))
            for s in [span, *_same_weekday(span)]
        ]
        finding = _drop(params, "pixel", "Pixel purchases", "page views", counts[0], counts[1:])
        if finding:
            found.append(finding)
    today = _platform_counts(workspace_id, span)
    weeks = [_platform_counts(workspace_id, s) for s in _same_weekday(span)]
    for provider, counts_now in today.items():
        history = [w.get(provider, (math.nan, math.nan)) for w in weeks]
        finding = _drop(
            params,
            provider,
            f"{provider_name(provider)}-reported purchases",
            "clicks",
            counts_now,
            history,
        )
        if finding:
            found.append(finding)
    return found


# -- utm_hygiene -------------------------------------------------------------------------------


def _unmatched_share(workspace_id: int, start: datetime, end: datetime) -> tuple[int, float]:
    """Paid visits (touchpoints of a paid channel) in [start, end), and the share of them
    whose UTMs match no ad entity (unmatched or missing)."""
    with get_reader().connect() as conn:
        total, unmatched = conn.execute(
            select(
                func.count(),
                func.count().filter(Touchpoint.entity_id.is_(None)),
            ).where(
                and_(
                    Touchpoint.workspace_id == workspace_id,
                    Touchpoint.channel.in_(PAID_CHANNELS),
                    Touchpoint.occurred_at >= start,
                    Touchpoint.occurred_at < end,
                )
            )
        ).one()
    return int(total), (unmatched / total * 100 if total else 0.0)


def utm_hygiene(workspace_id: int, params: UtmParams, now: datetime) -> list[Finding]:
    """The share of paid visits whose UTMs match no campaign or ad (metricx.services.
    attribution's `utm_hygiene` lists them) rising by `rise_points` percentage points over the
    last 7 whole days against the 7 before."""
    scope = _workspace(workspace_id)
    today = now.astimezone(ZoneInfo(scope.timezone)).date()
    last = TimeRange(start=today - timedelta(days=7), end=today - timedelta(days=1))
    before = TimeRange(start=today - timedelta(days=14), end=today - timedelta(days=8))
    count_now, share_now = _unmatched_share(workspace_id, *utc_bounds(last, scope.timezone))
    count_before, share_before = _unmatched_share(workspace_id, *utc_bounds(before, scope.timezone))
    if min(count_now, count_before) < params.min_touches:
        return []
    rise = share_now - share_before
    if rise < params.rise_points:
        return []
    return [
        Finding(
            None,
            "UTM hygiene",
            share_now,
            f"{share_now:.0f}% of paid visits in the last 7 days carry UTMs that match no "
            f"campaign or ad (up {rise:.0f} points from {share_before:.0f}% the week before): "
            "see UTM hygiene on the Attribution page",
            share_before,
        )
    ]


# -- api_version_eol ---------------------------------------------------------------------------


def api_version_eol(workspace_id: int, params: VersionParams, now: datetime) -> list[Finding]:
    """The configured API version of each platform the workspace is connected to, within
    `days_before` days of its end of life or past it (a version without a published date
    does not fire)."""
    providers = {c.provider for c in _connections(workspace_id) if c.status != "disconnected"}
    today: date = now.date()
    found = []
    for provider, version in configured_versions().items():
        end = END_OF_LIFE.get(provider, {}).get(version)
        if provider not in providers or end is None:
            continue
        left = (end - today).days
        if left > params.days_before:
            continue
        status = VersionStatus(provider, version, end, "dead" if left <= 0 else "ending")
        when = "" if left <= 0 else f" (in {left} day{'s' if left != 1 else ''})"
        found.append(
            Finding(
                provider, f"{provider_name(provider)} {version}", left, f"{status.message}{when}"
            )
        )
    return found


KINDS: dict[str, Kind] = {
    k.kind: k
    for k in (
        Kind(
            "connection_broken",
            "Connection broken",
            "A connection needs re-authorisation, failed, needs an upgrade or is misconfigured.",
            NoParams,
            connection_broken,
        ),
        Kind(
            "data_stale",
            "Data stale",
            "An active connection has not synced successfully for more than `minutes`.",
            StaleParams,
            data_stale,
        ),
        Kind(
            "pacing_over_budget",
            "Spend over budget",
            "A campaign or ad set is on pace to spend more than its daily budget allows: past "
            "what its platform may spend on one day (Meta 75 % over, Google twice the budget), "
            "or past `over_percent` when it is set.",
            PacingParams,
            pacing_over_budget,
        ),
        Kind(
            "spend_no_conversions",
            "Spend without conversions",
            "An ad (or ad set) spent at least `min_spend` over `days` days with no conversions.",
            NoConversionParams,
            spend_no_conversions,
        ),
        Kind(
            "tracking_drop",
            "Tracking drop",
            "Pixel or platform-reported purchases fell by `drop_percent` while traffic did not, "
            "or the pixel went silent (`pixel_silence`).",
            TrackingParams,
            tracking_drop,
        ),
        Kind(
            "utm_hygiene",
            "UTM hygiene regression",
            "The share of paid visits whose UTMs match no campaign or ad rose by `rise_points`.",
            UtmParams,
            utm_hygiene,
        ),
        Kind(
            "api_version_eol",
            "API version end of life",
            "A platform API version Metricx uses ends within `days_before` days, or has ended.",
            VersionParams,
            api_version_eol,
        ),
    )
}
assert tuple(KINDS) == MONITOR_KINDS, "every monitor kind has its check, in the models' order"
