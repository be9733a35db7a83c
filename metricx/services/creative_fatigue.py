"""Creative fatigue (docs/design.md "Creatives"): has a creative's performance decayed since
its best week by the documented thresholds? A pure function of the creative's weekly rows, so
the Creatives page, the copilot and the tests judge alike.

The rule: the best week is the week of best CTR among the whole weeks after the launch week
(the first week with impressions) that have at least MIN_WEEK_IMPRESSIONS impressions. The
creative is fatigued when its last whole week's CTR is at most CTR_FLOOR of the best week's
and either its thumb-stop rate is at most THUMB_STOP_FLOOR of the best week's (video only) or
its CPA is at least CPA_CEILING of the best week's. A last week that spent without a single
conversion has an unbounded CPA: that counts as over the ceiling.

Two departures from the design's wording, for the lead to record:
- The design also asks for "frequency above the best week's". Frequency is impressions ÷
  reach, and reach is not additive (a person reached in two weeks counts once in the
  fortnight), so Metricx stores no reach and cannot sum it per creative and week: the
  frequency condition is left out, and cumulative impressions (which it does store) stand
  beside the evidence instead.
- The last whole week is judged only when it also has MIN_WEEK_IMPRESSIONS impressions: a
  smaller week's CTR is noise (ten impressions and no click would read as a 100 % drop).

Comparisons are exact (fractions of the sums), so a ratio exactly on a threshold is judged
the same however the counts are scaled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

#: A week needs this many impressions for its CTR to count: at a typical 1 % CTR that is
#: about 50 clicks, enough that one week's luck does not make or unmake a best week.
MIN_WEEK_IMPRESSIONS = 5_000
#: Fatigue starts when the last week's CTR has fallen to 75 % of the best week's or below: a
#: quarter of the clicks lost for as many impressions is more than week-to-week noise.
CTR_FLOOR = Fraction(3, 4)
#: The same fall in thumb-stop rate (3-second plays ÷ impressions) says a video's hook no
#: longer stops the scroll; used for videos only (others have no plays).
THUMB_STOP_FLOOR = Fraction(3, 4)
#: Or each conversion costs a third more than in the best week (133 %), so the falling CTR
#: is costing money, not only clicks.
CPA_CEILING = Fraction(133, 100)
#: Weeks start on Monday, as the engine's week grain does.
WEEK = timedelta(days=7)

Status = Literal["fatigued", "healthy", "not_enough_data"]
Number = int | float | Decimal


@dataclass(frozen=True)
class CreativeWeek:
    """One creative's sums over one week (Monday `week`), its cumulative impressions up to
    the end of that week included."""

    week: date
    impressions: int
    clicks: int
    spend: Number
    conversions: Number
    video_3s_plays: int
    cumulative_impressions: int

    @property
    def ctr(self) -> float | None:
        return _float(_ratio(self.clicks, self.impressions))

    @property
    def thumb_stop_rate(self) -> float | None:
        return _float(_ratio(self.video_3s_plays, self.impressions))

    @property
    def cpa(self) -> float | None:
        return _float(_ratio(self.spend, self.conversions))


@dataclass(frozen=True)
class FatigueVerdict:
    """The verdict with its evidence: the best and last whole weeks and the last week's CTR,
    thumb-stop and CPA as shares of the best week's (1.0 = as good; None where a week has no
    such number). `reason` says it in a sentence."""

    status: Status
    reason: str
    best_week: CreativeWeek | None = None
    last_week: CreativeWeek | None = None
    ctr_ratio: float | None = None
    thumb_stop_ratio: float | None = None
    cpa_ratio: float | None = None

    @property
    def fatigued(self) -> bool:
        return self.status == "fatigued"

    @property
    def cumulative_impressions(self) -> int | None:
        """Impressions up to the end of the last whole week: how much of its audience the
        creative has already been shown to."""
        return self.last_week.cumulative_impressions if self.last_week else None


def with_cumulative_impressions(weeks: Iterable[CreativeWeek]) -> list[CreativeWeek]:
    """The weeks in order, each with the running total of impressions up to it (for rows read
    from the creative's launch on, whose cumulative figure is not known yet)."""
    total = 0
    out = []
    for week in sorted(weeks, key=lambda w: w.week):
        total += week.impressions
        out.append(
            CreativeWeek(
                week.week,
                week.impressions,
                week.clicks,
                week.spend,
                week.conversions,
                week.video_3s_plays,
                total,
            )
        )
    return out


def judge(weeks: Sequence[CreativeWeek], today: date, *, video: bool) -> FatigueVerdict:
    """The fatigue verdict of one creative from its weekly rows (any order, at most one per
    week, from its launch on), on `today` in the workspace's time zone: the last whole week is
    the latest week that ended before today. `video`: the creative is a video, so its
    thumb-stop rate counts."""
    launched = sorted((w for w in weeks if w.impressions > 0), key=lambda w: w.week)
    if not launched:
        return FatigueVerdict("not_enough_data", "No impressions yet.")
    whole = [w for w in launched if w.week + WEEK <= today]
    launch_week = launched[0].week
    candidates = [
        w for w in whole if w.week > launch_week and w.impressions >= MIN_WEEK_IMPRESSIONS
    ]
    if not candidates:
        return FatigueVerdict(
            "not_enough_data",
            f"No whole week after its launch week has {MIN_WEEK_IMPRESSIONS:,} impressions yet.",
        )
    # The earliest of equal bests, so a later week that only matches it is no new best.
    best = max(candidates, key=lambda w: (_ratio(w.clicks, w.impressions), -w.week.toordinal()))
    last_whole_week = _monday(today) - WEEK
    last = next((w for w in whole if w.week == last_whole_week), None)
    if last is None or last.impressions < MIN_WEEK_IMPRESSIONS:
        return FatigueVerdict(
            "not_enough_data",
            f"Last week had fewer than {MIN_WEEK_IMPRESSIONS:,} impressions to judge by.",
            best_week=best,
            last_week=last,
        )
    ctr = _share(_ratio(last.clicks, last.impressions), _ratio(best.clicks, best.impressions))
    thumb_stop = _share(
        _ratio(last.video_3s_plays, last.impressions),
        _ratio(best.video_3s_plays, best.impressions),
    )
    best_cpa = _ratio(best.spend, best.conversions)
    cpa = _share(_ratio(last.spend, last.conversions), best_cpa)
    converted_nothing = best_cpa is not None and last.conversions == 0 and last.spend > 0
    ctr_fell = ctr is not None and ctr <= CTR_FLOOR
    hook_fell = video and thumb_stop is not None and thumb_stop <= THUMB_STOP_FLOOR
    cost_rose = converted_nothing or (cpa is not None and cpa >= CPA_CEILING)
    fatigued = ctr_fell and (hook_fell or cost_rose)
    thumb_stop = thumb_stop if video else None
    return FatigueVerdict(
        "fatigued" if fatigued else "healthy",
        _reason(fatigued, best, last, ctr, thumb_stop, cpa),
        best_week=best,
        last_week=last,
        ctr_ratio=_float(ctr),
        thumb_stop_ratio=_float(thumb_stop),
        cpa_ratio=_float(cpa),
    )


def _reason(
    fatigued: bool,
    best: CreativeWeek,
    last: CreativeWeek,
    ctr: Fraction | None,
    thumb_stop: Fraction | None,
    cpa: Fraction | None,
) -> str:
    """The evidence in a sentence: the last week's numbers as shares of the best week's."""
    if ctr is None:  # no click in the best week: no CTR can have fallen from it
        return (
            f"Holding up: no click in its best weeks to compare CTR with, after "
            f"{last.cumulative_impressions:,} impressions."
        )
    parts = [f"CTR at {_percent(ctr)}"]
    if thumb_stop is not None:
        parts.append(f"thumb-stop at {_percent(thumb_stop)}")
    if cpa is not None:
        parts.append(f"CPA at {_percent(cpa)}")
    elif last.conversions == 0 and last.spend > 0:
        parts.append("no conversion for its spend")
    lead = "Fatigued" if fatigued else "Holding up"
    return (
        f"{lead}: last week's {', '.join(parts)} of the best week's "
        f"(week of {best.week.day} {best.week:%b %Y}), "
        f"after {last.cumulative_impressions:,} impressions."
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _ratio(numerator: Number, denominator: Number) -> Fraction | None:
    """numerator ÷ denominator exactly, None when the denominator is 0."""
    if not denominator:
        return None
    return Fraction(numerator) / Fraction(denominator)


def _share(now: Fraction | None, best: Fraction | None) -> Fraction | None:
    """`now` as a share of `best`, None when either is missing or best is 0."""
    if now is None or not best:
        return None
    return now / best


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _percent(share: Fraction | None) -> str:
    return "—" if share is None else f"{float(share):.0%}"
