"""The Products page's reads: the table with its unallocated line, a product's trend, the
campaigns selling it, its first-order repurchase, CSV; on a small store told order by order,
and on the synced sandbox (where the sums must meet the P&L and the platforms' spend)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sandbox_fixtures import FIRST, LAST
from store_seed import (
    add_campaigns,
    add_credits,
    add_products,
    add_rates,
    add_shop,
    order,
    write_orders,
)

from metricx.attribution.compute import attribute_workspace
from metricx.connectors.records import OrderRecord
from metricx.semantic.engine import run_query
from metricx.semantic.query import TimeRange
from metricx.services import products

ZONE = ZoneInfo("America/New_York")
DAY = date(2026, 3, 2)
WEEK = TimeRange(start=DAY, end=DAY + timedelta(days=6))
CATALOGUE = (
    ("shirt", "Linen Shirt", (("shirt-s", "LS-S", Decimal(12)), ("shirt-m", "LS-M", None))),
    ("socks", "Wool Socks", (("socks-1", "WS-1", Decimal(2)),)),
)


def sale(customer: int, number: int, day: date, product: str, gross: str) -> OrderRecord:
    """An order of one line of `product` (its first variant), half of it its cost."""
    record = order(customer, number, day, gross, product=product)
    variant = next(v for p, _, vs in CATALOGUE if p == product for v, _, _ in vs)
    return replace(record, line_items=(replace(record.line_items[0], variant_id=variant),))


@pytest.fixture
def shop(workspace, other_workspace):
    """Acme: Ada buys a shirt on Monday and socks on Wednesday; Bo buys a shirt on Tuesday.
    The shirts campaign is credited with both shirts, the socks campaign with nothing, so its
    spend is unallocated. Globex (in euros) sells socks in dollars (never counted in Acme)."""
    store = add_shop(workspace.id)
    add_products(store, CATALOGUE)
    write_orders(
        store,
        [
            sale(1, 1, DAY, "shirt", "40"),
            sale(1, 2, DAY + timedelta(days=2), "socks", "10"),
            sale(2, 1, DAY + timedelta(days=1), "shirt", "60"),
        ],
    )
    tree = add_campaigns(
        workspace.id, {"shirts": Decimal(30), "socks": Decimal(5)}, WEEK.start, WEEK.end, ZONE
    )
    add_credits(
        workspace.id,
        [
            ("1-1", tree["shirts"]["ad"], Decimal(1), Decimal(40)),
            ("2-1", tree["shirts"]["campaign"], Decimal(1), Decimal(60)),
        ],
    )
    other = add_shop(other_workspace.id, domain="globex.myshopify.com")
    add_products(other, CATALOGUE)
    add_rates(other_workspace.id, DAY, DAY, lambda _: Decimal("0.9"), "USD", "EUR")
    write_orders(other, [sale(9, 1, DAY, "socks", "999")])
    return workspace.id


def test_the_table_holds_each_product_and_the_spend_no_product_carries(shop):
    # When Acme's products of the week are read
    table = products.products_table(shop, WEEK)
    # Then each product has its row, most net sales first, and nothing of Globex's
    rows = table.frame.set_index("product")
    assert list(rows.index) == ["Linen Shirt", "Wool Socks"]
    assert rows.loc["Linen Shirt", "product_net_sales"] == pytest.approx(100)
    assert rows.loc["Linen Shirt", "units"] == 2
    assert rows.loc["Wool Socks", "product_net_sales"] == pytest.approx(10)
    # And the shirts' week of spend goes to the shirts by revenue, the socks' stays apart
    assert rows.loc["Linen Shirt", "allocated_spend"] == pytest.approx(7 * 30)
    assert rows.loc["Linen Shirt", "contribution_after_ads"] == pytest.approx(100 - 50 - 210)
    assert table.unallocated == pytest.approx(
        {"allocated_spend": 7 * 5, "contribution_after_ads": -7 * 5}
    )
    line = table.unallocated_line
    assert line["product"].tolist() == [products.UNALLOCATED_LABEL]
    assert line["allocated_spend"].tolist() == pytest.approx([35])


def test_variants_and_skus_split_the_same_sales(shop):
    # When the week is read per variant and per SKU
    by_variant = products.products_table(shop, WEEK, "variant").frame
    by_sku = products.products_table(shop, WEEK, "sku").frame
    # Then every level adds up to the same net sales, the variant named by its SKU
    assert set(by_variant["variant"]) == {"Linen Shirt · LS-S", "Wool Socks · WS-1"}
    assert set(by_sku["sku"]) == {"(no SKU)"}  # the lines themselves name no SKU
    for frame in (by_variant, by_sku):
        assert frame["product_net_sales"].sum() == pytest.approx(110)


def test_a_product_trend_has_every_day_and_adds_up_to_its_totals(shop):
    shirt = products.products_table(shop, WEEK).frame.set_index("product")
    shirt_id = int(shirt.loc["Linen Shirt", "product_id"])
    # When the shirt's week is read by day
    detail = products.product_detail(shop, shirt_id, WEEK, "day")
    # Then every day is there, money 0 on days without sales, ratios empty there
    assert detail.title == "Linen Shirt"
    assert detail.trend["day"].tolist() == [str(DAY + timedelta(days=i)) for i in range(7)]
    assert detail.trend["product_net_sales"].tolist() == pytest.approx([40, 60, 0, 0, 0, 0, 0])
    assert detail.trend["gross_margin"].isna().tolist() == [False, False, *[True] * 5]
    # And the days add up to the totals, which are the table's row
    assert detail.trend["allocated_spend"].sum() == pytest.approx(detail.totals["allocated_spend"])
    assert detail.totals["product_net_sales"] == pytest.approx(100)


def test_campaigns_selling_a_product_carry_its_allocated_spend(shop):
    shirt_id = int(products.products_table(shop, WEEK).frame["product_id"].iloc[0])
    # When the campaigns selling the shirt are read
    campaigns = products.campaigns_selling(shop, shirt_id, WEEK)
    # Then the shirts campaign sold both shirts and carries all of its spend on them
    assert campaigns["campaign"].tolist() == ["shirts campaign"]
    assert campaigns["units"].tolist() == pytest.approx([2])
    assert campaigns["credited_sales"].tolist() == pytest.approx([100])
    assert campaigns["allocated_spend"].tolist() == pytest.approx([210])


def test_first_product_repurchase_counts_who_came_back(shop):
    table = products.products_table(shop, WEEK).frame.set_index("product")
    # When the shirt's and the socks' first-order buyers are read
    shirt = products.first_product_repurchase(
        shop, int(table.loc["Linen Shirt", "product_id"]), WEEK
    )
    socks = products.first_product_repurchase(
        shop, int(table.loc["Wool Socks", "product_id"]), WEEK
    )
    # Then Ada and Bo first bought a shirt, and Ada came back; nobody started with socks
    assert (shirt.customers, shirt.repeat_customers, shirt.rate) == (2, 1, 0.5)
    assert (socks.customers, socks.repeat_customers, socks.rate) == (0, 0, None)


def test_csv_holds_the_rows_and_the_unallocated_line_with_money_named(shop):
    # When the table is exported
    text = products.to_csv(products.products_table(shop, WEEK))
    # Then every product and the unallocated line are rows, money named with its currency
    frame = pd.read_csv(io.StringIO(text))
    assert frame["product"].tolist() == ["Linen Shirt", "Wool Socks", products.UNALLOCATED_LABEL]
    assert "allocated_spend (USD)" in frame.columns
    assert frame["allocated_spend (USD)"].sum() == pytest.approx(7 * 35)


def test_a_workspace_without_orders_has_an_empty_table_and_all_spend_unallocated(
    shop, other_workspace
):
    # When Globex (socks only, no campaigns) and an empty week of Acme are read
    globex = products.products_table(other_workspace.id, WEEK)
    later = TimeRange(start=DAY + timedelta(days=30), end=DAY + timedelta(days=36))
    empty = products.products_table(shop, later)
    # Then Globex sees its own socks only (in euros), and the empty week no row at all
    assert globex.frame["product"].tolist() == ["Wool Socks"]
    assert globex.frame["product_net_sales"].tolist() == pytest.approx([999 * 0.9])
    assert empty.empty


def test_the_synced_sandbox_products_add_up_to_the_p_and_l_and_the_spend(synced):
    # Given the sandbox synced and attributed
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    span = TimeRange(start=FIRST, end=LAST)
    # When its products are read
    table = products.products_table(workspace_id, span)
    store = run_query(
        workspace_id,
        {
            "metrics": ["net_sales", "refunds", "cogs", "spend"],
            "time_range": span.model_dump(mode="json"),
        },
    ).frame.iloc[0]
    # Then they add up to the P&L's net sales, refunds and COGS, and with the unallocated
    # line to the platforms' spend
    frame = table.frame
    assert len(frame) > 1
    assert frame["product_net_sales"].sum() == pytest.approx(store["net_sales"], abs=1e-6)
    assert frame["product_refunds"].sum() == pytest.approx(store["refunds"], abs=1e-6)
    assert frame["product_cogs"].sum() == pytest.approx(store["cogs"], abs=1e-6)
    allocated = frame["allocated_spend"].sum()
    assert allocated > 0
    assert allocated + table.unallocated["allocated_spend"] == pytest.approx(
        store["spend"], abs=1e-6
    )
