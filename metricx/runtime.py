"""Bring up the servers a command needs: the configured ones, or embedded ones.

`metricx up` keeps the embedded servers running for its children; any other command that
finds them down starts them for its own lifetime and stops them again when it is done.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from metricx.config import get_config
from metricx.embedded import EmbeddedPostgres, EmbeddedRedis

DATABASE_NAME = "metricx"


def _set_env(name: str, value: str) -> None:
    os.environ[name] = value
    get_config.cache_clear()


@contextmanager
def services(*, database: bool = True, redis: bool = False) -> Iterator[None]:
    """Make DATABASE_URL (and REDIS_URL when asked) point at running servers."""
    config = get_config()
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        if database and not config.database_url:
            postgres = EmbeddedPostgres(config.data_dir)
            postgres.start()
            started.append(postgres)
            _set_env("DATABASE_URL", postgres.ensure_database(DATABASE_NAME))
        if redis and not config.redis_url:
            embedded_redis = EmbeddedRedis(config.data_dir)
            embedded_redis.start()
            started.append(embedded_redis)
            _set_env("REDIS_URL", embedded_redis.url)
        yield
    finally:
        for server in reversed(started):
            with suppress(Exception):
                server.stop()
