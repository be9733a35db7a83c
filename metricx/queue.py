"""Redis and the RQ queues: the one place that knows how jobs are transported."""

from __future__ import annotations

from functools import cache

import redis
from rq import Queue

from metricx.config import ConfigError, get_config

QUEUE_NAMES = ("high", "default", "low")  # worker priority order: manual resyncs jump ahead


@cache
def redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def get_redis() -> redis.Redis:
    url = get_config().redis_url
    if not url:
        raise ConfigError("REDIS_URL is not set (run through `metricx up`, or set it)")
    return redis_for(url)


def get_queue(name: str = "default") -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis())
