"""Connection states for what the platforms say: upgrade_needed, misconfigured, blocked,
disconnected

- upgrade_needed: the API version we call is dead (Meta #2635, a sunset Google version);
- misconfigured: the app or account setup is wrong on the platform's side (Google developer
  token not approved, wrong login-customer-id, account not enabled);
- blocked: the platform refuses the account for now (Shopify 402/423/ACCESS_DENIED, Google
  ACCESS_PROHIBITED);
- disconnected: the merchant uninstalled the app (Shopify app/uninstalled).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("active", "needs_reauth", "error", "paused")
NEW = (*OLD, "upgrade_needed", "misconfigured", "blocked", "disconnected")


def _check(states: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in states) + ")"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_connections_status"), "connections", type_="check")
    op.create_check_constraint(op.f("ck_connections_status"), "connections", _check(NEW))


def downgrade() -> None:
    op.execute(
        "UPDATE connections SET status = 'error' WHERE status NOT IN "
        "('active', 'needs_reauth', 'error', 'paused')"
    )
    op.drop_constraint(op.f("ck_connections_status"), "connections", type_="check")
    op.create_check_constraint(op.f("ck_connections_status"), "connections", _check(OLD))
