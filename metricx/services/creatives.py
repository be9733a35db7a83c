"""Ads' creatives as the pages show them: the preview kept by the sync
(metricx/sync/thumbnails.py), served from this machine, never from the platform's CDN."""

from __future__ import annotations

import base64
from collections.abc import Iterable

from sqlalchemy import select

from metricx.db import new_session
from metricx.models import Creative, Entity
from metricx.sync import thumbnails


def ad_previews(workspace_id: int, ad_ids: Iterable[int]) -> dict[int, str]:
    """{ad entity id: its creative's preview as a data: URI} for the ads of the workspace
    among `ad_ids` whose creative has a stored preview (ads with the same name are told
    apart by it)."""
    wanted = [int(i) for i in ad_ids]
    if not wanted:
        return {}
    with new_session() as session:
        rows = session.execute(
            select(Entity.id, Creative.thumbnail)
            .join(Creative, Creative.id == Entity.creative_id)
            .where(
                Entity.workspace_id == workspace_id,
                Creative.workspace_id == workspace_id,
                Entity.id.in_(wanted),
                Creative.thumbnail.is_not(None),
            )
        ).all()
    return _as_data_uris(rows)


def creative_previews(workspace_id: int, creative_ids: Iterable[int]) -> dict[int, str]:
    """{creative id: its preview as a data: URI} for the workspace's creatives among
    `creative_ids` that have a stored preview."""
    wanted = [int(i) for i in creative_ids]
    if not wanted:
        return {}
    with new_session() as session:
        rows = session.execute(
            select(Creative.id, Creative.thumbnail).where(
                Creative.workspace_id == workspace_id,
                Creative.id.in_(wanted),
                Creative.thumbnail.is_not(None),
            )
        ).all()
    return _as_data_uris(rows)


def _as_data_uris(rows: Iterable[tuple[int, str | None]]) -> dict[int, str]:
    """{id: the stored preview of its digest as a data: URI}, leaving out digests whose file
    is missing or no image the store keeps."""
    out: dict[int, str] = {}
    for key, digest in rows:
        data = thumbnails.read(digest or "")
        media = thumbnails.media_type(data) if data else None
        if data and media:
            out[key] = f"data:{media};base64,{base64.b64encode(data).decode()}"
    return out
