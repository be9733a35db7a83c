"""The rq-scheduler schedule (UTC cron). Ids are stable so a restart replaces, never adds."""

from metricx.jobs import ScheduledJob

SCHEDULE: list[ScheduledJob] = []
