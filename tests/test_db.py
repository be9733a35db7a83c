"""The engines of metricx.db: the reader's connections keep their prepared statements, and a
value PostgreSQL refuses is a plain error, never SQL."""

from __future__ import annotations

import pytest
from plain_errors import assert_plain
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.exc import DataError, ProgrammingError

from metricx.db import get_engine, get_reader
from metricx.errors import InvalidInputError, UnstorableValueError

PREPARED = text("SELECT count(*) FROM pg_prepared_statements")
STATEMENT = text("SELECT count(*) FROM workspaces WHERE id = :id")


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
