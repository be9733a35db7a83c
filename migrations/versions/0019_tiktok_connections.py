"""TikTok connections

TikTok Ads joins the platforms a workspace connects (metricx.platforms): the connections'
provider check admits it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 19:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "provider IN ('meta', 'google', 'shopify')"
AFTER = "provider IN ('meta', 'google', 'tiktok', 'shopify')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_connections_provider"), "connections", type_="check")
    op.create_check_constraint(op.f("ck_connections_provider"), "connections", AFTER)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_connections_provider"), "connections", type_="check")
    op.create_check_constraint(op.f("ck_connections_provider"), "connections", BEFORE)
