"""Built-in monitors, digests, deliveries and the workspace's Slack webhook

- alert_rules.condition also takes 'anomalous' (against the seasonal baseline);
- alert_monitors: the built-in monitors of a workspace (one row per kind), on by default;
- alert_events: a firing is a rule's or a monitor's (exactly one); the unique key takes the
  monitor in, NULLs equal;
- digests: the daily and weekly summaries, each at a local hour, to its channels;
- deliveries: one message to one channel, unique by its dedupe key, with its attempts and
  outcome (the delivery log);
- slack_webhooks: the workspace's incoming-webhook URL, sealed like a token.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_workspace_id_workspaces"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.drop_constraint(op.f("ck_alert_rules_condition"), "alert_rules", type_="check")
    op.create_check_constraint(
        op.f("ck_alert_rules_condition"),
        "alert_rules",
        "condition IN ('above', 'below', 'rises_by', 'falls_by', 'anomalous')",
    )
    op.create_table(
        "alert_monitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("params", JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("channels", JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("cooldown_minutes", sa.Integer(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        _timestamp("created_at"),
        sa.CheckConstraint(
            "kind IN ('connection_broken', 'data_stale', 'pacing_over_budget', "
            "'spend_no_conversions', 'tracking_drop', 'utm_hygiene', 'api_version_eol')",
            name=op.f("ck_alert_monitors_kind"),
        ),
        sa.CheckConstraint(
            "cooldown_minutes >= 0", name=op.f("ck_alert_monitors_cooldown_minutes")
        ),
        _workspace_fk("alert_monitors"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_monitors")),
        sa.UniqueConstraint(
            "workspace_id", "kind", name=op.f("uq_alert_monitors_workspace_id_kind")
        ),
    )
    op.alter_column("alert_events", "rule_id", existing_type=sa.Integer(), nullable=True)
    op.add_column("alert_events", sa.Column("monitor_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_alert_events_monitor_id_alert_monitors"),
        "alert_events",
        "alert_monitors",
        ["monitor_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_check_constraint(
        op.f("ck_alert_events_one_source"),
        "alert_events",
        "(rule_id IS NULL) <> (monitor_id IS NULL)",
    )
    op.drop_constraint(
        op.f("uq_alert_events_rule_id_window_key_split_value"), "alert_events", type_="unique"
    )
    op.create_unique_constraint(
        op.f("uq_alert_events_rule_id_monitor_id_window_key_split_value"),
        "alert_events",
        ["rule_id", "monitor_id", "window_key", "split_value"],
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("local_hour", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("channels", JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        _timestamp("created_at"),
        sa.CheckConstraint("cadence IN ('daily', 'weekly')", name=op.f("ck_digests_cadence")),
        sa.CheckConstraint("local_hour BETWEEN 0 AND 23", name=op.f("ck_digests_local_hour")),
        sa.CheckConstraint(
            "(cadence = 'weekly') = (weekday IS NOT NULL) AND "
            "(weekday IS NULL OR weekday BETWEEN 0 AND 6)",
            name=op.f("ck_digests_weekday"),
        ),
        _workspace_fk("digests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint(
            "workspace_id", "cadence", name=op.f("uq_digests_workspace_id_cadence")
        ),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("payload", JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "source IN ('alert', 'digest', 'test')", name=op.f("ck_deliveries_source")
        ),
        sa.CheckConstraint("channel IN ('email', 'slack')", name=op.f("ck_deliveries_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_deliveries_status")
        ),
        _workspace_fk("deliveries"),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["alert_events.id"],
            name=op.f("fk_deliveries_event_id_alert_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_deliveries_digest_id_digests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_deliveries_dedupe_key")),
    )
    op.create_index(
        op.f("ix_deliveries_workspace_id_created_at"), "deliveries", ["workspace_id", "created_at"]
    )
    op.create_table(
        "slack_webhooks",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        _timestamp("updated_at"),
        _workspace_fk("slack_webhooks"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_slack_webhooks")),
    )


def downgrade() -> None:
    op.drop_table("slack_webhooks")
    op.drop_table("deliveries")
    op.drop_table("digests")
    op.execute("DELETE FROM alert_events WHERE monitor_id IS NOT NULL")
    op.drop_constraint(
        op.f("uq_alert_events_rule_id_monitor_id_window_key_split_value"),
        "alert_events",
        type_="unique",
    )
    op.create_unique_constraint(
        op.f("uq_alert_events_rule_id_window_key_split_value"),
        "alert_events",
        ["rule_id", "window_key", "split_value"],
        postgresql_nulls_not_distinct=True,
    )
    op.drop_constraint(op.f("ck_alert_events_one_source"), "alert_events", type_="check")
    op.drop_constraint(
        op.f("fk_alert_events_monitor_id_alert_monitors"), "alert_events", type_="foreignkey"
    )
    op.drop_column("alert_events", "monitor_id")
    op.alter_column("alert_events", "rule_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("alert_monitors")
    op.execute("DELETE FROM alert_rules WHERE condition = 'anomalous'")
    op.drop_constraint(op.f("ck_alert_rules_condition"), "alert_rules", type_="check")
    op.create_check_constraint(
        op.f("ck_alert_rules_condition"),
        "alert_rules",
        "condition IN ('above', 'below', 'rises_by', 'falls_by')",
    )
