"""The additive facts of an ad over a bucket, an hour or a day.

Shared by the sync (what the platform reported, what the rows hold) and the sandbox (what the
fake platform reports), so both sides of S1 do their arithmetic on one exact type.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Totals:
    """Money in the account currency; conversions may be fractional (Google). Video facts
    are plays and seconds watched (so every video ratio and average is a ratio of sums):
    plays started, 3-second plays, ThruPlays (15 s or the whole video), plays reaching
    25/50/75/100 %, and seconds watched over the plays started.
    """

    spend: Decimal = Decimal(0)
    impressions: int = 0
    clicks: int = 0
    conversions: Decimal = Decimal(0)
    conversion_value: Decimal = Decimal(0)
    leads: Decimal = Decimal(0)
    video_plays: int = 0
    video_3s_plays: int = 0
    thruplays: int = 0
    video_p25: int = 0
    video_p50: int = 0
    video_p75: int = 0
    video_p100: int = 0
    video_seconds: Decimal = Decimal(0)

    @classmethod
    def of(cls, source: object) -> Totals:
        """From anything with these attributes (a MetricRecord, a result row); None is 0."""
        values: list[Any] = [getattr(source, name) or 0 for name in METRIC_COLUMNS]
        return cls(*values)

    def __add__(self, other: Totals) -> Totals:
        return Totals(*(a + b for a, b in zip(self.values(), other.values(), strict=True)))

    def __sub__(self, other: Totals) -> Totals:
        return Totals(*(a - b for a, b in zip(self.values(), other.values(), strict=True)))

    @property
    def is_zero(self) -> bool:
        """True when a platform would return no row for it."""
        return not any(self.values())

    def values(self) -> tuple:
        return tuple(getattr(self, name) for name in METRIC_COLUMNS)

    def only(self, family: tuple[str, ...]) -> Totals:
        """These totals with every column outside `family` set to zero."""
        return Totals(**{name: getattr(self, name) for name in family})


METRIC_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Totals))
# S1 holds per metric family: a platform may report delivery per hour but conversions and
# video plays only per day (Meta withholds off-Meta actions and video_* fields from hourly
# breakdowns: metricx.platforms.Platform.daily_conversions).
DELIVERY: tuple[str, ...] = ("spend", "impressions", "clicks")
CONVERSIONS: tuple[str, ...] = ("conversions", "conversion_value", "leads")
VIDEO: tuple[str, ...] = (
    "video_plays",
    "video_3s_plays",
    "thruplays",
    "video_p25",
    "video_p50",
    "video_p75",
    "video_p100",
    "video_seconds",
)
#: What a daily-conversions platform reports on days only, never in hours.
PER_DAY: tuple[str, ...] = CONVERSIONS + VIDEO
ZERO = Totals()
