"""The Retention page on the synced sandbox (first orders Nov 8 - 19, 2026) read on Feb 15,
2027: the heatmap holds the service's numbers with the ages not yet passed marked, not
dropped; metric, grain and split switch; the LTV curves and the CAC payback table show; an
empty workspace and a range without first orders each say what to do."""

from __future__ import annotations

import json
from datetime import date

import pytest
from apptest import fresh_app, texts
from streamlit.testing.v1 import AppTest

from metricx.semantic import families
from metricx.semantic.query import TimeRange
from metricx.services import retention
from ui import charts
from ui import format as fmt

TODAY = date(2027, 2, 15)
#: The default cohorts on TODAY: the 12 whole months before February 2027.
LAST_12_MONTHS = TimeRange(start=date(2026, 2, 1), end=date(2027, 1, 31))


@pytest.fixture
def pinned_today(monkeypatch):
    """Today is Feb 15, 2027 for the page and for the cohorts' completeness: the November
    cohort has lived two whole months, not three."""
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: TODAY)
    monkeypatch.setattr("metricx.semantic.cohorts.today_in", lambda tz, now=None: TODAY)


def retention_page(email: str, password: str) -> AppTest:
    """Retention opened from its link, logging in on the way (the Dashboard never runs: its
    pacing has no clock for a pinned February)."""
    at = fresh_app()
    at.run()
    at.switch_page("views/retention.py").run()
    at.text_input[0].input(email)
    at.text_input[1].input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Retention"
    return at


def heatmap_cells(at: AppTest) -> dict[tuple[str, str], str]:
    """The heatmap's table (its expander), (row, age) -> the text shown."""
    matrix = at.dataframe[0].value
    return {(row, age): matrix.at[row, age] for row in matrix.index for age in matrix.columns}


def expected_cells(table: retention.CohortTable, name) -> dict[tuple[str, str], str]:
    """The same from the service: each cell's value formatted, or "not yet"."""
    entry = families.metric(table.metric)
    sizes = table.sizes
    return {
        (f"{name(key)} ({sizes[key]:,.0f})", str(age)): fmt.value(
            entry, table.values.at[key, age], "USD"
        )
        if table.complete.at[key, age]
        else charts.NOT_YET
        for key in table.values.index
        for age in table.values.columns
    }


def test_an_empty_workspace_says_to_connect_shopify(admin):
    at = retention_page(admin.label, "correct horse")
    assert "Connect your Shopify store" in texts(at) and "run a sync" in texts(at)
    assert not at.dataframe


def test_the_heatmap_shows_the_services_repeat_rates_with_ages_not_yet_passed(
    synced, admin, pinned_today
):
    # Given the synced shop, read on Feb 15, 2027
    workspace_id, _ = synced
    # When the admin opens Retention (the last 12 whole months, by month, repeat rate)
    at = retention_page(admin.label, "correct horse")
    # Then the heatmap's cells are the service's, November's from age 2 on "not yet"
    table = retention.cohort_table(
        workspace_id, LAST_12_MONTHS, "month", "repeat_rate", "month", 11
    )
    shown = heatmap_cells(at)
    assert shown == expected_cells(table, lambda first_day: f"{first_day:%b %Y}")
    november = f"Nov 2026 ({table.sizes[date(2026, 11, 1)]:,.0f})"
    assert shown[(november, "1")] != charts.NOT_YET
    assert [shown[(november, str(age))] for age in range(2, 12)] == [charts.NOT_YET] * 10
    # And in the heatmap those cells are striped, never coloured on the value scale
    heatmap, curves = at.get("vega_lite_chart")
    coloured, striped, _ = json.loads(heatmap.proto.spec)["layer"]
    assert coloured["transform"] == [{"filter": "datum.complete"}]
    assert striped["transform"] == [{"filter": "!datum.complete"}]
    assert striped["mark"]["color"]["gradient"] == "linear"
    assert json.loads(curves.proto.spec)["mark"]["type"] == "line"
    # And the CAC payback table has the service's numbers for the cohort
    payback = retention.cac_payback(workspace_id, LAST_12_MONTHS, "month").frame
    rows = at.dataframe[1].value
    assert list(rows["cac"]) == pytest.approx(list(payback["cac"]), nan_ok=True)
    assert list(rows["cohort_customers"]) == list(payback["cohort_customers"])
    assert [b.label for b in at.get("download_button")] == ["Download CSV", "Download CSV"]
    # And the definitions are on the page
    assert families.metric("repeat_rate").definition in texts(at)


def test_a_member_switches_to_ltv_by_week_split_by_channel(synced, member, pinned_today):
    # Given a member on Retention
    workspace_id, _ = synced
    at = retention_page(member.label, "battery staple")
    # When they show LTV, by week, split by acquisition channel
    at.segmented_control(key="cohort_metric").set_value("ltv").run()
    at.selectbox(key="cohort_grain").set_value("week").run()
    at.selectbox(key="cohort_split").set_value("acquisition_channel").run()
    assert not at.exception, at.exception
    # Then the cells are the service's LTV in dollars, one row per week and channel
    table = retention.cohort_table(
        workspace_id, LAST_12_MONTHS, "week", "ltv", "week", 12, "acquisition_channel"
    )
    assert heatmap_cells(at) == expected_cells(
        table, lambda key: f"Week of {fmt.day(key[0])} · {key[1]}"
    )
    assert any(text.startswith("$") for text in heatmap_cells(at).values())
    assert at.subheader[0].value == "LTV (revenue) by age"
    # When the LTV curves are drawn by channel, then there is a line per channel
    at.segmented_control(key="ltv_by").set_value("acquisition_channel").run()
    assert not at.exception, at.exception
    curves = json.loads(at.get("vega_lite_chart")[1].proto.spec)
    assert curves["encoding"]["color"]["field"] == "acquisition_channel"


def test_a_range_without_first_orders_says_to_pick_other_dates(synced, admin, pinned_today):
    at = retention_page(admin.label, "correct horse")
    at.date_input(key="cohort_to").set_value(date(2026, 6, 30)).run()
    assert not at.exception, at.exception
    assert (
        "No customer placed a first order in Feb 1 – Jun 30, 2026.** Pick other dates above"
        in texts(at)
    )
    assert not at.dataframe and not at.get("vega_lite_chart")
