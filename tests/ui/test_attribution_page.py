"""Attribution page: credited campaigns, channel split, reconciliation and hygiene, as the
services compute them for the app's period; the model, window and accounting live in the URL;
the reconciliation's words come from its numbers; money reads one way; an empty period says
what to do; only admins recompute."""

import json
from datetime import date

import pytest
from apptest import fresh_app, texts

from metricx.attribution.compute import attribute_workspace
from metricx.platforms import display_name
from metricx.semantic.dates import resolve_phrase
from metricx.semantic.query import Attribution
from metricx.services import attribution, email_marketing

TODAY = date(2026, 11, 20)  # the synced days are Nov 8 - 19
WEEK = resolve_phrase("last 7 days", TODAY)  # the app's default period


@pytest.fixture
def open_page(monkeypatch):
    """Opens Attribution from a link (its query parameters), logging in on the way, "today"
    being Nov 20, 2026."""
    monkeypatch.setattr("ui.period.today_in", lambda tz, now=None: TODAY)

    def open_with(email: str, password: str, **params: str):
        at = fresh_app()
        at.query_params.update(params)
        at.run()
        at.text_input[0].input(email)
        at.text_input[1].input(password)
        at.button[0].click().run()
        at.switch_page("views/attribution.py").run()
        assert not at.exception, at.exception
        return at

    return open_with


@pytest.fixture
def attributed(synced) -> int:
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    return workspace_id


def tables(at) -> dict:
    """The page's tables by their first column."""
    return {df.value.columns[0]: df.value for df in at.dataframe}


def test_the_page_shows_what_the_services_compute(attributed, member, open_page):
    # When a member opens the page (the app's last 7 days; last click, 28 days, cash)
    page = open_page(member.label, "battery staple")
    # Then the channel split and the reconciliation are the services' figures
    channels = attribution.channel_breakdown(attributed, WEEK)
    shown = tables(page)
    assert list(shown["label"]["orders"]) == pytest.approx(list(channels["orders"]))
    expected = attribution.reconciliation(attributed, WEEK).platforms
    platforms = shown["platform"]
    assert list(platforms["platform"]) == [display_name(p) for p in expected["platform"]]
    assert list(platforms["attributed_orders"]) == pytest.approx(
        list(expected["attributed_orders"])
    )
    # And the campaigns table ranks by attributed revenue, with a chart beside the split
    [campaigns] = [
        df.value
        for df in page.dataframe
        if "attributed_revenue" in df.value and "campaign" in df.value
    ]
    assert list(campaigns["attributed_revenue"]) == sorted(
        campaigns["attributed_revenue"], reverse=True
    )
    assert len(page.get("vega_lite_chart")) == 1
    # And the dates read like everywhere else
    assert "Nov 13 – 19, 2026" in texts(page)
    # And a member gets no recompute button
    assert not [b for b in page.button if b.label == "Recompute attribution now"]


def test_the_reconciliation_explains_itself_with_the_services_numbers(
    attributed, member, open_page
):
    page = open_page(member.label, "battery staple")
    found = attribution.reconciliation(attributed, WEEK)
    shown = texts(page)
    # The purchases sentence is the one the table's numbers call for
    assert found.summary() in shown
    assert f"({found.claimed:,.0f} against {found.store_orders:,.0f} Shopify orders)" in shown
    # And the store revenue says why it differs from the Dashboard's, with both amounts
    assert found.revenue_summary().replace("$", "\\$") in shown
    assert found.dashboard_revenue != pytest.approx(found.store_revenue)
    tiles = {m.label: m.value for m in page.metric}
    assert tiles["Shopify revenue (as attributed)"] == f"${found.store_revenue:,.2f}"


def test_money_reads_one_way_in_every_table(attributed, member, open_page):
    page = open_page(member.label, "battery staple")
    formats = [
        column.get("type_config", {}).get("format", "")
        for df in page.dataframe
        for column in json.loads(df.proto.columns).values()
    ]
    assert any(f.startswith("$") for f in formats)
    assert not [f for f in formats if "USD" in f]
    assert "USD " not in "".join(m.value for m in page.metric)


def test_changing_the_model_changes_the_credits(attributed, member, open_page):
    page = open_page(member.label, "battery staple")
    page.selectbox(key="model").set_value("linear").run()
    linear = attribution.channel_breakdown(attributed, WEEK, Attribution(model="linear"))
    assert list(tables(page)["label"]["orders"]) == pytest.approx(list(linear["orders"]))


def test_a_link_reproduces_the_model_window_and_accounting(attributed, member, open_page):
    # When a shared link names a model, a window and the accounting
    page = open_page(
        member.label,
        "battery staple",
        model="Linear",
        window="7 days",
        accounting="Accrual (on the touch date)",
    )
    # Then the page opens with them and credits orders that way
    assert (
        page.selectbox(key="model").value,
        page.selectbox(key="window").value,
        page.selectbox(key="accounting").value,
    ) == ("linear", 7, "accrual")
    settings = Attribution(model="linear", window_days=7, mode="accrual")
    linear = attribution.channel_breakdown(attributed, WEEK, settings)
    assert list(tables(page)["label"]["orders"]) == pytest.approx(list(linear["orders"]))


def test_a_period_without_orders_says_what_to_do(admin, open_page):
    page = open_page(admin.label, "correct horse")
    shown = texts(page)
    assert "No orders between Nov 13, 2026 and Nov 19, 2026" in shown
    assert "Connections page" in shown


def test_an_admin_can_queue_a_recomputation(attributed, admin, open_page, redis_conn):
    page = open_page(admin.label, "correct horse")
    page.button(key="attr_recompute").click().run()
    assert "Queued" in texts(page)


def test_the_email_section_sets_klaviyo_beside_metricx(attributed, email_synced, member, open_page):
    # Given the shop, ads and Klaviyo synced and the orders attributed
    # When a member opens the page (last 7 days; last click, 28 days)
    page = open_page(member.label, "battery staple")
    found = email_marketing.email_performance(attributed, WEEK.start, WEEK.end)
    # Then the section's tiles are the service's figures, with their ratio
    tiles = {m.label: m.value for m in page.metric}
    assert tiles["Klaviyo-attributed revenue"] == f"${found.klaviyo_revenue:,.2f}"
    assert tiles["Metricx email-channel revenue"] == f"${found.metricx_email_revenue:,.2f}"
    assert found.ratio is not None and found.ratio > 1
    assert tiles["Klaviyo ÷ Metricx"] == f"{found.ratio:.1f}x"
    # And a table lists every campaign and flow with both sides' revenue, and a chart
    [messages] = [df.value for df in page.dataframe if "klaviyo_revenue" in df.value]
    assert list(messages["name"]) == list(found.messages["name"])
    assert list(messages["metricx_revenue"]) == pytest.approx(
        list(found.messages["metricx_revenue"])
    )
    assert {"Campaign", "Flow"} <= set(messages["kind"])
    assert len(page.get("vega_lite_chart")) == 2
    # And the caption says why Klaviyo's number is the larger
    assert "an open counts as a touch" in texts(page)
    assert "5 days after an open or click, 12 hours after an SMS delivery" in texts(page)


def test_without_klaviyo_the_section_says_to_connect_it(attributed, member, open_page):
    page = open_page(member.label, "battery staple")
    assert "Connect Klaviyo on Connections to compare" in texts(page)
    assert not [m for m in page.metric if m.label == "Klaviyo-attributed revenue"]
