"""The cohort rollup: what each first-order day's customers did on each later day

- cohort_daily: per (workspace, local day of the customers' first order, local day of the
  event, currency) the store money of those customers' orders counted as the P&L counts it,
  their live orders, the customers themselves (on their first day), those whose second live
  order fell that day, and those active for the first time in an age of each unit (day, week,
  month). Maintained by metricx.sync.cohort_rollup in the writers' transactions; filled here
  for the data already stored.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=20, scale=6)
COUNTS = ("orders", "customers", "repeat_customers", "active_day", "active_week", "active_month")


def upgrade() -> None:
    op.create_table(
        "cohort_daily",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *(
            sa.Column(name, MONEY, nullable=False)
            for name in ("gross", "discounts", "refunds", "shipping", "taxes", "cogs")
        ),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_cohort_daily_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "first_day", "day", "currency", name=op.f("pk_cohort_daily")
        ),
    )
    # Imported here: the rollup's own statement fills it, the one the sync maintains it with.
    from metricx.sync import cohort_rollup

    bind = op.get_bind()
    for (workspace_id,) in bind.execute(sa.text("SELECT id FROM workspaces")).all():
        cohort_rollup.fill(bind, workspace_id)


def downgrade() -> None:
    op.drop_table("cohort_daily")
