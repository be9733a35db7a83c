"""The database engine and sessions: the one way code in `metricx` reaches PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from metricx.config import ConfigError, get_config


def normalise_url(url: str) -> str:
    """Use psycopg 3 whatever scheme the operator wrote (postgres://, postgresql://)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@cache
def engine_for(url: str, autocommit: bool = False) -> Engine:
    """The pooled engine of a database; `autocommit`: its own pool of connections that never
    open a transaction (see `get_reader`)."""
    return create_engine(normalise_url(url), pool_pre_ping=True, pool_size=5, max_overflow=5,
                         **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}))


def _database_url() -> str:
    url = get_config().database_url
    if not url:
        raise ConfigError("DATABASE_URL is not set (run through `metricx up`, or set it)")
    return url


def get_engine() -> Engine:
    return engine_for(_database_url())


def get_reader() -> Engine:
    """The engine for read-only statements (the metric engine, reports): autocommit, so each
    statement reads the latest committed rows, as in a READ COMMITTED transaction. Why a pool
    of its own: a connection handed back to the pool is rolled back, and psycopg forgets its
    prepared statements on ROLLBACK; these connections have nothing to roll back, so a page's
    repeated statements stay prepared and skip PostgreSQL's planning (a KPI query's 2 ms)."""
    return engine_for(_database_url(), autocommit=True)


@cache
def _session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url), expire_on_commit=False)


def new_session() -> Session:
    get_engine()  # raises the clear error when unconfigured
    return _session_factory(get_config().database_url)()  # type: ignore[arg-type]


@contextmanager
def transaction() -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any exception."""
    with new_session() as session, session.begin():
        yield session
