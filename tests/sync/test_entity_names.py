"""Names as the platforms send them: what PostgreSQL cannot hold is dropped from a name, never
a reason to fail the sync (it would fail every sync of the account until the name changed)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from metricx.connectors.records import EntityRecord
from metricx.db import new_session, transaction
from metricx.models import Entity
from metricx.services.connections import add_connection
from metricx.sync.entities import upsert_entities


def ad(name: str) -> EntityRecord:
    return EntityRecord("ad", "ad-1", None, name, "ACTIVE", None, None)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("Black\x00 Friday", "Black Friday"),  # a NUL: PostgreSQL text cannot hold one
        ("Black Friday \ud83d", "Black Friday \ufffd"),  # half of an emoji's surrogate pair
        ("Video " + "x" * 500, ("Video " + "x" * 500)[:400]),  # beyond the column
        ("Summer | v2", "Summer | v2"),
    ],
)
def test_a_platform_name_is_stored_less_what_postgresql_cannot_hold(admin, sent, stored):
    # Given a Meta account, when its ad arrives with this name
    meta = add_connection(admin, "meta", "act_1", "tok")
    with transaction() as session:
        upsert_entities(session, admin.workspace_id, meta.id, [ad(sent)])
    # Then the sync's write succeeds, and the name is kept as far as it can be
    with new_session() as session:
        assert session.scalar(select(Entity.name).where(Entity.external_id == "ad-1")) == stored
