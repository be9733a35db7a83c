"""The engines of metricx.db: the reader's connections keep their prepared statements."""

from __future__ import annotations

from psycopg.pq import TransactionStatus
from sqlalchemy import text

from metricx.db import get_engine, get_reader

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
