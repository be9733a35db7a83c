"""The six additive facts of an ad over a bucket, an hour or a day.

Shared by the sync (what the platform reported, what the rows hold) and the sandbox (what the
fake platform reports), so both sides of S1 do their arithmetic on one exact type.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Totals:
    """Money in the account currency; conversions may be fractional (Google)."""

    spend: Decimal = Decimal(0)
    impressions: int = 0
    clicks: int = 0
    conversions: Decimal = Decimal(0)
    conversion_value: Decimal = Decimal(0)
    leads: Decimal = Decimal(0)

    @classmethod
    def of(cls, source: object) -> Totals:
        """From anything with the six attributes (a MetricRecord, a result row); None is 0."""
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
# S1 holds per metric family: a platform may report delivery per hour but conversions only
# per day (Meta withholds off-Meta actions from hourly breakdowns).
DELIVERY: tuple[str, ...] = ("spend", "impressions", "clicks")
CONVERSIONS: tuple[str, ...] = ("conversions", "conversion_value", "leads")
ZERO = Totals()
