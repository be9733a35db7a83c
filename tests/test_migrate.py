"""The migration chain and the models describe the same schema, both ways."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from metricx import migrate
from metricx.db import engine_for
from metricx.models import Base


def test_upgrade_downgrade_upgrade_walks_the_whole_chain(scratch_database):
    migrate.upgrade()
    assert migrate.is_up_to_date()
    migrate.downgrade("base")
    tables = set(inspect(engine_for(scratch_database)).get_table_names())
    assert tables <= {"alembic_version"}
    migrate.upgrade()
    tables = set(inspect(engine_for(scratch_database)).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_models_and_migrations_agree(servers):
    with engine_for(servers["DATABASE_URL"]).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
