"""Coarser rollups for the query engine, and refunds indexed by day

- metric_daily_connection: ad facts per (workspace, local day, connection);
- metric_daily_campaign: per (workspace, local day, connection, campaign; 0 = no campaign);
- store_daily: store sums per (workspace, local day, currency);
- shopify_refunds: (workspace_id, created_at) replaces the index on workspace_id alone.

The new rollups are filled from the existing rows (the sync keeps them from then on).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=20, scale=6)
AD_FACTS = ("spend", "impressions", "clicks", "conversions", "conversion_value", "leads")


def _ad_fact_columns() -> list[sa.Column]:
    return [
        sa.Column(
            name, sa.BigInteger() if name in ("impressions", "clicks") else MONEY, nullable=False
        )
        for name in AD_FACTS
    ]


def _tenant_keys(table: str) -> list:
    return [
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=f"fk_{table}_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
    ]


def _connection_key(table: str) -> list:
    return [
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=f"fk_{table}_connection_id_connections",
            ondelete="CASCADE",
        ),
    ]


SUMS = ", ".join(f"sum(m.{c})" for c in AD_FACTS)
COLUMNS = ", ".join(AD_FACTS)
BACKFILL = (
    f"""INSERT INTO metric_daily_connection (workspace_id, day, connection_id, {COLUMNS})
    SELECT m.workspace_id, m.day, ad.connection_id, {SUMS}
    FROM metric_daily m JOIN entities ad ON ad.id = m.entity_id
    GROUP BY m.workspace_id, m.day, ad.connection_id""",
    f"""INSERT INTO metric_daily_campaign (workspace_id, day, connection_id, campaign_id,
                                          {COLUMNS})
    SELECT m.workspace_id, m.day, ad.connection_id, coalesce(adset.parent_id, 0), {SUMS}
    FROM metric_daily m JOIN entities ad ON ad.id = m.entity_id
    LEFT JOIN entities adset ON adset.id = ad.parent_id
    GROUP BY m.workspace_id, m.day, ad.connection_id, coalesce(adset.parent_id, 0)""",
    """INSERT INTO store_daily (workspace_id, day, currency, orders, gross, discounts, shipping,
                                taxes, cogs, refunds, new_customers)
    SELECT workspace_id, day, currency, sum(orders), sum(gross), sum(discounts), sum(shipping),
           sum(taxes), sum(cogs), sum(refunds), sum(new_customers)
    FROM (
        SELECT o.workspace_id, (o.processed_at AT TIME ZONE w.timezone)::date AS day,
               o.currency, count(*) FILTER (WHERE o.cancelled_at IS NULL) AS orders,
               coalesce(sum(o.gross_sales) FILTER (WHERE o.cancelled_at IS NULL), 0) AS gross,
               coalesce(sum(o.discounts) FILTER (WHERE o.cancelled_at IS NULL), 0) AS discounts,
               coalesce(sum(o.shipping) FILTER (WHERE o.cancelled_at IS NULL), 0) AS shipping,
               coalesce(sum(o.taxes) FILTER (WHERE o.cancelled_at IS NULL), 0) AS taxes,
               coalesce(sum(o.cogs) FILTER (WHERE o.cancelled_at IS NULL), 0) AS cogs,
               0 AS refunds, 0 AS new_customers
        FROM shopify_orders o JOIN workspaces w ON w.id = o.workspace_id
        WHERE NOT o.test GROUP BY 1, 2, 3
        UNION ALL
        SELECT r.workspace_id, (r.created_at AT TIME ZONE w.timezone)::date, o.currency,
               0, 0, 0, 0, 0, 0, sum(r.amount), 0
        FROM shopify_refunds r JOIN shopify_orders o ON o.id = r.order_id
        JOIN workspaces w ON w.id = r.workspace_id
        WHERE NOT o.test GROUP BY 1, 2, 3
        UNION ALL
        SELECT c.workspace_id, (c.first_order_at AT TIME ZONE w.timezone)::date, s.currency,
               0, 0, 0, 0, 0, 0, 0, count(*)
        FROM shopify_customers c JOIN shopify_shops s ON s.id = c.shop_id
        JOIN workspaces w ON w.id = c.workspace_id
        WHERE c.first_order_at IS NOT NULL GROUP BY 1, 2, 3
    ) AS parts
    GROUP BY workspace_id, day, currency""",
)


def upgrade() -> None:
    op.create_table(
        "metric_daily_connection",
        *_tenant_keys("metric_daily_connection"),
        *_connection_key("metric_daily_connection"),
        *_ad_fact_columns(),
        sa.PrimaryKeyConstraint(
            "workspace_id", "day", "connection_id", name="pk_metric_daily_connection"
        ),
    )
    op.create_table(
        "metric_daily_campaign",
        *_tenant_keys("metric_daily_campaign"),
        *_connection_key("metric_daily_campaign"),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        *_ad_fact_columns(),
        sa.PrimaryKeyConstraint(
            "workspace_id", "day", "connection_id", "campaign_id", name="pk_metric_daily_campaign"
        ),
    )
    op.create_table(
        "store_daily",
        *_tenant_keys("store_daily"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        *(
            sa.Column(name, MONEY, nullable=False)
            for name in ("gross", "discounts", "shipping", "taxes", "cogs", "refunds")
        ),
        sa.Column("new_customers", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "day", "currency", name="pk_store_daily"),
    )
    op.drop_index("ix_shopify_refunds_workspace_id", table_name="shopify_refunds")
    op.create_index(
        "ix_shopify_refunds_workspace_id_created_at",
        "shopify_refunds",
        ["workspace_id", "created_at"],
    )
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_shopify_refunds_workspace_id_created_at", table_name="shopify_refunds")
    op.create_index("ix_shopify_refunds_workspace_id", "shopify_refunds", ["workspace_id"])
    op.drop_table("store_daily")
    op.drop_table("metric_daily_campaign")
    op.drop_table("metric_daily_connection")
