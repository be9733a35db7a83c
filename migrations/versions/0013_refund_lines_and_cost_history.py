"""Refund lines and variant cost history, for product refunds and COGS at the order's time

- shopify_refund_lines: what each refund gave back of each order line (quantity, and the
  line's refunded price after discounts, tax excluded: RefundLineItem.subtotalSet). line_id is
  null for a refunded line the order no longer lists. Refunds stored before carry no lines
  until their order is read again; a refund without lines is split over the order's lines by
  who reads them (metricx.semantic.products).
- shopify_variant_costs: each variant's unit cost from the moment the product sync saw it
  change. Shopify only knows the current cost; a line stored later (a backfilled order) takes
  the cost valid at its order's time from here.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=20, scale=6)


def upgrade() -> None:
    op.create_table(
        "shopify_refund_lines",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.BigInteger(), nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("subtotal", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["shopify_order_lines.id"],
            name=op.f("fk_shopify_refund_lines_line_id_shopify_order_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"],
            ["shopify_refunds.id"],
            name=op.f("fk_shopify_refund_lines_refund_id_shopify_refunds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_shopify_refund_lines_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_refund_lines")),
        sa.UniqueConstraint(
            "refund_id", "line_id", name=op.f("uq_shopify_refund_lines_refund_id_line_id")
        ),
    )
    op.create_index(
        op.f("ix_shopify_refund_lines_workspace_id"),
        "shopify_refund_lines",
        ["workspace_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_shopify_refund_lines_line_id"), "shopify_refund_lines", ["line_id"], unique=False
    )
    op.create_table(
        "shopify_variant_costs",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_cost", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["shopify_variants.id"],
            name=op.f("fk_shopify_variant_costs_variant_id_shopify_variants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_shopify_variant_costs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("variant_id", "valid_from", name=op.f("pk_shopify_variant_costs")),
    )
    op.create_index(
        op.f("ix_shopify_variant_costs_workspace_id"),
        "shopify_variant_costs",
        ["workspace_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("shopify_variant_costs")
    op.drop_table("shopify_refund_lines")
