"""Products: what the Products page reads, each through the metric engine's product queries
(`run_query`, metricx.semantic.products), inside one workspace.

- `products_table`: every product, variant or SKU of a period with the product metrics, and
  the ad spend no product could carry as its own line (`unallocated`), so the table's sums
  reconcile with the P&L and the platforms' spend;
- `product_detail`: one product's metrics per day, week or month of the period (every
  bucket present: money and counts 0 where nothing sold, ratios empty) and its totals;
- `campaigns_selling`: which campaigns' credited orders of the period hold the product, with
  the units and sales credited to each and the spend allocated to the product;
- `first_product_repurchase`: of the customers whose first order (in the period) held the
  product, how many ordered again;
- `to_csv`: a table or a trend as CSV, numbers unformatted, money named with its currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from metricx.db import get_reader
from metricx.semantic import compiler, families, products
from metricx.semantic.engine import run_query
from metricx.semantic.fetch import scope_and_costs
from metricx.semantic.query import Attribution, SemanticQuery, TimeRange

Level = Literal["product", "variant", "sku"]
TrendGrain = Literal["day", "week", "month"]
#: Every product metric, in the catalogue's order.
PRODUCT_METRICS: tuple[str, ...] = tuple(families.PRODUCT_METRICS)
#: The label of the line holding the spend no product could carry.
UNALLOCATED_LABEL = "Unallocated ad spend"


@dataclass(frozen=True)
class ProductTable:
    """One row per product, variant or SKU (`level`): its label and id columns, then the
    metrics. `unallocated`: the spend allocated to no product ({"allocated_spend": x,
    "contribution_after_ads": -x}; empty when no allocated metric was asked for)."""

    level: Level
    frame: pd.DataFrame
    unallocated: dict[str, float]
    currency: str
    definitions: dict[str, str]

    @property
    def empty(self) -> bool:
        return self.frame.empty

    @property
    def unallocated_line(self) -> pd.DataFrame:
        """The unallocated spend as one row shaped like the table's (other metrics empty)."""
        if not self.unallocated:
            return self.frame.iloc[0:0]
        row: dict[str, object] = {column: np.nan for column in self.frame.columns}
        row.update({c: None for c in products.KEY_COLUMNS[self.level]})
        row[self.level] = UNALLOCATED_LABEL
        row.update(self.unallocated)
        return pd.DataFrame([row], columns=self.frame.columns)


@dataclass(frozen=True)
class ProductDetail:
    """One product over a period: `trend` (one row per bucket of `grain`, the bucket's first
    day as an ISO date in the grain's column) and `totals` (the whole period)."""

    product_id: int
    title: str | None
    grain: TrendGrain
    trend: pd.DataFrame
    totals: dict[str, float]
    currency: str


@dataclass(frozen=True)
class Repurchase:
    """Customers whose first order of the period held the product, and of them those who
    placed another order since (up to now); `rate` is None when there were none."""

    customers: int
    repeat_customers: int
    rate: float | None


def _query(
    span: TimeRange,
    metrics: tuple[str, ...] | list[str],
    dimensions: list[str],
    grain: str | None = None,
    product_id: int | None = None,
    attribution: Attribution | None = None,
) -> SemanticQuery:
    """A product query; rows by net sales, largest first, when it is asked for."""
    ranked = "product_net_sales" in metrics and grain is None
    return SemanticQuery.parse(
        {
            "metrics": list(metrics),
            "order_by": {"metric": "product_net_sales"} if ranked else None,
            "time_range": span.model_dump(mode="json"),
            "dimensions": dimensions,
            "grain": grain,
            "filters": {"product_ids": None if product_id is None else [product_id]},
            "attribution": None if attribution is None else attribution.model_dump(mode="json"),
        }
    )


def products_table(
    workspace_id: int,
    span: TimeRange,
    level: Level = "product",
    metrics: tuple[str, ...] | list[str] = PRODUCT_METRICS,
    attribution: Attribution | None = None,
) -> ProductTable:
    """Every product (variant, SKU) sold, refunded or cancelled in the period, by net sales."""
    result = run_query(workspace_id, _query(span, metrics, [level], attribution=attribution))
    return ProductTable(
        level,
        result.frame,
        result.unallocated,
        result.currency,
        result.definitions,
    )


def product_detail(
    workspace_id: int,
    product_id: int,
    span: TimeRange,
    grain: TrendGrain = "day",
    metrics: tuple[str, ...] | list[str] = PRODUCT_METRICS,
    attribution: Attribution | None = None,
) -> ProductDetail:
    """One product's trend over the period and its totals (allocation over the whole period,
    as the table's)."""
    trend = run_query(
        workspace_id, _query(span, metrics, ["product"], grain, product_id, attribution)
    )
    total = run_query(
        workspace_id, _query(span, metrics, ["product"], None, product_id, attribution)
    )
    every = [day.isoformat() for day in compiler.buckets(grain, span) or []]
    by_bucket = trend.frame.set_index(grain).reindex(every)
    frame = pd.DataFrame({grain: every})
    for metric_id in metrics:
        values = by_bucket[metric_id].to_numpy(dtype=float)
        if families.metric(metric_id).unit in ("currency", "count"):
            values = np.nan_to_num(values, nan=0.0)  # nothing sold that day: 0, not empty
        frame[metric_id] = values
    titles = total.frame["product"].tolist()
    totals = (
        {m: float(total.frame[m].iloc[0]) for m in metrics}
        if len(total.frame)
        else {
            m: 0.0 if families.metric(m).unit in ("currency", "count") else np.nan for m in metrics
        }
    )
    return ProductDetail(
        product_id, titles[0] if titles else None, grain, frame, totals, trend.currency
    )


def campaigns_selling(
    workspace_id: int,
    product_id: int,
    span: TimeRange,
    attribution: Attribution | None = None,
) -> pd.DataFrame:
    """Per campaign whose credited orders of the period hold the product: `campaign_id`,
    `campaign`, `units` and `credited_sales` (sales after discounts, before refunds, × the
    campaign's credit in each order) and `allocated_spend` (its spend allocated to the
    product by the products table's rule), most spend first."""
    with get_reader().connect() as conn:
        scope, _ = scope_and_costs(conn, workspace_id)
        return products.campaigns_selling(conn, scope, product_id, span, attribution)


def first_product_repurchase(workspace_id: int, product_id: int, span: TimeRange) -> Repurchase:
    """Of the customers whose first order fell in the period and held the product, how many
    ordered again (any time up to now)."""
    result = run_query(
        workspace_id,
        _query(
            span,
            ["repurchase_rate", "new_customer_share", "product_orders"],
            ["product"],
            None,
            product_id,
        ),
    )
    if result.frame.empty:
        return Repurchase(0, 0, None)
    row = result.frame.iloc[0]
    # new-customer orders are the customers' first orders: share × orders
    customers = round(float(np.nan_to_num(row["new_customer_share"])) * row["product_orders"])
    rate = None if pd.isna(row["repurchase_rate"]) else float(row["repurchase_rate"])
    return Repurchase(customers, round(customers * (rate or 0.0)), rate)


def to_csv(table: ProductTable | ProductDetail) -> str:
    """A table (with its unallocated line) or a trend as CSV: numbers unformatted, money in
    the workspace currency (named in the header), empty values empty."""
    if isinstance(table, ProductTable):
        frame = pd.concat([table.frame, table.unallocated_line], ignore_index=True)
    else:
        frame = table.trend
    money = {
        c: f"{c} ({table.currency})"
        for c in frame.columns
        if c in families.PRODUCT_METRICS and families.metric(c).unit == "currency"
    }
    return str(frame.rename(columns=money).to_csv(index=False, na_rep=""))
