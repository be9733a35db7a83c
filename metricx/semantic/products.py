"""Product queries: the store's money per product, variant or SKU, and ad spend allocated to
products, counted so that every product row adds up to the P&L (docs/design.md, "Store money
is counted as Shopify's sales reports count it").

Per order line of an order that is not a test, in the workspace's days and currency (each
amount converted at the rate of the day it counts on):

- gross = quantity × unit price, on the order's processed day (cancelled orders too);
- discounts = the order's discounts split over its lines by gross: each line the cents
  below its share, the last line (by id) the rest, so the lines add up to the order;
- refunds, on the refund's day: the subtotal of each refund line naming the line, plus a
  share of the refund's rest (its sales less those subtotals: order adjustments, a refund
  without line detail, a refunded line the order no longer lists) split over the order's
  lines by their sales (gross − discounts) as discounts are;
- a cancelled order, on its cancel day, gives back each line's sales less what its refunds
  (whenever issued) gave back of that line: the order's unreturned rest, line by line;
- units, COGS (quantity × unit cost as stored with the line, 0 when unknown) and orders count
  live orders (not cancelled) on their processed day, as the P&L does;
- new-customer orders are live orders that were their customer's first (the P&L's new
  customers: processed at the customer's first_order_at); of those, `repeat_customers` are
  the customers who placed another live order since, up to now.

Lines without a known product are the product "(no product)". So Σ over products of gross,
discounts, refunds, net sales and COGS is the P&L's of the same period.

Ad spend allocation (the rule the README documents):

1. each campaign's spend in the period (every platform, converted to the workspace currency
   at the rate of each day, as the spend metric counts it);
2. the orders credited to the campaign in the period under the query's attribution model and
   window (default last click, 28 days; always cash mode: an order counts on its processed
   day), a credit to an ad or ad set counting for its campaign;
3. the campaign's spend is shared among those orders in proportion to credit × order revenue
   (the attribution's credited revenue, converted at the order day's rate);
4. each order's share is split over its lines by their sales (gross − discounts; all on the
   last line when they have none), and counts on the order's processed day.

Spend of campaigns no live order was credited to in the period (and of ads under no campaign,
and the share of a credited order without lines) is *unallocated*: returned in
`MetricsResult.unallocated` as its own line, so allocated + unallocated = the period's spend.
With a time grain the allocation is still made over the whole period, each order's share
counting in its own bucket (a product's trend adds up to its total).

Where it is read from: a query of one level (product, variant or SKU) over whole days reads
the rollups product_daily and product_credit_daily (metricx.sync.product_rollup keeps them
with this module's own statement, `rollup_ctes` and `rollup_parts`: every event of every
order on its day), their rows per day summed and converted as above, each campaign's spend
shared over its credited revenue of the period. The statement over the orders themselves
answers what they cannot: several levels at once or none (an order holding two products is
one order of the store), SKUs filtered by product (a SKU's rows do not know their product),
a range ending at a clock time (today so far), spend allocated under another attribution than
the default (product_credit_daily holds the credits of ROLLED_UP_ATTRIBUTION only: each of
the 30 cash settings would multiply the attribution job's cost of keeping it), and
`campaigns_selling` (per campaign).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, TextClause, text

from metricx.semantic import compiler, families
from metricx.semantic.compiler import Scope
from metricx.semantic.dates import utc_bounds
from metricx.semantic.evaluate import Params
from metricx.semantic.fetch import MissingFxRateError, Plan, fetch
from metricx.semantic.query import Attribution, SemanticQuery, TimeRange
from metricx.semantic.result import MetricsResult

#: The names of lines without a known product, variant or SKU.
NO_PRODUCT, NO_VARIANT, NO_SKU = "(no product)", "(no variant)", "(no SKU)"
#: The facts of a product row (families.PRODUCT_FACTS) counted here: money, then counts.
MONEY = ("gross", "discounts", "refunds", "cogs")
ALLOCATED = "allocated_spend"
COUNTS = ("units", "orders", "new_customer_orders", "first_customers", "repeat_customers")
FACTS = (*MONEY, ALLOCATED, *COUNTS)

#: Each product dimension's frame columns (its label, then its id), the columns of `lines`
#: its rows are grouped by, and its label's SQL over the names joined at the end.
KEY_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "product": ("product", "product_id"),
    "variant": ("variant", "variant_id"),
    "sku": ("sku",),
}
_GROUPED_BY: Mapping[str, tuple[str, ...]] = {
    "product": ("product_id",),
    "variant": ("variant_id", "product_id"),  # an unknown variant stays under its product
    "sku": ("sku",),
}
_LABELS: Mapping[str, str] = {
    "product": f"coalesce(p.title, '{NO_PRODUCT}')",
    "variant": f"coalesce(p.title, '{NO_PRODUCT}') || ' · ' || "
    f"CASE WHEN v.id IS NULL THEN '{NO_VARIANT}' ELSE coalesce(nullif(v.sku, ''), "
    "'#' || v.external_id) END",
    "sku": "f.sku",
}
_IDS: Mapping[str, str] = {"product_id": "f.product_id", "variant_id": "f.variant_id"}

_PERIOD = "{0} >= :start AND {0} < :end"

#: The orders whose money moves in the period (placed in it; with refunds requested, also
#: those placed before with a refund or a cancellation in it), test orders left out; and
#: every line of them with its product and variant, its gross, and its share of the order's
#: discounts: the cents below its share, the last line (by id) taking the rest.
_ORDERS = """
    orders AS (
        SELECT {order_columns} FROM shopify_orders o {customers}
        WHERE o.workspace_id = :ws AND NOT o.test AND {placed_in_period}{earlier}
    )"""
_LINES = """,
    lines AS (
        SELECT l.id AS line_id, o.id AS order_id, o.processed_at, o.cancelled_at,
            o.currency, o.placed, o.live, o.cancelled, o.is_first, o.again, l.quantity,
            l.quantity * coalesce(l.unit_cost, 0) AS cogs, l.gross, d.discounts,
            l.gross - d.discounts AS net, o.gross_sales - o.discounts AS order_net,
            l.is_last, {weight} AS weight, x.spend * {weight} AS allocated,
            p.id AS product_id, v.id AS variant_id, o.shop_id,
            coalesce(l.product_external_id, '') AS product_external_id,
            coalesce(l.variant_external_id, '') AS variant_external_id,
            coalesce(nullif(l.sku, ''), '{no_sku}') AS sku, {wanted} AS wanted
        FROM orders o
        CROSS JOIN LATERAL (
            SELECT l.*, l.quantity * l.unit_price AS gross, l.id = max(l.id) OVER w AS is_last,
                sum({share}) OVER w AS shares, {share} AS share
            FROM shopify_order_lines l WHERE l.order_id = o.id AND l.workspace_id = :ws
            WINDOW w AS ()
        ) AS l
        CROSS JOIN LATERAL (SELECT CASE WHEN l.is_last THEN o.discounts - (l.shares - l.share)
            ELSE l.share END AS discounts) AS d
        LEFT JOIN shopify_products p ON p.shop_id = o.shop_id
            AND p.external_id = l.product_external_id AND p.workspace_id = :ws
        LEFT JOIN shopify_variants v ON v.product_id = p.id
            AND v.external_id = l.variant_external_id AND v.workspace_id = :ws
        {spent}
    )"""
#: A line's share of its order's discounts before the rest goes to the last line: the
#: cents below its share by gross.
_SHARE = """CASE WHEN o.gross_sales <> 0 AND o.discounts <> 0
                THEN floor(o.discounts * 100 * l.quantity * l.unit_price / o.gross_sales) / 100
                ELSE 0 END"""
#: A line's part of what is allocated to its order (`weight`): by sales, all on its last
#: line when it has none.
_WEIGHT = """CASE WHEN o.gross_sales - o.discounts <> 0
                THEN (l.gross - d.discounts) / (o.gross_sales - o.discounts)
                WHEN l.is_last THEN 1 ELSE 0 END"""
#: An order's columns in `orders`: whether it was placed in the period (`placed`), is live,
#: was cancelled in the period, was its customer's first (the P&L's new customers) and, if
#: so, whether they ordered again since. Later steps filter on these flags, never on a range
#: of a CTE's column: the planner guesses such a range keeps 0.5 % of the rows and then
#: loops over thousands of rows it thinks are one.
_ORDER_COLUMNS = """o.id, o.shop_id, o.processed_at, o.cancelled_at, o.currency, o.discounts,
            o.gross_sales, {placed} AS placed, o.cancelled_at IS NULL AS live,
            coalesce({cancelled_in_period}, false) AS cancelled, {is_first} AS is_first,
            {again} AS again"""
_CUSTOMERS = "LEFT JOIN shopify_customers c ON c.id = o.customer_id AND c.workspace_id = :ws"
_FIRST = "o.processed_at = c.first_order_at"
_AGAIN = """EXISTS (SELECT 1 FROM shopify_orders n
                WHERE n.customer_id = o.customer_id AND n.workspace_id = :ws AND NOT n.test
                  AND n.cancelled_at IS NULL AND n.processed_at > o.processed_at)"""
#: Orders placed before the period with a refund or a cancellation in it.
_EARLIER = """
        UNION ALL
        SELECT {order_columns} FROM shopify_orders o {customers}
        WHERE o.workspace_id = :ws AND NOT o.test AND o.processed_at < :start
          AND o.id IN (SELECT order_id FROM shopify_refunds
                       WHERE workspace_id = :ws AND {refunded_in_period}
                       UNION ALL SELECT id FROM shopify_orders
                       WHERE workspace_id = :ws AND {cancelled_in_period})"""

#: What each refund of the period, and each refund of an order cancelled in the period,
#: gave back of each line: the subtotals of its refund lines, and its rest (sales not tied
#: to a line of the order) split over the order's lines by sales, as discounts are.
_REFUNDS = """,
    refunds AS (
        SELECT id, order_id, created_at, sales, true AS refunded FROM shopify_refunds
        WHERE workspace_id = :ws AND {refunds_read}
        UNION
        SELECT r.id, r.order_id, r.created_at, r.sales, {r_refunded_in_period}
        FROM orders o JOIN shopify_refunds r ON r.order_id = o.id
        WHERE r.workspace_id = :ws AND o.cancelled
    ),
    refund_rows AS (
        SELECT r.id AS refund_id, r.created_at AS refund_at, r.refunded, l.*,
            coalesce(b.subtotal, 0) AS subtotal,
            r.sales - sum(coalesce(b.subtotal, 0)) OVER (PARTITION BY r.id) AS rest
        FROM refunds r JOIN lines l ON l.order_id = r.order_id
        LEFT JOIN shopify_refund_lines b ON b.refund_id = r.id AND b.line_id = l.line_id
    ),
    refund_shares AS (
        SELECT *, CASE WHEN order_net <> 0
            THEN floor(rest * 100 * net / order_net) / 100 ELSE 0 END AS rest_share
        FROM refund_rows
    ),
    refund_lines AS (
        SELECT *, subtotal + CASE WHEN is_last
            THEN rest - (sum(rest_share) OVER (PARTITION BY refund_id) - rest_share)
            ELSE rest_share END AS back
        FROM refund_shares
    )"""

#: The period's spend per campaign (bound arrays) shared over the live orders credited to
#: the campaign by credit × order revenue (converted at the order day's rate), then over
#: each order's lines by sales (all on its last line when it has none).
_SPEND = """
    spend AS (
        SELECT * FROM unnest(CAST(:campaign_ids AS bigint[]), CAST(:spends AS float8[]))
            AS s(campaign_id, spend)
    )"""
#: The campaign of each entity of the workspace (a credit to an ad or ad set counts for it).
CAMPAIGN_OF = """
    campaign_of AS MATERIALIZED (
        SELECT e.id AS entity_id, CASE e.level WHEN 'campaign' THEN e.id
            WHEN 'adset' THEN e.parent_id WHEN 'ad' THEN up.parent_id END AS campaign_id
        FROM entities e LEFT JOIN entities up ON up.id = e.parent_id AND e.level = 'ad'
        WHERE e.workspace_id = :ws
    )"""
_ALLOCATION = (
    f",{_SPEND},{CAMPAIGN_OF},"
    + """
    credits AS MATERIALIZED (
        SELECT order_id, entity_id, credit, revenue FROM attributions
        WHERE workspace_id = :ws AND model = :model AND window_days = :window
          AND mode = 'cash' AND {credited_in_period}
    ),
    credited AS (
        SELECT a.order_id, k.campaign_id,
            sum(a.revenue * CASE WHEN o.currency = :cur THEN 1 ELSE fx.rate END) AS revenue,
            sum(a.credit) AS credit
        FROM credits a
        JOIN orders o ON o.id = a.order_id
        JOIN campaign_of k ON k.entity_id = a.entity_id
        LEFT JOIN fx_rates fx ON fx.workspace_id = :ws AND fx.day = {order_day}
            AND fx.from_currency = o.currency AND fx.to_currency = :cur
        WHERE o.live
        GROUP BY 1, 2
    ),
    campaign_revenue AS (
        SELECT campaign_id, sum(revenue) AS revenue FROM credited
        GROUP BY campaign_id HAVING sum(revenue) > 0
    ),
    order_spend AS (
        SELECT c.order_id, c.campaign_id, s.spend * c.revenue / t.revenue AS spend
        FROM credited c JOIN campaign_revenue t ON t.campaign_id = c.campaign_id
        JOIN spend s ON s.campaign_id = c.campaign_id
    ),
    order_spent AS (
        SELECT order_id, sum(spend) AS spend FROM order_spend GROUP BY order_id
    )"""
)


@dataclass(frozen=True)
class Shape:
    """What a product statement depends on, without values: one statement per shape."""

    dimensions: tuple[str, ...]
    grain: str | None
    product_filter: bool
    name_filter: bool
    #: refunds are asked for (refunds in the period and cancellations)
    refunds: bool
    #: new-customer orders are asked for; `repeat`: and whether their customers came back
    customers: bool
    repeat: bool
    allocation: bool

    @classmethod
    def of(cls, query: SemanticQuery) -> Shape:
        facts = set(query.facts)
        return cls(
            tuple(query.dimensions),
            query.grain,
            bool(query.filters.product_ids),
            bool(query.filters.name_contains),
            "refunds" in facts,
            bool(facts & {"new_customer_orders", "first_customers", "repeat_customers"}),
            "repeat_customers" in facts,
            ALLOCATED in facts,
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """The key columns of its result rows."""
        return tuple(c for d in self.dimensions for c in KEY_COLUMNS[d])

    @property
    def grouped_by(self) -> tuple[str, ...]:
        """The columns of `lines` its rows are grouped by."""
        return tuple(dict.fromkeys(c for d in self.dimensions for c in _GROUPED_BY[d]))

    @property
    def rolled_up(self) -> bool:
        """Whether the rollups answer it (whole days asked for, see `fetch_period`): one
        level, and no product filter on SKUs (a SKU's rows do not know their product)."""
        return len(self.dimensions) == 1 and not (
            self.dimensions == ("sku",) and (self.product_filter or self.name_filter)
        )


#: The shape of a rollup's rows: every fact of every event (metricx.sync.product_rollup).
_ROLLUP_SHAPE = Shape((), None, False, False, True, True, True, False)


def local_day(instant: str) -> str:
    return f"({instant} AT TIME ZONE :tz)::date"


def _bucket(grain: str | None, day: str) -> str:
    if grain == "day":
        return day
    if grain in ("week", "month"):
        return f"date_trunc('{grain}', {day})::date"
    return "NULL::date"


#: How a part's rows are keyed, given the SQL of their local day: its leading select list
#: and its GROUP BY clause.
Keyed = Callable[[str], tuple[str, str]]


def _period_keys(shape: Shape) -> Keyed:
    """A period's rows: per (keys, bucket, rate day, currency), no rate day in the
    workspace currency."""
    keys = "".join(f"{c}, " for c in shape.grouped_by)
    positions = ", ".join(str(i) for i in range(1, len(shape.grouped_by) + 4))

    def keyed(day: str) -> tuple[str, str]:
        return (
            f"{keys}{_bucket(shape.grain, day)} AS bucket,"
            f" CASE WHEN currency = :cur THEN NULL ELSE {day} END AS day, currency",
            f"GROUP BY {positions}",
        )

    return keyed


def _part(keyed: Keyed, source: str, day: str, sums: Mapping[str, str], where: str) -> str:
    """One source's facts keyed by `keyed`: `sums` by fact (0 for the others), counted on
    the local day `day`."""
    keys, group_by = keyed(day)
    selected = ", ".join(f"{sums.get(f, '0')} AS {f}" for f in FACTS)
    return f"""
        SELECT {keys}, {selected}
        FROM {source} WHERE {where}
        {group_by}"""


def _wanted(shape: Shape) -> str:
    """Whether a row's product (`p`) is one the query keeps."""
    wanted = [
        *(["p.id = ANY(CAST(:product_ids AS bigint[]))"] if shape.product_filter else []),
        *(["p.title ILIKE :name_pattern ESCAPE '\\'"] if shape.name_filter else []),
    ]
    return " AND ".join(wanted) or "true"


def _ctes(shape: Shape, chosen: str | None = None) -> str:
    """The common table expressions a shape reads: the orders and their lines, and where
    asked for what the refunds gave back of each line and the spend allocated to each.
    `chosen`: instead, the orders this condition on `o` picks with every event of theirs,
    whenever it happened (the rows of a rollup: _ROLLUP_SHAPE)."""
    is_first = _FIRST if shape.customers else "false"
    cancelled = "o.cancelled_at IS NOT NULL" if chosen else _PERIOD.format("o.cancelled_at")

    def order_columns(placed: str) -> str:
        return _ORDER_COLUMNS.format(
            placed=placed,
            cancelled_in_period=cancelled,
            is_first=is_first,
            again=f"{is_first} AND {_AGAIN}" if shape.repeat else "false",
        )

    customers = _CUSTOMERS if shape.customers else ""
    earlier = (
        _EARLIER.format(
            order_columns=order_columns("false"),
            customers=customers,
            refunded_in_period=_PERIOD.format("created_at"),
            cancelled_in_period=_PERIOD.format("cancelled_at"),
        )
        if shape.refunds and not chosen
        else ""
    )
    ctes = _ORDERS.format(
        order_columns=order_columns("true"),
        customers=customers,
        placed_in_period=chosen or _PERIOD.format("o.processed_at"),
        earlier=earlier,
    )
    if shape.allocation:
        ctes += _ALLOCATION.format(
            order_day=local_day("o.processed_at"), credited_in_period=_PERIOD.format("credited_at")
        )
    ctes += _LINES.format(
        share=_SHARE,
        weight=_WEIGHT if shape.allocation or chosen else "0",
        spent="LEFT JOIN order_spent x ON x.order_id = o.id"
        if shape.allocation
        else "CROSS JOIN (SELECT 0 AS spend) AS x",
        wanted=_wanted(shape),
        no_sku=NO_SKU,
    )
    if shape.refunds:
        ctes += _REFUNDS.format(
            refunds_read="order_id IN (SELECT id FROM orders)"
            if chosen
            else _PERIOD.format("created_at"),
            r_refunded_in_period="true" if chosen else _PERIOD.format("r.created_at"),
        )
    return ctes


def _parts(shape: Shape, keyed: Keyed) -> list[str]:
    """Each source's facts keyed by `keyed`: sales on the order's day (orders counted once
    per key: summed per order first), refunds on theirs, cancellations on theirs, allocated
    spend on the order's day."""
    parts = [
        _part(
            keyed,
            "lines",
            local_day("processed_at"),
            {
                "gross": "sum(gross)",
                "discounts": "sum(discounts)",
                "cogs": "coalesce(sum(cogs) FILTER (WHERE live), 0)",
                "units": "coalesce(sum(quantity) FILTER (WHERE live), 0)",
                "orders": "count(DISTINCT order_id) FILTER (WHERE live)",
                # a first order is one customer's: its count is their count
                "new_customer_orders": "count(DISTINCT order_id) FILTER (WHERE live AND is_first)",
                "first_customers": "count(DISTINCT order_id) FILTER (WHERE live AND is_first)",
                "repeat_customers": "count(DISTINCT order_id) FILTER (WHERE live AND again)",
                # spend is in the workspace currency already: summed, never converted
                ALLOCATED: "coalesce(sum(allocated), 0)",
            },
            "placed AND wanted",
        )
    ]
    if shape.refunds:
        parts += [
            _part(
                keyed,
                "refund_lines",
                local_day("refund_at"),
                {"refunds": "sum(back)"},
                "refunded AND wanted",
            ),
            _part(
                keyed,
                """lines LEFT JOIN (SELECT line_id AS returned_line, sum(back) AS returned
                    FROM refund_lines GROUP BY line_id) AS b ON b.returned_line = line_id""",
                local_day("cancelled_at"),
                {"refunds": "sum(net - coalesce(returned, 0))"},
                "cancelled AND wanted",
            ),
        ]
    return parts


def rollup_ctes(chosen: str) -> str:
    """The common table expressions of the `chosen` orders (a condition on `o`): `orders`,
    their `lines` (with `weight`, a line's part of what is credited to its order) and what
    their refunds gave back of each line (metricx.sync.product_rollup)."""
    return _ctes(_ROLLUP_SHAPE, chosen)


def rollup_parts(keyed: Keyed) -> str:
    """Every fact of the events of `rollup_ctes`' orders keyed by `keyed`, each part on its
    own day (what product_daily stores)."""
    return " UNION ALL ".join(_parts(_ROLLUP_SHAPE, keyed))


#: A rollup's rows of the period summed per Shopify keys, bucket, rate day (none in the
#: workspace currency) and currency, then given the ids their keys have now (as `lines`
#: finds a line's product).
_ROLLED = """
        SELECT p.id AS product_id, v.id AS variant_id, r.*, {wanted} AS wanted
        FROM (
            SELECT {keys}shop_id, product_external_id, variant_external_id, sku,
                {bucket} AS bucket, CASE WHEN currency = :cur THEN NULL ELSE day END AS day,
                currency, {sums}
            FROM {table}
            WHERE workspace_id = :ws AND day BETWEEN :first AND :last AND {rows}
            GROUP BY {positions}
        ) AS r
        LEFT JOIN shopify_products p ON p.shop_id = r.shop_id
            AND p.external_id = r.product_external_id AND p.workspace_id = :ws
        LEFT JOIN shopify_variants v ON v.product_id = p.id
            AND v.external_id = r.variant_external_id AND v.workspace_id = :ws"""
#: The product_credit_daily rows of the query's attribution, at a level.
_CREDIT_ROWS = "model = :model AND window_days = :window AND level = {level}"
#: Each campaign's spend shared over its credited revenue of the period (level 'order' rows
#: of product_credit_daily, converted at the order day's rate): what each unit of credited
#: revenue is allocated (`factor`), then the level's rows (lines by product) × theirs.
_ROLLED_ALLOCATION = f""",
    campaign_revenue AS (
        SELECT r.campaign_id,
            sum(r.credited_revenue * CASE WHEN r.currency = :cur THEN 1 ELSE fx.rate END)
            AS revenue
        FROM product_credit_daily r LEFT JOIN fx_rates fx ON fx.workspace_id = :ws
            AND fx.day = r.day AND fx.from_currency = r.currency AND fx.to_currency = :cur
        WHERE r.workspace_id = :ws AND r.day BETWEEN :first AND :last
          AND r.{_CREDIT_ROWS.format(level="'order'")}
        GROUP BY r.campaign_id HAVING sum(r.credited_revenue
            * CASE WHEN r.currency = :cur THEN 1 ELSE fx.rate END) > 0
    ),
    factor AS (
        SELECT t.campaign_id, s.spend / t.revenue AS factor
        FROM campaign_revenue t JOIN spend s ON s.campaign_id = t.campaign_id
    ),
    credited AS ({{credited}}
    ),
    allocated AS (
        SELECT c.*, c.credited_revenue * f.factor
            * CASE WHEN c.currency = :cur THEN 1 ELSE fx.rate END AS allocated
        FROM credited c JOIN factor f ON f.campaign_id = c.campaign_id
        LEFT JOIN fx_rates fx ON fx.workspace_id = :ws AND fx.day = c.day
            AND fx.from_currency = c.currency AND fx.to_currency = :cur
    )"""


#: The facts product_daily holds (first customers are its new-customer orders: one each).
_ROLLED_FACTS = (*MONEY, *(c for c in COUNTS if c != "first_customers"))


def _rolled_ctes(shape: Shape) -> str:
    """The rollups' rows of the shape's level in the period (`daily`), and where asked for
    the spend allocated to them (`allocated`)."""
    bucket = _bucket(shape.grain, "day")
    sums = ", ".join(f"sum({f}) AS {f}" for f in _ROLLED_FACTS)
    daily = _ROLLED.format(
        wanted=_wanted(shape),
        keys="",
        positions="1, 2, 3, 4, 5, 6, 7",
        bucket=bucket,
        sums=sums,
        table="product_daily",
        rows="level = :level",
    )
    ctes = f"""
    daily AS ({daily}
    )"""
    if shape.allocation:
        credited = _ROLLED.format(
            wanted=_wanted(shape),
            keys="campaign_id, ",
            positions="1, 2, 3, 4, 5, 6, 7, 8",
            bucket=bucket,
            # a share of spend is a float anyway (as in `lines`): summed as one, faster
            sums="sum(credited_revenue::float8) AS credited_revenue",
            table="product_credit_daily",
            rows=_CREDIT_ROWS.format(level=":level"),
        )
        ctes += f",{_SPEND}" + _ROLLED_ALLOCATION.format(credited=credited)
    return ctes


def _rolled_parts(shape: Shape) -> list[str]:
    """The facts of the rollups' rows per (keys, bucket, rate day, currency)."""
    keys = "".join(f"{c}, " for c in shape.grouped_by)
    positions = ", ".join(str(i) for i in range(1, len(shape.grouped_by) + 4))

    def keyed(_: str) -> tuple[str, str]:  # bucket and rate day are the rows' own
        return f"{keys}bucket, day, currency", f"GROUP BY {positions}"

    sums = {f: f"sum({f})" for f in _ROLLED_FACTS}
    sums["first_customers"] = "sum(new_customer_orders)"
    parts = [_part(keyed, "daily", "day", sums, "wanted")]
    if shape.allocation:
        parts.append(_part(keyed, "allocated", "day", {ALLOCATED: "sum(allocated)"}, "wanted"))
    return parts


@lru_cache(maxsize=256)
def statement(shape: Shape, missing_rates: bool = False, rolled: bool = False) -> TextClause:
    """The facts of one period per (keys, bucket), in the workspace currency, with their
    names, each row with the count of its source rows lacking a rate (`unconverted`), then
    one row (part 'total') with the spend left unallocated. `missing_rates`: the (currency,
    day) pairs lacking a rate instead. `rolled`: read from the rollups (Shape.rolled_up)."""
    lacking = f"rate IS NULL AND ({' OR '.join(f'{m} <> 0' for m in MONEY)})"
    parts = _rolled_parts(shape) if rolled else _parts(shape, _period_keys(shape))
    body = f"""WITH {_rolled_ctes(shape) if rolled else _ctes(shape)},
    facts AS ({" UNION ALL ".join(parts)}
    ),
    rated AS (
        SELECT f.*, CASE WHEN f.currency = :cur THEN 1 ELSE fx.rate END AS rate
        FROM facts f LEFT JOIN fx_rates fx ON fx.workspace_id = :ws AND fx.day = f.day
            AND fx.from_currency = f.currency AND fx.to_currency = :cur
    )"""
    if missing_rates:
        return text(f"{body} SELECT DISTINCT currency, day FROM rated WHERE {lacking}")
    keys = "".join(f"{c}, " for c in shape.grouped_by)
    summed = f"""(SELECT {keys}bucket,
            {", ".join(f"sum({m} * rate)::float8 AS {m}" for m in MONEY)},
            sum({ALLOCATED})::float8 AS {ALLOCATED},
            {", ".join(f"sum({c})::float8 AS {c}" for c in COUNTS)},
            count(*) FILTER (WHERE {lacking}) AS unconverted
        FROM rated GROUP BY {keys}bucket) AS f"""
    named = ", ".join(
        f"{_LABELS[d] if column == d else _IDS[column]} AS {column}"
        for d in shape.dimensions
        for column in KEY_COLUMNS[d]
    )
    names = (
        "LEFT JOIN shopify_products p ON p.id = f.product_id"
        if {"product", "variant"} & set(shape.dimensions)
        else ""
    ) + (
        " LEFT JOIN shopify_variants v ON v.id = f.variant_id"
        if "variant" in shape.dimensions
        else ""
    )
    allocated = "allocated" if rolled else "lines"
    unallocated = (
        f":total_spend - (SELECT coalesce(sum(allocated), 0) FROM {allocated})"
        if shape.allocation
        else "0"
    )
    nothing = "".join("NULL, " for _ in (*shape.columns, "bucket", *FACTS))
    return text(f"""{body}
    SELECT 'row' AS part, {named}{", " if named else ""}bucket,
        {", ".join(f"f.{c}" for c in FACTS)}, unconverted, NULL::float8 AS unallocated
    FROM {summed} {names}
    UNION ALL
    SELECT 'total', {nothing}0, ({unallocated})::float8""")


@dataclass(frozen=True)
class CampaignSpend:
    """A period's spend per campaign in the workspace currency; `total` counts spend under
    no campaign too."""

    campaign_ids: list[int]
    spends: list[float]
    total: float


def campaign_spend(
    conn: Connection, scope: Scope, spans: Sequence[TimeRange]
) -> list[CampaignSpend]:
    """Each period's spend per campaign, counted and converted as the spend metric is (the
    compiler's statement; MissingFxRateError when a rate is missing)."""
    shape = compiler.Shape(("campaign",), None, False, False, False)
    cuts = tuple(span.until is not None for span in spans)
    params: dict[str, Any] = {}
    for period, span in enumerate(spans):
        params.update(compiler.period_params(scope, span, period))
    fetched = fetch(
        conn,
        Plan(compiler.query_statement(shape, ("spend",), False, cuts), params),
        scope,
        len(spans),
    )
    found = []
    for sources in fetched:
        rows = sources.get("ad", {"campaign_id": [], "spend": []})
        pairs = [(c, s or 0.0) for c, s in zip(rows["campaign_id"], rows["spend"], strict=True)]
        found.append(
            CampaignSpend(
                [c for c, _ in pairs if c is not None],
                [s for c, s in pairs if c is not None],
                sum(s for _, s in pairs),
            )
        )
    return found


#: The attribution whose credits product_credit_daily holds (the engine's default).
ROLLED_UP_ATTRIBUTION = Attribution()


def attribution_of(query: SemanticQuery) -> Attribution:
    """The attribution model and window spend is allocated by (cash mode always)."""
    return query.attribution or Attribution()


def params(
    query: SemanticQuery, scope: Scope, span: TimeRange, spend: CampaignSpend | None
) -> dict[str, Any]:
    """The values of a product statement's placeholders for one period."""
    start, end = utc_bounds(span, scope.timezone)
    values: dict[str, Any] = {
        "ws": scope.workspace_id,
        "tz": scope.timezone,
        "cur": scope.currency,
        "start": start,
        "end": end,
        "first": span.start,
        "last": span.end,
    }
    if query.dimensions:
        values["level"] = query.dimensions[0]
    if query.filters.product_ids:
        values["product_ids"] = list(query.filters.product_ids)
    if query.filters.name_contains:
        values["name_pattern"] = compiler.filter_params(query)["name_pattern"]
    if spend is not None:
        attribution = attribution_of(query)
        values |= {
            "model": attribution.model,
            "window": attribution.window_days or 0,
            "campaign_ids": spend.campaign_ids,
            "spends": spend.spends,
            "total_spend": spend.total,
        }
    return values


@dataclass(frozen=True)
class Period:
    """One period's rows: key columns and `bucket` (lists), fact sums (float arrays), and the
    spend left unallocated (0 when no allocation was asked for)."""

    columns: dict[str, Any]
    unallocated: float


def fetch_period(
    conn: Connection, shape: Shape, span: TimeRange, values: Mapping[str, Any], scope: Scope
) -> Period:
    """Run a period's statement, from the rollups when they answer it (whole days, the
    default attribution);
    MissingFxRateError names the days lacking a rate."""
    rolled = (
        shape.rolled_up
        and span.until is None
        and (
            not shape.allocation
            or (values["model"], values["window"])
            == (ROLLED_UP_ATTRIBUTION.model, ROLLED_UP_ATTRIBUTION.window_days)
        )
    )
    result = conn.execute(statement(shape, rolled=rolled), values)
    names = list(result.keys())
    *rows, total = result.fetchall()  # the 'total' row comes last
    if any(row[names.index("unconverted")] for row in rows):
        missing = conn.execute(statement(shape, True, rolled), values).all()
        raise MissingFxRateError.naming([(c, d) for c, d in missing], scope.currency)
    columns: dict[str, Any] = {
        name: [row[at] for row in rows]
        for at, name in enumerate(names)
        if name in (*shape.columns, "bucket")
    }
    for fact in FACTS:
        at = names.index(fact)
        columns[fact] = np.array([row[at] or 0.0 for row in rows], dtype=float)
    return Period(columns, float(total[names.index("unallocated")] or 0.0))


def _sort_codes(values: Sequence[Any]) -> np.ndarray:
    """Each value's rank among the column's distinct values, None last."""
    ranks = {v: i for i, v in enumerate(sorted({v for v in values if v is not None}))}
    return np.array([len(ranks) if v is None else ranks[v] for v in values], dtype=np.int64)


def _ranking(query: SemanticQuery, shape: Shape, columns: Mapping[str, Any]) -> np.ndarray:
    """The rows to show, in order: by the order_by metric (nulls last), ties (and every row
    without an order_by) by label, id and bucket; cut at the limit."""
    keys = [*shape.columns, "bucket"]
    sort_keys = [_sort_codes(columns[k]) for k in reversed(keys)]  # the last key is primary
    if query.order_by:
        values = np.asarray(columns[query.order_by.metric], dtype=float)
        sign = -1.0 if query.order_by.direction == "desc" else 1.0
        sort_keys += [np.where(np.isnan(values), 0.0, sign * values), np.isnan(values)]
    return np.lexsort(sort_keys)[: query.limit] if sort_keys else np.arange(0)


def _place(grain: str | None, span: TimeRange, bucket: date | None) -> int:
    """A bucket's place among its period's buckets (0 without a grain)."""
    every = compiler.buckets(grain, span)
    return 0 if every is None or bucket is None else every.index(bucket)


def _aligned(
    query: SemanticQuery,
    shape: Shape,
    main: Mapping[str, Any],
    shown: np.ndarray,
    other: Mapping[str, Any],
) -> np.ndarray:
    """For each shown row, the comparison period's row with the same keys at the same place
    in its period; -1 for none."""
    assert query.compare_range is not None

    def keys(columns: Mapping[str, Any], span: TimeRange) -> list[tuple[Any, ...]]:
        places = [_place(query.grain, span, b) for b in columns["bucket"]]
        return list(zip(*(columns[c] for c in shape.columns), places, strict=True))

    rows = {key: at for at, key in enumerate(keys(other, query.compare_range))}
    wanted = keys(main, query.time_range)
    return np.array([rows.get(wanted[at], -1) for at in shown], dtype=np.int64)


def _frame(
    query: SemanticQuery,
    shape: Shape,
    columns: Mapping[str, Any],
    rows: np.ndarray,
    keys_from: tuple[Mapping[str, Any], np.ndarray] | None = None,
) -> pd.DataFrame:
    """The result's DataFrame: key columns, the grain's bucket (ISO date), the metrics. A row
    -1 (a compared row the period lacks) takes its keys from `keys_from` and is empty."""
    data: dict[str, Any] = {}
    for name in [*shape.columns, *([query.grain] if query.grain else [])]:
        source = columns["bucket"] if name == query.grain else columns[name]
        taken = [None if at < 0 else source[at] for at in rows]
        if keys_from is not None:
            main, shown = keys_from
            origin = main["bucket"] if name == query.grain else main[name]
            taken = [
                origin[shown[i]] if at < 0 else v
                for i, (at, v) in enumerate(zip(rows, taken, strict=True))
            ]
        if name == query.grain:
            taken = [None if v is None else v.isoformat() for v in taken]
        # object columns: an id stays an int beside an empty one (no float NaN)
        data[name] = pd.Series(taken, dtype=object)
    for metric_id in query.metrics:
        values = np.asarray(columns[metric_id], dtype=float)
        data[metric_id] = (
            np.where(rows < 0, np.nan, values[np.maximum(rows, 0)])
            if len(values)
            else np.full(len(rows), np.nan)
        )
    return pd.DataFrame(data)


def _evaluated(query: SemanticQuery, period: Period, costs: Params) -> dict[str, Any]:
    columns = dict(period.columns)
    for metric_id in query.metrics:
        columns[metric_id] = families.evaluated(metric_id, period.columns, costs)
    return columns


def run(
    conn: Connection, workspace_id: int, query: SemanticQuery, scope: Scope, costs: Params
) -> MetricsResult:
    """Answer a product query inside the workspace of `scope` (`workspace_id`)."""
    assert scope.workspace_id == workspace_id
    spans = [query.time_range, *([query.compare_range] if query.compare_range else [])]
    shape = Shape.of(query)
    spends: list[CampaignSpend | None] = (
        [*campaign_spend(conn, scope, spans)] if shape.allocation else [None for _ in spans]
    )
    periods = [
        fetch_period(conn, shape, span, params(query, scope, span, spend), scope)
        for span, spend in zip(spans, spends, strict=True)
    ]
    main = _evaluated(query, periods[0], costs)
    shown = _ranking(query, shape, main)
    compare = None
    if query.compare_range:
        other = _evaluated(query, periods[1], costs)
        compare = _frame(
            query, shape, other, _aligned(query, shape, main, shown, other), (main, shown)
        )
    unallocated = periods[0].unallocated
    return MetricsResult(
        query,
        _frame(query, shape, main, shown),
        compare,
        scope.currency,
        scope.timezone,
        {m: query.metric(m).definition for m in query.metrics},
        unallocated={ALLOCATED: unallocated, "contribution_after_ads": -unallocated}
        if shape.allocation
        else {},
    )


#: What each campaign's credited orders bought of one product: units and sales (gross −
#: discounts, before refunds) × the campaign's credit in the order, in the workspace currency,
#: and the campaign's spend allocated to those lines.
_BY_CAMPAIGN = """
    SELECT c.campaign_id, coalesce(k.name, '(unknown)') AS campaign,
        sum(l.quantity * c.credit)::float8 AS units,
        sum(l.net * c.credit
            * CASE WHEN l.currency = :cur THEN 1 ELSE fx.rate END)::float8 AS credited_sales,
        coalesce(sum(x.spend * l.weight), 0)::float8 AS allocated_spend,
        count(*) FILTER (WHERE l.currency <> :cur AND fx.rate IS NULL) AS unconverted
    FROM lines l
    JOIN credited c ON c.order_id = l.order_id
    LEFT JOIN entities k ON k.id = c.campaign_id AND k.workspace_id = :ws
    LEFT JOIN order_spend x ON x.order_id = l.order_id AND x.campaign_id = c.campaign_id
    LEFT JOIN fx_rates fx ON fx.workspace_id = :ws AND fx.day = {order_day}
        AND fx.from_currency = l.currency AND fx.to_currency = :cur
    WHERE l.wanted AND l.live AND c.campaign_id IS NOT NULL
    GROUP BY c.campaign_id, k.name
    ORDER BY allocated_spend DESC, units DESC, campaign"""


def campaigns_selling(
    conn: Connection,
    scope: Scope,
    product_id: int,
    span: TimeRange,
    attribution: Attribution | None = None,
) -> pd.DataFrame:
    """Per campaign whose credited orders of the period hold the product: `campaign_id`,
    `campaign`, `units` and `credited_sales` (× the campaign's credit in each order) and the
    `allocated_spend` of its lines (the product query's allocation rule)."""
    query = SemanticQuery.parse(
        {
            "metrics": [ALLOCATED],
            "dimensions": ["product"],
            "time_range": span.model_dump(mode="json"),
            "filters": {"product_ids": [product_id]},
            "attribution": None if attribution is None else attribution.model_dump(mode="json"),
        }
    )
    shape = Shape.of(query)
    (spend,) = campaign_spend(conn, scope, [span])
    result = conn.execute(
        text(f"WITH {_ctes(shape)} {_BY_CAMPAIGN.format(order_day=local_day('l.processed_at'))}"),
        params(query, scope, span, spend),
    )
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    if frame["unconverted"].any():
        raise MissingFxRateError.naming(
            conn.execute(
                statement(shape, missing_rates=True), params(query, scope, span, spend)
            ).all(),
            scope.currency,
        )
    return frame.drop(columns="unconverted")
