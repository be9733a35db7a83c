"""The database engine and sessions: the one way code in `metricx` reaches PostgreSQL."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, cast

import psycopg
from psycopg import errors as pg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DataError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from metricx.config import ConfigError, get_config
from metricx.errors import UnstorableValueError

log = logging.getLogger(__name__)


def normalise_url(url: str) -> str:
    """Use psycopg 3 whatever scheme the operator wrote (postgres://, postgresql://)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# --- values the database refuses ----------------------------------------------------------------
# Validation refuses bad values at the service boundary; what still reaches PostgreSQL and is
# refused there becomes an UnstorableValueError saying which kind of value, here, once for
# every statement: SQLAlchemy's own message carries the SQL and its parameters.


def _plain_reason(error: BaseException) -> str | None:
    """Why the database refused a value, in a person's words; None for other failures."""
    if isinstance(error, UnicodeEncodeError):
        return (
            "a text holds an invalid character (a lone surrogate) that cannot be stored; remove it"
        )
    if not isinstance(error, psycopg.DataError):
        return None
    if isinstance(error, pg.NumericValueOutOfRange):
        return "a number is too large or too small to be stored; check the numbers given"
    if isinstance(error, pg.StringDataRightTruncation):
        return "a text is longer than can be stored; shorten it"
    if isinstance(error, pg.DatetimeFieldOverflow | pg.InvalidDatetimeFormat):
        return "a date or time cannot be stored; check the dates given"
    if "NUL (0x00)" in str(error):  # psycopg's own refusal, before PostgreSQL sees it
        return "a text holds a NUL character (\\x00), which cannot be stored; remove it"
    primary = error.diag.message_primary or str(error).split("\n")[0]
    return f"a value cannot be stored ({primary[:120]})"


class _RefusedValue(UnstorableValueError, DataError):
    """The UnstorableValueError raised for SQLAlchemy's DataError, and still a DataError (with
    its `orig`), so code that tells refused rows from other failures keeps doing so."""

    def __init__(self, reason: str, refused: DataError) -> None:
        DataError.__init__(
            self,
            refused.statement,
            refused.params,
            cast(Exception, refused.orig),
            hide_parameters=True,
            ismulti=refused.ismulti,
        )
        self.args = (reason,)

    def __str__(self) -> str:
        return str(self.args[0])


class _UnencodableText(UnstorableValueError, UnicodeEncodeError):
    """The UnstorableValueError raised for a parameter Python cannot encode, and still a
    UnicodeEncodeError for code that catches that."""

    def __init__(self, reason: str, refused: UnicodeEncodeError) -> None:
        UnicodeEncodeError.__init__(
            self, refused.encoding, refused.object, refused.start, refused.end, refused.reason
        )
        self.plain = reason

    def __str__(self) -> str:
        return self.plain


def _refused_value(context: ExceptionContext) -> Exception | None:
    """handle_error hook: a refused value's plain error in place of SQLAlchemy's."""
    error = context.original_exception
    reason = _plain_reason(error)
    if reason is None:
        return None
    log.warning("the database refused a value: %s (%s)", reason, str(error).split("\n")[0])
    if isinstance(error, UnicodeEncodeError):
        return _UnencodableText(reason, error)
    if isinstance(context.sqlalchemy_exception, DataError):
        return _RefusedValue(reason, context.sqlalchemy_exception)
    return None


#: psycopg memoises turning a statement's %(name)s placeholders into $n only for statements up
#: to this many characters (psycopg/_queries.py, MAX_CACHED_STATEMENT_LENGTH, 4,096 by
#: default). The metric engine's one statement per query shape (every source and period as one
#: UNION ALL) is longer, and re-parsing it took a third of a warm query's time in Python; its
#: shapes are few and cached on our side too, so psycopg may keep them (an LRU of 128).
ENGINE_STATEMENT_LENGTH = 65_536
if getattr(psycopg._queries, "MAX_CACHED_STATEMENT_LENGTH", 0) < ENGINE_STATEMENT_LENGTH:
    psycopg._queries.MAX_CACHED_STATEMENT_LENGTH = ENGINE_STATEMENT_LENGTH


#: Memory a reader's sort or hash may use before spilling: PostgreSQL's 4MB default made a
#: year of the products table sort its 48,000 daily rows instead of hashing them (150 ms
#: against 92 ms, bench/bench_retention.py T5). Per node of a running statement.
READER_WORK_MEM = "32MB"


@cache
def engine_for(url: str, autocommit: bool = False) -> Engine:
    """The pooled engine of a database; `autocommit`: its own pool of connections that never
    open a transaction (see `get_reader`). A value PostgreSQL refuses raises an
    UnstorableValueError saying which kind of value (see `_plain_reason`)."""
    engine = create_engine(
        normalise_url(url),
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        **(
            {
                "isolation_level": "AUTOCOMMIT",
                "connect_args": {"options": f"-c work_mem={READER_WORK_MEM}"},
            }
            if autocommit
            else {}
        ),
    )
    event.listen(engine, "handle_error", _refused_value)
    event.listen(engine, "connect", _remember_process)
    event.listen(engine, "checkout", _refuse_inherited)
    return engine


# --- connections across fork --------------------------------------------------------------------
# An RQ worker forks a work horse per job; a connection the worker had pooled before the fork
# (its start-up reads) is then one server session shared by two processes, and the second
# child to prepare a statement on it finds the first child's ("prepared statement _pg3_0
# already exists"), or their bytes interleave. A child therefore never checks out a
# connection its parent opened: it drops it without closing the parent's socket and opens its
# own (SQLAlchemy's recipe, "Using Connection Pools with Multiprocessing or os.fork()").


def _remember_process(_dbapi_connection: object, record: Any) -> None:
    record.info["pid"] = os.getpid()


def _refuse_inherited(_dbapi_connection: object, record: Any, proxy: Any) -> None:
    if record.info.get("pid") != os.getpid():
        record.dbapi_connection = proxy.dbapi_connection = None
        raise DisconnectionError(
            f"connection opened by process {record.info.get('pid')}, now in {os.getpid()}"
        )


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
    return _session_factory(get_config().database_url)()


@contextmanager
def transaction() -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any exception."""
    with new_session() as session, session.begin():
        yield session
