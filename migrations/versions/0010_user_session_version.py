"""A session version per user: logins started under an older version are over

A login (the app's session and its signed cookie) carries the user's version from when it
began; logging out, a password change and a lockout bump it, which ends every open session
of that user and voids their login cookies.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("users", "session_version")
