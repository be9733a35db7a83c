"""Campaigns: node metrics equal the service's, a picked row drills down, switching level keeps
the context, parents are shown, empty states say the truth, every widget keeps each change,
and a link (?level=…&node=…) opens its node.

A row pick is what the browser sends for st.dataframe(on_select="rerun"): the table's
selection state, written here through at.session_state (AppTest cannot click a table row)."""

import json
from datetime import date

import pytest
from apptest import log_in, texts

from metricx.semantic.dates import resolve_phrase
from metricx.services import campaigns
from metricx.services.creatives import ad_previews
from ui import format as fmt
from ui.period import DEFAULT_PRESET

TODAY = date(2026, 11, 20)
PERIOD = resolve_phrase(DEFAULT_PRESET, TODAY)  # the app's default period on TODAY


@pytest.fixture
def open_campaigns(synced, member, monkeypatch):
    """Campaigns as `member` sees it on TODAY, opened at a URL with these query parameters."""
    monkeypatch.setattr("ui.period.today_in", lambda tz, now=None: TODAY)

    def open_page(**params):
        at = log_in(member.label, "battery staple")
        for key, value in params.items():
            at.query_params[key] = value
        at.switch_page("views/campaigns.py").run()
        assert not at.exception, at.exception
        return at

    return open_page


@pytest.fixture
def page(open_campaigns):
    return open_campaigns()


def rows(at):
    return at.dataframe[0].value


def pick(at, row: int):
    """Pick one row of the table, as a click on it does."""
    at.session_state["campaign_rows"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def marked(at) -> list[int]:
    """The rows marked as the trend's node (the mark's column is there only then)."""
    table = rows(at)
    return table[table["trend"] != ""]["id"].tolist() if "trend" in table else []


def view_of(at) -> tuple[str, list[str], str | None]:
    """The view the URL holds: level, within, node."""
    return (
        at.radio(key="level").value,
        list(at.multiselect(key="within").value),
        at.selectbox(key="node").value,
    )


def reference_spend(reference, column: str, value: int):
    """Spend per ad in PERIOD under one ancestor, from the raw snapshot rows."""
    ads = reference["ads"]
    ads = ads[(ads["day"] >= PERIOD.start) & (ads["day"] <= PERIOD.end) & (ads[column] == value)]
    return ads.groupby("ad_id")["spend"].sum()


def test_campaign_rows_carry_status_budget_and_metrics(synced, page):
    workspace_id, _ = synced
    table = rows(page)
    expected = campaigns.level_table(workspace_id, "campaign", PERIOD)
    assert list(table["name"]) == list(expected["name"])
    assert table["spend"].sum() == pytest.approx(expected["spend"].sum())
    assert expected["spend"].sum() > 0
    assert table["status"].notna().all()
    assert len(page.get("vega_lite_chart")) == 1


def test_picked_rows_drill_down_to_ad_sets_then_ads_then_an_ads_trend(synced, page):
    workspace_id, _ = synced
    tree = campaigns.tree(workspace_id)
    # Given the campaigns, when the first campaign's row is picked
    campaign = rows(page).iloc[0]
    pick(page, 0)
    # Then its ad sets are listed, each naming it, and the breadcrumb leads back
    assert view_of(page) == ("adset", [str(campaign["id"])], None)
    adsets = rows(page)
    assert set(adsets["id"]) == set(
        tree[(tree["level"] == "adset") & (tree["campaign_id"] == campaign["id"])]["id"]
    )
    assert (adsets["campaign"] == campaign["name"]).all()
    assert page.button(key="campaign_crumb_0").label == "All campaigns"
    assert f"**{campaign['name']}**" in [m.value for m in page.markdown]
    # When an ad set is picked: its ads
    adset = adsets.iloc[0]
    pick(page, 0)
    assert view_of(page) == ("ad", [str(adset["id"])], None)
    ads = rows(page)
    assert set(ads["id"]) == set(tree[tree["adset_id"] == adset["id"]]["id"])
    # When an ad that is not the first row is picked: its trend, the ad first and marked
    ad = ads.iloc[-1]
    pick(page, len(ads) - 1)
    assert view_of(page) == ("ad", [str(adset["id"])], str(ad["id"]))
    assert rows(page).iloc[0]["id"] == ad["id"] and marked(page) == [ad["id"]]
    assert f"“{ad['name']}”" in texts(page)
    # And "All campaigns" in the breadcrumb goes back to the top
    page.button(key="campaign_crumb_0").click().run()
    assert view_of(page) == ("campaign", [], None)
    assert set(rows(page)["id"]) == set(tree[tree["level"] == "campaign"]["id"])


def test_switching_from_ad_sets_to_ads_keeps_the_campaign(synced, page):
    _, reference = synced
    # Given the ad sets of one campaign
    campaign = rows(page).iloc[0]
    pick(page, 0)
    # When the level switches to ads
    page.button(key="campaign_level_ad").click().run()
    # Then the ads are those of that campaign, each with the spend of its raw rows
    assert view_of(page) == ("ad", [str(campaign["id"])], None)
    ads = rows(page).set_index("id")
    assert set(ads["campaign"]) == {campaign["name"]}
    expected = reference_spend(reference, "campaign_id", campaign["id"])
    assert set(expected.index) <= set(ads.index)
    assert ads.loc[expected.index, "spend"].tolist() == pytest.approx(expected.tolist())
    assert ads["spend"].sum() == pytest.approx(expected.sum())
    # When the level goes back up to campaigns: that campaign first, its trend shown
    page.button(key="campaign_level_campaign").click().run()
    level, _, node = view_of(page)
    assert (level, node) == ("campaign", str(campaign["id"]))
    assert rows(page).iloc[0]["id"] == campaign["id"]


def test_ads_show_their_campaign_and_ad_set(synced, page):
    _, reference = synced
    page.button(key="campaign_level_ad").click().run()
    ads = rows(page).set_index("id")
    raw = reference["ads"].drop_duplicates("ad_id").set_index("ad_id")
    assert ads.loc[raw.index, "campaign"].tolist() == raw["campaign"].tolist()
    assert ads.loc[raw.index, "adset"].tolist() == raw["adset"].tolist()
    columns = page.dataframe[0].proto.columns
    assert '"Campaign"' in columns and '"Ad set"' in columns


def test_ads_show_their_creative_s_preview_served_from_this_machine(synced, page):
    # given the synced workspace's Meta ads, whose creatives' previews the sync kept
    page.button(key="campaign_level_ad").click().run()
    ads = rows(page).set_index("id")
    previews = ad_previews(synced[0], ads.index)
    # then the Ads table has a Creative column holding each Meta ad's preview as data, never
    # a link to the platform
    assert previews and '"Creative"' in page.dataframe[0].proto.columns
    shown = ads.loc[list(previews), "preview"]
    assert shown.tolist() == list(previews.values())
    assert all(p.startswith("data:image/png;base64,") for p in shown)


def test_a_search_that_matches_nothing_says_so_and_can_be_cleared(page):
    # When a search matches no campaign
    page.text_input(key="search").input("no such campaign zzz").run()
    # Then the page says so, not that an ad account is missing
    shown = texts(page)
    assert "No campaign name contains “no such campaign zzz” — clear the search" in shown
    assert "connect" not in shown.lower() and not page.dataframe
    # And one click clears it
    page.button(key="campaign_clear_search").click().run()
    assert page.text_input(key="search").value == "" and len(rows(page)) > 0


def test_a_workspace_without_ad_accounts_says_to_connect_one(member, monkeypatch):
    monkeypatch.setattr("ui.period.today_in", lambda tz, now=None: TODAY)
    at = log_in(member.label, "battery staple")
    at.switch_page("views/campaigns.py").run()
    assert not at.exception, at.exception
    assert "No ad account is connected yet" in texts(at) and not at.dataframe


def test_a_period_without_spend_says_so_and_still_lists_the_campaigns(synced, member, monkeypatch):
    # Given a period after the synced days
    monkeypatch.setattr("ui.period.today_in", lambda tz, now=None: date(2026, 12, 20))
    at = log_in(member.label, "battery staple")
    at.switch_page("views/campaigns.py").run()
    assert not at.exception, at.exception
    # Then the page says nothing was spent then, and the campaigns are still listed
    assert "Nothing was spent on these campaigns in Dec 13 – 19, 2026" in texts(at)
    assert len(rows(at)) == len(campaigns.nodes(synced[0], "campaign"))
    assert "No spend for All ad accounts in Dec 13 – 19, 2026" in texts(at)
    assert not at.get("vega_lite_chart")


def test_every_widget_keeps_four_changes_in_a_row(synced, page):
    workspace_id, _ = synced
    names = list(rows(page)["name"])
    for term in [names[0][:3], names[-1][-3:], "zzz", names[0][1:4]]:
        page.text_input(key="search").input(term).run()
        assert page.text_input(key="search").value == term
        listed = list(rows(page)["name"]) if page.dataframe else []
        assert listed == [n for n in names if term.lower() in n.lower()]
    page.text_input(key="search").input("").run()
    for sort_by in ["cpa", "name", "roas", "ctr"]:
        page.selectbox(key="sort").select(sort_by).run()
        assert page.selectbox(key="sort").value == sort_by
        assert list(rows(page)["name"]) == list(
            campaigns.level_table(workspace_id, "campaign", PERIOD, sort_by=sort_by)["name"]
        )
    for order in ["ascending", "descending", "ascending", "descending"]:
        page.radio(key="order").set_value(order).run()
        assert page.radio(key="order").value == order
    for metric in ["roas", "cpa", "spend_roas", "ctr"]:
        page.selectbox(key="trend_metric").select(metric).run()
        assert page.selectbox(key="trend_metric").value == metric
    for level in ["ad", "adset", "account", "campaign"]:
        page.button(key=f"campaign_level_{level}").click().run()
        assert page.radio(key="level").value == level
        assert set(rows(page)["id"]) == set(campaigns.nodes(workspace_id, level)["id"])


def test_a_link_to_a_campaign_opens_it_first_with_its_trend(synced, open_campaigns):
    workspace_id, _ = synced
    # Given a link to the campaign that spent least
    expected = campaigns.level_table(workspace_id, "campaign", PERIOD)
    campaign = expected.iloc[-1]
    # When it is opened
    at = open_campaigns(level="campaign", node=str(campaign["id"]))
    # Then that campaign is the first row, marked, and the trend is its own
    assert view_of(at) == ("campaign", [], str(campaign["id"]))
    assert rows(at).iloc[0]["id"] == campaign["id"] and marked(at) == [campaign["id"]]
    assert set(rows(at)["id"]) == set(expected["id"])
    assert f"Campaign “{campaign['name']}”" in texts(at)
    assert len(at.get("vega_lite_chart")) == 1


def test_a_link_into_a_campaign_lists_its_ad_sets(synced, open_campaigns):
    workspace_id, _ = synced
    campaign = campaigns.nodes(workspace_id, "campaign").iloc[0]
    at = open_campaigns(level="adset", within=str(campaign["id"]))
    assert set(rows(at)["campaign"]) == {campaign["name"]}
    assert set(rows(at)["id"]) == set(
        campaigns.level_table(workspace_id, "adset", PERIOD, within=[int(campaign["id"])])["id"]
    )


def test_a_link_to_another_workspaces_node_shows_nothing_of_it(synced, open_campaigns):
    at = open_campaigns(level="ad", node="999999")
    assert "not in this workspace" in texts(at)
    assert view_of(at)[0] == "ad" and marked(at) == []


def y_axes(at) -> list[tuple[str, str]]:
    """(title, orient) of each y axis of the trend chart."""
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    return [
        (
            layer["encoding"]["y"]["title"],
            layer["encoding"]["y"].get("axis", {}).get("orient", "left"),
        )
        for layer in spec.get("layer") or spec.get("vconcat")
    ]


def test_the_trend_shows_spend_and_roas_on_two_axes_or_the_chosen_metric(page):
    assert y_axes(page) == [(f"{fmt.label('spend')} (USD)", "left"), (fmt.label("roas"), "right")]
    # When ROAS alone is chosen
    page.selectbox(key="trend_metric").select("roas").run()
    assert y_axes(page) == [(fmt.label("roas"), "left")]


def test_accounts_are_a_level_and_drill_into_their_campaigns(synced, page):
    workspace_id, _ = synced
    # When the account level is shown
    page.button(key="campaign_level_account").click().run()
    accounts = campaigns.nodes(workspace_id, "account")
    assert set(rows(page)["name"]) == set(accounts["name"])
    # And one account is picked
    account = rows(page).iloc[0]
    pick(page, 0)
    inside = campaigns.nodes(workspace_id, "campaign")
    assert view_of(page) == ("campaign", [str(account["id"])], None)
    assert set(rows(page)["name"]) == set(inside[inside["parent_id"] == account["id"]]["name"])
    assert set(rows(page)["account"]) == {account["name"]}


def test_money_is_formatted_in_the_workspace_currency_and_budgets_in_their_own(synced, page):
    columns = page.dataframe[0].proto.columns
    assert '"$%,.2f"' in columns and "Daily budget" in columns
    budgets = [b for b in rows(page)["budget"] if b]
    assert budgets and all(b[0] in "$€£" and b[-3] == "." for b in budgets)


def test_sort_by_a_metric_in_either_direction(synced, page):
    workspace_id, _ = synced
    # When the table is sorted by CPA, lowest first
    page.selectbox(key="sort").select("cpa").run()
    page.radio(key="order").set_value("ascending").run()
    # Then the rows come in the service's order for that sort
    expected = campaigns.level_table(
        workspace_id, "campaign", PERIOD, sort_by="cpa", descending=False
    )
    assert list(rows(page)["name"]) == list(expected["name"])
    cpa = rows(page)["cpa"].dropna().tolist()
    assert cpa == sorted(cpa)
