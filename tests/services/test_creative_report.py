"""The Creatives page's reads on the synced sandbox merchant: each card's numbers against the
raw snapshot rows, metadata against the merchant's own creatives, filters, sorting, one
creative's detail, and tenants kept apart (a second workspace reading the same Meta account
sees only its own creatives)."""

from __future__ import annotations

import base64
from datetime import time, timedelta

import pandas as pd
import pytest
from sandbox_fixtures import FIRST, LAST, NOW, SECRETS
from sqlalchemy import select

from metricx.actor import Actor
from metricx.db import transaction
from metricx.errors import InvalidInputError
from metricx.models import Creative, Entity
from metricx.platforms import AD_PROVIDERS
from metricx.semantic.query import TimeRange
from metricx.services import creative_report
from metricx.services.connections import add_connection, list_connections
from metricx.services.creative_report import CreativeFilter, cards, detail, metadata
from metricx.services.creatives import creative_previews
from metricx.sync import thumbnails
from metricx.sync.pipeline import sync_connection

PERIOD = TimeRange(start=FIRST, end=LAST)
TODAY = NOW.date()


def creative_of_ads(workspace_id: int) -> dict[int, int | None]:
    """{ad entity id: its creative id}, straight from the table."""
    with transaction() as session:
        rows = session.execute(
            select(Entity.id, Entity.creative_id).where(
                Entity.workspace_id == workspace_id, Entity.level == "ad"
            )
        ).all()
    return dict(rows)


def reference_by_creative(workspace_id: int, reference) -> pd.DataFrame:
    """Spend, impressions and clicks per creative in PERIOD, summed from the raw rows."""
    ads = reference["ads"]
    ads = ads[(ads["day"] >= PERIOD.start) & (ads["day"] <= PERIOD.end)].copy()
    ads["creative_id"] = ads["ad_id"].map(creative_of_ads(workspace_id))
    ads = ads.dropna(subset=["creative_id"]).astype({"creative_id": "int64"})
    return ads.groupby("creative_id")[["spend", "impressions", "clicks"]].sum()


def test_cards_hold_each_creatives_sums_over_its_ads(synced):
    workspace_id, reference = synced
    # given the merchant's Meta ads synced, several sharing a creative
    expected = reference_by_creative(workspace_id, reference)
    # when the cards are read for the period
    table = cards(workspace_id, PERIOD, TODAY).set_index("creative_id")
    # then each creative's spend, impressions and CTR are its ads' sums
    ran = expected[(expected["impressions"] > 0) | (expected["spend"] > 0)]
    assert set(table.index) == set(ran.index) and len(table) > 1
    assert table["spend"].to_dict() == pytest.approx(ran["spend"].to_dict())
    assert table["impressions"].to_dict() == pytest.approx(ran["impressions"].to_dict())
    assert table["ctr"].to_dict() == pytest.approx((ran["clicks"] / ran["impressions"]).to_dict())
    # and the numbers of the cards are the engine's, column for column
    assert list(creative_report.CARD_METRICS) == [
        "spend",
        "roas",
        "cpa",
        "ctr",
        "thumb_stop_rate",
        "hold_rate",
    ]
    assert table[list(creative_report.CARD_METRICS)].notna().any().all()


def test_metadata_names_each_creatives_platform_campaigns_and_ads(synced, fakes):
    workspace_id, _ = synced
    merchant = fakes.merchant
    known = metadata(workspace_id).set_index("creative_id")
    linked = pd.Series(creative_of_ads(workspace_id)).dropna()
    # the Meta creatives are the merchant's, and each counts the ads using it
    sandbox_names = {
        c.name for a in merchant.accounts_of("meta") for c in merchant.creatives_of(a.external_id)
    }
    assert set(known[known["provider"] == "meta"]["name"]) == sandbox_names
    assert set(known["provider"]) <= set(AD_PROVIDERS)
    assert known["ads"].to_dict() == linked.value_counts().to_dict()
    assert all(ids and names for ids, names in known[["campaign_ids", "campaigns"]].values)
    # and the campaign choices are those campaigns
    choices = creative_report.campaigns_with_creatives(workspace_id)
    assert set(choices) == {i for ids in known["campaign_ids"] for i in ids}


def test_launch_is_the_first_day_with_impressions(synced):
    workspace_id, reference = synced
    ads = reference["ads"]
    ads = ads[ads["impressions"] > 0].copy()
    ads["creative_id"] = ads["ad_id"].map(creative_of_ads(workspace_id))
    first = ads.dropna(subset=["creative_id"]).groupby("creative_id")["day"].min()
    table = cards(workspace_id, PERIOD, TODAY).set_index("creative_id")
    assert table["launched"].to_dict() == {int(k): v for k, v in first.items()}


@pytest.mark.parametrize("creative_format", ["video", "image", "carousel"])
def test_a_format_filter_keeps_that_format_only(synced, creative_format):
    workspace_id, _ = synced
    every = cards(workspace_id, PERIOD, TODAY)
    some = cards(workspace_id, PERIOD, TODAY, CreativeFilter(formats=(creative_format,)))
    assert set(some["format"]) <= {creative_format}
    assert set(some["creative_id"]) == set(every[every["format"] == creative_format]["creative_id"])


def test_a_campaign_filter_counts_that_campaigns_ads_only(synced):
    workspace_id, reference = synced
    known = metadata(workspace_id)
    campaign_id = known["campaign_ids"].iloc[0][0]
    table = cards(workspace_id, PERIOD, TODAY, CreativeFilter(campaign_ids=(campaign_id,)))
    ads = reference["ads"]
    ads = ads[(ads["day"] >= PERIOD.start) & (ads["campaign_id"] == campaign_id)].copy()
    ads["creative_id"] = ads["ad_id"].map(creative_of_ads(workspace_id))
    spent = ads.dropna(subset=["creative_id"]).groupby("creative_id")["spend"].sum()
    assert table.set_index("creative_id")["spend"].to_dict() == pytest.approx(
        {int(k): v for k, v in spent.items() if v > 0}
    )


def test_a_platform_and_launch_filter(synced):
    workspace_id, _ = synced
    every = cards(workspace_id, PERIOD, TODAY)
    for provider in AD_PROVIDERS:
        some = cards(workspace_id, PERIOD, TODAY, CreativeFilter(providers=(provider,)))
        assert set(some["creative_id"]) == set(every[every["provider"] == provider]["creative_id"])
    launches = sorted(set(every["launched"]))
    cut = launches[len(launches) // 2]
    late = cards(workspace_id, PERIOD, TODAY, CreativeFilter(launched_from=cut))
    early = cards(workspace_id, PERIOD, TODAY, CreativeFilter(launched_until=cut - timedelta(1)))
    assert (late["launched"] >= cut).all() and (early["launched"] < cut).all()
    assert len(late) + len(early) == len(every)


@pytest.mark.parametrize("sort_by", creative_report.SORT_KEYS)
def test_cards_sort_by_any_number(synced, sort_by):
    workspace_id, _ = synced
    table = cards(workspace_id, PERIOD, TODAY, sort_by=sort_by, descending=False)
    values = table[sort_by].dropna().tolist()
    assert values == sorted(values)
    # creatives without that number come last
    assert table[sort_by].isna().tolist() == sorted(table[sort_by].isna().tolist())


def test_an_unknown_sort_or_format_is_refused(synced):
    workspace_id, _ = synced
    with pytest.raises(InvalidInputError, match="sort creatives by"):
        cards(workspace_id, PERIOD, TODAY, sort_by="frequency")
    with pytest.raises(InvalidInputError, match="unknown creative format"):
        cards(workspace_id, PERIOD, TODAY, CreativeFilter(formats=("gif",)))


def test_a_creatives_detail_lists_its_ads_trend_and_funnel(synced):
    workspace_id, _ = synced
    table = cards(workspace_id, PERIOD, TODAY)
    shared = table.sort_values("ads", ascending=False).iloc[0]
    # when the creative most ads share is opened
    shown = detail(workspace_id, int(shared["creative_id"]), PERIOD, TODAY)
    # then its ads are those pointing at it, their spend summing to the card's
    linked = {a for a, c in creative_of_ads(workspace_id).items() if c == shared["creative_id"]}
    assert set(shown.ads["id"]) == linked and len(linked) == shared["ads"]
    assert shown.ads["spend"].sum() == pytest.approx(shared["spend"])
    assert shown.card["spend"] == pytest.approx(shared["spend"])
    # its trend accumulates impressions week by week
    trend = shown.trend
    assert trend["week"].is_monotonic_increasing
    assert trend["cumulative_impressions"].iloc[-1] == pytest.approx(trend["impressions"].sum())
    # and its funnel has the five steps from 3-second plays to 100 % watched
    assert list(shown.funnel["step"]) == list(creative_report.FUNNEL_STEPS)
    plays = shown.funnel["plays"].tolist()
    assert plays == sorted(plays, reverse=True)


def test_comparing_takes_one_to_six_creatives(synced):
    workspace_id, _ = synced
    ids = cards(workspace_id, PERIOD, TODAY)["creative_id"].tolist()
    lines = creative_report.compared(workspace_id, ids[:2], "spend", PERIOD, "day")
    assert set(lines["creative_id"]) == set(ids[:2])
    assert len(lines) == 2 * PERIOD.days
    with pytest.raises(InvalidInputError, match="at most 6"):
        creative_report.compared(workspace_id, list(range(1, 8)), "spend", PERIOD)
    with pytest.raises(InvalidInputError, match="at least one"):
        creative_report.compared(workspace_id, [], "spend", PERIOD)


def test_another_workspace_sees_none_of_these_creatives(synced, other_workspace):
    workspace_id, _ = synced
    ours = metadata(workspace_id)
    # given the same Meta account connected and synced in another workspace
    meta = next(c for c in list_connections(workspace_id) if c.provider == "meta")
    theirs = add_connection(
        Actor.system(other_workspace.id), "meta", meta.external_account_id, SECRETS["meta"]
    )
    outcome = sync_connection(
        other_workspace.id, theirs.id, "range", start=FIRST, end=LAST, now=NOW
    )
    assert outcome.status == "success", outcome.error
    other = metadata(other_workspace.id)
    # then each workspace lists its own creatives only, under their own ids
    assert set(other["name"]) <= set(ours["name"]) and len(other)
    assert not set(other["creative_id"]) & set(ours["creative_id"])
    their_cards = cards(other_workspace.id, PERIOD, TODAY)
    assert set(their_cards["creative_id"]) <= set(other["creative_id"])
    # and no read of one workspace reaches a creative of the other
    ours_ids = ours["creative_id"].tolist()
    assert creative_previews(other_workspace.id, ours_ids) == {}
    assert (
        creative_report.campaigns_with_creatives(other_workspace.id)
        .keys()
        .isdisjoint(creative_report.campaigns_with_creatives(workspace_id))
    )
    with pytest.raises(InvalidInputError, match="no such creative"):
        detail(other_workspace.id, ours_ids[0], PERIOD, TODAY)
    assert creative_report.compared(other_workspace.id, ours_ids[:3], "spend", PERIOD).empty


def test_previews_are_data_uris_of_the_stored_images(synced):
    workspace_id, _ = synced
    with transaction() as session:
        digests = dict(
            session.execute(
                select(Creative.id, Creative.thumbnail).where(Creative.workspace_id == workspace_id)
            ).all()
        )
    # every creative whose preview the sync kept has it, as the stored bytes inline
    found = creative_previews(workspace_id, digests)
    assert set(found) == {i for i, digest in digests.items() if digest} and found
    for creative_id, uri in found.items():
        media, data = uri.split(",", 1)
        assert media.startswith("data:image/") and media.endswith(";base64")
        assert base64.b64decode(data) == thumbnails.read(digests[creative_id])


def test_a_day_cut_at_a_clock_time_names_what_it_leaves_empty(synced):
    workspace_id, _ = synced
    # given a period that stops at noon on its last day
    cut = TimeRange(start=LAST, end=LAST, until=time(12))
    table = cards(workspace_id, cut, TODAY)
    # then Meta's per-day figures (conversions, video plays) are not undercounted but named
    withheld = table.attrs["withheld"]
    assert {"cpa", "roas", "thumb_stop_rate"} <= set(withheld)
    meta = table[table["provider"] == "meta"]
    assert len(meta) and meta["cpa"].isna().all() and (meta["spend"] > 0).any()
