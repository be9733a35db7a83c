"""The job functions under the import path RQ recorded before they moved to metricx.jobs.

Jobs queued, retried or failed by an earlier release name `workers.jobs.<function>` in Redis;
a worker resolves that name here, so those jobs still run (and requeue) after an upgrade.
New jobs are queued by reference to metricx.jobs and never name this module.
"""

from metricx.jobs import (
    attribute_all,
    attribute_workspace,
    compact_all,
    process_shopify_webhook,
    reap_orphaned_syncs,
    refetch_all_recent,
    sync_all_intraday,
    sync_connection,
)

__all__ = [
    "attribute_all",
    "attribute_workspace",
    "compact_all",
    "process_shopify_webhook",
    "reap_orphaned_syncs",
    "refetch_all_recent",
    "sync_all_intraday",
    "sync_connection",
]
