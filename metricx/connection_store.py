"""Stored connections and their sealed tokens: the reads (and the token-refresh write) that
the sync below the services and the services themselves share.

`metricx.services.connections` builds the admin's actions (add, rotate, pause) on these;
`metricx.sync` reads through them directly, so the write side never imports the read side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from metricx import validation
from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError, NotFoundError
from metricx.models import Connection, Token
from metricx.vault import Sealed, get_vault

API_WARNINGS = "api_warnings"  # connection settings key: the platform's own version warnings


@dataclass(frozen=True)
class ConnectionView:
    """What pages and the CLI show of a connection (never its token)."""

    id: int
    workspace_id: int
    provider: str
    external_account_id: str
    name: str
    status: str
    currency: str | None
    timezone: str | None
    last_synced_at: datetime | None
    last_error: str | None
    settings: dict[str, Any]

    @classmethod
    def of(cls, row: Connection) -> ConnectionView:
        return cls(
            id=row.id,
            workspace_id=row.workspace_id,
            provider=row.provider,
            external_account_id=row.external_account_id,
            name=row.name,
            status=row.status,
            currency=row.currency,
            timezone=row.timezone,
            last_synced_at=row.last_synced_at,
            last_error=row.last_error,
            settings=dict(row.settings or {}),
        )


@dataclass(frozen=True)
class StoredToken:
    """A decrypted token and when it stops working (None: it does not expire)."""

    secret: str
    expires_at: datetime | None


def owned_connection(session: Session, workspace_id: int, connection_id: int) -> Connection:
    """The connection row, or NotFoundError when it is not this workspace's."""
    row = session.scalar(
        select(Connection).where(
            Connection.id == connection_id, Connection.workspace_id == workspace_id
        )
    )
    if row is None:
        raise NotFoundError(f"no connection {connection_id} in this workspace")
    return row


def remember_account(connection: ConnectionView, currency: str, timezone: str) -> None:
    """Keep the currency and time zone the platform reported for the connection's account."""
    with transaction() as session:
        session.execute(
            update(Connection)
            .where(
                Connection.id == connection.id, Connection.workspace_id == connection.workspace_id
            )
            .values(currency=currency, timezone=timezone)
        )


def merge_settings(session: Session, connection: ConnectionView, values: dict[str, Any]) -> None:
    """Set these keys of the connection's settings, in the database (jsonb ||): keys written
    meanwhile by another sync or an admin are kept, where a whole copy would undo them."""
    session.execute(
        update(Connection)
        .where(Connection.id == connection.id, Connection.workspace_id == connection.workspace_id)
        .values(settings=Connection.settings.op("||")(values))
    )


def list_connections(workspace_id: int) -> list[ConnectionView]:
    with new_session() as session:
        rows = session.scalars(
            select(Connection)
            .where(Connection.workspace_id == workspace_id)
            .order_by(Connection.provider, Connection.name, Connection.id)
        )
        return [ConnectionView.of(r) for r in rows]


def get_connection(workspace_id: int, connection_id: int) -> ConnectionView:
    with new_session() as session:
        return ConnectionView.of(owned_connection(session, workspace_id, connection_id))


def find_connection(connection_id: int) -> ConnectionView:
    """A connection by id across workspaces: for operators (CLI, workers) only, never pages."""
    with new_session() as session:
        row = session.get(Connection, connection_id)
        if row is None:
            raise NotFoundError(f"no connection {connection_id} (see `metricx connection list`)")
        return ConnectionView.of(row)


def _sealed_token(session: Session, connection_id: int, kind: str) -> Token | None:
    return session.scalar(
        select(Token).where(Token.connection_id == connection_id, Token.kind == kind)
    )


def read_stored_token(
    workspace_id: int, connection_id: int, kind: str = "access"
) -> StoredToken | None:
    """A connection's token with its expiry, or None when it has no token of that kind
    (a connector that refreshes tokens needs both, and only some connections have a refresh
    token)."""
    with new_session() as session:
        owned_connection(session, workspace_id, connection_id)
        row = _sealed_token(session, connection_id, kind)
        if row is None:
            return None
        sealed = Sealed(ciphertext=row.ciphertext, nonce=row.nonce, key_id=row.key_id)
        expires_at = row.expires_at
    return StoredToken(get_vault().open(sealed, connection_id=connection_id, kind=kind), expires_at)


def read_token(workspace_id: int, connection_id: int, kind: str = "access") -> str:
    """Decrypt a connection's token for a connector call (never logged, never shown)."""
    stored = read_stored_token(workspace_id, connection_id, kind)
    if stored is None:
        raise NotFoundError(f"connection {connection_id} has no {kind} token")
    return stored.secret


def check_token(token: str) -> str:
    """The token as pasted, or a clear error (empty, spaces, too long)."""
    cleaned = validation.plain_text(token, "the token", 4096)
    if not cleaned:
        raise InvalidInputError("the token is empty")
    if any(ch.isspace() for ch in cleaned):
        raise InvalidInputError("the token has spaces or is too long: paste it exactly")
    return cleaned


def store_token(
    session: Session, connection: Connection, token: str, kind: str, expires_at: datetime | None
) -> None:
    """Seal `token` for this connection and kind, replacing the one it had."""
    sealed = get_vault().seal(token, connection_id=connection.id, kind=kind)
    row = _sealed_token(session, connection.id, kind)
    if row is None:
        row = Token(workspace_id=connection.workspace_id, connection_id=connection.id, kind=kind)
        session.add(row)
    else:
        row.rotated_at = datetime.now().astimezone()
    row.ciphertext, row.nonce, row.key_id = sealed.ciphertext, sealed.nonce, sealed.key_id
    row.expires_at = expires_at


def store_token_pair(
    workspace_id: int,
    connection_id: int,
    access_token: str,
    access_expires_at: datetime | None,
    refresh_token: str | None,
    refresh_expires_at: datetime | None = None,
) -> None:
    """Save a refreshed access token and its rotated refresh token, encrypted, in one
    transaction: a refresh token is single use, so the pair is kept whole or not at all."""
    with transaction() as session:
        row = owned_connection(session, workspace_id, connection_id)
        store_token(session, row, check_token(access_token), "access", access_expires_at)
        if refresh_token:
            store_token(session, row, check_token(refresh_token), "refresh", refresh_expires_at)
