"""Workspaces: the tenants. Everything else hangs off one."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from metricx import validation
from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError, NotFoundError
from metricx.models import CostSettings
from metricx.models import Workspace as Workspace  # the type pages get, named here for them
from metricx.services.pixel_keys import new_pixel_key

NAME_LENGTH = 120  # workspaces.name


def create_workspace(name: str, timezone: str = "UTC", currency: str = "USD") -> Workspace:
    workspace = Workspace(
        name=validation.name(name, "the workspace name", NAME_LENGTH),
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
        raise InvalidInputError(
            f"a workspace named {validation.quoted(workspace.name)} already exists"
        ) from None
    return workspace


def find_workspace(ref: str | int) -> Workspace:
    """A workspace by id or by name (what `--workspace` takes)."""
    text = validation.plain_text(str(ref), "the workspace name or id", NAME_LENGTH)
    is_id = text.isascii() and text.isdigit() and int(text) <= validation.MAX_INT
    with new_session() as session:
        workspace = session.get(Workspace, int(text)) if is_id else None
        if workspace is None:
            workspace = session.scalar(select(Workspace).where(Workspace.name == text))
        if workspace is None:
            raise NotFoundError(
                f"no workspace {validation.quoted(text)} (see `metricx workspace list`)"
            )
        return workspace


def list_workspaces() -> list[Workspace]:
    with new_session() as session:
        return list(session.scalars(select(Workspace).order_by(Workspace.id)))


def count_workspaces() -> int:
    with new_session() as session:
        return session.scalar(select(func.count()).select_from(Workspace)) or 0
