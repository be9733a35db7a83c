"""Manual resyncs: a window is refused in the words of every sync's check (sync.window), before
anything is queued."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from metricx.errors import InvalidInputError
from metricx.queue import get_queue
from metricx.services.connections import add_connection
from metricx.services.resync import request_resync
from metricx.sync.window import WindowError

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def meta(admin, redis_conn):
    return add_connection(admin, "meta", "act_1", "tok")


@pytest.mark.parametrize(
    ("start", "end", "error", "words"),
    [
        (date(2026, 11, 10), date(2031, 1, 1), WindowError, "is in the future"),
        (date(2026, 11, 10), date(2026, 11, 1), WindowError, "is after the end"),
        (date(2022, 1, 1), date(2022, 1, 5), WindowError, "further back than the platforms keep"),
        (date(2025, 1, 1), date(2026, 11, 19), InvalidInputError, "at most 400 days"),
        (date(2025, 1, 1), None, InvalidInputError, "at most 400 days"),  # up to yesterday
    ],
)
def test_a_bad_resync_window_is_refused_and_nothing_is_queued(
    admin, meta, start, end, error, words
):
    with pytest.raises(error, match=words):
        request_resync(admin, meta.id, start, end, now=NOW)
    assert get_queue("high").count == 0


def test_a_good_window_is_queued_ahead_of_scheduled_work(admin, meta):
    # (the queue checks the window again against the real clock: days just past, then)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert request_resync(admin, meta.id, yesterday - timedelta(days=2), yesterday)
    assert get_queue("high").count == 1
