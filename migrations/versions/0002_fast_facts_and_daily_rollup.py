"""Faster fact tables, a daily rollup, and store facts precomputed for the query engine

- metric_snapshots: the natural key becomes the primary key and the only index (the surrogate
  id, its index and the (workspace_id, bucket_start) index cost more on every synced row than
  they saved a read); one composite foreign key (workspace_id, entity_id) -> entities replaces
  two single ones, enforcing the tenant at half the cost.
- metric_daily: ad facts per workspace-local day, maintained by the sync.
- shopify_orders.cogs and shopify_customers.first_order_at, written by the sync.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=20, scale=6)
SAME_WORKSPACE_ENTITY = dict(
    referent_table="entities",
    local_cols=["workspace_id", "entity_id"],
    remote_cols=["workspace_id", "id"],
    ondelete="CASCADE",
)


def upgrade() -> None:
    op.create_unique_constraint("uq_entities_workspace_id_id", "entities", ["workspace_id", "id"])

    op.drop_index("ix_metric_snapshots_workspace_id_bucket_start", table_name="metric_snapshots")
    op.drop_constraint(
        "uq_metric_snapshots_entity_id_bucket_start_granularity", "metric_snapshots", type_="unique"
    )
    op.drop_constraint(
        "fk_metric_snapshots_workspace_id_workspaces", "metric_snapshots", type_="foreignkey"
    )
    op.drop_constraint(
        "fk_metric_snapshots_entity_id_entities", "metric_snapshots", type_="foreignkey"
    )
    op.drop_column("metric_snapshots", "id")  # drops pk_metric_snapshots with it
    op.create_primary_key(
        "pk_metric_snapshots",
        "metric_snapshots",
        ["workspace_id", "entity_id", "bucket_start", "granularity"],
    )
    op.create_foreign_key(
        "fk_metric_snapshots_workspace_id_entity_id_entities",
        "metric_snapshots",
        **SAME_WORKSPACE_ENTITY,
    )

    op.create_table(
        "metric_daily",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("spend", MONEY, nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", MONEY, nullable=False),
        sa.Column("conversion_value", MONEY, nullable=False),
        sa.Column("leads", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "entity_id"],
            ["entities.workspace_id", "entities.id"],
            name="fk_metric_daily_workspace_id_entity_id_entities",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "day", "entity_id", name="pk_metric_daily"),
    )

    op.add_column(
        "shopify_customers", sa.Column("first_order_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_shopify_customers_workspace_id_first_order_at",
        "shopify_customers",
        ["workspace_id", "first_order_at"],
    )
    op.add_column("shopify_orders", sa.Column("cogs", MONEY, nullable=False, server_default="0"))
    op.alter_column("shopify_orders", "cogs", server_default=None)


def downgrade() -> None:
    op.drop_column("shopify_orders", "cogs")
    op.drop_index(
        "ix_shopify_customers_workspace_id_first_order_at", table_name="shopify_customers"
    )
    op.drop_column("shopify_customers", "first_order_at")
    op.drop_table("metric_daily")

    op.drop_constraint(
        "fk_metric_snapshots_workspace_id_entity_id_entities",
        "metric_snapshots",
        type_="foreignkey",
    )
    op.drop_constraint("pk_metric_snapshots", "metric_snapshots", type_="primary")
    op.execute("ALTER TABLE metric_snapshots ADD COLUMN id BIGSERIAL")
    op.create_primary_key("pk_metric_snapshots", "metric_snapshots", ["id"])
    op.create_foreign_key(
        "fk_metric_snapshots_entity_id_entities",
        "metric_snapshots",
        "entities",
        ["entity_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_metric_snapshots_workspace_id_workspaces",
        "metric_snapshots",
        "workspaces",
        ["workspace_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_unique_constraint(
        "uq_metric_snapshots_entity_id_bucket_start_granularity",
        "metric_snapshots",
        ["entity_id", "bucket_start", "granularity"],
    )
    op.create_index(
        "ix_metric_snapshots_workspace_id_bucket_start",
        "metric_snapshots",
        ["workspace_id", "bucket_start"],
    )
    op.drop_constraint("uq_entities_workspace_id_id", "entities", type_="unique")
