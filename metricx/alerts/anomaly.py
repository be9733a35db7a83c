"""Anomaly detection against a seasonal baseline, as pure functions over numbers (issue #16).

A metric's value for the current period, cut at a clock time ("today 00:00 → 14:15"), is
compared with the same cut of the same weekday in each of the last `WEEKS` weeks: their
median is the baseline and their median absolute deviation (× 1.4826, the normal-consistent
scale) the spread, so one odd week (a holiday, a promotion) moves neither. The spread has
floors, so a flat history does not make every wiggle infinite: `REL_FLOOR` of the baseline
and, for counts, the Poisson noise of the baseline (√median). The robust z-score is
(value − median) / spread; a verdict fires only when all three hold:

- |z| ≥ the rule's sensitivity (`DEFAULT_SENSITIVITY`, chosen by bench/bench_anomaly.py),
  in the harmful direction;
- the relative change |value − median| / median ≥ `MIN_CHANGE` (25 %; spend 50 %, whose
  budgets move by decision every week);
- the baseline is material: at least `MIN_VOLUME[unit]` (10 orders, 50 of the currency), so
  2 orders against 1 is not an incident.

Direction (`harmful_direction`): only the harmful one fires. Spend and costs per result
(CPA, CPC, CPM, CPL, NCPA) going up; every metric where higher is better (revenue, orders,
conversions, ROAS, conversion rate, attributed orders) going down; a metric the catalogue
calls neutral other than spend (a custom metric) in either direction.

Fewer than `MIN_WEEKS` weeks with a value → no verdict (never a firing). Weeks the engine
leaves empty are left out, and so are the oldest weeks before the first non-zero one (the
engine counts days before the first sync as 0).

Freshness (`data_cut`): the cut is not "now" but the last instant every connection feeding
the metric has synced through, floored to the quarter hour; when that is more than
`MAX_LAG` behind, there is no verdict ("no data": a stale connection is the stale monitor's
incident, not this one's).

How the rules feed it (metricx/alerts/evaluate.py): today's sums are also judged over their
last hours (`recent_windows`: spend over the last hour and the last 3, the others over the
last 3), and a split value of a sum relative to the rest of the split.

Pixel silence (`pixel_silence`, the tracking_drop monitor's check every 15 minutes): all the
pixel's events over the trailing hour against the same hour of the same weekday; a pixel that
stops silences page views too (hundreds an hour, where its orders are a few), so it shows
within the hour. An hour whose usual count is too small to call a silence (the night) gives
no verdict, and a silence needs the last quarter hour empty: a silent pixel sends nothing at
all, where a slow hour still trickles.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

Direction = Literal["up", "down", "both"]

#: Robust z (in spreads) a value must reach; the benchmark's choice (bench/bench_anomaly.py).
DEFAULT_SENSITIVITY = 4.0
#: The sensitivity a rule may ask for.
MIN_SENSITIVITY, MAX_SENSITIVITY = 2.0, 20.0
#: Same-weekday weeks looked back over, and the fewest with a value for a verdict.
WEEKS = 8
MIN_WEEKS = 4
#: Hours of the recent windows a today rule also judges (the day so far dilutes an incident
#: that starts late in the day): the last complete hour catches an incident within the hour,
#: the last 3 hours a smaller one that needs more than an hour to stand out; () to judge the
#: day so far only.
RECENT_WINDOWS: tuple[int, ...] = (3,)
#: Spend is delivered by the hour at a rate the platforms keep smooth (and a runaway campaign
#: spends by the hour): its last complete hour is judged too. Orders and revenue are lumpy
#: per hour (one large order), so they keep the 3-hour window.
RECENT_WINDOWS_BY_METRIC: dict[str, tuple[int, ...]] = {"spend": (1, 3)}
#: The smallest relative change that is an incident (a fraction of the baseline).
MIN_CHANGE = 0.25
#: Spend moves with budget decisions every week: below +50 % a change is a decision, not an
#: incident (the benchmark: campaigns paused and launched lift the others' shares by 25 %+).
MIN_CHANGE_BY_METRIC = {"spend": 0.5}
#: The spread is at least this share of the baseline.
REL_FLOOR = 0.08
#: MAD → standard deviation for normal noise.
MAD_SCALE = 1.4826
#: The smallest baseline that is material, per unit (ratios have none: their history's
#: spread at the same cut already says how noisy they are).
MIN_VOLUME = {"count": 10.0, "currency": 50.0, "ratio": 0.0, "percent": 0.0}
#: A split value's own volume that is material in a recent window (its share of the rest of
#: the split is what is judged): less than over the day so far, since an hour holds less. The
#: benchmark's choice on its tuning seeds (20, 30 and 50 tried): a campaign tripling to 20 of
#: the currency an hour is worth an alert, to 7 at night is not.
RECENT_MIN_VOLUME = {"count": 10.0, "currency": 20.0, "ratio": 0.0, "percent": 0.0}
#: How far behind now the data may be before there is no verdict.
MAX_LAG = timedelta(hours=2)
#: Metrics whose rise is the harm although the catalogue calls them neutral or lower-better.
RISING_HARM = frozenset({"spend", "cpa", "cpc", "cpm", "cpl", "ncpa"})
#: Pixel silence: the trailing windows tried, shortest first (hours). The last hour only:
#: widening to 2-3 hours at night caught no silence sooner in the benchmark (the night's
#: silence shows in the morning's first material hour anyway) and fired on quiet nights ...
SILENCE_WINDOWS: tuple[int, ...] = (1,)
#: ... the first whose usual count of events reaches this many is judged (fewer: a quiet
#: night hour with none is no incident) ...
SILENCE_MIN_EVENTS = 20.0
#: ... and it fires when the events fell by this share (a silence, not a slow hour) ...
SILENCE_DROP = 0.8
#: ... by this many spreads: the fall and the empty last quarter hour are the real test; z ≥ 2
#: keeps an hour whose history is all over the place (holidays) from firing. Chosen by
#: bench/bench_anomaly.py on its tuning seeds (1.5 to 4 and 15 to 30 events tried).
SILENCE_SENSITIVITY = 2.0

Unit = Literal["currency", "count", "ratio", "percent"]


@dataclass(frozen=True)
class Verdict:
    """What the detector says about one value; `reason` says why there is no verdict."""

    fires: bool
    value: float | None
    median: float | None = None
    spread: float | None = None
    z: float | None = None
    change: float | None = None  # relative: (value - median) / median
    weeks: int = 0
    reason: str | None = None  # None: a verdict was reached (firing or not)

    @property
    def has_verdict(self) -> bool:
        return self.reason is None


def harmful_direction(metric_id: str, higher_is_better: bool | None) -> Direction:
    """The direction that is an incident for a metric (see the module docstring)."""
    if metric_id in RISING_HARM or higher_is_better is False:
        return "up"
    if higher_is_better:
        return "down"
    return "both"


def min_change_for(metric_id: str) -> float:
    """The smallest relative change that is an incident for a metric."""
    return MIN_CHANGE_BY_METRIC.get(metric_id, MIN_CHANGE)


def recent_windows(metric_id: str) -> tuple[int, ...]:
    """The trailing windows (hours) a today rule on a sum also judges for a metric."""
    return RECENT_WINDOWS_BY_METRIC.get(metric_id, RECENT_WINDOWS)


def usable_history(history: Sequence[float | None]) -> list[float]:
    """The weeks that count, newest first as given: values the engine left empty are out, and
    so are the oldest weeks before the first non-zero one (before the data began)."""
    kept = [v for v in history if v is not None and math.isfinite(v)]
    while kept and kept[-1] == 0:
        kept.pop()
    return kept


def spread_of(history: Sequence[float], median: float, unit: Unit) -> float:
    """The robust spread: MAD × 1.4826, floored by a share of the median and, for counts,
    by √median (Poisson noise); never 0 (a flat zero history has spread 1 unit)."""
    mad = statistics.median(abs(v - median) for v in history)
    floors = [MAD_SCALE * mad, REL_FLOOR * abs(median)]
    if unit == "count":
        floors.append(math.sqrt(max(median, 0.0)))
    return max(*floors, 1e-9)


def detect(
    value: float | None,
    history: Sequence[float | None],
    *,
    unit: Unit = "count",
    direction: Direction = "both",
    sensitivity: float = DEFAULT_SENSITIVITY,
    min_change: float = MIN_CHANGE,
    min_volume: float | None = None,
    min_weeks: int = MIN_WEEKS,
    volume: float | None = None,
) -> Verdict:
    """The verdict on `value` (the current period at its cut) against `history` (the same
    cut of the same weekday, newest week first; None where the engine has no value).
    `volume`, when given, is what materiality is judged on instead of the baseline (the
    spend behind a campaign's share of spend), against `min_volume`.

    Scale-invariant for ratios and when the volume floor is 0 (multiplying every number by
    the same factor changes neither z nor the verdict)."""
    if value is None or not math.isfinite(value):
        return Verdict(False, None, reason="no data")
    weeks = usable_history(history)
    if len(weeks) < min_weeks:
        return Verdict(
            False,
            value,
            weeks=len(weeks),
            reason=f"{len(weeks)} weeks of history, {min_weeks} needed",
        )
    median = statistics.median(weeks)
    spread = spread_of(weeks, median, unit)
    z = (value - median) / spread
    floor = MIN_VOLUME.get(unit, 0.0) if min_volume is None else min_volume
    change = (value - median) / abs(median) if median else math.copysign(math.inf, z)
    base = Verdict(False, value, median, spread, z, change, len(weeks))
    material = median >= floor if volume is None else volume >= floor
    if median <= 0 or not material:
        return base  # nothing material to fall from (or a baseline of nothing)
    harmful = (
        z >= sensitivity
        if direction == "up"
        else z <= -sensitivity
        if direction == "down"
        else abs(z) >= sensitivity
    )
    fires = harmful and abs(change) >= min_change
    return Verdict(fires, value, median, spread, z, change, len(weeks))


def floor_quarter(moment: datetime) -> datetime:
    """The moment floored to its quarter hour (in its own zone)."""
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def data_cut(
    now: datetime, synced_through: Iterable[datetime | None], max_lag: timedelta = MAX_LAG
) -> datetime | None:
    """The instant the data is complete through: the earliest of the feeding connections'
    last syncs (and now), floored to the quarter hour; None when a connection never synced
    or the cut is more than `max_lag` behind now (stale: no verdict). No connection (a
    metric of no source): now, floored."""
    instants = list(synced_through)
    if any(i is None for i in instants):
        return None
    cut = floor_quarter(min([now, *(i for i in instants if i is not None)]).astimezone(now.tzinfo))
    return cut if now - cut <= max_lag else None


def pixel_silence(
    windows: Sequence[tuple[float, Sequence[float | None]]],
    latest: float,
    *,
    sensitivity: float = SILENCE_SENSITIVITY,
    min_events: float = SILENCE_MIN_EVENTS,
) -> tuple[int, Verdict]:
    """The verdict on the pixel's event counts over trailing windows (`SILENCE_WINDOWS`,
    shortest first): per window, (events now, the same window of the same weekday in the
    last weeks, newest first). The first window whose usual count (the median) reaches
    `min_events` is judged; none does: the longest's verdict, which cannot fire. `latest`,
    the events of the last quarter hour, must be none: a silent pixel sends nothing at all,
    where a slow hour still trickles (the verdict then stands but does not fire).
    Returns the window's index and its verdict."""
    verdict = Verdict(False, None, reason="no data")
    for index, (value, history) in enumerate(windows):
        verdict = detect(
            value,
            history,
            unit="count",
            direction="down",
            sensitivity=sensitivity,
            min_change=SILENCE_DROP,
            min_volume=min_events,
        )
        if verdict.median is not None and verdict.median >= min_events:
            return index, replace(verdict, fires=verdict.fires and latest == 0)
    return len(windows) - 1, verdict
