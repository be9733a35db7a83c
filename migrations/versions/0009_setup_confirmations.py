"""When an admin reviewed the cost settings and confirmed zone and currency

Every cost setting defaults to 0 and every workspace to a guessed zone and currency, and 0 is
also a real answer (no handling fee), so the setup checklist cannot tell "reviewed" from the
values: these columns record that an admin saved them. Cost settings with any amount already
entered were evidently reviewed and are marked so.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "cost_settings", sa.Column("costs_reviewed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "workspaces", sa.Column("settings_confirmed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE cost_settings SET costs_reviewed_at = now() WHERE "
        "shipping_cost_per_order <> 0 OR shipping_cost_pct <> 0 OR payment_fee_pct <> 0 "
        "OR payment_fee_fixed <> 0 OR handling_per_order <> 0"
    )


def downgrade() -> None:
    op.drop_column("workspaces", "settings_confirmed_at")
    op.drop_column("cost_settings", "costs_reviewed_at")
