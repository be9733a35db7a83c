"""Pixel keys: the public key a storefront's snippet sends so the collector knows the workspace.

The key is not a secret (it sits in the store's pages), but it decides which workspace an
event lands in, so only an admin sees or rotates it, and rotating is audit logged.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import select

from metricx.actor import Actor
from metricx.db import new_session, transaction
from metricx.models import Workspace
from metricx.services import audit


def new_pixel_key() -> str:
    return secrets.token_urlsafe(24)


def pixel_key(actor: Actor) -> str:
    """The workspace's key, created (and audit logged) if it has none yet."""
    actor.require_admin("see the pixel key")
    with transaction() as session:
        # Row lock: two first calls at once must not hand out two different keys.
        workspace = session.get_one(Workspace, actor.workspace_id, with_for_update=True)
        if workspace.pixel_key is None:
            workspace.pixel_key = new_pixel_key()
            audit.record(
                session, actor, "pixel_key.create", workspace.name, ending=workspace.pixel_key[-4:]
            )
        return workspace.pixel_key


def rotate_pixel_key(actor: Actor) -> str:
    """A new key for the workspace; the old one stops being accepted (the collector's cache
    forgets it within a minute)."""
    actor.require_admin("rotate the pixel key")
    with transaction() as session:
        workspace = session.get_one(Workspace, actor.workspace_id, with_for_update=True)
        workspace.pixel_key = new_pixel_key()
        audit.record(
            session, actor, "pixel_key.rotate", workspace.name, ending=workspace.pixel_key[-4:]
        )
        return workspace.pixel_key


def workspaces_for_keys(keys: Iterable[str]) -> dict[str, int]:
    """{key: workspace id} for the keys that belong to a workspace (the collector's lookup;
    unknown keys are simply absent)."""
    wanted = list(set(keys))
    if not wanted:
        return {}
    with new_session() as session:
        rows = session.execute(
            select(Workspace.pixel_key, Workspace.id).where(Workspace.pixel_key.in_(wanted))
        )
        # the IN filter leaves out workspaces without a key
        return {key: workspace_id for key, workspace_id in rows if key is not None}
