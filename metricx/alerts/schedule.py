"""When a rule runs, in the workspace's zone.

A rule runs at slots: `after_sync` every quarter hour of the local clock (:00, :15, :30,
:45), `hourly` at every local :00, `daily` at `local_hour`:00 local. Slots are instants
(UTC); a local time repeated when clocks fall back is run once per instant it names (an
hourly rule runs at both 01:00), a daily rule at its first pass; a local hour skipped when
clocks spring forward runs at the first instant after the switch (02:00 -> 03:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from metricx.semantic.dates import utc_bounds
from metricx.semantic.query import TimeRange

#: Minutes between slots of the clock-aligned schedules.
STEP_MINUTES = {"after_sync": 15, "hourly": 60}
MINUTE = timedelta(minutes=1)


def utc(instant: datetime) -> datetime:
    """`instant` in UTC; a naive one is refused (it names no instant)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("the instant must be timezone-aware (e.g. datetime.now(UTC))")
    return instant.astimezone(UTC)


def daily_slot(day: date, local_hour: int, tz: str) -> datetime:
    """The instant the local clock of `day` first shows `local_hour`:00 (or, skipped, the
    first instant after the switch)."""
    whole_day = TimeRange(start=day, end=day)
    if local_hour == 0:
        return utc_bounds(whole_day, tz)[0]
    return utc_bounds(whole_day.model_copy(update={"until": time(local_hour)}), tz)[1]


def _on_step(instant: datetime, step: int, tz: str) -> bool:
    return instant.astimezone(ZoneInfo(tz)).minute % step == 0


def next_run_after(schedule: str, local_hour: int | None, tz: str, instant: datetime) -> datetime:
    """The first slot strictly after `instant` (UTC)."""
    moment = utc(instant)
    if schedule == "daily":
        hour = local_hour or 0
        today = moment.astimezone(ZoneInfo(tz)).date()
        slot = daily_slot(today, hour, tz)
        return slot if slot > moment else daily_slot(today + timedelta(days=1), hour, tz)
    # Minute by minute in UTC, so repeated and skipped local times need no special case.
    step = STEP_MINUTES[schedule]
    slot = moment.replace(second=0, microsecond=0) + MINUTE
    while not _on_step(slot, step, tz):
        slot += MINUTE
    return slot


def latest_run_at(schedule: str, local_hour: int | None, tz: str, instant: datetime) -> datetime:
    """The last slot at or before `instant` (UTC): the run an evaluation at `instant`
    belongs to."""
    moment = utc(instant)
    if schedule == "daily":
        hour = local_hour or 0
        today = moment.astimezone(ZoneInfo(tz)).date()
        slot = daily_slot(today, hour, tz)
        return slot if slot <= moment else daily_slot(today - timedelta(days=1), hour, tz)
    step = STEP_MINUTES[schedule]
    slot = moment.replace(second=0, microsecond=0)
    while not _on_step(slot, step, tz):
        slot -= MINUTE
    return slot


def window_key(slot: datetime, tz: str) -> str:
    """A run's name: its local time with the offset ("2026-12-03T14:00-05:00"), so the two
    01:00 of a fall-back night are two windows."""
    return slot.astimezone(ZoneInfo(tz)).isoformat(timespec="minutes")
