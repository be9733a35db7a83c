"""Demand shapes shared by ads and orders: weekday, season, time of day.

Keeping them in one place makes store orders move with ad delivery, so MER and attribution
look like a real shop rather than two unrelated random series.
"""

from __future__ import annotations

import math
from datetime import date

# Monday .. Sunday
WEEKDAY_SPEND = (1.06, 1.02, 1.0, 0.99, 0.94, 0.88, 0.96)
WEEKDAY_ORDERS = (1.04, 1.02, 1.0, 0.98, 0.95, 0.93, 1.05)
WEEKDAY_CONVERSION = (1.0, 1.01, 1.0, 0.99, 0.97, 0.95, 1.04)

# Share of a day's delivery per local hour (shape only; scaled per ad).
DELIVERY_SHAPE = (
    18,
    12,
    9,
    7,
    7,
    9,
    15,
    25,
    36,
    44,
    48,
    50,
    52,
    51,
    50,
    50,
    52,
    56,
    62,
    68,
    72,
    66,
    48,
    30,
)
# Purchases lean later into the evening than impressions do.
PURCHASE_SHAPE = (
    14,
    9,
    6,
    5,
    5,
    7,
    12,
    20,
    30,
    38,
    44,
    48,
    50,
    50,
    49,
    50,
    54,
    60,
    68,
    76,
    80,
    72,
    52,
    30,
)


def season(day: date) -> float:
    """Yearly demand multiplier: a summer dip, a Q4 ramp and a Black Friday / Cyber Monday peak."""
    doy = day.timetuple().tm_yday
    factor = 1.0 + 0.12 * math.sin(2 * math.pi * (doy - 120) / 365.0 + math.pi)
    if day.month == 11 and day.day >= 20:
        factor *= 1.35 + 0.4 * (1 - abs(day.day - 28) / 10)
    elif day.month == 12 and day.day <= 2:
        factor *= 1.5
    elif day.month == 12 and day.day <= 20:
        factor *= 1.2
    elif day.month == 1 and day.day <= 10:
        factor *= 0.85
    return factor


def ramp(days_live: int) -> float:
    """A new campaign spends less while it learns (first ~10 days)."""
    if days_live < 0:
        return 0.0
    return min(1.0, 0.35 + 0.065 * days_live)
