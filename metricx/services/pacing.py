"""Today's pacing: cumulative spend and platform-reported conversions through the day so far,
against the same weekday last week (workspace time zone and currency).

Each line says the resolution its rows really have. Today's rows are the intraday sync's
15-minute buckets, but not all of them: a resync of today writes hourly rows, and an account
whose day ends after the workspace's midnight brings its compacted hourly rows into the
workspace's today. A bucket counts at its end, so an hourly row shows as a step at the hour's
end, never spread over quarters it was not measured in. Last week's day has usually been
folded into hourly rows by the nightly compaction, so it is read at hourly grain (`run_query`);
today's buckets are read as synced (`snapshot_buckets`). Both come from the metric engine,
counted and converted as every metric is. Today's last point is "now".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from metricx.semantic.compiler import Scope
from metricx.semantic.dates import today_in
from metricx.semantic.engine import run_query, snapshot_buckets
from metricx.semantic.query import TimeRange
from metricx.services.workspaces import find_workspace

METRICS = ("spend", "conversions")
QUARTER_HOUR, HOUR = timedelta(minutes=15), timedelta(hours=1)
GRANULARITIES = {"15m": QUARTER_HOUR, "1h": HOUR}


@dataclass(frozen=True)
class PacingLine:
    """One day's cumulative totals: `points` has `clock` (time of day, on the day's own
    local date), `spend` and `conversions`, each the total from midnight to `clock`."""

    label: str
    day: date
    resolution: str  # "15-minute", "hourly", or "15-minute and hourly" (mixed rows)
    points: pd.DataFrame

    def by(self, clock: timedelta) -> pd.Series:
        """The latest point at or before `clock` after midnight."""
        since_midnight = self.points["clock"] - pd.Timestamp(self.day)
        return self.points[since_midnight <= clock].iloc[-1]


@dataclass(frozen=True)
class Pacing:
    today: PacingLine
    last_week: PacingLine
    now: datetime  # local, naive: the end of today's line
    currency: str
    timezone: str

    def chart_frame(self) -> pd.DataFrame:
        """Both lines on today's clock, one row per (line, point, metric), for a chart."""
        frames = []
        for line in (self.today, self.last_week):
            frame = line.points.copy()
            frame["clock"] += pd.Timestamp(self.today.day) - pd.Timestamp(line.day)
            frame["line"] = f"{line.label} ({line.resolution})"
            frames.append(frame)
        return pd.concat(frames).melt(
            id_vars=["line", "clock"],
            value_vars=list(METRICS),
            var_name="metric",
            value_name="cumulative",
        )


def pacing(workspace_id: int, now: datetime | None = None) -> Pacing:
    """Today so far against the same weekday a week earlier."""
    workspace = find_workspace(workspace_id)
    scope = Scope.of(workspace)
    now = now or datetime.now(UTC)
    today = today_in(scope.timezone, now)
    local_now = pd.Timestamp(now).tz_convert(scope.timezone).tz_localize(None)
    return Pacing(
        _today(scope, today, local_now),
        _last_week(scope, today - timedelta(days=7)),
        local_now.to_pydatetime(),
        scope.currency,
        scope.timezone,
    )


def _today(scope: Scope, day: date, until: pd.Timestamp) -> PacingLine:
    buckets = snapshot_buckets(scope, day)
    held = set(buckets["granularity"])
    resolution = {
        frozenset({"1h"}): "hourly",
        frozenset({"15m", "1h"}): "15-minute and hourly",
    }.get(frozenset(held), "15-minute")
    step = HOUR if held == {"1h"} else QUARTER_HOUR
    # The running bucket holds what accrued up to the last sync: it counts at "now".
    ends = buckets["start"] + buckets["granularity"].map(GRANULARITIES)
    ends = ends.mask(ends > until, until)  # clipped at now (Series.clip is typed for numbers)
    grid = list(pd.date_range(pd.Timestamp(day), until, freq=step, inclusive="left"))
    return PacingLine("Today", day, resolution, _cumulative(ends, buckets, [*grid, until]))


def _last_week(scope: Scope, day: date) -> PacingLine:
    hours = run_query(
        scope.workspace_id,
        {
            "metrics": list(METRICS),
            "grain": "hour",
            "time_range": TimeRange(start=day, end=day).model_dump(mode="json"),
        },
    ).frame
    ends = pd.to_datetime(hours["hour"]) + HOUR
    grid = list(pd.date_range(pd.Timestamp(day), pd.Timestamp(day + timedelta(days=1)), freq=HOUR))
    return PacingLine("Same weekday last week", day, "hourly", _cumulative(ends, hours, grid))


def _cumulative(ends: pd.Series, sums: pd.DataFrame, grid: list[pd.Timestamp]) -> pd.DataFrame:
    """At each grid time, the sums of every bucket that ended by then."""
    points = pd.DataFrame({"clock": grid})
    for metric in METRICS:
        values = sums[metric].astype(float).to_numpy()
        points[metric] = [float(values[(ends <= clock).to_numpy()].sum()) for clock in grid]
    return points
