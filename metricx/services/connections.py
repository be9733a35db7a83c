"""Ad-platform and store connections as an admin manages them: add, rotate tokens, pause,
re-encrypt; the reads and token storage they build on are metricx.connection_store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from metricx import validation
from metricx.actor import Actor
from metricx.connection_store import (
    ConnectionView,
    check_token,
    find_connection,
    get_connection,
    list_connections,
    owned_connection,
    read_token,
    store_token,
)
from metricx.db import transaction
from metricx.delivery.outbox import SLACK_WEBHOOK_KIND
from metricx.errors import InvalidInputError
from metricx.models import CONNECTION_STATUSES, Connection, SlackWebhook, Token
from metricx.platforms import PROVIDERS, platform
from metricx.services import audit
from metricx.vault import Sealed, get_vault

# The reads pages and the CLI use live below the sync (metricx.connection_store); they are
# offered here too so a page imports one module for connections.
__all__ = [
    "ConnectionView",
    "add_connection",
    "find_connection",
    "get_connection",
    "list_connections",
    "normalise_account_id",
    "read_token",
    "rotate_keys",
    "rotate_token",
    "set_status",
]


def normalise_account_id(provider: str, raw: str) -> str:
    """The account id as the platform's API wants it, or a clear error."""
    value = validation.plain_text(raw, "the account id", 128)
    found = platform(provider)
    if found is None:
        raise InvalidInputError(f"provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    account = found.account_id(value)
    if account is None:
        raise InvalidInputError(f"{found.account_rule}, got {validation.quoted(raw)}")
    return account


def secret_kind(provider: str) -> str:
    """The token a connection to `provider` keeps: "refresh" (Google) or "access"."""
    found = platform(provider)
    return found.secret_kind if found else "access"


def add_connection(
    actor: Actor,
    provider: str,
    external_account_id: str,
    token: str,
    *,
    name: str | None = None,
    token_kind: str | None = None,
    settings: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
) -> ConnectionView:
    actor.require_admin("add connections")
    # Google connections keep a refresh token (access tokens last an hour); others an access one.
    token_kind = token_kind or secret_kind(provider)
    account = normalise_account_id(provider, external_account_id)
    secret = check_token(token)
    label = validation.name(name or f"{provider} {account}", "the connection name", 200)
    try:
        with transaction() as session:
            row = Connection(
                workspace_id=actor.workspace_id,
                provider=provider,
                external_account_id=account,
                name=label,
                status="active",
                settings=settings or {},
            )
            session.add(row)
            session.flush()
            store_token(session, row, secret, token_kind, expires_at)
            audit.record(session, actor, "connection.add", f"{provider}:{account}")
            return ConnectionView.of(row)
    except IntegrityError:
        raise InvalidInputError(
            f"this workspace already has a {provider} connection for {account}"
        ) from None


def rotate_token(
    actor: Actor,
    connection_id: int,
    token: str,
    *,
    kind: str | None = None,
    expires_at: datetime | None = None,
) -> None:
    """Replace a token (e.g. after re-authenticating) and make the connection active again."""
    actor.require_admin("rotate tokens")
    secret = check_token(token)
    with transaction() as session:
        row = owned_connection(session, actor.workspace_id, connection_id)
        kind = kind or secret_kind(row.provider)
        store_token(session, row, secret, kind, expires_at)
        if row.status == "needs_reauth":
            row.status, row.last_error = "active", None
        audit.record(session, actor, "connection.rotate_token", str(connection_id), kind=kind)


def set_status(actor: Actor, connection_id: int, status: str) -> None:
    """Pause or resume a connection (admins); syncs skip paused connections."""
    actor.require_admin("pause or resume connections")
    if status not in CONNECTION_STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(CONNECTION_STATUSES)}")
    with transaction() as session:
        row = owned_connection(session, actor.workspace_id, connection_id)
        row.status = status
        audit.record(session, actor, "connection.set_status", str(connection_id), status=status)


def rotate_keys() -> int:
    """Re-encrypt every token and Slack webhook not under the primary key; returns how many
    were rewritten."""
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
        # Slack webhooks are sealed per workspace (metricx.services.notifications).
        for hook in session.scalars(select(SlackWebhook).with_for_update()):
            sealed = Sealed(ciphertext=hook.ciphertext, nonce=hook.nonce, key_id=hook.key_id)
            if not vault.needs_rotation(sealed):
                continue
            plain = vault.open(sealed, connection_id=hook.workspace_id, kind=SLACK_WEBHOOK_KIND)
            fresh = vault.seal(plain, connection_id=hook.workspace_id, kind=SLACK_WEBHOOK_KIND)
            hook.ciphertext, hook.nonce, hook.key_id = fresh.ciphertext, fresh.nonce, fresh.key_id
            rewritten += 1
    return rewritten
