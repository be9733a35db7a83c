"""Workspaces: the tenants. Everything else hangs off one."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from metricx import validation
from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError, NotFoundError
from metricx.models import CostSettings, Workspace
from metricx.services.pixel_keys import new_pixel_key


def create_workspace(name: str, timezone: str = "UTC", currency: str = "USD") -> Workspace:
    workspace = Workspace(
        name=validation.name(name, "workspace name"),
        timezone=validation.timezone_name(timezone),
        currency=validation.currency_code(currency),
        pixel_key=new_pixel_key(),
    )
    try:
        with transaction() as session:
            session.add(workspace)
            session.flush()
            session.add(CostSettings(workspace_id=workspace.id))
    except IntegrityError:
        raise InvalidInputError(f"a workspace named {workspace.name!r} already exists") from None
    return workspace


def find_workspace(ref: str | int) -> Workspace:
    """A workspace by id or by name (what `--workspace` takes)."""
    with new_session() as session:
        text = str(ref).strip()
        workspace = session.get(Workspace, int(text)) if text.isdigit() else None
        if workspace is None:
            workspace = session.scalar(select(Workspace).where(Workspace.name == text))
        if workspace is None:
            raise NotFoundError(f"no workspace {text!r} (see `metricx workspace list`)")
        return workspace


def list_workspaces() -> list[Workspace]:
    with new_session() as session:
        return list(session.scalars(select(Workspace).order_by(Workspace.id)))


def count_workspaces() -> int:
    with new_session() as session:
        return session.scalar(select(func.count()).select_from(Workspace)) or 0
