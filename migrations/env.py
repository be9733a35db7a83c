"""Alembic environment: migrations run against the configured DATABASE_URL."""

from alembic import context

from metricx.db import get_engine
from metricx.models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    connectable = context.config.attributes.get("connection") or get_engine().connect()
    with connectable as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            compare_server_default=False,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run against a database")
run_migrations()
