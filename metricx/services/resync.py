"""Manual resyncs an admin asks for: validated, audited, queued ahead of scheduled work."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from metricx.actor import Actor
from metricx.connection_store import get_connection
from metricx.db import transaction
from metricx.errors import InvalidInputError
from metricx.jobs import enqueue_sync
from metricx.semantic.dates import today_in
from metricx.services import audit
from metricx.sync.scheduling import job_progress
from metricx.sync.window import EARLIEST_ZONE, refuse_bad_window

MAX_DAYS = 400  # Meta rejects data older than 37 months; a year is what a merchant re-reads


def request_resync(
    actor: Actor,
    connection_id: int,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
) -> str | None:
    """Queue a resync of whole days (or, without dates, what the 15-minute job does);
    returns the job id, or None when the same resync is already waiting or running. The days
    are checked as every sync's are (metricx.sync.window: in order, not in the account's
    future, within the platforms' history), then capped at MAX_DAYS."""
    actor.require_admin("resync connections")
    connection = get_connection(actor.workspace_id, connection_id)
    if connection.provider == "shopify" or start is None:
        kind, start, end = ("shop" if connection.provider == "shopify" else "intraday"), None, None
    else:
        kind, now = "range", now or datetime.now(UTC)
        refuse_bad_window(connection, kind, start, end, now)
        # Without an end, the sync reads up to the account's yesterday (as the window does)
        last = end or today_in(connection.timezone or EARLIEST_ZONE, now) - timedelta(days=1)
        if (last - start).days + 1 > MAX_DAYS:
            raise InvalidInputError(f"resync at most {MAX_DAYS} days at a time")
    queued = enqueue_sync(
        actor.workspace_id, connection_id, kind, start=start, end=end, queue="high"
    )
    with transaction() as session:
        audit.record(
            session,
            actor,
            "connection.resync",
            str(connection_id),
            start=str(start),
            end=str(end),
            job=queued.job_id,
        )
    return queued.job_id


__all__ = ["job_progress", "request_resync"]
