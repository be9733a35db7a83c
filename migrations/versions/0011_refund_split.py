"""Refunds split into sales, shipping and tax; store money counted as Shopify counts it

- shopify_refunds: `sales`, `shipping`, `taxes`, what a refund gave back (the sync reads them
  from Refund.refundLineItems, refundShippingLines and orderAdjustments). Rows stored before
  are filled from what they hold: a refund that gave the whole order back takes the order's
  own split; any other keeps no shipping and its tax is estimated at the order's tax rate,
  until the order is read again (any change to it brings it back into the sync).
- shopify_orders: (workspace_id, cancelled_at) for the cancelled ones, which the store rollup
  reads by cancel day.
- store_daily is counted again for every workspace (metricx.sync.rollup.rebuild_store): a
  cancelled order is a sale on its day and a return on its cancel day, refunds leave net
  sales without their tax (docs/design.md, "Metric catalogue").

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.orm import Session

from metricx.sync import rollup

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=20, scale=6)
SPLIT = ("sales", "shipping", "taxes")
CANCELLED_INDEX = "ix_shopify_orders_workspace_id_cancelled_at"
BACKFILL = """
    UPDATE shopify_refunds r SET
        sales = CASE WHEN split.whole THEN split.net ELSE r.amount - split.tax END,
        shipping = CASE WHEN split.whole THEN split.shipping ELSE 0 END,
        taxes = CASE WHEN split.whole THEN split.taxes ELSE split.tax END
    FROM (
        SELECT refund.id, o.gross_sales - o.discounts AS net, o.shipping, o.taxes,
               refund.amount = o.gross_sales - o.discounts + o.shipping + o.taxes AS whole,
               coalesce(round(refund.amount * o.taxes
                              / nullif(o.gross_sales - o.discounts + o.taxes, 0), 2), 0) AS tax
        FROM shopify_refunds refund JOIN shopify_orders o ON o.id = refund.order_id
    ) AS split
    WHERE split.id = r.id"""


def upgrade() -> None:
    for column in SPLIT:
        op.add_column(
            "shopify_refunds", sa.Column(column, MONEY, nullable=False, server_default="0")
        )
        op.alter_column("shopify_refunds", column, server_default=None)
    op.create_index(
        CANCELLED_INDEX,
        "shopify_orders",
        ["workspace_id", "cancelled_at"],
        postgresql_where=sa.text("cancelled_at IS NOT NULL"),
    )
    op.execute(BACKFILL)
    session = Session(bind=op.get_bind())
    for workspace_id in session.scalars(sa.text("SELECT id FROM workspaces ORDER BY id")):
        rollup.rebuild_store(session, workspace_id)
    session.flush()


def downgrade() -> None:
    op.drop_index(CANCELLED_INDEX, table_name="shopify_orders")
    for column in SPLIT:
        op.drop_column("shopify_refunds", column)
    # store_daily as revision 0003 counted it (the code of that time keeps it so).
    op.execute("DELETE FROM store_daily")
    op.execute(context.script.get_revision("0003").module.BACKFILL[-1])
