"""How reported conversions drift after the fact, and when they stop.

Platforms attribute purchases back to the click/impression day, so the conversions they report
for a day keep moving (mostly up, sometimes down) for days, then freeze. The sandbox models
that as a deterministic multiplier per (ad, day, step) where the step is how many whole days
have passed since the day ended in the account's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from metricx.sandbox import rand
from metricx.sandbox.calendar import day_bounds

FINAL = 1000  # permille
Adjustment = tuple[int, int]  # (multiplier in permille, steps added after it)
SETTLED: Adjustment = (FINAL, 0)


@dataclass(frozen=True)
class RestatementPolicy:
    """Conversions change for `window_days` after a day ends; most movement is in `settle_days`."""

    window_days: int
    settle_days: int = 7

    def final_after(self, day: date, tz: str) -> datetime:
        """The UTC moment from which the day's conversions never change again."""
        return day_bounds(day, tz)[1] + timedelta(days=self.window_days)


def step(day: date, tz: str, as_of: datetime) -> int:
    """0 while the day is running, then 1, 2, ... for each started day after its end."""
    end = day_bounds(day, tz)[1]
    if as_of < end:
        return 0
    return 1 + int((as_of - end) / timedelta(days=1))


def factor(seed: int, ad_id: str, day: date, k: int, policy: RestatementPolicy) -> Adjustment:
    """How the conversions reported at step k relate to the final ones.

    In the settle days a multiplier climbs from ~76% towards 100% with noise (so numbers go
    up and sometimes down); after that, until the window closes, a rare +-1 correction.
    """
    if k > policy.window_days:
        return SETTLED
    u, v = rand.uniforms(seed, "restate", ad_id, day.toordinal(), k)[:2]
    if k <= policy.settle_days:
        base = 760 + (FINAL - 760) * k // policy.settle_days
        return base + int((u - 0.5) * 100), 0
    return FINAL, (1 if v < 0.5 else -1) if u < 0.15 else 0


def restate(final_steps: int, final_value: int, adjustment: Adjustment) -> tuple[int, int]:
    """(conversion steps, value cents) reported for final amounts under an adjustment.

    The value follows the conversions proportionally, so both are exactly final when settled.
    """
    if final_steps <= 0:
        return 0, 0
    permille, nudge = adjustment
    reported = max(0, (final_steps * permille + 500) // 1000 + nudge)
    value = (2 * final_value * reported + final_steps) // (2 * final_steps)
    return reported, value
