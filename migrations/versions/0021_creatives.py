"""Creatives

What ads show, as each platform keeps it (docs/design.md "Creatives", issue 19): `creatives`,
many ads to one through `entities.creative_id`.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "creatives",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("call_to_action", sa.String(length=64), nullable=True),
        sa.Column("video_id", sa.String(length=64), nullable=True),
        sa.Column("thumbnail", sa.String(length=64), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "format IN ('image', 'video', 'carousel', 'text', 'unknown')",
            name=op.f("ck_creatives_format"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_creatives_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_creatives_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creatives")),
        sa.UniqueConstraint(
            "connection_id", "external_id", name=op.f("uq_creatives_connection_id_external_id")
        ),
    )
    op.create_index(op.f("ix_creatives_workspace_id"), "creatives", ["workspace_id"])
    op.add_column("entities", sa.Column("creative_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_entities_creative_id_creatives"),
        "entities",
        "creatives",
        ["creative_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_entities_creative_id"), "entities", ["creative_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_entities_creative_id"), table_name="entities")
    op.drop_constraint(op.f("fk_entities_creative_id_creatives"), "entities", type_="foreignkey")
    op.drop_column("entities", "creative_id")
    op.drop_table("creatives")
