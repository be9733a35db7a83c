"""Google and TikTok creatives through the real connectors and the fake APIs: stored once per
creative, ads linked, previews (Google display images, TikTok video covers) downloaded once,
text creatives without one (docs/design.md "Creatives")."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from creative_rows import linked_ads, stored_creatives, sync_range
from sandbox_fixtures import NOW, SECRETS, SETTINGS
from sqlalchemy import select

from metricx.actor import Actor
from metricx.db import transaction
from metricx.models import Creative, Entity
from metricx.sandbox.ad_copy import RDA, google_ad_copy, tiktok_ad_copy
from metricx.services.connections import add_connection
from metricx.sync import thumbnails

# Where each fake serves its previews: Google's ad-image host, TikTok's cover CDN.
PREVIEW_PATHS = {"google": "/simgad/", "tiktok": "/covers/"}


def expected_google(merchant, account_id: str) -> dict[str, str]:
    """{ad id: creative external id}: a Google creative is the ad itself."""
    return {ad.external_id: ad.external_id for ad in merchant.ads_of(account_id)}


def expected_tiktok(merchant, account_id: str) -> dict[str, str]:
    """{ad id: creative external id}: the video, the Spark post, or the carousel's images."""
    out = {}
    for ad in merchant.ads_of(account_id):
        copy = tiktok_ad_copy(merchant, ad)
        if copy.video is not None:
            out[ad.external_id] = copy.video.video_id
        elif copy.tiktok_item_id is not None:
            out[ad.external_id] = copy.tiktok_item_id
        else:
            joined = ",".join(copy.image_ids).encode()
            out[ad.external_id] = "images-" + hashlib.sha256(joined).hexdigest()[:40]
    return out


def test_google_creatives_are_the_ads_with_display_images_kept(fakes, connections, store_dir):
    # given a Google customer with search and display ads
    connection = connections["google"]
    merchant = fakes.merchant
    account = connection.external_account_id
    # when it is synced
    sync_range(connection)
    # then every real ad points at its own creative; campaign-level leaves at none
    linked = linked_ads(connection.id)
    expected = expected_google(merchant, account)
    assert {ad: c for ad, c in linked.items() if c is not None} == expected
    assert all(c is None for ad, c in linked.items() if ad.startswith("c"))
    # and a display ad's creative holds its first marketing image as a PNG; a search ad's none
    creatives = stored_creatives(connection.id)
    assert set(creatives) == set(expected.values())
    formats = set()
    for ad in merchant.ads_of(account):
        copy, held = google_ad_copy(merchant, ad), creatives[ad.external_id]
        formats.add(held.format)
        if copy.ad_type == RDA:
            assert held.thumbnail is not None
            assert thumbnails.image_kind(thumbnails.read(held.thumbnail) or b"") == "png"
        else:
            assert (held.format, held.thumbnail) == ("text", None)
            assert held.title and held.body
    assert {"image", "text"} <= formats


def test_tiktok_ads_share_their_videos_creatives_with_covers_kept(fakes, connections, store_dir):
    # given a TikTok advertiser whose ads share videos, with Spark and carousel ads
    connection = connections["tiktok"]
    merchant = fakes.merchant
    account = connection.external_account_id
    # when it is synced
    sync_range(connection)
    # then each ad points at its video (or post, or images), each creative stored once
    expected = expected_tiktok(merchant, account)
    assert linked_ads(connection.id) == expected
    creatives = stored_creatives(connection.id)
    assert set(creatives) == set(expected.values())
    assert len(creatives) < len(expected)
    # and a library video's cover is kept; a Spark post or carousel has no preview
    for ad in merchant.ads_of(account):
        copy = tiktok_ad_copy(merchant, ad)
        held = creatives[expected[ad.external_id]]
        assert held.body == copy.ad_text and held.call_to_action == copy.call_to_action
        if copy.video is not None:
            assert (held.format, held.name, held.video_id) == (
                "video",
                copy.video.file_name,
                copy.video.video_id,
            )
            assert thumbnails.image_kind(thumbnails.read(held.thumbnail or "") or b"") == "png"
        else:
            assert held.thumbnail is None


@pytest.mark.parametrize("provider", ["google", "tiktok"])
def test_a_preview_is_downloaded_once(fakes, connections, store_dir, provider):
    # given the account synced, previews in
    connection = connections[provider]
    sync_range(connection)
    fetched = len(fakes.requests.of(provider, path=PREVIEW_PATHS[provider]))
    kept = {c.thumbnail for c in stored_creatives(connection.id).values()} - {None}
    # when it is synced again two hours later (the whole tree is read again)
    sync_range(connection, NOW + timedelta(hours=2))
    # then no preview was fetched again: one download per creative that has one
    assert fetched == len(kept) > 0
    assert len(fakes.requests.of(provider, path=PREVIEW_PATHS[provider])) == fetched


@pytest.mark.parametrize("provider", ["google", "tiktok"])
def test_two_workspaces_reading_one_account_keep_their_own_creatives(
    fakes, connections, other_workspace, store_dir, provider
):
    # given the same account connected in another workspace too
    ours = connections[provider]
    theirs = add_connection(
        Actor.system(other_workspace.id),
        provider,
        ours.external_account_id,
        SECRETS[provider],
        settings=SETTINGS.get(provider),
    )
    # when both are synced
    sync_range(ours)
    sync_range(theirs)
    # then each workspace holds its own creatives, and its ads point only at them
    mine, other = stored_creatives(ours.id), stored_creatives(theirs.id)
    assert mine and set(mine) == set(other)
    assert {c.workspace_id for c in mine.values()} == {ours.workspace_id}
    assert {c.workspace_id for c in other.values()} == {other_workspace.id}
    with transaction() as session:
        crossed = session.execute(
            select(Entity.id)
            .join(Creative, Creative.id == Entity.creative_id)
            .where(Entity.workspace_id != Creative.workspace_id)
        ).all()
    assert crossed == []
