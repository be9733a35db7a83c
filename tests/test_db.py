"""The engines of metricx.db: the reader's connections keep their prepared statements, and a
value PostgreSQL refuses is a plain error, never SQL."""

from __future__ import annotations

import os

import pytest
from plain_errors import assert_plain
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.exc import DataError, ProgrammingError

from metricx.db import get_engine, get_reader
from metricx.errors import InvalidInputError, UnstorableValueError

PREPARED = text("SELECT count(*) FROM pg_prepared_statements")
STATEMENT = text("SELECT count(*) FROM workspaces WHERE id = :id")
BACKEND = text("SELECT pg_backend_pid()")


def test_a_readers_statement_stays_prepared_across_checkouts(db):
    # Given one statement run through the reader more often than psycopg's prepare threshold,
    # each time on a connection taken from and handed back to the pool
    for _ in range(8):
        with get_reader().connect() as conn:
            conn.execute(STATEMENT, {"id": 1}).all()
    # When the pool's connection is asked what it holds prepared
    with get_reader().connect() as conn:
        prepared = conn.execute(PREPARED).scalar_one()
        status = conn.connection.driver_connection.info.transaction_status
    # Then the statement is there (nothing was rolled back), and no transaction is left open
    assert prepared >= 1
    assert status == TransactionStatus.IDLE


def test_a_transactional_connection_forgets_them_on_its_way_back_to_the_pool(db):
    # Given the same statement run as often on the ordinary engine (rolled back on return)
    for _ in range(8):
        with get_engine().connect() as conn:
            conn.execute(STATEMENT, {"id": 1}).all()
    # Then nothing stays prepared: why reads have their own pool
    with get_engine().connect() as conn:
        assert conn.execute(PREPARED).scalar_one() == 0


# --- values the database refuses -----------------------------------------------------------

INSERT_WORKSPACE = text(
    "INSERT INTO workspaces (name, timezone, currency, utm_match) "
    "VALUES (:name, 'UTC', 'USD', 'id')"
)


@pytest.mark.parametrize(
    ("statement", "params", "words"),
    [
        (INSERT_WORKSPACE, {"name": "Acme\x00"}, "NUL character"),
        (INSERT_WORKSPACE, {"name": "Acme\ud800"}, "lone surrogate"),
        (INSERT_WORKSPACE, {"name": "x" * 500}, "longer than can be stored"),
        (text("SELECT CAST(:id AS bigint)"), {"id": 2**63}, "too large or too small"),
        (text("SELECT CAST(:day AS date)"), {"day": "2026-02-30"}, "a date or time"),
        (text("SELECT CAST(:n AS integer)"), {"n": "ten"}, "a value cannot be stored"),
    ],
)
def test_a_value_the_database_refuses_is_a_plain_error_without_sql(db, statement, params, words):
    # Given a value PostgreSQL (or psycopg before it) cannot take, when a statement sends it,
    # through either engine
    for engine in (get_engine(), get_reader()):
        with pytest.raises(UnstorableValueError) as caught, engine.begin() as conn:
            conn.execute(statement, params)
        # Then the error says which kind of value, in a sentence, and nothing of the SQL
        message = str(caught.value)
        assert words in message
        assert_plain(message)
        assert isinstance(caught.value, InvalidInputError)


def test_a_refused_value_stays_what_code_isolating_bad_rows_catches(db):
    # (the pixel writer tells refused rows from other failures by these types)
    with pytest.raises(DataError) as nul, get_engine().begin() as conn:
        conn.execute(INSERT_WORKSPACE, {"name": "a\x00"})
    assert "NUL" in str(nul.value.orig)
    with pytest.raises(UnicodeEncodeError), get_engine().begin() as conn:
        conn.execute(INSERT_WORKSPACE, {"name": "a\ud800"})


def test_other_failures_are_left_as_they_are(db):
    with pytest.raises(ProgrammingError), get_engine().begin() as conn:
        conn.execute(text("SELECT no_such_column FROM workspaces"))


def _in_a_child(work) -> int:
    """Run `work` in a forked child, as an RQ worker runs a job; the child's exit code."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            work()
            code = 0
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_forked_children_never_share_their_parents_connections(db):
    # Given a parent (the RQ worker) that pooled a reader connection before forking
    with get_reader().connect() as conn:
        parent_backend = conn.execute(BACKEND).scalar_one()

    def prepare_and_check() -> None:
        # a job preparing statements (past psycopg's threshold) on a connection of its own
        for _ in range(8):
            with get_reader().connect() as conn:
                conn.execute(STATEMENT, {"id": 1}).all()
                assert conn.execute(BACKEND).scalar_one() != parent_backend

    # When two jobs run one after the other in forked children
    # Then each has its own server session: neither finds the other's prepared statements
    assert [_in_a_child(prepare_and_check) for _ in range(2)] == [0, 0]
    # And the parent's connection still works
    with get_reader().connect() as conn:
        assert conn.execute(BACKEND).scalar_one() == parent_backend
