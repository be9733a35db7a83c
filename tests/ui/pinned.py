"""The app's clock pinned to the sandbox's "now" (Nov 20, 2026 10:07 in New York), the day
after the last synced day, so periods like "last 7 days" and "today" mean fixed days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sandbox_fixtures import NOW

TODAY = date(2026, 11, 20)


class PinnedClock(datetime):
    """datetime whose now() is the sandbox's NOW."""

    @classmethod
    def now(cls, tz=None):
        return NOW.astimezone(tz or UTC)


def pin_the_period_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sidebar period resolves its presets (and "today so far") at NOW."""
    monkeypatch.setattr("ui.period.today_in", lambda tz, now=None: TODAY)
    monkeypatch.setattr("ui.period.datetime", PinnedClock)
