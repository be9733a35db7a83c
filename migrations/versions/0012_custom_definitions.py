"""Custom metrics and dimensions per workspace, and the Dashboard's tiles per workspace

A custom metric is a formula over catalogue metrics; a custom dimension is a list of
when/then rules over names (metricx.semantic.custom). Both are stored as the query language
writes them, one row per (workspace, kind, key).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custom_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("definition", JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('metric', 'dimension')", name=op.f("ck_custom_definitions_kind")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_custom_definitions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_definitions")),
        sa.UniqueConstraint(
            "workspace_id", "kind", "key", name=op.f("uq_custom_definitions_workspace_id_kind_key")
        ),
    )
    op.add_column("workspaces", sa.Column("dashboard_tiles", JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("workspaces", "dashboard_tiles")
    op.drop_table("custom_definitions")
