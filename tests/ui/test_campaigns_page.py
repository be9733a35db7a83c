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
