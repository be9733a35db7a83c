"""Schema migrations (alembic) driven from code, for `metricx migrate`, `up` and the tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from metricx.config import PROJECT_ROOT
from metricx.db import get_engine


def alembic_config() -> AlembicConfig:
    return AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))


def upgrade(revision: str = "head") -> None:
    command.upgrade(alembic_config(), revision)


def downgrade(revision: str = "base") -> None:
    command.downgrade(alembic_config(), revision)


def is_up_to_date() -> bool:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with get_engine().connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head
