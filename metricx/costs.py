"""Cost rules: what fulfilling and charging for orders costs, from a workspace's cost settings.

One place for these formulas, used by the P&L (metricx.services.finance) and the
profit-before-ad-spend metric (metricx.services.metrics). They work on raw store sums
(metricx.semantic.compiler.STORE_SUMS columns: orders, gross, discounts, shipping, taxes,
refunds, ...) in the workspace currency, one value per time bucket: columns of a DataFrame
or numpy arrays alike (anything that does element-wise arithmetic).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from metricx.services.settings import Costs

Sums = Mapping[str, Any]  # column name -> a pandas Series or a numpy array

#: The cost lines, in P&L order.
ORDER_COST_LINES = ("shipping_costs", "handling", "payment_fees")


def store_revenue(raw: Sums) -> Any:
    """Net sales + shipping charged (taxes excluded): what shipping-% rules are a share of."""
    return raw["gross"] - raw["discounts"] - raw["refunds"] + raw["shipping"]


def charged_amount(raw: Sums) -> Any:
    """What customers were charged (gross − discounts + shipping + taxes): payment fees' base."""
    return raw["gross"] - raw["discounts"] + raw["shipping"] + raw["taxes"]


def order_costs(raw: Sums, costs: Costs) -> dict[str, Any]:
    """Shipping costs (per order + share of store revenue), handling (per order) and payment
    fees (share of the charged amount + fixed per order), in ORDER_COST_LINES order."""
    orders = raw["orders"]
    return {
        "shipping_costs": float(costs.shipping_cost_per_order) * orders
        + float(costs.shipping_cost_pct) * store_revenue(raw),
        "handling": float(costs.handling_per_order) * orders,
        "payment_fees": float(costs.payment_fee_pct) * charged_amount(raw)
        + float(costs.payment_fee_fixed) * orders,
    }


def profit_before_ad_spend(raw: Sums, costs: Costs) -> Any:
    """Net sales + shipping charged − COGS − shipping costs − handling − payment fees."""
    lines = order_costs(raw, costs)
    return store_revenue(raw) - raw["cogs"] - sum(lines[name] for name in ORDER_COST_LINES)
