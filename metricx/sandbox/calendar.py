"""Account-time-zone arithmetic: when a local day starts and ends, and how much of it has passed.

Platforms report days and hours in the ad account's time zone, so every "today" and every
"is this day over" question in the sandbox goes through here (DST days included).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

SECONDS_PER_HOUR = 3600


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo (construction is not free and names repeat)."""
    return ZoneInfo(name)


def local_date(moment: datetime, tz: str) -> date:
    """The calendar date of an aware moment in the given zone."""
    return moment.astimezone(zone(tz)).date()


@lru_cache(maxsize=8192)
def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of a local day as UTC datetimes (23 or 25 hours long on DST days)."""
    z = zone(tz)
    start = datetime.combine(day, time(0), tzinfo=z).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=z).astimezone(UTC)
    return start, end


@lru_cache(maxsize=8192)
def missing_hours(day: date, tz: str) -> frozenset[int]:
    """Local hours that do not exist on this day (the hour skipped when clocks spring forward)."""
    z = zone(tz)
    missing = set()
    for hour in range(24):
        local = datetime.combine(day, time(hour), tzinfo=z)
        if local.astimezone(UTC).astimezone(z).hour != hour:
            missing.add(hour)
    return frozenset(missing)


def hour_start_utc(day: date, hour: int, tz: str) -> datetime:
    """UTC start of a local hour label (the first occurrence on a fall-back day)."""
    return datetime.combine(day, time(hour), tzinfo=zone(tz)).astimezone(UTC)


def progress(day: date, tz: str, as_of: datetime) -> tuple[int, int]:
    """How much of a local day has happened at as_of: (full hour labels, seconds into the next).

    Returns (0, 0) before the day, (24, 0) after it. On a fall-back day the repeated hour
    counts as complete once its second occurrence starts, so progress never goes backwards.
    """
    local = as_of.astimezone(zone(tz))
    today = local.date()
    if today < day:
        return 0, 0
    if today > day:
        return 24, 0
    if local.fold == 1:
        return local.hour + 1, 0
    return local.hour, local.minute * 60 + local.second
