"""The product rollups: what each product, variant and SKU sold per day, and what the
campaigns' credited orders bought of it

- product_daily: per (workspace, level, workspace-local day, currency, Shopify product keys)
  the store facts of the lines, counted as metricx.semantic.products counts them;
- product_credit_daily: per (workspace, attribution model and window — the default's only,
  last click 28 days —, level, local day of the order, currency, campaign, product keys) the
  campaign's credited revenue shared over the lines by sales, and per campaign (level
  'order') that of whole orders.

Maintained by metricx.sync.product_rollup in the writers' transactions; filled here for the
data already stored.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=20, scale=6)
COUNTS = ("units", "orders", "new_customer_orders", "repeat_customers", "line_events")
KEYS = ("shop_id", "product_external_id", "variant_external_id", "sku")


def _product_keys() -> list[sa.Column]:
    return [
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("product_external_id", sa.String(length=64), nullable=False),
        sa.Column("variant_external_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
    ]


def _workspace(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_workspace_id_workspaces"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "product_daily",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *_product_keys(),
        *(
            sa.Column(name, MONEY, nullable=False)
            for name in ("gross", "discounts", "refunds", "cogs")
        ),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        _workspace("product_daily"),
        sa.PrimaryKeyConstraint(
            "workspace_id", "level", "day", "currency", *KEYS, name=op.f("pk_product_daily")
        ),
    )
    op.create_table(
        "product_credit_daily",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        *_product_keys(),
        sa.Column("credited_revenue", sa.Numeric(), nullable=False),
        _workspace("product_credit_daily"),
        sa.PrimaryKeyConstraint(
            "workspace_id",
            "model",
            "window_days",
            "level",
            "day",
            "currency",
            "campaign_id",
            *KEYS,
            name=op.f("pk_product_credit_daily"),
        ),
    )
    # Imported here: the rollup's own statements fill it, those the sync maintains it with.
    from metricx.sync import product_rollup

    bind = op.get_bind()
    for (workspace_id,) in bind.execute(sa.text("SELECT id FROM workspaces")).all():
        product_rollup.fill(bind, workspace_id)


def downgrade() -> None:
    op.drop_table("product_credit_daily")
    op.drop_table("product_daily")
