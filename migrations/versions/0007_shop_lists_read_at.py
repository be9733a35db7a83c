"""When a shop's products, customers and settings were last read

The 15-minute shop sync reads orders every time but the slower-moving lists at most every
ENTITY_REFRESH_MINUTES; this column remembers when they were last read.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "shopify_shops", sa.Column("lists_read_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("shopify_shops", "lists_read_at")
