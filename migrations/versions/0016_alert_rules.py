"""Alert rules and what they fired

- alert_rules: per workspace (owner_id NULL) or per member (owner_id) a metric with filters
  and an optional split, a condition (above / below a threshold, rises_by / falls_by a
  percent against a baseline), the period it reads, its schedule, cool-down and channels;
- alert_events: one row per rule, evaluation window and split value that fired (unique, NULL
  split values equal: an evaluation run twice records its firing once).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("filters", JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("split", sa.String(length=40), nullable=True),
        sa.Column("condition", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("baseline", sa.String(length=16), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("schedule", sa.String(length=16), nullable=False),
        sa.Column("local_hour", sa.Integer(), nullable=True),
        sa.Column("cooldown_minutes", sa.Integer(), nullable=False),
        sa.Column("channels", JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "condition IN ('above', 'below', 'rises_by', 'falls_by')",
            name=op.f("ck_alert_rules_condition"),
        ),
        sa.CheckConstraint(
            "baseline IS NULL OR baseline IN ('previous_period', 'same_weekday')",
            name=op.f("ck_alert_rules_baseline"),
        ),
        sa.CheckConstraint(
            "period IN ('today', 'yesterday', 'last_7_days')", name=op.f("ck_alert_rules_period")
        ),
        sa.CheckConstraint(
            "schedule IN ('after_sync', 'hourly', 'daily')", name=op.f("ck_alert_rules_schedule")
        ),
        sa.CheckConstraint(
            "local_hour IS NULL OR local_hour BETWEEN 0 AND 23",
            name=op.f("ck_alert_rules_local_hour"),
        ),
        sa.CheckConstraint("cooldown_minutes >= 0", name=op.f("ck_alert_rules_cooldown_minutes")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_alert_rules_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_alert_rules_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_alert_rules_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
    )
    op.create_index(
        op.f("ix_alert_rules_workspace_id_next_run_at"),
        "alert_rules",
        ["workspace_id", "next_run_at"],
    )
    op.create_table(
        "alert_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("window_key", sa.String(length=32), nullable=False),
        sa.Column("split_value", sa.String(length=400), nullable=True),
        sa.Column("value", sa.Numeric(), nullable=False),
        sa.Column("reference", sa.Numeric(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        _timestamp("fired_at"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_alert_events_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_events_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
        sa.UniqueConstraint(
            "rule_id",
            "window_key",
            "split_value",
            name=op.f("uq_alert_events_rule_id_window_key_split_value"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        op.f("ix_alert_events_workspace_id_fired_at"), "alert_events", ["workspace_id", "fired_at"]
    )


def downgrade() -> None:
    op.drop_table("alert_events")
    op.drop_table("alert_rules")
