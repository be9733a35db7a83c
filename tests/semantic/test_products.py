"""Product queries proved against a count made here, from the generated rows alone.

Random orders in dollars and euros (several lines each, some without a product; discounts,
test orders, cancellations, refunds with and without line detail, order adjustments, a
refunded line the order no longer lists) are written through the Shopify sync's own write
path; campaigns spend, and some orders are credited to an ad, an ad set or a campaign. Then
the product engine's rows equal a plain-Python count (below, not the project's code), their
sums equal the P&L's, and allocated + unallocated spend equals the spend:

- a line's gross is quantity × price on its order's day; the order's discount is split over
  its lines by gross, each the cents below its share and the last line the rest;
- a refund gives back, on its day, its refund lines' subtotals and its rest (sales not tied
  to a line of the order) split over the lines by sales (gross − discount) the same way;
- a cancelled order gives back, on its cancel day, each line's sales less its refunds;
- units, COGS and orders count live orders; euros at the rate of the day the money moved;
- each campaign's spend goes to the live orders credited to it (last click, 28 days, cash)
  by credited revenue, then to their lines by sales; campaigns with no such order keep it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from store_seed import (
    ORIGIN,
    Timeline,
    add_campaigns,
    add_credits,
    add_products,
    add_rates,
    add_shop,
    clear_store,
    write_orders,
)

from metricx.connectors.records import (
    LineItemRecord,
    OrderRecord,
    RefundLineRecord,
    RefundRecord,
)
from metricx.db import get_reader, transaction
from metricx.semantic import families, products
from metricx.semantic.engine import daily_store_facts
from metricx.semantic.fetch import scope_and_costs
from metricx.semantic.query import SemanticQuery, TimeRange
from metricx.semantic.result import MetricsResult

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
DAYS = 8  # orders in the first days, cancellations and refunds up to three days later
FIRST = ORIGIN.astimezone(ZONE).date()
LAST = FIRST + timedelta(days=DAYS + 4)
LATER = ORIGIN + timedelta(days=30)
ALL_METRICS = list(families.PRODUCT_METRICS)

#: (product id, title, variants: (variant id, sku, unit cost in cents or None))
CATALOGUE = (
    ("p1", "Linen Shirt", (("v1", "LS-S", 1200), ("v2", "LS-M", 1300))),
    ("p2", "Wool Socks", (("v3", "WS-1", 250),)),
    ("p3", "Gift Card", (("v4", None, None),)),
)
#: What a line may sell: (product, variant, sku), the last one no product at all
SELLABLE = (
    ("p1", "v1", "LS-S"),
    ("p1", "v2", "LS-M"),
    ("p2", "v3", "WS-1"),
    ("p3", "v4", None),
    (None, None, "CUSTOM"),
)
COSTS = {"v1": 1200, "v2": 1300, "v3": 250}
#: Campaign -> the entity level its credits name; "idle" spends but is credited nothing.
CAMPAIGNS = {"shirts": "ad", "socks": "adset", "brand": "campaign", "idle": None}


def eur_rate(day: date) -> Decimal:
    return Decimal("1.1") + Decimal(day.toordinal() % 7) / 100


@dataclass(frozen=True)
class Line:
    sellable: int
    quantity: int
    price: int  # cents


@dataclass(frozen=True)
class Refund:
    after_hours: int
    lines: tuple[tuple[int, int], ...]  # (line index, subtotal cents); index -1: unlisted
    adjustment: int  # cents, added to the sales given back


@dataclass(frozen=True)
class Order(Timeline):
    placed_hour: int
    currency: str
    customer: int | None
    lines: tuple[Line, ...]
    discount: int
    test: bool
    cancelled_after: int | None
    refunds: tuple[Refund, ...]
    credits: tuple[tuple[str, int], ...]  # (campaign, credit in percent)

    @property
    def gross(self) -> int:
        return sum(line.quantity * line.price for line in self.lines)

    @property
    def live(self) -> bool:
        return not self.test and self.cancelled is None


@st.composite
def orders(draw: st.DrawFn) -> Order:
    lines = draw(
        st.lists(
            st.builds(
                Line,
                st.integers(0, len(SELLABLE) - 1),
                st.integers(1, 3),
                st.sampled_from([0, 999, 2500, draw(st.integers(1, 9_000))]),
            ),
            min_size=1,
            max_size=3,
        )
    )
    gross = sum(line.quantity * line.price for line in lines)
    refunds = draw(
        st.lists(
            st.builds(
                Refund,
                st.integers(1, 72),
                st.lists(
                    st.tuples(st.integers(-1, len(lines) - 1), st.integers(0, 3_000)),
                    max_size=2,
                    unique_by=lambda pair: pair[0],
                ).map(tuple),
                st.integers(-300, 300),
            ),
            max_size=2,
        )
    )
    credits = draw(
        st.sampled_from([(), (("shirts", 100),), (("socks", 50), ("brand", 50)), (("brand", 100),)])
    )
    return Order(
        draw(st.integers(0, DAYS * 24 - 1)),
        draw(st.sampled_from(["USD", "USD", "EUR"])),
        draw(st.one_of(st.none(), st.integers(1, 6))),
        tuple(lines),
        draw(st.integers(0, gross)),
        draw(st.integers(0, 14)) == 0,
        draw(st.one_of(st.none(), st.none(), st.integers(1, 72))),
        tuple(refunds),
        credits,
    )


def cents(amount: int) -> Decimal:
    return Decimal(amount) / 100


def refund_sales(order: Order, refund: Refund) -> int:
    return sum(subtotal for _, subtotal in refund.lines) + refund.adjustment


def record(number: int, order: Order) -> OrderRecord:
    """The order as the Shopify connector hands it to the sync."""
    lines = tuple(
        LineItemRecord(
            external_id=f"l{number}-{i}",
            quantity=line.quantity,
            sku=SELLABLE[line.sellable][2],
            unit_price=cents(line.price),
            variant_id=SELLABLE[line.sellable][1],
            product_id=SELLABLE[line.sellable][0],
            unit_cost=cents(COSTS[v]) if (v := SELLABLE[line.sellable][1]) in COSTS else None,
        )
        for i, line in enumerate(order.lines)
    )
    refunds = tuple(
        RefundRecord(
            f"r{number}-{i}",
            order.refunded(r),
            cents(refund_sales(order, r)),
            sales=cents(refund_sales(order, r)),
            lines=tuple(
                RefundLineRecord(f"l{number}-{at}" if at >= 0 else "gone", 1, cents(subtotal))
                for at, subtotal in r.lines
            ),
        )
        for i, r in enumerate(order.refunds)
    )
    return OrderRecord(
        external_id=str(number),
        name=f"#{number}",
        currency=order.currency,
        created_at=order.placed,
        processed_at=order.placed,
        updated_at=LATER,
        cancelled_at=order.cancelled,
        test=order.test,
        customer_id=None if order.customer is None else f"c{order.customer}",
        gross=cents(order.gross),
        discounts=cents(order.discount),
        shipping=Decimal(0),
        tax=Decimal(0),
        refunded=Decimal(0),
        total=cents(order.gross - order.discount),
        line_items=lines,
        refunds=refunds,
        journey=None,
    )


# --- the count made here ---------------------------------------------------------------


def shares(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`total` split by `weights`: the cents below each share, the rest on the last."""
    whole = sum(weights)
    first = [
        Decimal(math.floor(total * 100 * w / whole)) / 100 if whole else Decimal(0)
        for w in weights[:-1]
    ]
    return [*first, total - sum(first)]


def local_day(at: datetime) -> date:
    return at.astimezone(ZONE).date()


def expected_rows(
    generated: list[Order], first: date, last: date, spend: dict[str, Decimal]
) -> tuple[dict[str | None, dict[str, Decimal]], Decimal]:
    """Per product title (None: no product) its facts over first..last, and the spend left
    unallocated, counted from the generated orders alone."""
    rows: dict[str | None, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    titles = {p: title for p, title, _ in CATALOGUE}

    def inside(at: datetime | None) -> bool:
        return at is not None and first <= local_day(at) <= last

    def rate(order: Order, at: datetime) -> Decimal:
        return eur_rate(local_day(at)) if order.currency == "EUR" else Decimal(1)

    first_orders: dict[int, datetime] = {}
    for order in generated:
        if order.live and order.customer is not None:
            known = first_orders.get(order.customer)
            first_orders[order.customer] = min(order.placed, known or order.placed)
    credited: dict[str, dict[int, Decimal]] = defaultdict(dict)
    for number, order in enumerate(generated):
        if order.live and inside(order.placed):
            for campaign, percent in order.credits:
                revenue = cents(order.gross - order.discount) * percent / 100
                credited[campaign][number] = revenue * rate(order, order.placed)
    order_spend: dict[int, Decimal] = defaultdict(Decimal)
    for campaign, orders_of in credited.items():
        total = sum(orders_of.values())
        if total > 0:
            for number, revenue in orders_of.items():
                order_spend[number] += spend[campaign] * revenue / total
    allocated = Decimal(0)
    for number, order in enumerate(generated):
        if order.test:
            continue
        keys = [titles.get(SELLABLE[line.sellable][0] or "") for line in order.lines]
        gross = [cents(line.quantity * line.price) for line in order.lines]
        discounts = shares(cents(order.discount), gross)
        net = [g - d for g, d in zip(gross, discounts, strict=True)]
        if inside(order.placed):
            at = rate(order, order.placed)
            is_first = order.customer is not None and first_orders.get(order.customer) == (
                order.placed
            )
            again = is_first and any(
                other.live and other.customer == order.customer and other.placed > order.placed
                for other in generated
            )
            counted: set[str | None] = set()
            for key, line, g, d in zip(keys, order.lines, gross, discounts, strict=True):
                rows[key]["gross"] += g * at
                rows[key]["discounts"] += d * at
                if order.live:
                    rows[key]["units"] += line.quantity
                    cost = COSTS.get(SELLABLE[line.sellable][1] or "")
                    rows[key]["cogs"] += cents(cost or 0) * line.quantity * at
                    if key not in counted:
                        counted.add(key)
                        rows[key]["orders"] += 1
                        rows[key]["new_customer_orders"] += is_first
                        rows[key]["first_customers"] += is_first
                        rows[key]["repeat_customers"] += again
            if number in order_spend:
                split = [order_spend[number] * n / sum(net) for n in net] if sum(net) else None
                for i, key in enumerate(keys):
                    share = split[i] if split else order_spend[number] if i == len(keys) - 1 else 0
                    rows[key]["allocated_spend"] += share
                    allocated += share
        returned = [Decimal(0)] * len(order.lines)
        for refund in order.refunds:
            named = {at: cents(s) for at, s in refund.lines if at >= 0}
            rest = cents(refund_sales(order, refund)) - sum(named.values())
            back = [named.get(i, Decimal(0)) + s for i, s in enumerate(shares(rest, net))]
            returned = [r + b for r, b in zip(returned, back, strict=True)]
            if inside(order.refunded(refund)):
                for key, b in zip(keys, back, strict=True):
                    rows[key]["refunds"] += b * rate(order, order.refunded(refund))
        if order.cancelled is not None and inside(order.cancelled):
            for key, n, r in zip(keys, net, returned, strict=True):
                rows[key]["refunds"] += (n - r) * rate(order, order.cancelled)
    return rows, sum(spend.values()) - allocated


# --- seeding -------------------------------------------------------------------------------


def add_credits_of(workspace_id: int, generated: list[Order], tree: dict) -> None:
    """The live orders' credits as the attribution job stores them, and a decoy model's."""
    credits = [
        (str(number), tree[campaign][CAMPAIGNS[campaign]], Decimal(percent) / 100, revenue)
        for number, order in enumerate(generated)
        if order.live
        for campaign, percent in order.credits
        for revenue in [cents(order.gross - order.discount) * percent / 100]
    ]
    add_credits(workspace_id, credits)
    add_credits(
        workspace_id,
        [(n, tree["shirts"]["ad"], c, r) for n, _, c, r in credits],
        model="first_click",
    )


SPEND = {"shirts": 4_000, "socks": 2_500, "brand": 1_000, "idle": 700}  # cents a day


@pytest.fixture
def store(workspace, other_workspace):
    """Acme's shop (USD, euros at a rate per day), its catalogue and campaigns; Globex has
    the same, as a decoy the answers must never count."""
    shops = {}
    entities = {}
    for ws in (workspace, other_workspace):
        shops[ws.id] = add_shop(ws.id, domain=f"shop-{ws.id}.myshopify.com", currency="USD")
        add_products(
            shops[ws.id],
            [
                (p, title, tuple((v, sku, None if c is None else cents(c)) for v, sku, c in vs))
                for p, title, vs in CATALOGUE
            ],
        )
        spend = {name: cents(per_day) for name, per_day in SPEND.items()}
        entities[ws.id] = add_campaigns(ws.id, spend, FIRST, LAST, ZONE)
    add_rates(workspace.id, FIRST - timedelta(days=2), LAST + timedelta(days=2), eur_rate)
    return workspace.id, other_workspace.id, shops, entities


def seed(store, generated: list[Order], decoy: list[Order]) -> None:
    workspace_id, other_id, shops, entities = store
    clear_store()
    for ws, batch in ((workspace_id, generated), (other_id, decoy)):
        write_orders(shops[ws], [record(i, o) for i, o in enumerate(batch)])
        add_credits_of(ws, batch, entities[ws])


def answer(workspace_id: int, query: dict) -> MetricsResult:
    with get_reader().connect() as conn:
        scope, costs = scope_and_costs(conn, workspace_id)
        return products.run(conn, workspace_id, SemanticQuery.parse(query), scope, costs)


#: The ratio metrics' denominators, from a result row.
DENOMINATORS = {
    "refund_rate": lambda r: r["product_gross_sales"] - r["product_discounts"],
    "gross_margin": lambda r: r["product_net_sales"],
    "new_customer_share": lambda r: r["product_orders"],
    "repurchase_rate": lambda r: 0.0 if pd.isna(r["repurchase_rate"]) else 1.0,
    "product_roas": lambda r: r["allocated_spend"],
    "product_poas": lambda r: r["allocated_spend"],
}


def metrics_of(facts: dict[str, Decimal]) -> dict[str, float | None]:
    """Every product metric from a row's facts, as the definitions say (x/0 is empty)."""

    def ratio(a: Decimal, b: Decimal) -> float | None:
        return float(a / b) if b else None

    net = facts["gross"] - facts["discounts"] - facts["refunds"]
    profit = net - facts["cogs"]
    spend = facts["allocated_spend"]
    return {
        "units": float(facts["units"]),
        "product_gross_sales": float(facts["gross"]),
        "product_discounts": float(facts["discounts"]),
        "product_refunds": float(facts["refunds"]),
        "refund_rate": ratio(facts["refunds"], facts["gross"] - facts["discounts"]),
        "product_net_sales": float(net),
        "product_cogs": float(facts["cogs"]),
        "product_gross_profit": float(profit),
        "gross_margin": ratio(profit, net),
        "product_orders": float(facts["orders"]),
        "new_customer_share": ratio(facts["new_customer_orders"], facts["orders"]),
        "repurchase_rate": ratio(facts["repeat_customers"], facts["first_customers"]),
        "allocated_spend": float(spend),
        "product_roas": ratio(net, spend),
        "product_poas": ratio(profit, spend),
        "contribution_after_ads": float(profit - spend),
    }


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    generated=st.lists(orders(), min_size=1, max_size=10),
    decoy=st.lists(orders(), max_size=3),
    start_offset=st.integers(0, DAYS + 3),
    length=st.integers(1, DAYS + 5),
)
def test_product_rows_equal_a_count_made_here_and_add_up_to_the_p_and_l(
    store, generated, decoy, start_offset, length
):
    # Given generated orders, credits and spend (and another workspace's)
    seed(store, generated, decoy)
    workspace_id = store[0]
    start = FIRST + timedelta(days=start_offset)
    end = min(LAST, start + timedelta(days=length - 1))
    span = {"start": str(start), "end": str(end)}
    # When the products are asked for every metric
    result = answer(
        workspace_id, {"metrics": ALL_METRICS, "dimensions": ["product"], "time_range": span}
    )
    # Then each product's row is the count made here
    days = (end - start).days + 1
    spend = {name: cents(per_day) * days for name, per_day in SPEND.items()}
    rows, unallocated = expected_rows(generated, start, end, spend)
    got = {
        None if pd.isna(row["product_id"]) else row["product"]: row
        for row in result.frame.to_dict("records")
    }
    assert set(got) == set(rows)
    for key, facts in rows.items():
        for metric_id, want in metrics_of(facts).items():
            mine = got[key][metric_id]
            if want is None:  # x/0 is empty; a float sum of money that cancels out may
                # leave a rounding residue as denominator (the engine sums in float8)
                assert pd.isna(mine) or abs(DENOMINATORS[metric_id](got[key])) < 1e-9, (
                    key,
                    metric_id,
                )
            else:
                assert mine == pytest.approx(want, rel=1e-9, abs=1e-6), (key, metric_id)
    # And the products add up to the P&L, and allocated + unallocated spend to the spend
    store_facts = daily_store_facts(workspace_id, TimeRange(start=start, end=end)).frame.sum()
    frame = result.frame
    for column, fact in (
        ("product_gross_sales", "gross"),
        ("product_discounts", "discounts"),
        ("product_refunds", "refunds"),
        ("product_cogs", "cogs"),
    ):
        assert frame[column].sum() == pytest.approx(store_facts[fact], abs=1e-6), column
    assert result.unallocated["allocated_spend"] == pytest.approx(float(unallocated), abs=1e-6)
    assert frame["allocated_spend"].sum() + result.unallocated["allocated_spend"] == (
        pytest.approx(float(sum(spend.values())), abs=1e-6)
    )


ADDITIVE = [
    "units",
    "product_gross_sales",
    "product_discounts",
    "product_refunds",
    "product_cogs",
    "allocated_spend",
]


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    generated=st.lists(orders(), min_size=1, max_size=8),
    grain=st.sampled_from(["day", "week", "month"]),
    level=st.sampled_from(["product", "variant", "sku"]),
)
def test_a_trend_adds_up_to_its_total_and_a_comparison_is_its_period_asked_alone(
    store, generated, grain, level
):
    # Given generated orders
    seed(store, generated, [])
    workspace_id = store[0]
    first_half = {"start": str(FIRST), "end": str(FIRST + timedelta(days=5))}
    second_half = {"start": str(FIRST + timedelta(days=6)), "end": str(LAST)}
    keys = list(products.KEY_COLUMNS[level])
    # When a level is asked per bucket, as a total, and compared with another period
    trend = answer(
        workspace_id,
        {"metrics": ADDITIVE, "dimensions": [level], "grain": grain, "time_range": first_half},
    ).frame
    total = answer(
        workspace_id,
        {
            "metrics": ADDITIVE,
            "dimensions": [level],
            "time_range": first_half,
            "compare_range": second_half,
        },
    )
    alone = answer(
        workspace_id, {"metrics": ADDITIVE, "dimensions": [level], "time_range": second_half}
    ).frame

    # Then the buckets add up to the total (the allocation is the period's, placed by day)
    def key(row: dict) -> tuple:
        return tuple(None if pd.isna(row[k]) else row[k] for k in keys)

    summed: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in trend.to_dict("records"):
        for metric_id in ADDITIVE:
            summed[key(row)][metric_id] += row[metric_id]
    assert set(summed) == {key(row) for row in total.frame.to_dict("records")}
    for row in total.frame.to_dict("records"):
        for metric_id in ADDITIVE:
            assert summed[key(row)][metric_id] == pytest.approx(row[metric_id], abs=1e-6)
    # And each compared row is that row of the other period asked alone (or empty)
    by_key = {key(row): row for row in alone.to_dict("records")}
    for row in total.compare_frame.to_dict("records"):
        other = by_key.get(key(row))
        for metric_id in ADDITIVE:
            if other is None:
                assert pd.isna(row[metric_id])
            else:
                assert row[metric_id] == pytest.approx(other[metric_id], abs=1e-6)


def test_filters_keep_the_chosen_products_rows_as_they_are(store):
    # Given orders of every product, credited to campaigns
    generated = [
        Order(
            h,
            "USD",
            1 + h % 3,
            (Line(h % 5, 1, 2500), Line((h + 2) % 5, 2, 999)),
            300,
            False,
            None,
            (),
            (("shirts", 100),) if h % 2 else (("brand", 100),),
        )
        for h in range(0, 150, 7)
    ]
    seed(store, generated, [])
    workspace_id = store[0]
    span = {"start": str(FIRST), "end": str(LAST)}
    every = answer(
        workspace_id, {"metrics": ALL_METRICS, "dimensions": ["product"], "time_range": span}
    )
    shirt = every.frame[every.frame["product"] == "Linen Shirt"]
    # When restricted by id, or by a piece of the title in another case
    by_id = answer(
        workspace_id,
        {
            "metrics": ALL_METRICS,
            "dimensions": ["product"],
            "time_range": span,
            "filters": {"product_ids": [int(shirt["product_id"].iloc[0])]},
        },
    )
    by_name = answer(
        workspace_id,
        {
            "metrics": ALL_METRICS,
            "dimensions": ["product"],
            "time_range": span,
            "filters": {"name_contains": "LINEN"},
        },
    )
    # Then only the shirt's row is left, with the numbers it has among all products, and
    # the unallocated spend is still the period's
    for result in (by_id, by_name):
        pd.testing.assert_frame_equal(result.frame, shirt.reset_index(drop=True))
        assert result.unallocated == pytest.approx(every.unallocated)


def test_money_on_a_day_without_a_rate_is_refused_naming_the_day(store):
    # Given a euro order on a day whose rate is missing
    order = Order(30, "EUR", 1, (Line(0, 1, 2500),), 0, False, None, (), ())
    seed(store, [order], [])
    day = local_day(order.placed)
    with transaction() as session:
        session.execute(text("DELETE FROM fx_rates WHERE day = :day"), {"day": day})
    # When the products are asked for, then the answer names the missing rate
    with pytest.raises(products.MissingFxRateError, match=f"EUR→USD on {day}"):
        answer(
            store[0],
            {
                "metrics": ["product_net_sales"],
                "dimensions": ["product"],
                "time_range": {"start": str(FIRST), "end": str(LAST)},
            },
        )
