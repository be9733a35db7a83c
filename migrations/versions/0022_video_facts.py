"""Video facts

Eight additive video facts on every ad fact table (docs/design.md "Creatives", issue 19):
plays started, 3-second plays, ThruPlays, plays reaching 25/50/75/100 % and seconds watched. A constant
default makes adding them instant on PostgreSQL 11+ (no table rewrite), and every existing row
had no video plays.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACT_TABLES = (
    "metric_snapshots",
    "metric_daily",
    "metric_daily_connection",
    "metric_daily_campaign",
)
PLAYS = (
    "video_plays",
    "video_3s_plays",
    "thruplays",
    "video_p25",
    "video_p50",
    "video_p75",
    "video_p100",
)


def upgrade() -> None:
    for table in FACT_TABLES:
        for name in PLAYS:
            op.add_column(
                table, sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)
            )
        op.add_column(
            table,
            sa.Column(
                "video_seconds",
                sa.Numeric(precision=20, scale=6),
                server_default="0",
                nullable=False,
            ),
        )


def downgrade() -> None:
    for table in FACT_TABLES:
        for name in (*PLAYS, "video_seconds"):
            op.drop_column(table, name)
