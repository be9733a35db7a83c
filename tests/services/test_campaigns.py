"""The campaign tree service on synced sandbox data: the account level, sorting, isolation,
ancestors at any depth, and moving through the tree (drill-down, level switch, breadcrumb)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pandas as pd
import pytest
from sqlalchemy import text

from metricx.db import get_engine
from metricx.errors import InvalidInputError
from metricx.semantic.engine import run_query
from metricx.semantic.query import TimeRange
from metricx.services import campaigns
from metricx.services.campaigns import Crumb, View

PERIOD = TimeRange(start=date(2026, 11, 8), end=date(2026, 11, 19))


def test_accounts_are_the_top_level_with_their_spend(synced):
    # When the account level of the synced workspace is read
    workspace_id, _ = synced
    table = campaigns.level_table(workspace_id, "account", PERIOD)
    # Then every ad account is a node, and its spend is the sum of its campaigns' spend
    assert len(table) == len(campaigns.nodes(workspace_id, "account")) >= 2
    by_campaign = campaigns.level_table(workspace_id, "campaign", PERIOD)
    for account in table.itertuples():
        children = by_campaign[by_campaign["parent_id"] == account.id]
        assert account.spend == pytest.approx(children["spend"].sum())
    assert table["spend"].sum() == pytest.approx(
        run_query(
            workspace_id, {"metrics": ["spend"], "time_range": PERIOD.model_dump(mode="json")}
        ).frame["spend"][0]
    )
    assert set(table["currency"]) >= {"EUR", "USD"}


def test_drilling_into_an_account_keeps_only_its_campaigns(synced):
    workspace_id, _ = synced
    account = campaigns.nodes(workspace_id, "account").iloc[0]
    inside = campaigns.level_table(workspace_id, "campaign", PERIOD, within=[int(account.id)])
    assert len(inside) > 0 and (inside["parent_id"] == account.id).all()


@pytest.mark.parametrize("sort_by", campaigns.SORT_KEYS)
@pytest.mark.parametrize("descending", [True, False])
def test_any_metric_sorts_both_ways_with_empty_values_last(synced, sort_by, descending):
    workspace_id, _ = synced
    table = campaigns.level_table(
        workspace_id, "adset", PERIOD, sort_by=sort_by, descending=descending
    )
    values = table[sort_by].dropna().tolist()
    assert values == sorted(values, reverse=descending)
    assert table[sort_by].isna().sum() == 0 or table[sort_by].iloc[-1:].isna().all()


def test_an_unknown_sort_key_or_level_is_a_clear_error(synced):
    workspace_id, _ = synced
    with pytest.raises(InvalidInputError, match="sort by one of"):
        campaigns.level_table(workspace_id, "campaign", PERIOD, sort_by="moon")
    with pytest.raises(InvalidInputError, match="level must be one of"):
        campaigns.nodes(workspace_id, "portfolio")


def test_another_workspace_sees_no_node_of_this_one(synced, other_workspace):
    for level in campaigns.LEVELS:
        assert campaigns.nodes(other_workspace.id, level).empty
        assert campaigns.level_table(other_workspace.id, level, PERIOD).empty


# --- the tree and moving through it --------------------------------------------------------


def reference_spend(reference, **ancestor) -> pd.Series:
    """Spend per ad in PERIOD under one ancestor (e.g. campaign_id=3), from the raw snapshot
    rows (the fixture's own FX conversion), not from the metric service."""
    ads = reference["ads"]
    ads = ads[(ads["day"] >= PERIOD.start) & (ads["day"] <= PERIOD.end)]
    ((column, value),) = ancestor.items()
    return ads[ads[column] == value].groupby("ad_id")["spend"].sum()


def test_within_a_campaign_the_ads_are_its_ads_at_any_depth(synced):
    # Given a campaign of the synced workspace
    workspace_id, reference = synced
    campaign = campaigns.nodes(workspace_id, "campaign").iloc[0]
    # When the ads inside it are asked for (two levels down)
    ads = campaigns.level_table(workspace_id, "ad", PERIOD, within=[int(campaign.id)])
    # Then they are exactly its ads, each with the spend its raw rows add up to
    expected = reference_spend(reference, campaign_id=campaign.id)
    with get_engine().connect() as conn:
        its_ads = set(
            conn.execute(
                text(
                    "SELECT ad.id FROM entities ad JOIN entities adset ON adset.id = ad.parent_id "
                    "WHERE adset.parent_id = :campaign"
                ),
                {"campaign": int(campaign.id)},
            ).scalars()
        )
    assert its_ads and set(ads["id"]) == its_ads
    spent = ads.set_index("id")["spend"]
    assert spent[spent > 0].to_dict() == pytest.approx(expected[expected > 0].to_dict())


def test_every_node_names_its_ancestors(synced):
    workspace_id, reference = synced
    tree = campaigns.tree(workspace_id).set_index("id")
    raw = reference["ads"].drop_duplicates("ad_id").set_index("ad_id")
    for ad_id, row in raw.iterrows():
        assert tree.loc[ad_id, ["adset_id", "adset", "campaign_id", "campaign"]].tolist() == [
            row["adset_id"],
            row["adset"],
            row["campaign_id"],
            row["campaign"],
        ]
    ads = campaigns.level_table(workspace_id, "ad", PERIOD)
    assert ads[["campaign", "adset"]].notna().all().all()


def test_a_trend_adds_up_to_its_nodes_spend(synced):
    workspace_id, _ = synced
    campaign = campaigns.level_table(workspace_id, "campaign", PERIOD).iloc[0]
    daily = campaigns.trend(workspace_id, [int(campaign.id)], PERIOD)
    assert daily["spend"].sum() == pytest.approx(campaign.spend)
    assert pd.api.types.is_datetime64_any_dtype(daily["day"])


@pytest.fixture
def family(synced):
    """One ad with its ad set, campaign and account, and the whole tree."""
    workspace_id, _ = synced
    tree = campaigns.tree(workspace_id)
    ad = tree[tree["level"] == "ad"].iloc[0]
    return tree, SimpleNamespace(
        ad=int(ad.id),
        adset=int(ad.adset_id),
        campaign=int(ad.campaign_id),
        account=int(ad.account_id),
        names=(ad.account, ad.campaign, ad.adset),
    )


def test_a_click_on_a_row_opens_its_children_and_on_an_ad_its_trend(family):
    tree, f = family
    assert campaigns.select_row(tree, View(), f.campaign) == View("adset", (f.campaign,))
    assert campaigns.select_row(tree, View("adset", (f.campaign,)), f.adset) == View(
        "ad", (f.adset,)
    )
    assert campaigns.select_row(tree, View("ad", (f.adset,)), f.ad) == View("ad", (f.adset,), f.ad)
    assert campaigns.select_row(tree, View("account"), f.account) == View("campaign", (f.account,))


def test_switching_level_keeps_the_context(family):
    tree, f = family
    # Down: from the ad sets of a campaign to its ads (not every ad)
    assert campaigns.switch_level(tree, View("adset", (f.campaign,)), "ad") == View(
        "ad", (f.campaign,)
    )
    # Down from a campaign shown as the trend's node: its ad sets
    assert campaigns.switch_level(
        tree, View("campaign", (f.account,), f.campaign), "adset"
    ) == View("adset", (f.campaign,))
    # Up: from an ad of an ad set to the ad sets of its campaign, that ad set in sight
    assert campaigns.switch_level(tree, View("ad", (f.adset,), f.ad), "adset") == View(
        "adset", (f.campaign,), f.adset
    )
    # Up: from the ad sets of a campaign to the campaigns of its account, that campaign in sight
    assert campaigns.switch_level(tree, View("adset", (f.campaign,)), "campaign") == View(
        "campaign", (f.account,), f.campaign
    )
    # To the top: the account the view was in
    assert campaigns.switch_level(tree, View("ad", (f.adset,)), "account") == View(
        "account", (), f.account
    )
    assert campaigns.switch_level(tree, View(), "campaign") == View()


def test_the_breadcrumb_leads_back_up(family):
    tree, f = family
    crumbs = campaigns.breadcrumb(tree, View("ad", (f.adset,), f.ad))
    assert [c.label for c in crumbs] == ["All campaigns", *f.names]
    assert [c.view for c in crumbs] == [
        View("campaign"),
        View("campaign", (f.account,)),
        View("adset", (f.campaign,)),
        View("ad", (f.adset,)),
    ]
    # Deeper than the children of the last node: the level says where the view is
    assert campaigns.breadcrumb(tree, View("ad", (f.campaign,)))[-1] == Crumb(
        "Ads", View("ad", (f.campaign,))
    )
    assert [c.label for c in campaigns.breadcrumb(tree, View("account"))] == ["All accounts"]


def test_ids_from_a_link_that_are_not_in_the_tree_are_left_out(family, other_workspace):
    tree, f = family
    assert campaigns.known(tree, View("ad", (f.adset, 99_999, f.ad), 99_999)) == View(
        "ad", (f.adset,)
    )
    assert campaigns.known(
        campaigns.tree(other_workspace.id), View("ad", (f.adset,), f.ad)
    ) == View("ad")


def test_connected_ad_accounts_counts_meta_and_google_only(synced, other_workspace):
    workspace_id, _ = synced
    accounts = campaigns.nodes(workspace_id, "account")
    assert campaigns.connected_ad_accounts(workspace_id) == len(accounts)
    assert campaigns.connected_ad_accounts(other_workspace.id) == 0
