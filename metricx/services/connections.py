"""Ad-platform and store connections, and their encrypted tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from metricx import validation
from metricx.actor import Actor
from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError, NotFoundError
from metricx.models import CONNECTION_STATUSES, PROVIDERS, Connection, Token
from metricx.services import audit
from metricx.vault import Sealed, get_vault


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
        return cls(id=row.id, workspace_id=row.workspace_id, provider=row.provider,
                   external_account_id=row.external_account_id, name=row.name,
                   status=row.status, currency=row.currency, timezone=row.timezone,
                   last_synced_at=row.last_synced_at, last_error=row.last_error,
                   settings=dict(row.settings or {}))


def normalise_account_id(provider: str, raw: str) -> str:
    """The account id as the platform's API wants it, or a clear error."""
    value = validation.plain_text(raw, "the account id", 128)
    if provider == "meta":
        value = value.removeprefix("act_")
        if not (value.isascii() and value.isdigit()):
            raise InvalidInputError("a Meta ad account id is digits (act_ optional), "
                                    f"got {validation.quoted(raw)}")
    elif provider == "google":
        value = value.replace("-", "")
        if not (value.isascii() and value.isdigit() and len(value) == 10):
            raise InvalidInputError("a Google Ads customer id has 10 digits (123-456-7890), "
                                    f"got {validation.quoted(raw)}")
    elif provider == "shopify":
        value = value.lower().removeprefix("https://").rstrip("/")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*\.myshopify\.com", value):
            raise InvalidInputError("a Shopify shop is like my-store.myshopify.com, "
                                    f"got {validation.quoted(raw)}")
    else:
        raise InvalidInputError(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    return value


def _check_token(token: str) -> str:
    cleaned = validation.plain_text(token, "the token", 4096)
    if not cleaned:
        raise InvalidInputError("the token is empty")
    if any(ch.isspace() for ch in cleaned):
        raise InvalidInputError("the token has spaces or is too long: paste it exactly")
    return cleaned


def _store_token(session: Session, connection: Connection, token: str, kind: str,
                 expires_at: datetime | None) -> None:
    sealed = get_vault().seal(token, connection_id=connection.id, kind=kind)
    row = session.scalar(select(Token).where(Token.connection_id == connection.id,
                                             Token.kind == kind))
    if row is None:
        row = Token(workspace_id=connection.workspace_id, connection_id=connection.id, kind=kind)
        session.add(row)
    else:
        row.rotated_at = datetime.now().astimezone()
    row.ciphertext, row.nonce, row.key_id = sealed.ciphertext, sealed.nonce, sealed.key_id
    row.expires_at = expires_at


def add_connection(actor: Actor, provider: str, external_account_id: str, token: str, *,
                   name: str | None = None, token_kind: str | None = None,
                   settings: dict[str, Any] | None = None,
                   expires_at: datetime | None = None) -> ConnectionView:
    actor.require_admin("add connections")
    # Google connections keep a refresh token (access tokens last an hour); others an access one.
    token_kind = token_kind or ("refresh" if provider == "google" else "access")
    account = normalise_account_id(provider, external_account_id)
    secret = _check_token(token)
    label = validation.name(name or f"{provider} {account}", "the connection name", 200)
    try:
        with transaction() as session:
            row = Connection(workspace_id=actor.workspace_id, provider=provider,
                             external_account_id=account, name=label, status="active",
                             settings=settings or {})
            session.add(row)
            session.flush()
            _store_token(session, row, secret, token_kind, expires_at)
            audit.record(session, actor, "connection.add", f"{provider}:{account}")
            return ConnectionView.of(row)
    except IntegrityError:
        raise InvalidInputError(
            f"this workspace already has a {provider} connection for {account}") from None


def _owned(session: Session, workspace_id: int, connection_id: int) -> Connection:
    row = session.scalar(select(Connection).where(Connection.id == connection_id,
                                                  Connection.workspace_id == workspace_id))
    if row is None:
        raise NotFoundError(f"no connection {connection_id} in this workspace")
    return row


def list_connections(workspace_id: int) -> list[ConnectionView]:
    with new_session() as session:
        rows = session.scalars(select(Connection).where(Connection.workspace_id == workspace_id)
                               .order_by(Connection.provider, Connection.name, Connection.id))
        return [ConnectionView.of(r) for r in rows]


def get_connection(workspace_id: int, connection_id: int) -> ConnectionView:
    with new_session() as session:
        return ConnectionView.of(_owned(session, workspace_id, connection_id))


def read_token(workspace_id: int, connection_id: int, kind: str = "access") -> str:
    """Decrypt a connection's token for a connector call (never logged, never shown)."""
    with new_session() as session:
        _owned(session, workspace_id, connection_id)
        row = session.scalar(select(Token).where(Token.connection_id == connection_id,
                                                 Token.kind == kind))
        if row is None:
            raise NotFoundError(f"connection {connection_id} has no {kind} token")
        sealed = Sealed(ciphertext=row.ciphertext, nonce=row.nonce, key_id=row.key_id)
    return get_vault().open(sealed, connection_id=connection_id, kind=kind)


@dataclass(frozen=True)
class StoredToken:
    """A decrypted token and when it stops working (None: it does not expire)."""

    secret: str
    expires_at: datetime | None


def read_stored_token(workspace_id: int, connection_id: int,
                      kind: str = "access") -> StoredToken | None:
    """A connection's token with its expiry, or None when it has no token of that kind
    (a connector that refreshes tokens needs both, and only some connections have a refresh
    token)."""
    with new_session() as session:
        _owned(session, workspace_id, connection_id)
        row = session.scalar(select(Token).where(Token.connection_id == connection_id,
                                                 Token.kind == kind))
        if row is None:
            return None
        sealed = Sealed(ciphertext=row.ciphertext, nonce=row.nonce, key_id=row.key_id)
        expires_at = row.expires_at
    return StoredToken(get_vault().open(sealed, connection_id=connection_id, kind=kind),
                       expires_at)


def store_token_pair(workspace_id: int, connection_id: int, access_token: str,
                     access_expires_at: datetime | None, refresh_token: str | None,
                     refresh_expires_at: datetime | None = None) -> None:
    """Save a refreshed access token and its rotated refresh token, encrypted, in one
    transaction: a refresh token is single use, so the pair is kept whole or not at all."""
    with transaction() as session:
        row = _owned(session, workspace_id, connection_id)
        _store_token(session, row, _check_token(access_token), "access", access_expires_at)
        if refresh_token:
            _store_token(session, row, _check_token(refresh_token), "refresh",
                         refresh_expires_at)


def rotate_token(actor: Actor, connection_id: int, token: str, *, kind: str | None = None,
                 expires_at: datetime | None = None) -> None:
    """Replace a token (e.g. after re-authenticating) and make the connection active again."""
    actor.require_admin("rotate tokens")
    secret = _check_token(token)
    with transaction() as session:
        row = _owned(session, actor.workspace_id, connection_id)
        kind = kind or ("refresh" if row.provider == "google" else "access")
        _store_token(session, row, secret, kind, expires_at)
        if row.status == "needs_reauth":
            row.status, row.last_error = "active", None
        audit.record(session, actor, "connection.rotate_token", str(connection_id), kind=kind)


def set_status(actor: Actor, connection_id: int, status: str) -> None:
    """Pause or resume a connection (admins); syncs skip paused connections."""
    actor.require_admin("pause or resume connections")
    if status not in CONNECTION_STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(CONNECTION_STATUSES)}")
    with transaction() as session:
        row = _owned(session, actor.workspace_id, connection_id)
        row.status = status
        audit.record(session, actor, "connection.set_status", str(connection_id), status=status)


def rotate_keys() -> int:
    """Re-encrypt every token not under the primary key; returns how many were rewritten."""
    vault = get_vault()
    rewritten = 0
    with transaction() as session:
        for row in session.scalars(select(Token).with_for_update()):
            sealed = Sealed(ciphertext=row.ciphertext, nonce=row.nonce, key_id=row.key_id)
            if not vault.needs_rotation(sealed):
                continue
            plain = vault.open(sealed, connection_id=row.connection_id, kind=row.kind)
            fresh = vault.seal(plain, connection_id=row.connection_id, kind=row.kind)
            row.ciphertext, row.nonce, row.key_id = fresh.ciphertext, fresh.nonce, fresh.key_id
            rewritten += 1
    return rewritten


def find_connection(connection_id: int) -> ConnectionView:
    """A connection by id across workspaces: for operators (CLI, workers) only, never pages."""
    with new_session() as session:
        row = session.get(Connection, connection_id)
        if row is None:
            raise NotFoundError(f"no connection {connection_id} (see `metricx connection list`)")
        return ConnectionView.of(row)
