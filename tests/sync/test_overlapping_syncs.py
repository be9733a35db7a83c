"""Two syncs of one connection at once, with the Redis lease out of the way (Redis restarted,
flushed or unreachable mid-sync): the write lock makes the second wait for the first, so no
number is counted twice."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import timedelta

import pytest
from overlapping import FirstWriterPauses
from sandbox_fixtures import NOW, platform_day_totals, stored_day_totals

from metricx.connection_store import get_connection
from metricx.semantic.dates import today_in
from metricx.sync import pipeline, snapshots


@pytest.fixture
def no_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sync gets past the lease as if no other held it."""
    monkeypatch.setattr(pipeline, "connection_lock", lambda *args, **kwargs: nullcontext())


def pause_inside(monkeypatch: pytest.MonkeyPatch, write: str) -> FirstWriterPauses:
    """The first sync to call snapshots.`write` pauses right after it, before its commit."""
    pauses = FirstWriterPauses()
    original = getattr(snapshots, write)

    def written_then_paused(*args, **kwargs):
        rows = original(*args, **kwargs)
        pauses.pause()
        return rows

    monkeypatch.setattr(snapshots, write, written_then_paused)
    return pauses


@pytest.mark.parametrize(
    "kind, write", [("intraday", "apply_running_totals"), ("range", "replace_days")]
)
def test_two_overlapping_syncs_of_one_connection_count_every_number_once(
    fakes, connections, no_lease, monkeypatch, kind, write
):
    meta = connections["meta"]
    account = fakes.merchant.account(meta.external_account_id)
    today = today_in(account.timezone, NOW)
    days = [today - timedelta(days=2), today - timedelta(days=1)]
    window = {"start": days[0], "end": days[-1]} if kind == "range" else {}

    def sync():
        return pipeline.sync_connection(meta.workspace_id, meta.id, kind, now=NOW, **window)

    # Given a sync paused inside its write transaction, its rows written but not committed
    pauses = pause_inside(monkeypatch, write)
    # When a second sync of the same connection runs meanwhile, then both finish
    first, second = pauses.run(sync, sync)
    # Then both succeeded (the second waited for the first's writes)...
    assert (first.status, second.status) == ("success", "success")
    assert get_connection(meta.workspace_id, meta.id).status == "active"
    # ...and every ad-day sums to what Meta reports, once
    if kind == "intraday":
        days = [today - timedelta(days=1), today]
    assert stored_day_totals(meta.id, account.timezone, days) == platform_day_totals(
        fakes.merchant, account.external_id, days, NOW
    )
