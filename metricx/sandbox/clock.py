"""The sandbox's notion of "now": real time by default, pinned or shifted for tests and demos.

Every fake answers "as of" this clock, so a test can freeze the world at one instant and a
long-running demo keeps producing fresh data as real time passes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from threading import Lock


def as_utc(moment: datetime) -> datetime:
    """Reject naive datetimes (they are a time zone bug waiting to happen) and normalise to UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


class SandboxClock:
    """UTC now; `set` pins it, `advance` moves it (a pinned clock or real time plus an offset)."""

    def __init__(self, now: datetime | None = None) -> None:
        self._lock = Lock()
        self._fixed = as_utc(now) if now is not None else None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            if self._fixed is not None:
                return self._fixed
            return datetime.now(UTC) + self._offset

    @property
    def pinned(self) -> bool:
        return self._fixed is not None

    def set(self, now: datetime | None) -> None:
        """Pin the clock at `now`, or follow real time again with None."""
        with self._lock:
            self._fixed = as_utc(now) if now is not None else None
            self._offset = timedelta(0)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward (or back with a negative delta)."""
        with self._lock:
            if self._fixed is not None:
                self._fixed += delta
            else:
                self._offset += delta
