"""Campaigns: node metrics equal the service's, drill-down keeps the children, search works."""

from datetime import date

import pytest
from apptest import log_in

from metricx.semantic.dates import resolve_phrase
from metricx.services import campaigns

TODAY = date(2026, 11, 20)


@pytest.fixture
def page(synced, member, monkeypatch):
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: TODAY)
    at = log_in(member.label, "battery staple")
    at.switch_page("pages/campaigns.py").run()
    assert not at.exception, at.exception
    return at


def test_campaign_rows_carry_status_budget_and_metrics(synced, page):
    workspace_id, _ = synced
    table = page.dataframe[0].value
    expected = campaigns.level_table(workspace_id, "campaign",
                                     resolve_phrase("last 30 days", TODAY))
    assert list(table["name"]) == list(expected["name"])
    assert table["spend"].sum() == pytest.approx(expected["spend"].sum())
    assert table["status"].notna().all()
    assert len(page.get("vega_lite_chart")) == 1


def test_drilling_into_a_campaign_shows_only_its_ad_sets(synced, page):
    workspace_id, _ = synced
    campaign = campaigns.nodes(workspace_id, "campaign").iloc[0]
    page.radio(key="camp_level").set_value("adset").run()
    page.multiselect(key="camp_within").select(int(campaign["id"])).run()
    adsets = campaigns.nodes(workspace_id, "adset")
    inside = set(adsets[adsets["parent_id"] == campaign["id"]]["name"])
    assert set(page.dataframe[0].value["name"]) == inside


def test_a_search_that_matches_nothing_says_so(page):
    page.text_input(key="camp_search").input("no such campaign zzz").run()
    assert "Nothing here yet" in page.info[0].value


def test_the_trend_chart_follows_the_chosen_node_and_metric(synced, page):
    # Given the trend of the first campaign, when ROAS is chosen instead of spend
    page.radio(key="camp_trend_metric").set_value("roas").run()
    # Then the chart plots ROAS of that node
    spec = page.get("vega_lite_chart")[0].proto.spec
    assert '"field":"roas"' in spec.replace(" ", "") and '"title":"ROAS' in spec.replace(" ", "")


def test_accounts_are_a_level_and_drill_into_their_campaigns(synced, page):
    workspace_id, _ = synced
    # When the account level is shown
    page.radio(key="camp_level").set_value("account").run()
    accounts = campaigns.nodes(workspace_id, "account")
    assert set(page.dataframe[0].value["name"]) == set(accounts["name"])
    # And, at the campaign level, one account is picked
    account = accounts.iloc[0]
    page.radio(key="camp_level").set_value("campaign").run()
    page.multiselect(key="camp_within").select(int(account["id"])).run()
    inside = campaigns.nodes(workspace_id, "campaign")
    assert set(page.dataframe[0].value["name"]) == set(
        inside[inside["parent_id"] == account["id"]]["name"])


def test_money_is_formatted_in_the_workspace_currency_and_budgets_in_their_own(synced, page):
    columns = page.dataframe[0].proto.columns
    assert '"$%,.2f"' in columns and "Daily budget" in columns
    budgets = [b for b in page.dataframe[0].value["budget"] if b]
    assert budgets and all(b[0] in "$€£" and b[-3] == "." for b in budgets)


def test_sort_by_a_metric_in_either_direction(synced, page):
    workspace_id, _ = synced
    # When the table is sorted by CPA, lowest first
    page.selectbox(key="camp_sort").select("cpa").run()
    page.radio(key="camp_order").set_value("ascending").run()
    # Then the rows come in the service's order for that sort
    expected = campaigns.level_table(workspace_id, "campaign",
                                     resolve_phrase("last 30 days", TODAY), sort_by="cpa",
                                     descending=False)
    assert list(page.dataframe[0].value["name"]) == list(expected["name"])
    cpa = page.dataframe[0].value["cpa"].dropna().tolist()
    assert cpa == sorted(cpa)
