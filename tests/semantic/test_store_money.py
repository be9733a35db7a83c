"""Store money as Shopify's sales reports count it, proved against a count made here.

Random orders in dollars and euros (discounts, tax, shipping, a test order now and then) are
cancelled on a later day or not, refunded in parts (items, shipping, tax) on later days, and
written through the Shopify sync's own write path. Then, per workspace-local day, for the
whole range and for a range cut at a clock time, the engine's store revenue, net sales and
refunds equal a plain-Python count of the same orders (below, not the project's code):

- an order that is not a test is a sale on its day: gross − discounts, and its shipping;
- a refund returns, on its day, the sales it gave back (tax excluded) and its shipping;
- a cancelled order returns, on its cancel day, what its refunds did not give back;
- store revenue = net sales + shipping; euros at the rate of the day the money moved.

The P&L's revenue lines are the engine's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from store_seed import ORIGIN, Timeline

from metricx.connectors.records import LineItemRecord, OrderRecord, RefundRecord, ShopInfo
from metricx.db import transaction
from metricx.models import FxRate
from metricx.semantic.engine import run_query
from metricx.services.finance import profit_and_loss
from metricx.sync import shopify

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
DAYS = 8  # orders in the first days, cancellations and refunds up to three days later
FIRST = ORIGIN.astimezone(ZONE).date()
LAST = FIRST + timedelta(days=DAYS + 4)
METRICS = ("store_revenue", "net_sales", "refunds")


def eur_rate(day: date) -> Decimal:
    return Decimal("1.1") + Decimal(day.toordinal() % 7) / 100


cents = st.integers(0, 40_000)


@dataclass(frozen=True)
class Refund:
    after_hours: int
    sales: int  # cents
    shipping: int
    tax: int


@dataclass(frozen=True)
class Order(Timeline):
    placed_hour: int
    currency: str
    gross: int  # cents
    discount: int
    shipping: int
    tax: int
    test: bool
    cancelled_after: int | None  # hours after it was placed
    refunds: tuple[Refund, ...]


@st.composite
def orders(draw) -> Order:
    gross = draw(st.integers(1, 50_000))
    discount = draw(st.integers(0, gross))
    shipping = draw(st.sampled_from([0, 695, draw(cents)]))
    tax = draw(st.integers(0, (gross - discount) // 4))
    refunds = draw(
        st.lists(
            st.builds(
                Refund,
                st.integers(1, 72),
                st.integers(0, gross - discount),
                st.integers(0, shipping),
                st.integers(0, tax),
            ),
            max_size=3,
        )
    )
    return Order(
        draw(st.integers(0, DAYS * 24 - 1)),
        draw(st.sampled_from(["USD", "EUR"])),
        gross,
        discount,
        shipping,
        tax,
        draw(st.integers(0, 14)) == 0,
        draw(st.one_of(st.none(), st.integers(1, 72))),
        tuple(refunds),
    )


def record(number: int, order: Order) -> OrderRecord:
    """The order as the Shopify connector hands it to the sync."""
    money = [Decimal(c) / 100 for c in (order.gross, order.discount, order.shipping, order.tax)]
    gross, discount, shipping, tax = money
    refunds = tuple(
        RefundRecord(
            f"r{number}-{i}",
            order.refunded(r),
            Decimal(r.sales + r.shipping + r.tax) / 100,
            sales=Decimal(r.sales) / 100,
            shipping=Decimal(r.shipping) / 100,
            taxes=Decimal(r.tax) / 100,
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
        customer_id=None,
        gross=gross,
        discounts=discount,
        shipping=shipping,
        tax=tax,
        refunded=sum((r.amount for r in refunds), Decimal(0)),
        total=gross - discount + shipping + tax,
        journey=None,
        line_items=(LineItemRecord(f"line-{number}", 1, None, gross, None, None, None),),
        refunds=refunds,
    )


LATER = ORIGIN + timedelta(days=40)


def counted(orders_: list[Order], until: datetime | None = None) -> dict[date, dict[str, float]]:
    """{local day: {metric: amount in dollars}} counted from the orders alone, money moving
    before `until` only."""
    days: dict[date, dict[str, Decimal]] = defaultdict(
        lambda: {"net_sales": Decimal(0), "shipping": Decimal(0), "refunds": Decimal(0)}
    )

    def book(at: datetime, currency: str, net: int, shipping: int, refunds: int) -> None:
        if until is not None and at >= until:
            return
        day = at.astimezone(ZONE).date()
        rate = eur_rate(day) if currency == "EUR" else Decimal(1)
        sums = days[day]
        sums["net_sales"] += rate * net / 100
        sums["shipping"] += rate * shipping / 100
        sums["refunds"] += rate * refunds / 100

    for order in orders_:
        if order.test:
            continue
        book(order.placed, order.currency, order.gross - order.discount, order.shipping, 0)
        for refund in order.refunds:
            book(
                order.refunded(refund),
                order.currency,
                -refund.sales,
                -refund.shipping,
                refund.sales,
            )
        if order.cancelled is not None:
            rest = order.gross - order.discount - sum(r.sales for r in order.refunds)
            rest_shipping = order.shipping - sum(r.shipping for r in order.refunds)
            book(order.cancelled, order.currency, -rest, -rest_shipping, rest)
    return {
        day: {
            "net_sales": float(s["net_sales"]),
            "refunds": float(s["refunds"]),
            "store_revenue": float(s["net_sales"] + s["shipping"]),
        }
        for day, s in days.items()
    }


def summed(days: dict[date, dict[str, float]]) -> dict[str, float]:
    return {m: sum(d[m] for d in days.values()) for m in METRICS}


def ask(
    workspace_id: int, first: date, last: date, grain: str | None = None, until: time | None = None
) -> list[dict]:
    span = {"start": first.isoformat(), "end": last.isoformat()}
    if until is not None:
        span["until"] = until.isoformat()
    return run_query(
        workspace_id, {"metrics": list(METRICS), "grain": grain, "time_range": span}
    ).frame.to_dict("records")


def assert_close(got: dict, want: dict[str, float], where: object) -> None:
    for metric in METRICS:
        assert got[metric] == pytest.approx(want[metric], abs=0.005), (where, metric)


@pytest.fixture
def shop(workspace, admin):
    from metricx.services.connections import add_connection

    connection = add_connection(admin, "shopify", "acme.myshopify.com", "tok")
    with transaction() as session:
        for offset in range((LAST - FIRST).days + 1):
            day = FIRST + timedelta(days=offset)
            session.add(
                FxRate(
                    workspace_id=workspace.id,
                    day=day,
                    from_currency="EUR",
                    to_currency="USD",
                    rate=eur_rate(day),
                )
            )
    return shopify.upsert_shop(
        workspace.id, connection.id, ShopInfo("acme.myshopify.com", "Acme", "USD", TZ)
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    placed=st.lists(orders(), min_size=1, max_size=8),
    cut=st.tuples(st.integers(0, DAYS + 3), st.integers(1, 23)),
)
def test_store_money_counts_sales_returns_and_cancellations_as_shopify_does(shop, placed, cut):
    # Given random orders, cancellations and partial refunds, synced into a New York
    # workspace that sells in dollars
    with transaction() as session:
        for table in ("store_daily", "shopify_orders"):
            session.execute(text(f"DELETE FROM {table}"))
    shopify.write_orders(shop, [record(number, order) for number, order in enumerate(placed)])
    want = counted(placed)
    every_day = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    zero = {m: 0.0 for m in METRICS}

    # When the engine is asked per day, then each day is the count made here
    for row in ask(shop.workspace_id, FIRST, LAST, grain="day"):
        day = date.fromisoformat(row["day"])
        assert_close(row, want.get(day, zero), day)

    # ... and by the hour (the Shopify rows themselves), each day's hours add up to it
    hours: dict[date, dict[str, float]] = defaultdict(lambda: dict(zero))
    for row in ask(shop.workspace_id, FIRST, LAST, grain="hour"):
        day = date.fromisoformat(row["hour"][:10])
        for metric in METRICS:
            hours[day][metric] += row[metric] or 0
    for day in every_day:
        assert_close(hours.get(day, zero), want.get(day, zero), ("hours of", day))

    # ... and for the whole range, and for a range that stops at a clock time
    [total] = ask(shop.workspace_id, FIRST, LAST)
    assert_close(total, summed(want), "range")
    last_day, hour = FIRST + timedelta(days=cut[0]), time(cut[1])
    until = datetime.combine(last_day, hour, tzinfo=ZONE)
    [so_far] = ask(shop.workspace_id, FIRST, last_day, until=hour)
    assert_close(so_far, summed(counted(placed, until)), ("until", until))

    # ... and the P&L's revenue lines are the engine's, day by day
    pnl = profit_and_loss(shop.workspace_id, FIRST, LAST, "day").frame
    for day in every_day:
        line = pnl.loc[day]
        assert_close(
            {
                "store_revenue": line["store_revenue"],
                "net_sales": line["net_sales"],
                "refunds": line["refunds"],
            },
            want.get(day, zero),
            ("P&L", day),
        )
        assert line["net_sales"] == pytest.approx(
            line["gross_sales"] - line["discounts"] - line["refunds"], abs=1e-6
        )
        assert line["store_revenue"] == pytest.approx(
            line["net_sales"] + line["shipping_charged"], abs=1e-6
        )
