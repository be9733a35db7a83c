"""Ads' creatives from a tree read: stored once per platform creative, ads linked to them,
their previews downloaded into the thumbnail store (docs/design.md "Creatives").

A creative keeps the preview it was first stored with: a signed link is fetched only for a
creative that has none yet, so a tree read costs no download once previews are in.
"""

from __future__ import annotations

from typing import Protocol, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert

from metricx.connection_store import ConnectionView
from metricx.connectors.records import CreativeRecord, EntityRecord
from metricx.db import transaction
from metricx.models import Creative, Entity
from metricx.sync import thumbnails
from metricx.sync.runs import connection_writes
from metricx.validation import storable_text


class Download(Protocol):
    """Fetches a file from a platform's CDN: bytes, or None
    (metricx.connectors.http.BaseClient.download)."""

    def __call__(self, url: str, *, max_bytes: int) -> bytes | None: ...


NAME_LENGTH = 400


def sync_creatives(
    connection: ConnectionView, entities: list[EntityRecord], download: Download
) -> int:
    """Store the creatives of the ads in `entities` and link the ads to them; returns how
    many creatives were written. Ads must be stored already (the sync writes them first)."""
    used = {
        e.external_id: e.creative for e in entities if e.level == "ad" and e.creative is not None
    }
    creatives = {c.external_id: c for c in used.values()}
    if not creatives:
        return 0
    previews = _previews(connection, creatives, download)
    with connection_writes(connection.id) as session:
        rows = [
            {
                "workspace_id": connection.workspace_id,
                "connection_id": connection.id,
                "external_id": c.external_id,
                "name": storable_text(c.name, NAME_LENGTH),
                "format": c.format,
                "title": c.title and storable_text(c.title, 4000),
                "body": c.body and storable_text(c.body, 4000),
                "call_to_action": c.call_to_action and c.call_to_action[:64],
                "video_id": c.video_id and c.video_id[:64],
                "thumbnail": previews.get(c.external_id),
            }
            for c in creatives.values()
        ]
        statement = insert(Creative).values(rows)
        written = session.execute(
            statement.on_conflict_do_update(
                index_elements=["connection_id", "external_id"],
                set_={
                    **{
                        column: statement.excluded[column]
                        for column in ("name", "format", "title", "body", "call_to_action")
                    },
                    "video_id": statement.excluded.video_id,
                    "thumbnail": func.coalesce(Creative.thumbnail, statement.excluded.thumbnail),
                    "updated_at": func.now(),
                },
            ).returning(Creative.id, Creative.external_id)
        ).all()
        ids = {external: pk for pk, external in written}
        table = cast(Table, Entity.__table__)  # Core executemany: the ORM's wants primary keys
        session.connection().execute(
            update(table)
            .where(
                table.c.connection_id == connection.id,
                table.c.level == "ad",
                table.c.external_id == bindparam("ad"),
            )
            .values(creative_id=bindparam("creative")),
            [{"ad": ad, "creative": ids[c.external_id]} for ad, c in used.items()],
        )
    return len(rows)


def _previews(
    connection: ConnectionView, creatives: dict[str, CreativeRecord], download: Download
) -> dict[str, str]:
    """{creative external id: preview digest} for the creatives that have no stored preview
    yet and whose preview could be fetched and kept."""
    with transaction() as session:
        have = set(
            session.scalars(
                select(Creative.external_id).where(
                    Creative.connection_id == connection.id,
                    Creative.workspace_id == connection.workspace_id,
                    Creative.thumbnail.is_not(None),
                )
            )
        )
    out: dict[str, str] = {}
    wanted = [(e, c.thumbnail_url) for e, c in creatives.items() if e not in have]
    if not any(url for _, url in wanted):
        return out
    room = thumbnails.capacity_bytes() - thumbnails.used_bytes()
    for external_id, url in wanted:
        if not url or room <= 0:
            continue
        data = download(url, max_bytes=thumbnails.MAX_BYTES)
        digest = thumbnails.store(data, room) if data else None
        if digest is not None:
            out[external_id] = digest
            room -= len(data or b"")
    return out


def prune_previews() -> int:
    """Remove the stored previews no creative of any workspace names (a deleted connection's
    or workspace's): the store is one per machine, keyed by content. Returns how many."""
    with transaction() as session:
        named = {
            digest for digest in session.scalars(select(Creative.thumbnail)) if digest is not None
        }
    return thumbnails.prune(named)
