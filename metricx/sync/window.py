"""Which days a range sync may replace: checked before anything is written or recorded, so a
mistyped window is refused with a message and the connection stays as it was."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from metricx.connection_store import ConnectionView
from metricx.errors import InvalidInputError
from metricx.semantic.dates import today_in

# Meta's Insights API and Google Ads keep daily and hourly metrics for 37 months (Meta: error
# #3018 "cannot be beyond 37 months from the current date"; Google Ads DateRangeError
# REQUESTED_DATE_GRANULARITY_NOT_SUPPORTED: "only available for the last 37 months").
LOOKBACK_MONTHS = 37
# Where a new day starts first (UTC+14): an account whose zone is not known yet is at most
# this far into the future, so a day that is future there is future everywhere.
EARLIEST_ZONE = "Etc/GMT-14"


class WindowError(InvalidInputError):
    """The days asked for cannot be synced; nothing about the connection is wrong."""


def months_before(day: date, months: int) -> date:
    """The same day of the month `months` earlier (the month's last day when it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def check_window(start: date, end: date, today: date) -> None:
    """Refuse a window that ends before it starts, reaches past `today` (the account's) or
    starts before the platforms' 37 months of history."""
    if start > end:
        raise WindowError(f"the start ({start}) is after the end ({end})")
    if end > today:
        raise WindowError(f"the end ({end}) is in the future: it is {today} for the account")
    oldest = months_before(today, LOOKBACK_MONTHS)
    if start < oldest:
        raise WindowError(
            f"the start ({start}) is further back than the platforms keep: "
            f"{LOOKBACK_MONTHS} months, the oldest day is {oldest}"
        )


def refuse_bad_window(
    connection: ConnectionView, kind: str, start: date | None, end: date | None, now: datetime
) -> None:
    """For a range sync of an ad account asked with dates: check them against the account's
    today (the earliest zone's while its zone is not known yet)."""
    if kind != "range" or connection.provider == "shopify" or (start is None and end is None):
        return
    today = today_in(connection.timezone or EARLIEST_ZONE, now)
    last = end or today - timedelta(days=1)
    check_window(start or last, last, today)
