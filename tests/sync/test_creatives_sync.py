"""Ads' creatives through the real Meta connector and the fake Graph API: stored once per
creative, ads linked, previews downloaded into the thumbnail store (docs/design.md
"Creatives")."""

from __future__ import annotations

from datetime import timedelta

from creative_rows import linked_ads, stored_creatives, sync_range
from sandbox_fixtures import NOW, SECRETS
from sqlalchemy import select

from metricx.actor import Actor
from metricx.db import transaction
from metricx.jobs import prune_thumbnails
from metricx.models import Creative, Entity
from metricx.services.connections import add_connection
from metricx.sync import thumbnails


def test_a_tree_read_stores_each_creative_once_and_links_its_ads(fakes, connections, store_dir):
    # given a Meta account whose ads share creatives
    connection = connections["meta"]
    merchant = fakes.merchant
    ads = merchant.ads_of(connection.external_account_id)
    # when it is synced
    sync_range(connection)
    # then every ad points at its own creative, and each creative is stored once
    expected = {ad.external_id: merchant.creative_of(ad.external_id).external_id for ad in ads}
    assert linked_ads(connection.id) == expected
    creatives = stored_creatives(connection.id)
    assert set(creatives) == set(expected.values())
    assert len(creatives) < len(ads)
    for creative in merchant.creatives_of(connection.external_account_id):
        held = creatives[creative.external_id]
        assert (held.name, held.format, held.title) == (
            creative.name,
            creative.format,
            creative.title,
        )
        # and its preview is a 600 px PNG kept in the store, not a link
        assert held.thumbnail is not None
        assert thumbnails.image_kind(thumbnails.read(held.thumbnail) or b"") == "png"


def test_a_preview_is_downloaded_once(fakes, connections, store_dir):
    # given the account synced, previews in
    connection = connections["meta"]
    sync_range(connection)
    fetched = len(fakes.requests.of("meta", path="/thumbnails/"))
    # when it is synced again (the whole tree is read again)
    sync_range(connection, NOW + timedelta(hours=2))
    # then no preview was fetched again
    assert fetched > 0
    assert len(fakes.requests.of("meta", path="/thumbnails/")) == fetched


def test_a_preview_that_cannot_be_had_leaves_the_creative_without_one(
    fakes, connections, store_dir, monkeypatch
):
    # given previews the CDN refuses (an expired or tampered link answers 403)
    connection = connections["meta"]
    monkeypatch.setattr(
        "metricx.connectors.http.BaseClient.download", lambda self, url, *, max_bytes: None
    )
    # when the account is synced
    sync_range(connection)
    # then the creatives and links are stored all the same, without previews
    creatives = stored_creatives(connection.id)
    assert creatives and all(c.thumbnail is None for c in creatives.values())
    assert None not in linked_ads(connection.id).values()


def test_two_workspaces_reading_one_account_keep_their_own_creatives(
    fakes, connections, other_workspace, store_dir
):
    # given the same Meta account connected in another workspace too
    ours = connections["meta"]
    theirs = add_connection(
        Actor.system(other_workspace.id), "meta", ours.external_account_id, SECRETS["meta"]
    )
    # when both are synced
    sync_range(ours)
    sync_range(theirs)
    # then each workspace holds its own creatives, and its ads point only at them
    mine, other = stored_creatives(ours.id), stored_creatives(theirs.id)
    assert set(mine) == set(other)
    assert {c.workspace_id for c in mine.values()} == {ours.workspace_id}
    assert {c.workspace_id for c in other.values()} == {other_workspace.id}
    with transaction() as session:
        crossed = session.execute(
            select(Entity.id)
            .join(Creative, Creative.id == Entity.creative_id)
            .where(Entity.workspace_id != Creative.workspace_id)
        ).all()
    assert crossed == []


def test_a_full_store_keeps_no_new_preview_but_every_creative(
    fakes, connections, store_dir, setenv
):
    # given a thumbnail store already at its cap
    setenv(METRICX_DATA_DIR=str(store_dir), THUMBNAIL_STORE_MB="1")
    filler = store_dir / "thumbnails" / "00" / ("0" * 64)
    filler.parent.mkdir(parents=True)
    filler.write_bytes(b"\0" * thumbnails.capacity_bytes())
    connection = connections["meta"]
    # when the account is synced
    sync_range(connection)
    # then nothing was downloaded or kept, and the creatives are stored without previews
    assert not fakes.requests.of("meta", path="/thumbnails/")
    creatives = stored_creatives(connection.id)
    assert creatives and all(c.thumbnail is None for c in creatives.values())


def test_the_nightly_clean_up_removes_only_previews_no_creative_uses(fakes, connections, store_dir):
    # given synced creatives with previews, and a preview left by a deleted connection
    connection = connections["meta"]
    sync_range(connection)
    used = {c.thumbnail for c in stored_creatives(connection.id).values()} - {None}
    orphan = store_dir / "thumbnails" / "ab" / ("ab" * 32)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"\x89PNG\r\n\x1a\n")
    # when the nightly job runs
    removed = prune_thumbnails()
    # then the orphan is gone and every creative's preview is still served
    assert removed == 1 and not orphan.exists()
    assert used and all(thumbnails.read(d) is not None for d in used)
