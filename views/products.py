"""Products: what each product, variant or SKU sold in the app's period and what it kept after
discounts, refunds, COGS and the ad spend allocated to it; the spend no product can carry is
its own line, so the totals reconcile with the P&L. A drill-down shows one product's trend,
how many of the customers it brought ordered again, and which campaigns sell it."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from metricx.errors import MetricxError
from metricx.semantic import families
from metricx.semantic.catalogue import EMPTY_VALUE
from metricx.semantic.query import Attribution
from metricx.services import connections, products
from metricx.services.products import Level, TrendGrain
from ui import charts
from ui import format as fmt
from ui.period import KEPT, current_period
from ui.product_reads import (
    campaigns_selling,
    first_product_repurchase,
    product_detail,
    products_table,
)
from ui.session import current_actor

LEVELS: dict[Level, str] = {"product": "Product", "variant": "Variant", "sku": "SKU"}
TABLE_METRICS = [
    "units",
    "product_orders",
    "product_gross_sales",
    "product_discounts",
    "product_refunds",
    "refund_rate",
    "product_net_sales",
    "product_cogs",
    "product_gross_profit",
    "gross_margin",
    "allocated_spend",
    "contribution_after_ads",
    "product_roas",
    "product_poas",
    "new_customer_share",
    "repurchase_rate",
]
#: The columns that add up over rows (with the unallocated line: to the P&L and the spend).
SUMMED = [
    "units",
    "product_gross_sales",
    "product_discounts",
    "product_refunds",
    "product_net_sales",
    "product_cogs",
    "product_gross_profit",
    "allocated_spend",
    "contribution_after_ads",
]
TREND_METRICS = ["product_net_sales", "product_gross_profit", "allocated_spend"]
TILES = ["product_net_sales", "product_gross_profit", "gross_margin", "contribution_after_ads"]
#: The trend's buckets by the period's length: days up to a month, weeks up to half a year.
LONGEST_DAYS: dict[TrendGrain, int] = {"day": 31, "week": 183}


def trend_grain(days: int) -> TrendGrain:
    return next((g for g, most in LONGEST_DAYS.items() if days <= most), "month")


actor = current_actor()
workspace = st.session_state["metricx_workspace"]
currency = workspace.currency
period = current_period()
st.title("Products")
# This page compares nothing: its caption names the period alone.
st.caption(
    fmt.in_markdown(replace(period, compare=None).caption(workspace)) + " · period in the sidebar"
)

linked = connections.list_connections(actor.workspace_id)
if not any(c.provider == "shopify" for c in linked):
    st.info(
        "**No store data yet.** Connect your Shopify store on the Connections page "
        "(admins) and run a sync; each product's sales, margin and the ad spend behind it "
        "appear here."
    )
    st.stop()

level: Level = (
    st.segmented_control(
        "Level",
        list(LEVELS),
        default="product",
        format_func=LEVELS.__getitem__,
        key="product_level",
        **KEPT,
    )
    or "product"  # a click on the chosen option unselects it
)
try:
    with st.spinner("Computing product profit…"):
        table = products_table(actor.workspace_id, period.range, level)
        by_product = products_table(actor.workspace_id, period.range, "product")
except MetricxError as error:
    st.error(str(error) + ("" if actor.is_admin else " — ask an admin of this workspace."))
    st.stop()

days = fmt.span(period.range.start, period.range.end)
if table.empty:
    fix = (
        "resync your store on the Connections page"
        if actor.is_admin
        else "ask an admin to run a sync"
    )
    st.info(
        f"**No orders in {days}.** Pick a longer period in the sidebar; if your store took "
        f"orders then, {fix}."
    )
    st.stop()

entries = {m: families.metric(m) for m in TABLE_METRICS}
columns = [level, *TABLE_METRICS]
config = {
    level: LEVELS[level],
    **{m: fmt.metric_column(entries[m], currency) for m in TABLE_METRICS},
    # Margin as a bar from 0 to 100 %: a loss leaves it empty, its number still shows.
    "gross_margin": st.column_config.ProgressColumn(
        entries["gross_margin"].label,
        format="percent",
        min_value=0.0,
        max_value=1.0,
        help=entries["gross_margin"].definition,
    ),
}
st.dataframe(
    table.frame,
    hide_index=True,
    width="stretch",
    column_order=columns,
    column_config=config,
    key="product_rows",
    placeholder=EMPTY_VALUE,
)
unallocated = table.unallocated.get("allocated_spend", 0.0)
total = {
    level: "Total",
    **{m: table.frame[m].sum() + table.unallocated.get(m, 0.0) for m in SUMMED},
}
lines = pd.concat([table.unallocated_line, pd.DataFrame([total])], ignore_index=True)
lines[SUMMED] = lines[SUMMED].astype(float).round(2) + 0.0  # cents; never "-0.00"
st.dataframe(
    lines,
    hide_index=True,
    width="stretch",
    column_order=[level, *SUMMED],
    column_config={level: " ", **{m: fmt.metric_column(entries[m], currency) for m in SUMMED}},
    key="product_totals",
    placeholder=EMPTY_VALUE,
)
model = Attribution()
st.caption(
    fmt.in_markdown(
        f"{products.UNALLOCATED_LABEL}: {fmt.money(unallocated, currency)} — the spend of "
        "campaigns that no order of this period was credited to "
        f"({model.model.replace('_', ' ')}, {model.window_days}-day window), so no product "
        "can carry it. With it, the totals are the P&L's sales, refunds and COGS and the "
        "platforms' spend of the period (Finance)."
        if round(unallocated, 2)
        else "Every campaign that spent in this period was credited with orders: all ad "
        "spend is allocated to products, and the totals are the P&L's sales, refunds and "
        "COGS and the platforms' spend of the period (Finance)."
    )
)
st.download_button(
    "Download CSV",
    products.to_csv(table),
    key="products_csv",
    file_name=f"metricx-products-{level}-{period.range.start}-{period.range.end}.csv",
    mime="text/csv",
)

st.subheader("One product")
sold = by_product.frame.dropna(subset=["product_id"])
if sold.empty:
    st.info(f"None of the lines sold in {days} names a product of your store.")
    st.stop()
titles = dict(zip(sold["product_id"].astype(int), sold["product"], strict=True))
left, right = st.columns([3, 2])
product_id = left.selectbox(
    "Product", list(titles), format_func=titles.__getitem__, key="product_focus", **KEPT
)
if product_id is None:  # a link naming a product this period did not sell
    st.info("Pick a product.")
    st.stop()
grain = trend_grain(period.range.days)
try:
    detail = product_detail(actor.workspace_id, product_id, period.range, grain)
    again = first_product_repurchase(actor.workspace_id, product_id, period.range)
    selling = campaigns_selling(actor.workspace_id, product_id, period.range)
except MetricxError as error:
    st.error(str(error))
    st.stop()
for column, metric in zip(st.columns(len(TILES)), TILES, strict=True):
    column.metric(
        entries[metric].label,
        fmt.value(entries[metric], detail.totals[metric], currency),
        help=entries[metric].definition,
    )
right.metric(
    "First-product repurchase",
    fmt.value(entries["repurchase_rate"], again.rate, currency),
    help=entries["repurchase_rate"].definition,
)
right.caption(
    f"{again.repeat_customers:,} of the {again.customers:,} customers whose first order in "
    "this period held it have ordered again."
    if again.customers
    else "No customer's first order in this period held it."
)
st.altair_chart(
    charts.money_lines(detail.trend, grain, [entries[m] for m in TREND_METRICS], currency),
    width="stretch",
)
st.caption(f"Per {grain}; allocated ad spend counts on the day of the order it went to.")
st.markdown("**Campaigns selling it**")
if selling.empty:
    st.caption("No campaign was credited with an order holding it in this period.")
else:
    st.dataframe(
        selling,
        hide_index=True,
        width="stretch",
        column_order=["campaign", "units", "credited_sales", "allocated_spend"],
        column_config={
            "campaign": "Campaign",
            "units": fmt.metric_column(entries["units"], currency, "Units credited"),
            "credited_sales": fmt.money_column("Sales credited", currency),
            "allocated_spend": fmt.metric_column(entries["allocated_spend"], currency),
        },
    )
    st.caption(
        "Units and sales of the product in the orders each campaign is credited with (× its "
        "credit), and the part of its spend allocated to the product."
    )
st.download_button(
    "Download CSV",
    products.to_csv(detail),
    key="product_trend_csv",
    file_name=f"metricx-product-{product_id}-{period.range.start}-{period.range.end}.csv",
    mime="text/csv",
)

with st.expander("Definitions"):
    for metric in TABLE_METRICS:
        st.markdown(f"- {fmt.in_markdown(entries[metric].definition)}")
    st.markdown(
        "- Ad spend is allocated to products so: each campaign's spend in the period is "
        "shared among the orders credited to it, by credit × order revenue; each order's "
        "share is split over its lines by their sales (gross − discounts). Spend of "
        "campaigns with no credited order in the period is the unallocated line."
    )
    st.markdown(
        "- Lines whose product is no longer in your store are counted as “(no product)”, "
        "so the products add up to the P&L."
    )
