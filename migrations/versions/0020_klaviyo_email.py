"""Klaviyo: email connections, their campaigns and flows, and their daily sends

Klaviyo joins the platforms a workspace connects (metricx.platforms, kind "email"). Its
campaigns and flows are `email_messages`; what each sent on a local day, per channel, with
the orders and revenue Klaviyo attributes to those sends, is `email_daily`.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "provider IN ('meta', 'google', 'tiktok', 'shopify')"
AFTER = "provider IN ('meta', 'google', 'tiktok', 'shopify', 'klaviyo')"
MONEY = sa.Numeric(20, 6)


def upgrade() -> None:
    op.drop_constraint(op.f("ck_connections_provider"), "connections", type_="check")
    op.create_check_constraint(op.f("ck_connections_provider"), "connections", AFTER)
    op.create_table(
        "email_messages",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("platform_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("send_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('campaign', 'flow')", name=op.f("ck_email_messages_kind")),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_email_messages_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_email_messages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_messages")),
        sa.UniqueConstraint(
            "connection_id",
            "kind",
            "external_id",
            name=op.f("uq_email_messages_connection_id_kind_external_id"),
        ),
    )
    op.create_index(
        op.f("ix_email_messages_workspace_id"), "email_messages", ["workspace_id"], unique=False
    )
    op.create_table(
        "email_daily",
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("recipients", sa.BigInteger(), nullable=False),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("opens", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("conversion_value", MONEY, nullable=False),
        sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f("ck_email_daily_channel")),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_email_daily_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["email_messages.id"],
            name=op.f("fk_email_daily_message_id_email_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_email_daily_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", "day", "channel", name=op.f("pk_email_daily")),
    )
    op.create_index(op.f("ix_email_daily_workspace_id_day"), "email_daily", ["workspace_id", "day"])
    op.create_index(
        op.f("ix_email_daily_connection_id_day"), "email_daily", ["connection_id", "day"]
    )


def downgrade() -> None:
    op.drop_table("email_daily")
    op.drop_table("email_messages")
    op.drop_constraint(op.f("ck_connections_provider"), "connections", type_="check")
    op.create_check_constraint(op.f("ck_connections_provider"), "connections", BEFORE)
