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
    # Either workspace_id -> workspaces(id), or (fact tables) a composite key that pins the row
    # to an entity of the SAME workspace: (workspace_id, entity_id) -> entities(workspace_id, id)
    keys = {
        (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
        for fk in inspector.get_foreign_keys(table)
    }
    assert (("workspace_id",), "workspaces", ("id",)) in keys or (
        ("workspace_id", "entity_id"),
        "entities",
        ("workspace_id", "id"),
    ) in keys
    leading = [ix["column_names"][0] for ix in inspector.get_indexes(table)]
    leading += [uq["column_names"][0] for uq in inspector.get_unique_constraints(table)]
    leading += inspector.get_pk_constraint(table)["constrained_columns"][:1]
    assert "workspace_id" in leading, f"{table} has no index starting with workspace_id"


@pytest.mark.parametrize(
    "table, natural_key",
    [
        ("entities", ["connection_id", "level", "external_id"]),
        ("shopify_orders", ["shop_id", "external_id"]),
        ("connections", ["workspace_id", "provider", "external_account_id"]),
        ("fx_rates", ["workspace_id", "day", "from_currency", "to_currency"]),
    ],
)
def test_natural_keys_are_unique_constraints(servers, table, natural_key):
    uniques = [u["column_names"] for u in inspect(get_engine()).get_unique_constraints(table)]
    assert natural_key in uniques


def test_snapshots_are_keyed_by_their_natural_key_alone(servers):
    inspector = inspect(get_engine())
    assert inspector.get_pk_constraint("metric_snapshots")["constrained_columns"] == [
        "workspace_id",
        "entity_id",
        "bucket_start",
        "granularity",
    ]
    assert inspector.get_indexes("metric_snapshots") == []  # every index costs each synced row
