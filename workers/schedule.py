"""The rq-scheduler schedule (UTC cron). Ids are stable so a restart replaces, never adds."""

from metricx.jobs import ScheduledJob

SCHEDULE: list[ScheduledJob] = [
    ScheduledJob("metricx-intraday", "*/15 * * * *", "workers.jobs.sync_all_intraday"),
    ScheduledJob("metricx-reaper", "*/2 * * * *", "workers.jobs.reap_orphaned_syncs",
                 queue="high", timeout=120),
    ScheduledJob("metricx-compaction", "0 1 * * *", "workers.jobs.compact_all"),
    ScheduledJob("metricx-attribution", "0 2 * * *", "workers.jobs.attribute_all", queue="low"),
    ScheduledJob("metricx-refetch-7d", "0 3 * * *", "workers.jobs.refetch_all_recent",
                 queue="low"),
]
