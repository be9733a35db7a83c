"""Every tenant table carries workspace_id as a foreign key, first in some index."""

import pytest
from sqlalchemy import inspect

from metricx.db import get_engine
from metricx.models import Base, tenant_tables

ALL_TABLES = sorted(Base.metadata.tables)


def test_every_table_but_workspaces_belongs_to_a_tenant():
    assert set(ALL_TABLES) - set(tenant_tables()) == {"workspaces"}


@pytest.mark.parametrize("table", tenant_tables())
def test_tenant_table_has_a_workspace_foreign_key_and_an_index_leading_with_it(servers, table):
    inspector = inspect(get_engine())
    columns = {c["name"]: c for c in inspector.get_columns(table)}
    assert not columns["workspace_id"]["nullable"]
    foreign = [fk for fk in inspector.get_foreign_keys(table)
               if fk["constrained_columns"] == ["workspace_id"]]
    assert foreign and foreign[0]["referred_table"] == "workspaces"
    leading = [ix["column_names"][0] for ix in inspector.get_indexes(table)]
    leading += [uq["column_names"][0] for uq in inspector.get_unique_constraints(table)]
    assert "workspace_id" in leading, f"{table} has no index starting with workspace_id"


@pytest.mark.parametrize("table, natural_key", [
    ("entities", ["connection_id", "level", "external_id"]),
    ("metric_snapshots", ["entity_id", "bucket_start", "granularity"]),
    ("shopify_orders", ["shop_id", "external_id"]),
    ("connections", ["workspace_id", "provider", "external_account_id"]),
    ("fx_rates", ["workspace_id", "day", "from_currency", "to_currency"]),
])
def test_natural_keys_are_unique_constraints(servers, table, natural_key):
    uniques = [u["column_names"] for u in inspect(get_engine()).get_unique_constraints(table)]
    assert natural_key in uniques
