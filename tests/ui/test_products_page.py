"""The Products page on the synced sandbox over the last 30 days (Nov 20, 2026): every product
with the service's numbers, the unallocated ad spend as its own line and totals equal to the
P&L's; level and product switch; an empty workspace and a period without orders each say
what to do."""

from __future__ import annotations

import pytest
from apptest import log_in, texts
from pinned import TODAY, pin_the_period_clock
from streamlit.testing.v1 import AppTest

from metricx.semantic import families
from metricx.semantic.dates import resolve_phrase
from metricx.services import products
from metricx.services.finance import profit_and_loss
from ui import format as fmt

MONTH = resolve_phrase("last 30 days", TODAY)
SHOWN = ["units", "product_net_sales", "gross_margin", "refund_rate", "allocated_spend"]


@pytest.fixture
def pinned(monkeypatch):
    pin_the_period_clock(monkeypatch)


def products_page(email: str, password: str, period: str = "last 30 days") -> AppTest:
    at = log_in(email, password)
    at.switch_page("views/products.py").run()
    at.selectbox(key="period").set_value(period).run()
    assert not at.exception, at.exception
    return at


def money(value: float) -> str:
    return fmt.money(value, "USD")


def test_an_empty_workspace_says_to_connect_shopify(admin):
    at = log_in(admin.label, "correct horse")
    at.switch_page("views/products.py").run()
    assert not at.exception, at.exception
    assert "Connect your Shopify store" in texts(at) and "run a sync" in texts(at)
    assert not at.dataframe


def test_the_table_has_the_services_products_and_totals_equal_to_the_pnl(synced, admin, pinned):
    # Given the synced shop and ads
    workspace_id, _ = synced
    # When the admin opens Products for the last 30 days
    at = products_page(admin.label, "correct horse")
    # Then each product's row is the service's, largest net sales first
    table = products.products_table(workspace_id, MONTH, "product")
    rows = at.dataframe[0].value
    assert list(rows["product"]) == list(table.frame["product"])
    for metric in SHOWN:
        assert list(rows[metric]) == pytest.approx(list(table.frame[metric]), nan_ok=True)
    # And the spend no order carried is its own line, saying why
    unallocated = table.unallocated["allocated_spend"]
    lines = at.dataframe[1].value.set_index("product")
    assert lines.at[products.UNALLOCATED_LABEL, "allocated_spend"] == pytest.approx(unallocated)
    assert f"{products.UNALLOCATED_LABEL}: {money(unallocated)}".replace("$", r"\$") in texts(at)
    assert "no order of this period was credited to" in texts(at)
    # And the totals are the P&L's: sales, refunds, COGS, and all the ad spend
    pnl = profit_and_loss(workspace_id, MONTH.start, MONTH.end).total
    for line, metric in (
        ("gross_sales", "product_gross_sales"),
        ("discounts", "product_discounts"),
        ("refunds", "product_refunds"),
        ("net_sales", "product_net_sales"),
        ("cogs", "product_cogs"),
        ("ad_spend", "allocated_spend"),
    ):
        assert lines.at["Total", metric] == pytest.approx(pnl[line], abs=0.01), line
    # And a CSV, a trend chart and the definitions are there
    assert [b.label for b in at.get("download_button")] == ["Download CSV", "Download CSV"]
    assert len(at.get("vega_lite_chart")) == 1
    assert families.metric("gross_margin").definition in texts(at)


def test_a_member_switches_level_and_drills_into_a_product(synced, member, pinned):
    # Given a member on Products
    workspace_id, _ = synced
    at = products_page(member.label, "battery staple")
    # When they show SKUs
    at.segmented_control(key="product_level").set_value("sku").run()
    assert not at.exception, at.exception
    # Then the rows are the service's SKUs
    skus = products.products_table(workspace_id, MONTH, "sku").frame
    rows = at.dataframe[0].value
    assert list(rows["sku"]) == list(skus["sku"])
    assert list(rows["product_gross_profit"]) == pytest.approx(list(skus["product_gross_profit"]))
    # When they pick the product third by net sales
    by_product = products.products_table(workspace_id, MONTH, "product").frame
    third = by_product.dropna(subset=["product_id"]).iloc[2]
    at.selectbox(key="product_focus").set_value(int(third["product_id"])).run()
    assert not at.exception, at.exception
    # Then its tiles are the service's totals, and its repurchases are counted
    detail = products.product_detail(workspace_id, int(third["product_id"]), MONTH, "day")
    tiles = {m.label: m.value for m in at.metric}
    for metric in ("product_net_sales", "product_gross_profit", "contribution_after_ads"):
        entry = families.metric(metric)
        assert tiles[entry.label] == fmt.value(entry, detail.totals[metric], "USD")
    assert detail.totals["product_net_sales"] == pytest.approx(third["product_net_sales"])
    again = products.first_product_repurchase(workspace_id, int(third["product_id"]), MONTH)
    assert tiles["First-product repurchase"] == fmt.value(
        families.metric("repurchase_rate"), again.rate, "USD"
    )


def test_a_period_without_orders_says_what_to_do(synced, admin, pinned):
    at = products_page(admin.label, "correct horse", period="last quarter")
    assert "No orders in Jul 1 – Sep 30, 2026.** Pick a longer period" in texts(at)
    assert not at.dataframe and not at.metric
