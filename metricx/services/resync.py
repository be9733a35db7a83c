"""Manual resyncs an admin asks for: validated, audited, queued ahead of scheduled work."""

from __future__ import annotations

from datetime import date, timedelta

from metricx.actor import Actor
from metricx.db import transaction
from metricx.errors import InvalidInputError
from metricx.services import audit
from metricx.services.connections import get_connection
from metricx.sync.scheduling import enqueue_sync, job_progress

MAX_DAYS = 400  # Meta rejects data older than 37 months; a year is what a merchant re-reads


def request_resync(actor: Actor, connection_id: int, start: date | None = None,
                   end: date | None = None, today: date | None = None) -> str | None:
    """Queue a resync of whole days (or, without dates, what the 15-minute job does);
    returns the job id, or None when the same resync is already waiting or running."""
    actor.require_admin("resync connections")
    connection = get_connection(actor.workspace_id, connection_id)
    today = today or date.today()
    if connection.provider == "shopify" or start is None:
        kind, start, end = ("shop" if connection.provider == "shopify" else "intraday"), None, None
    else:
        end = end or today - timedelta(days=1)
        if start > end:
            raise InvalidInputError(f"the start ({start}) is after the end ({end})")
        if end > today:
            raise InvalidInputError("the end cannot be in the future")
        if (end - start).days + 1 > MAX_DAYS:
            raise InvalidInputError(f"resync at most {MAX_DAYS} days at a time")
        kind = "range"
    queued = enqueue_sync(actor.workspace_id, connection_id, kind, start=start, end=end,
                          queue="high")
    with transaction() as session:
        audit.record(session, actor, "connection.resync", str(connection_id),
                     start=str(start), end=str(end), job=queued.job_id)
    return queued.job_id


__all__ = ["job_progress", "request_resync"]
