"""Pixel events by time

The built-in tracking monitor counts a workspace's pixel events over hours of the last
weeks every 15 minutes (the pixel going silent, purchases against page views); the only
index led with the visitor.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 17:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_pixel_events_workspace_id_occurred_at"),
        "pixel_events",
        ["workspace_id", "occurred_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pixel_events_workspace_id_occurred_at"), table_name="pixel_events")
