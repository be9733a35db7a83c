"""The moment the contracts run at, and the arguments the driver passes to the reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# "Today" for these contracts: the API versions in use must be live on it.
NOW = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
# A short window (synchronous reads) and one past Meta's async threshold (report runs).
WINDOWS = (
    (TODAY - timedelta(days=1), TODAY),
    (TODAY - timedelta(days=20), TODAY - timedelta(days=1)),
)
DAYS = (TODAY, TODAY - timedelta(days=3))
# Full reads (None) and incremental ones.
MOMENTS = (None, NOW - timedelta(days=3))
