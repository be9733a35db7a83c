"""The migration chain and the models describe the same schema, both ways."""

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from metricx import migrate
from metricx.db import engine_for
from metricx.models import Base

SCRATCH = "metricx_migrations_scratch"


@pytest.fixture
def scratch_database(servers, setenv) -> Iterator[str]:
    """An empty database of its own, so walking the chain never disturbs other tests."""
    admin_url = make_url(servers["DATABASE_URL"])
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH}"'))
        conn.execute(text(f'CREATE DATABASE "{SCRATCH}"'))
    url = admin_url.set(database=SCRATCH).render_as_string(hide_password=False)
    setenv(DATABASE_URL=url)
    yield url
    engine_for(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)'))
    admin.dispose()


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
