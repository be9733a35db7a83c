"""Cohorts proved against a count made here, from the generated orders alone.

Random customers place orders in dollars and euros over a year (test orders, cancellations
and partial refunds among them), written through the Shopify sync's own write path into the
workspace and, as a decoy, into another workspace. Then, for monthly cohorts measured in
months, the cohort engine's cells equal a plain-Python count (below, not the project's code):

- a customer belongs to the month of their first order that is neither a test nor cancelled;
- every order of theirs from that one on (not test) counts at its own age: its sales on its
  day, each refund on its day, a cancellation's unreturned rest on its cancel day, euros at
  the rate of that day; orders and COGS only for orders that stay live;
- the age of a day is the number of calendar months completed since the first order's day;
- repeat rate: a second live order by the age; retention: a live order at the age;
- a cell is complete once the cohort's last day has lived the whole age before today.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import store_seed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_seed import add_rates, add_shop, clear_store, write_orders

from metricx.connectors.records import LineItemRecord, OrderRecord, RefundRecord
from metricx.db import get_reader
from metricx.platforms import AD_PROVIDERS
from metricx.semantic import cohorts
from metricx.semantic.engine import run_query
from metricx.semantic.fetch import MissingFxRateError, scope_and_costs
from metricx.semantic.query import SemanticQuery

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
ORIGIN = datetime(2025, 1, 1, 5, 0, tzinfo=UTC)  # midnight in New York
FIRST, LAST = date(2025, 1, 1), date(2025, 6, 30)  # the cohorts asked about
TODAY = date(2025, 10, 15)  # some cells have not fully elapsed by then
LONG_AFTER = date(2030, 1, 1)  # every cell has
MAX_AGE = 23  # months: longer than any generated order's life
FACTS = ("revenue", "gross_profit", "orders")


def eur_rate(day: date) -> Decimal:
    return Decimal("1.1") + Decimal(day.toordinal() % 9) / 100


@dataclass(frozen=True)
class Refund:
    after_days: int
    sales: int  # cents
    shipping: int


@dataclass(frozen=True)
class Order:
    day: int  # days after ORIGIN (some before it)
    hour: int
    currency: str
    gross: int  # cents
    discount: int
    shipping: int
    cost: int
    test: bool
    cancelled_after_days: int | None
    refunds: tuple[Refund, ...]

    @property
    def placed(self) -> datetime:
        return ORIGIN + timedelta(days=self.day, hours=self.hour, minutes=11)

    @property
    def cancelled(self) -> datetime | None:
        if self.cancelled_after_days is None:
            return None
        return self.placed + timedelta(days=self.cancelled_after_days, hours=1)

    def refunded(self, refund: Refund) -> datetime:
        return self.placed + timedelta(days=refund.after_days, hours=2)

    @property
    def live(self) -> bool:
        return not self.test and self.cancelled is None


@st.composite
def orders(draw: st.DrawFn) -> Order:
    gross = draw(st.integers(100, 30_000))
    discount = draw(st.integers(0, gross // 3))
    shipping = draw(st.sampled_from([0, 695]))
    refunds = draw(
        st.lists(
            st.builds(
                Refund,
                st.integers(0, 60),
                st.integers(0, (gross - discount) // 2),
                st.integers(0, shipping),
            ),
            max_size=2,
        )
    )
    return Order(
        draw(st.integers(-20, 300)),
        draw(st.integers(0, 23)),
        draw(st.sampled_from(["USD", "USD", "EUR"])),
        gross,
        discount,
        shipping,
        draw(st.integers(0, gross // 2)),
        draw(st.integers(0, 9)) == 0,
        draw(st.one_of(st.none(), st.none(), st.integers(0, 40))),
        tuple(refunds),
    )


customers_strategy = st.lists(st.lists(orders(), min_size=1, max_size=4), min_size=1, max_size=8)


def record(customer: int, number: int, order: Order) -> OrderRecord:
    """The order as the Shopify connector hands it to the sync."""
    gross, discount, shipping = (
        Decimal(c) / 100 for c in (order.gross, order.discount, order.shipping)
    )
    refunds = tuple(
        RefundRecord(
            f"r{customer}-{number}-{i}",
            order.refunded(r),
            Decimal(r.sales + r.shipping) / 100,
            sales=Decimal(r.sales) / 100,
            shipping=Decimal(r.shipping) / 100,
        )
        for i, r in enumerate(order.refunds)
    )
    line = LineItemRecord(
        f"line-{customer}-{number}", 1, None, gross, None, None, Decimal(order.cost) / 100
    )
    return OrderRecord(
        external_id=f"{customer}-{number}",
        name=f"#{customer}-{number}",
        currency=order.currency,
        created_at=order.placed,
        processed_at=order.placed,
        updated_at=order.placed + timedelta(days=400),
        cancelled_at=order.cancelled,
        test=order.test,
        customer_id=f"c{customer}",
        gross=gross,
        discounts=discount,
        shipping=shipping,
        tax=Decimal(0),
        refunded=sum((r.amount for r in refunds), Decimal(0)),
        total=gross - discount + shipping,
        journey=None,
        line_items=(line,),
        refunds=refunds,
    )


def records(customers: list[list[Order]]) -> list[OrderRecord]:
    return [
        record(c, n, order) for c, placed in enumerate(customers) for n, order in enumerate(placed)
    ]


# --- the count made here ------------------------------------------------------------------


def local(at: datetime) -> date:
    return at.astimezone(ZONE).date()


def months_between(first: date, day: date) -> int:
    """Calendar months completed from `first` to `day`."""
    months = (day.year - first.year) * 12 + day.month - first.month
    return months - 1 if day.day < first.day else months


def month_age_starts(first: date, age: int) -> date:
    """The first day at which `first` is `age` months old, found by walking the calendar."""
    day = first
    while months_between(first, day) < age:
        day += timedelta(days=1)
    return day


@dataclass
class Expected:
    """A cohort as counted here: its customers and, per age, the facts of that age alone."""

    customers: int = 0
    facts: dict[int, dict[str, float]] | None = None
    repeat_at: list[int] | None = None  # the age of each customer's second live order
    active: dict[int, int] | None = None  # customers with a live order at each age


def book(
    cohort: Expected,
    first_day: date,
    at: datetime,
    currency: str,
    revenue: int,
    gross_profit: int,
    orders_: int,
) -> None:
    """Money (cents, in the order's currency) and orders at the age of the day of `at`."""
    day = local(at)
    rate = eur_rate(day) if currency == "EUR" else Decimal(1)
    facts = cohort.facts[months_between(first_day, day)]
    facts["revenue"] += float(rate * revenue / 100)
    facts["gross_profit"] += float(rate * gross_profit / 100)
    facts["orders"] += orders_


def counted(customers: list[list[Order]]) -> dict[date, Expected]:
    cohorts_: dict[date, Expected] = {}
    for placed in customers:
        live = sorted((o for o in placed if o.live), key=lambda o: o.placed)
        if not live:
            continue  # never a customer: no first order that counts
        first_at = live[0].placed
        first_day = local(first_at)
        if not FIRST <= first_day <= LAST:
            continue
        cohort = cohorts_.setdefault(
            first_day.replace(day=1),
            Expected(0, defaultdict(lambda: dict.fromkeys(FACTS, 0.0)), [], defaultdict(int)),
        )
        cohort.customers += 1

        for order in placed:
            if order.test or order.placed < first_at:
                continue
            net = order.gross - order.discount
            cost = order.cost if order.live else 0
            book(
                cohort,
                first_day,
                order.placed,
                order.currency,
                net + order.shipping,
                net - cost,
                int(order.live),
            )
            for refund in order.refunds:
                book(
                    cohort,
                    first_day,
                    order.refunded(refund),
                    order.currency,
                    -refund.sales - refund.shipping,
                    -refund.sales,
                    0,
                )
            if order.cancelled is not None:
                rest = net - sum(r.sales for r in order.refunds)
                rest_shipping = order.shipping - sum(r.shipping for r in order.refunds)
                book(
                    cohort,
                    first_day,
                    order.cancelled,
                    order.currency,
                    -rest - rest_shipping,
                    -rest,
                    0,
                )
        if len(live) > 1:
            cohort.repeat_at.append(months_between(first_day, local(live[1].placed)))
        for age in {months_between(first_day, local(o.placed)) for o in live}:
            cohort.active[age] += 1
    return cohorts_


def cumulative(cohort: Expected, age: int, fact: str) -> float:
    return sum(f[fact] for a, f in cohort.facts.items() if a <= age)


def complete(cohort: date, age: int, today: date) -> bool:
    last = cohort.replace(day=calendar.monthrange(cohort.year, cohort.month)[1])
    return month_age_starts(min(last, LAST), age + 1) <= today


# --- asking -------------------------------------------------------------------------------

METRICS = [
    "cohort_customers",
    "ltv",
    "ltv_gross_profit",
    "orders_per_customer",
    "repeat_rate",
    "retention",
]


def ask(workspace_id: int, today: date, dimensions: list[str], **cohort: object) -> list[dict]:
    query = SemanticQuery.parse(
        {
            "metrics": METRICS,
            "time_range": {"start": FIRST.isoformat(), "end": LAST.isoformat()},
            "dimensions": dimensions,
            "cohort": {"grain": "month", "age_unit": "month", **cohort},
        }
    )
    with get_reader().connect() as conn:
        scope, costs = scope_and_costs(conn, workspace_id)
        result = cohorts.run(conn, workspace_id, query, scope, costs, today=today)
    assert list(result.frame.columns) == [*dimensions, *METRICS, cohorts.COMPLETE]
    return result.frame.to_dict("records")


@pytest.fixture
def shops(workspace, other_workspace):
    """The workspace's shop (dollars, euros at the rate of the day) and another workspace's."""
    add_rates(workspace.id, date(2024, 11, 1), date(2026, 3, 31), eur_rate)
    return add_shop(workspace.id), add_shop(other_workspace.id, "globex.myshopify.com", "EUR")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(customers=customers_strategy)
def test_cohort_cells_are_the_customers_orders_counted_at_their_ages(shops, customers):
    # Given random customers' orders in the workspace, and the same orders in another one
    clear_store()
    ours, theirs = shops
    write_orders(ours, records(customers))
    write_orders(theirs, records(customers))
    want = counted(customers)

    # When every cell has fully elapsed, then each is the count made here
    rows = ask(ours.workspace_id, LONG_AFTER, ["cohort", "age"], max_age=MAX_AGE)
    assert {date.fromisoformat(r["cohort"]) for r in rows} == set(want)
    assert len(rows) == len(want) * (MAX_AGE + 1)
    for row in rows:
        cohort, age = want[date.fromisoformat(row["cohort"])], row["age"]
        where = (row["cohort"], age)
        assert row["complete"], where
        assert row["cohort_customers"] == cohort.customers, where  # never the other workspace's
        n = cohort.customers
        assert row["ltv"] * n == pytest.approx(cumulative(cohort, age, "revenue"), abs=1e-6), where
        assert row["ltv_gross_profit"] * n == pytest.approx(
            cumulative(cohort, age, "gross_profit"), abs=1e-6
        ), where
        assert row["orders_per_customer"] * n == pytest.approx(cumulative(cohort, age, "orders")), (
            where
        )
        assert row["repeat_rate"] * n == pytest.approx(sum(a <= age for a in cohort.repeat_at)), (
            where
        )
        assert row["retention"] * n == pytest.approx(cohort.active[age]), where
        if age == 0:
            assert row["retention"] == 1.0, where

    # ... the revenue of every age together is the revenue of those customers' orders
    for row in (r for r in rows if r["age"] == MAX_AGE):
        cohort = want[date.fromisoformat(row["cohort"])]
        every_event = sum(f["revenue"] for f in cohort.facts.values())
        assert row["ltv"] * cohort.customers == pytest.approx(every_event, abs=1e-6)

    # ... and the cohorts' sizes add up to the period's new customers, as the P&L counts them
    [total] = run_query(
        ours.workspace_id,
        {
            "metrics": ["new_customers"],
            "time_range": {"start": FIRST.isoformat(), "end": LAST.isoformat()},
        },
    ).frame.to_dict("records")
    assert sum(r["cohort_customers"] for r in rows if r["age"] == 0) == total["new_customers"]

    # When today is earlier, then cells not fully elapsed are flagged and empty, never a drop
    young = ask(ours.workspace_id, TODAY, ["cohort", "age"], max_age=11)
    for row, old in zip(young, (r for r in rows if r["age"] <= 11), strict=True):
        assert (row["cohort"], row["age"]) == (old["cohort"], old["age"])
        expected_complete = complete(date.fromisoformat(row["cohort"]), row["age"], TODAY)
        assert row["complete"] is expected_complete, (row["cohort"], row["age"])
        for metric in METRICS:
            if expected_complete:
                assert row[metric] == pytest.approx(old[metric], nan_ok=True)
            else:
                assert np.isnan(row[metric])

    # ... and without the age, every metric is read at cohort.at_age
    read = ask(ours.workspace_id, LONG_AFTER, ["cohort"], max_age=MAX_AGE, at_age=3)
    at_three = {r["cohort"]: r for r in rows if r["age"] == 3}
    for row in read:
        for metric in METRICS:
            assert row[metric] == pytest.approx(at_three[row["cohort"]][metric], nan_ok=True)
    # ... also when at_age lies past max_age (90-day LTV with the default max_age of 11)
    beyond = ask(ours.workspace_id, LONG_AFTER, ["cohort"], max_age=1, at_age=3)
    for row in beyond:
        for metric in METRICS:
            assert row[metric] == pytest.approx(at_three[row["cohort"]][metric], nan_ok=True)


# --- splits, CAC and payback, rates: fixed stories -------------------------------------------


def cohort_query(metrics: list[str], dimensions: list[str], **cohort: object) -> SemanticQuery:
    return SemanticQuery.parse(
        {
            "metrics": metrics,
            "time_range": {"start": FIRST.isoformat(), "end": LAST.isoformat()},
            "dimensions": dimensions,
            "cohort": {"grain": "month", "age_unit": "month", **cohort},
        }
    )


def answer(workspace_id: int, query: SemanticQuery, today: date = LONG_AFTER) -> list[dict]:
    with get_reader().connect() as conn:
        scope, costs = scope_and_costs(conn, workspace_id)
        return cohorts.run(conn, workspace_id, query, scope, costs, today=today).frame.to_dict(
            "records"
        )


def test_first_order_splits_group_customers_by_their_first_order(workspace):
    # Given three January customers: two whose first order had a discount, one buying Mugs
    # first, and one coming back in March
    shop = add_shop(workspace.id)
    jan = date(2025, 1, 10)
    write_orders(
        shop,
        [
            store_seed.order(1, 1, jan, "40.00", discounts="5.00"),
            store_seed.order(2, 1, jan, "60.00", discounts="10.00"),
            store_seed.order(3, 1, jan, "20.00"),
            store_seed.order(3, 2, date(2025, 3, 15), "30.00"),
        ],
    )

    # When the January cohort is split by first-order discount
    rows = answer(
        workspace.id,
        cohort_query(
            ["cohort_customers", "repeat_rate", "ltv"],
            ["cohort", "first_order_discount"],
            max_age=3,
        ),
    )

    # Then each split holds its customers, with their own repeat rate and revenue
    by_split = {r["first_order_discount"]: r for r in rows}
    assert set(by_split) == {"discounted", "full price"}
    assert by_split["discounted"]["cohort_customers"] == 2
    assert by_split["discounted"]["repeat_rate"] == 0
    assert by_split["discounted"]["ltv"] == pytest.approx((35 + 50) / 2)
    assert by_split["full price"]["cohort_customers"] == 1
    assert by_split["full price"]["repeat_rate"] == 1
    assert by_split["full price"]["ltv"] == pytest.approx(50)
    assert all(r["cohort"] == "2025-01-01" for r in rows)


def test_an_order_in_a_currency_without_a_rate_is_refused_naming_the_day(workspace):
    # Given a customer whose first order is in euros on a day without a euro rate
    shop = add_shop(workspace.id)
    write_orders(shop, [store_seed.order(1, 1, date(2025, 2, 3), "40.00", currency="EUR")])

    # When their cohort's revenue is asked for, then the missing rate is named, not guessed
    with pytest.raises(MissingFxRateError, match="EUR→USD on 2025-02-03"):
        answer(workspace.id, cohort_query(["ltv"], ["cohort"]))

    # ... while a count needs no rate
    [row] = answer(workspace.id, cohort_query(["cohort_customers"], ["cohort"]))
    assert row["cohort_customers"] == 1


def test_cohort_ages_not_elapsed_are_empty_also_without_the_age_dimension(workspace):
    # Given a customer from June, read in mid-October at four months
    shop = add_shop(workspace.id)
    write_orders(shop, [store_seed.order(1, 1, date(2025, 6, 30), "40.00")])
    query = cohort_query(["cohort_customers", "ltv"], ["cohort"], max_age=11, at_age=4)

    # Then the June cohort has not lived four whole months by October 15 (it needs Nov 30)
    [row] = answer(workspace.id, query, today=TODAY)
    assert row["complete"] is False
    assert np.isnan(row["ltv"]) and np.isnan(row["cohort_customers"])

    # ... and it has by December
    [row] = answer(workspace.id, query, today=date(2025, 12, 1))
    assert row["complete"] is True
    assert row["ltv"] == pytest.approx(40)


@pytest.mark.parametrize(
    ("unit", "first", "age", "starts"),
    [
        ("day", date(2025, 1, 31), 90, date(2025, 5, 1)),
        ("week", date(2025, 1, 31), 2, date(2025, 2, 14)),
        ("month", date(2025, 1, 15), 1, date(2025, 2, 15)),
        ("month", date(2025, 1, 31), 1, date(2025, 3, 1)),  # February has no 31st
        ("month", date(2024, 12, 31), 2, date(2025, 3, 1)),
        ("month", date(2025, 11, 30), 3, date(2026, 3, 2 - 1)),
    ],
)
def test_an_age_starts_when_the_previous_has_fully_elapsed(unit, first, age, starts):
    assert cohorts.age_start(unit, first, age) == starts
    if unit == "month":
        assert months_between(first, starts) == age
        assert months_between(first, starts - timedelta(days=1)) == age - 1


# --- the sandbox shop -------------------------------------------------------------------------

ACQUIRED = """
    SELECT (c.first_order_at AT TIME ZONE 'America/New_York')::date AS first_day,
           cn.provider, coalesce(t.channel, 'direct') AS channel
    FROM shopify_customers c
    JOIN shopify_orders o ON o.customer_id = c.id AND o.processed_at = c.first_order_at
         AND NOT o.test AND o.cancelled_at IS NULL
    LEFT JOIN attributions a ON a.order_id = o.id AND a.model = 'first_click'
         AND a.window_days = 0 AND a.mode = 'cash'
    LEFT JOIN touchpoints t ON t.id = a.touchpoint_id
    LEFT JOIN entities e ON e.id = a.entity_id
    LEFT JOIN connections cn ON cn.id = e.connection_id
    WHERE c.workspace_id = :ws AND c.first_order_at IS NOT NULL"""


def test_sandbox_cohorts_by_platform_count_the_acquired_customers_and_their_cac(synced):
    # Given the synced sandbox shop and ads, attributed
    from sandbox_fixtures import FIRST as SYNCED_FIRST
    from sandbox_fixtures import LAST as SYNCED_LAST
    from table_rows import read

    from metricx.attribution.compute import attribute_workspace

    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    span = {"start": SYNCED_FIRST.isoformat(), "end": SYNCED_LAST.isoformat()}
    query = SemanticQuery.parse(
        {
            "metrics": ["cohort_customers", "cac", "ltv_gross_profit", "ltv_cac", "payback_age"],
            "time_range": span,
            "dimensions": ["cohort", "acquisition_platform", "age"],
            "cohort": {"grain": "week", "age_unit": "day", "max_age": 20},
        }
    )

    # When its weekly cohorts are split by the platform of the first click
    rows = answer(workspace_id, query)
    assert rows and all(r["complete"] for r in rows)
    at_zero = [r for r in rows if r["age"] == 0]

    # Then the sizes add up to the period's new customers
    [total] = run_query(
        workspace_id, {"metrics": ["new_customers"], "time_range": span}
    ).frame.to_dict("records")
    assert sum(r["cohort_customers"] for r in at_zero) == total["new_customers"] > 0

    # ... each platform's customers are those its ads brought (read back independently)
    acquired = read(ACQUIRED, ws=workspace_id)
    acquired = acquired[(acquired.first_day >= SYNCED_FIRST) & (acquired.first_day <= SYNCED_LAST)]
    acquired["week"] = [(d - timedelta(days=d.weekday())).isoformat() for d in acquired.first_day]
    counts = acquired.groupby(["week", acquired.provider.fillna("none")]).size().to_dict()
    for row in rows:  # no first click on an ad: no platform
        row["acquisition_platform"] = (
            row["acquisition_platform"] if row["acquisition_platform"] in AD_PROVIDERS else None
        )
    assert {
        (r["cohort"], r["acquisition_platform"] or "none"): r["cohort_customers"] for r in at_zero
    } == counts
    assert any(r["acquisition_platform"] for r in at_zero)

    # ... a platform's CAC is its spend in the cohort's week ÷ the customers it brought
    for row in (r for r in at_zero if r["acquisition_platform"]):
        week = date.fromisoformat(row["cohort"])
        first, last = max(week, SYNCED_FIRST), min(week + timedelta(days=6), SYNCED_LAST)
        spent = run_query(
            workspace_id,
            {
                "metrics": ["spend"],
                "dimensions": ["provider"],
                "time_range": {"start": first.isoformat(), "end": last.isoformat()},
            },
        ).frame
        spend = spent.loc[spent.provider == row["acquisition_platform"], "spend"].sum()
        assert row["cac"] == pytest.approx(spend / row["cohort_customers"])
    assert all(np.isnan(r["cac"]) for r in at_zero if not r["acquisition_platform"])

    # ... and split by channel instead, each channel's customers are those it brought
    by_channel = SemanticQuery.parse(
        {
            "metrics": ["cohort_customers"],
            "time_range": span,
            "dimensions": ["acquisition_channel"],
            "cohort": {"age_unit": "day", "max_age": 0},
        }
    )
    assert {
        r["acquisition_channel"]: r["cohort_customers"] for r in answer(workspace_id, by_channel)
    } == acquired.groupby("channel").size().to_dict()

    # ... and payback is the first age at which gross profit per customer reaches CAC
    for key in {(r["cohort"], r["acquisition_platform"]) for r in rows}:
        ages = [r for r in rows if (r["cohort"], r["acquisition_platform"]) == key]
        reached = [r["age"] for r in ages if r["ltv_gross_profit"] >= r["cac"]]
        payback = [r["payback_age"] for r in ages]
        if reached:
            assert payback == [reached[0]] * len(ages)
        else:
            assert all(np.isnan(payback))
        for r in ages:
            assert r["ltv_cac"] == pytest.approx(r["ltv_gross_profit"] / r["cac"], nan_ok=True)


def test_the_first_product_is_the_first_orders_biggest_line(workspace):
    # Given a shop selling Mugs, a first order of a Mug, and one of a product it does not list
    from metricx.db import transaction
    from metricx.models import ShopifyProduct

    shop = add_shop(workspace.id)
    with transaction() as session:
        session.add(
            ShopifyProduct(
                workspace_id=workspace.id, shop_id=shop.id, external_id="p1", title="Mug"
            )
        )
    write_orders(
        shop,
        [
            store_seed.order(1, 1, date(2025, 1, 5), "30.00", product="p1"),
            store_seed.order(1, 2, date(2025, 2, 5), "70.00", product="gone"),
            store_seed.order(2, 1, date(2025, 1, 6), "20.00", product="gone"),
        ],
    )

    # When the January cohort is split by first product
    rows = answer(
        workspace.id,
        cohort_query(["cohort_customers", "repeat_rate"], ["first_product"], max_age=2),
    )

    # Then each customer is under the product of their first order (a later one changes
    # nothing), an unknown product under "(no product)"
    assert {r["first_product"]: (r["cohort_customers"], r["repeat_rate"]) for r in rows} == {
        "Mug": (1, 1.0),
        cohorts.NO_PRODUCT: (1, 0.0),
    }
