"""The metrics of the two query families beside the ad and store one: customer cohorts
(retention, LTV, CAC payback) and products (profit per product with ad spend allocated).

They are catalogue entries like the others (label, unit, direction, definition), and their
formulas are trees over the facts of their own family, evaluated by the one evaluator
(metricx.semantic.evaluate): a ratio is a ratio of sums. Where a family fact means what a
store fact means (gross, discounts, refunds, shipping, taxes, cogs, orders: the same money
rules as the P&L, docs/design.md), the formula names the catalogue's own metric (`net_sales`,
`gross_profit`, `profit_before_ad_spend`), so a product's net sales and a cohort's revenue
are the P&L's formulas applied to that product's or cohort's facts.

They are kept out of `catalogue.METRICS`: an ad or store query (the Analytics pickers, a
custom metric's formula) cannot name them, and a family query names nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Literal

import numpy as np

from metricx.semantic import catalogue
from metricx.semantic.catalogue import Metric
from metricx.semantic.evaluate import Params
from metricx.semantic.expression import Expression, Ref

Family = Literal["ads", "cohort", "products"]

#: The store facts both families carry, under the store's own names and money rules.
STORE_FACTS: tuple[str, ...] = (
    "gross",
    "discounts",
    "refunds",
    "shipping",
    "taxes",
    "cogs",
    "orders",
)

#: Additive facts of a cohort cell (cohort key, age): customers in the cohort; the store
#: facts of their orders (cumulative up to the age); customers with a second order by the
#: age (`repeat_customers`); customers with an order at the age itself (`active_customers`);
#: the spend of the acquisition period and the customers it is divided over.
COHORT_FACTS: tuple[str, ...] = (
    "customers",
    *STORE_FACTS,
    "repeat_customers",
    "active_customers",
    "acquisition_spend",
    "acquired_customers",
)
#: Additive facts of a product (variant, SKU) row: the store facts of its lines; units sold;
#: live orders that were their customer's first (`new_customer_orders`); customers whose
#: first order held it (`first_customers`) and those of them who ordered again
#: (`repeat_customers`); the ad spend allocated to its lines.
PRODUCT_FACTS: tuple[str, ...] = (
    *STORE_FACTS,
    "units",
    "new_customer_orders",
    "first_customers",
    "repeat_customers",
    "allocated_spend",
)

_customers = Ref("customers")

COHORT_METRICS: Mapping[str, Metric] = {
    m.id: m
    for m in (
        Metric(
            "cohort_customers",
            "Customers",
            "count",
            None,
            "Customers = customers whose first order (not test, not cancelled) falls in the "
            "cohort's week, month or quarter.",
            "cohort",
            _customers,
        ),
        Metric(
            "repeat_rate",
            "Repeat rate",
            "percent",
            True,
            "Repeat rate = share of the cohort's customers with a second order by this age.",
            "cohort",
            Ref("repeat_customers") / _customers,
        ),
        Metric(
            "orders_per_customer",
            "Orders per customer",
            "ratio",
            True,
            "Orders per customer = the cohort's orders by this age (cancelled and test "
            "excluded) ÷ its customers.",
            "cohort",
            Ref("orders") / _customers,
        ),
        Metric(
            "ltv",
            "LTV (revenue)",
            "currency",
            True,
            "LTV = cumulative store revenue of the cohort by this age ÷ its customers "
            "(net sales + shipping kept, refunds and cancellations taken off when they happen, "
            "as in the P&L).",
            "cohort",
            Ref("store_revenue") / _customers,
        ),
        Metric(
            "ltv_gross_profit",
            "LTV (gross profit)",
            "currency",
            True,
            "LTV gross profit = cumulative net sales − COGS of the cohort by this age ÷ its "
            "customers.",
            "cohort",
            Ref("gross_profit") / _customers,
        ),
        Metric(
            "ltv_contribution",
            "LTV (contribution)",
            "currency",
            True,
            "LTV contribution = cumulative profit before ad spend of the cohort by this age "
            "(net sales + shipping − COGS − shipping costs − handling − payment fees) ÷ its "
            "customers.",
            "cohort",
            Ref("profit_before_ad_spend") / _customers,
        ),
        Metric(
            "retention",
            "Retention",
            "percent",
            True,
            "Retention = share of the cohort's customers who placed an order at this age "
            "(not cumulative; 100 % at age 0, the first order).",
            "cohort",
            Ref("active_customers") / _customers,
        ),
        Metric(
            "cac",
            "CAC",
            "currency",
            False,
            "CAC = ad spend of the cohort's period ÷ the customers it acquired (split by "
            "platform or campaign: that platform's or campaign's spend ÷ its customers; "
            "otherwise the period's blended CAC).",
            "cohort",
            Ref("acquisition_spend") / Ref("acquired_customers"),
        ),
        Metric(
            "ltv_cac",
            "LTV:CAC",
            "ratio",
            True,
            "LTV:CAC = LTV gross profit by this age ÷ CAC.",
            "cohort",
            (Ref("gross_profit") / _customers)
            / (Ref("acquisition_spend") / Ref("acquired_customers")),
        ),
        Metric(
            "payback_age",
            "Payback age",
            "count",
            False,
            "Payback age = the first age at which LTV gross profit reaches CAC (empty when it "
            "has not yet).",
            "cohort",
        ),
    )
}

PRODUCT_METRICS: Mapping[str, Metric] = {
    m.id: m
    for m in (
        Metric(
            "units",
            "Units sold",
            "count",
            True,
            "Units sold = quantity on live orders (cancelled and test excluded).",
            "products",
            Ref("units"),
        ),
        Metric(
            "product_gross_sales",
            "Gross sales",
            "currency",
            True,
            "Gross sales = unit price × quantity of the product's lines, on the order's day.",
            "products",
            Ref("gross"),
        ),
        Metric(
            "product_discounts",
            "Discounts",
            "currency",
            False,
            "Discounts = the order's discounts split over its lines by their gross sales.",
            "products",
            Ref("discounts"),
        ),
        Metric(
            "product_refunds",
            "Refunds",
            "currency",
            False,
            "Refunds = the product's refunded lines on the refund's day, plus its share (by "
            "sales) of refunds not tied to a line; a cancelled order gives back, on its "
            "cancel day, what its refunds had not yet given back of each line.",
            "products",
            Ref("refunds"),
        ),
        Metric(
            "refund_rate",
            "Refund rate",
            "percent",
            False,
            "Refund rate = refunds ÷ (gross sales − discounts).",
            "products",
            Ref("refunds") / (Ref("gross") - Ref("discounts")),
        ),
        Metric(
            "product_net_sales",
            "Net sales",
            "currency",
            True,
            "Net sales = gross sales − discounts − refunds of the product (sums to the P&L's).",
            "products",
            Ref("net_sales"),
        ),
        Metric(
            "product_cogs",
            "COGS",
            "currency",
            False,
            "COGS = unit cost at the time of the order × quantity, on live orders.",
            "products",
            Ref("cogs"),
        ),
        Metric(
            "product_gross_profit",
            "Gross profit",
            "currency",
            True,
            "Gross profit = net sales − COGS of the product.",
            "products",
            Ref("gross_profit"),
        ),
        Metric(
            "gross_margin",
            "Margin",
            "percent",
            True,
            "Margin = gross profit ÷ net sales.",
            "products",
            Ref("gross_profit") / Ref("net_sales"),
        ),
        Metric(
            "product_orders",
            "Orders",
            "count",
            True,
            "Orders = live orders containing the product.",
            "products",
            Ref("orders"),
        ),
        Metric(
            "new_customer_share",
            "New-customer share",
            "percent",
            None,
            "New-customer share = orders containing the product that were the customer's "
            "first ÷ orders containing it.",
            "products",
            Ref("new_customer_orders") / Ref("orders"),
        ),
        Metric(
            "repurchase_rate",
            "Repurchase rate",
            "percent",
            True,
            "Repurchase rate = customers whose first order (in the period) held the product "
            "and who ordered again since ÷ those customers.",
            "products",
            Ref("repeat_customers") / Ref("first_customers"),
        ),
        Metric(
            "allocated_spend",
            "Allocated ad spend",
            "currency",
            None,
            "Allocated ad spend = each campaign's spend shared over the orders credited to it "
            "(by credit × order revenue, under the query's attribution model and window: "
            "last click, 28 days unless chosen), "
            "then over each order's lines by their sales.",
            "products",
            Ref("allocated_spend"),
        ),
        Metric(
            "product_roas",
            "Product ROAS",
            "ratio",
            True,
            "Product ROAS = net sales ÷ allocated ad spend.",
            "products",
            Ref("net_sales") / Ref("allocated_spend"),
        ),
        Metric(
            "product_poas",
            "Product POAS",
            "ratio",
            True,
            "Product POAS = gross profit ÷ allocated ad spend.",
            "products",
            Ref("gross_profit") / Ref("allocated_spend"),
        ),
        Metric(
            "contribution_after_ads",
            "Contribution after ads",
            "currency",
            True,
            "Contribution after ads = gross profit − allocated ad spend (negative: the "
            "product loses money after ads).",
            "products",
            Ref("gross_profit") - Ref("allocated_spend"),
        ),
    )
}

#: Cohort metrics computed over the ages rather than by a formula, and the metrics each is
#: computed from (payback: the first age LTV gross profit reaches CAC).
OVER_AGES: Mapping[str, tuple[str, ...]] = {"payback_age": ("ltv_gross_profit", "cac")}

_FACTS_OF: Mapping[str, tuple[str, ...]] = {"cohort": COHORT_FACTS, "products": PRODUCT_FACTS}
_METRICS_OF: Mapping[str, Mapping[str, Metric]] = {
    "cohort": COHORT_METRICS,
    "products": PRODUCT_METRICS,
}


def family_of(metric_id: str) -> Family:
    """The family a metric id belongs to ("ads" for catalogue metrics and custom ones)."""
    if metric_id in COHORT_METRICS:
        return "cohort"
    if metric_id in PRODUCT_METRICS:
        return "products"
    return "ads"


def metric(metric_id: str) -> Metric:
    """A family metric's entry (KeyError when it is none)."""
    return _METRICS_OF[family_of(metric_id)][metric_id]


@cache
def formula_of(metric_id: str) -> Expression:
    """A family metric's formula expanded down to its family's facts (the catalogue's store
    formulas applied to them)."""
    family = family_of(metric_id)
    formula = metric(metric_id).formula
    if formula is None:
        raise ValueError(f"{metric_id} is computed over ages, not by a formula")
    return catalogue.expand(formula, sums=_FACTS_OF[family])


def facts_for(metric_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The family facts `metric_ids` read, in the family's order."""
    if not metric_ids:
        return ()
    family = family_of(metric_ids[0])
    formulas = [m2 for m in metric_ids for m2 in OVER_AGES.get(m, (m,))]
    needed = {name for m in formulas for name in catalogue.facts_in(formula_of(m))}
    return tuple(f for f in _FACTS_OF[family] if f in needed)


def evaluated(metric_id: str, facts: Mapping[str, Any], costs: Params | None = None) -> np.ndarray:
    """A family metric over columns of its facts (x/0 and a missing sum are NaN)."""
    return catalogue.vectorised_expression(formula_of(metric_id))(facts, costs)
