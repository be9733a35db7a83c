"""UTM values → the workspace's campaigns, ad sets and ads.

The convention (docs/design.md): `utm_campaign` names the campaign, `utm_term` the ad set and
`utm_content` the ad, each by the platform's id or by name as the workspace's `utm_match`
says ("id", "name" or "id_or_name"). A visit maps to the finest level that matches and agrees
with the coarser ones (an ad whose campaign is not the tagged campaign is not a match). Names
are compared case- and space-insensitively; a name shared by several entities that nothing
else disambiguates maps to none of them rather than to a guess.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from metricx.models import Connection, Entity

#: utm parameter → the tree level it names, coarsest first.
UTM_LEVELS = (("utm_campaign", "campaign"), ("utm_term", "adset"), ("utm_content", "ad"))


@dataclass(frozen=True)
class Node:
    id: int
    level: str
    provider: str
    campaign_id: int | None  # a campaign's own id for a campaign


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


class EntityIndex:
    """Every ad-side entity of one workspace, findable by id or by name per level."""

    def __init__(self, nodes: list[tuple[Node, str, str]], utm_match: str) -> None:
        self.utm_match = utm_match
        self._keys: dict[tuple[str, str], list[Node]] = defaultdict(list)
        self.nodes: dict[int, Node] = {}
        for node, external_id, name in nodes:
            self.nodes[node.id] = node
            if utm_match in ("id", "id_or_name"):
                self._keys[(node.level, external_id)].append(node)
            if utm_match in ("name", "id_or_name"):
                self._keys[(node.level, _norm(name))].append(node)

    @classmethod
    def load(cls, session: Session, workspace_id: int, utm_match: str) -> EntityIndex:
        rows = session.execute(
            select(
                Entity.id,
                Entity.level,
                Entity.parent_id,
                Entity.external_id,
                Entity.name,
                Connection.provider,
            )
            .join(Connection, Connection.id == Entity.connection_id)
            .where(
                Entity.workspace_id == workspace_id,
                Connection.workspace_id == workspace_id,
                Entity.level != "account",
            )
        ).all()
        parent = {r.id: r.parent_id for r in rows}
        level = {r.id: r.level for r in rows}

        def campaign_of(entity_id: int | None) -> int | None:
            while entity_id is not None and level.get(entity_id) not in (None, "campaign"):
                entity_id = parent.get(entity_id)
            return entity_id if entity_id in level else None

        return cls(
            [
                (Node(r.id, r.level, r.provider, campaign_of(r.id)), r.external_id, r.name)
                for r in rows
            ],
            utm_match,
        )

    def _candidates(self, level: str, value: str | None, provider: str | None) -> list[Node]:
        if not value or not value.strip():
            return []
        found = {
            n.id: n
            for key in {value.strip(), _norm(value)}
            for n in self._keys.get((level, key), [])
        }
        return [n for n in found.values() if provider is None or n.provider == provider]

    def match(self, utms: dict[str, str | None], provider: str | None = None) -> int | None:
        """The entity id the visit's UTMs point at, or None."""
        best: int | None = None
        campaign: int | None = None
        for parameter, level in UTM_LEVELS:
            nodes = self._candidates(level, utms.get(parameter), provider)
            if campaign is not None:
                nodes = [n for n in nodes if n.campaign_id == campaign]
            if len(nodes) == 1:
                best = nodes[0].id
                campaign = nodes[0].campaign_id
        return best
