"""Attribution page: credited campaigns, channel split, reconciliation and hygiene, as the
services compute them; an empty workspace says what to do; only admins recompute."""

from datetime import date

import pytest
from apptest import log_in, texts

from metricx.attribution.compute import attribute_workspace
from metricx.semantic.dates import resolve_phrase
from metricx.semantic.query import Attribution
from metricx.services import attribution

TODAY = date(2026, 11, 20)


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: TODAY)


def open_page(email: str, password: str):
    at = log_in(email, password)
    at.switch_page("pages/attribution.py").run()
    assert not at.exception, at.exception
    return at


def test_the_page_shows_what_the_services_compute(synced, member, today):
    # Given the sandbox attributed
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    # When a member opens the page (last 30 days, last click, 28 days, cash)
    page = open_page(member.label, "battery staple")
    # Then the channel split and the reconciliation are the services' figures
    span = resolve_phrase("last 30 days", TODAY)
    channels = attribution.channel_breakdown(workspace_id, span)
    shown = {df.value.columns[0]: df.value for df in page.dataframe}
    assert list(shown["label"]["orders"]) == pytest.approx(list(channels["orders"]))
    platforms = shown["platform"].set_index("platform")
    expected = attribution.reconciliation(workspace_id, span).platforms.set_index("platform")
    assert platforms["attributed_orders"].to_dict() == pytest.approx(
        expected["attributed_orders"].to_dict())
    # And the campaigns table ranks by attributed revenue, with a chart beside the split
    [campaigns] = [df.value for df in page.dataframe if "attributed_revenue" in df.value
                   and "campaign" in df.value]
    assert list(campaigns["attributed_revenue"]) == sorted(campaigns["attributed_revenue"],
                                                           reverse=True)
    assert len(page.get("vega_lite_chart")) == 1
    # And a member gets no recompute button
    assert not [b for b in page.button if b.label == "Recompute attribution now"]


def test_changing_the_model_changes_the_credits(synced, member, today):
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    page = open_page(member.label, "battery staple")
    page.selectbox(key="attr_model").set_value("linear").run()
    span = resolve_phrase("last 30 days", TODAY)
    linear = attribution.channel_breakdown(
        workspace_id, span, Attribution(model="linear"))
    shown = {df.value.columns[0]: df.value for df in page.dataframe}
    assert list(shown["label"]["orders"]) == pytest.approx(list(linear["orders"]))


def test_a_workspace_without_orders_says_what_to_do(admin, today):
    page = open_page(admin.label, "correct horse")
    assert "Connect your Shopify store" in texts(page)


def test_an_admin_can_queue_a_recomputation(synced, admin, today, redis_conn):
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    page = open_page(admin.label, "correct horse")
    [button] = [b for b in page.button if b.label == "Recompute attribution now"]
    button.click().run()
    assert "Queued" in texts(page)
