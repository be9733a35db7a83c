"""RQ job entry points. Thin on purpose: each one calls into metricx and reports progress."""

from __future__ import annotations

from datetime import date

from rq import get_current_job

from metricx.attribution import compute as attribution
from metricx.services.connections import get_connection
from metricx.sync import pipeline, runs, scheduling
from metricx.webhooks import handlers as webhook_handlers


def _progress(done: int, total: int, stage: str) -> None:
    job = get_current_job()
    if job is not None:
        job.meta.update(done=done, total=total, stage=stage)
        job.save_meta()


def sync_connection(workspace_id: int, connection_id: int, kind: str,
                    start: date | None = None, end: date | None = None) -> dict:
    job = get_current_job()
    outcome = pipeline.sync_connection(workspace_id, connection_id, kind, start=start, end=end,
                                       job_id=job.id if job else None, progress=_progress)
    result = {"status": outcome.status, "rows": outcome.rows, "error": outcome.error}
    if outcome.kind == "shop" and outcome.status == "success":
        # New and changed orders are credited right away, not only at night.
        run = attribution.attribute_new_orders(
            workspace_id, lambda done, total: _progress(done, total, "attribution"))
        result["attributed_orders"] = run.orders
    return result


def sync_all_intraday() -> int:
    """Every 15 minutes: today's ad metrics and the shops' new orders."""
    return sum(1 for ws, conn in scheduling.active_connections()
               if scheduling.enqueue_sync(ws, conn, "intraday").job_id)


def refetch_all_recent() -> int:
    """Daily: replace the last 7 days of every ad account (platforms restate conversions)."""
    return sum(1 for ws, conn in scheduling.active_connections(("meta", "google"))
               if scheduling.enqueue_sync(ws, conn, "range", queue="low").job_id)


def reap_orphaned_syncs() -> int:
    """Every 2 minutes: runs left `running` by a worker that died are marked failed, with
    their jobs, once their lease has lapsed."""
    return runs.reap_orphaned_runs()


def compact_all() -> int:
    """Nightly: fold past days' 15-minute rows into hourly rows."""
    return sum(pipeline.compact_connection(get_connection(ws, conn))
               for ws, conn in scheduling.active_connections(("meta", "google")))


def attribute_workspace(workspace_id: int) -> dict:
    """Recompute every order's attribution in one workspace."""
    run = attribution.attribute_workspace(
        workspace_id, lambda done, total: _progress(done, total, "attribution"))
    return {"orders": run.orders, "rows": run.rows}


def attribute_all() -> int:
    """Nightly: recompute attribution everywhere (new entities, renamed campaigns, a changed
    UTM convention can all change which ad a past visit belongs to)."""
    return sum(attribute_workspace(ws)["orders"] for ws in scheduling.workspaces_with_shops())


def process_shopify_webhook(workspace_id: int, delivery_id: int) -> dict:
    """A Shopify webhook's work (app/uninstalled, compliance topics), queued by the receiver."""
    return webhook_handlers.process(workspace_id, delivery_id)
