"""Cohort queries: customers grouped by the period of their first order, measured at each age
since it (retention, repeat rate, LTV, CAC and payback; metricx.semantic.families).

One statement (`cohort_statement`, built once per shape, summing only the facts the metrics
read) reads the cohort's customers, their orders, refunds and cancellations and returns rows
of (cohort key, splits, age, facts of `families.COHORT_FACTS`), each to be added into its
cell: every event at its own age, in the workspace's days, its money converted from the shop
currency at the rate of its day, as the P&L counts the store (docs/design.md "Store money"):
an order's sales on its processed day, a refund on its day, a cancelled order's unreturned
rest on its cancel day; orders and COGS on live orders (not cancelled). A customer with a
second live order counts at that order's age (`repeat_customers`), and once at each age they
place a live order (`active_customers`). Rows whose age is NULL carry the customers. The
orders are hashed, never sorted (bench/bench_retention.py measures it against hand-written
SQL); the splits' look-ups per first order are shaped so the planner cannot mistake their
row counts and loop over them (`_split_columns`).

Python then cumulates the facts over ages (numpy), adds the acquisition spend (the ad facts
of the cohort's period, through the compiler's own statements), evaluates the metrics with
the one evaluator (ratios of sums), and empties every cell whose age has not fully elapsed
for all the cohort's customers (`complete`), so a young cohort never reads as a drop.

Ages: whole days, weeks (7 days) or completed calendar months between the first order's local
day and the event's (a month is completed on the same day of a later month; a first order on
the 31st completes its first month on the 1st of the month after next when the next has fewer
days).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any
from typing import cast as typed

import numpy as np
import pandas as pd
from sqlalchemy import (
    CompoundSelect,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.sql.elements import ColumnElement

from metricx.models import (
    Attribution,
    CohortDaily,
    ShopifyCustomer,
    ShopifyOrder,
    ShopifyOrderLine,
    ShopifyProduct,
    ShopifyRefund,
    Touchpoint,
)
from metricx.semantic import attributed, compiler, families
from metricx.semantic.compiler import Scope
from metricx.semantic.dates import today_in, utc_bounds
from metricx.semantic.evaluate import Params
from metricx.semantic.fetch import MissingFxRateError, fetch_statements
from metricx.semantic.query import Cohort, SemanticQuery, TimeRange
from metricx.semantic.result import MetricsResult

#: Dimensions from the first order's acquisition and contents, besides `cohort` and `age`.
SPLITS: tuple[str, ...] = (
    "acquisition_channel",
    "acquisition_platform",
    "acquisition_campaign",
    "first_product",
    "first_order_discount",
)
#: What a customer without the split's value shows.
NO_CHANNEL, NO_CAMPAIGN, NO_PRODUCT = "direct", "(none)", "(no product)"
#: The money facts (converted at the rate of their day) and the counts, as the statement
#: returns them per (keys, age).
MONEY: tuple[str, ...] = ("gross", "discounts", "refunds", "shipping", "taxes", "cogs")
COUNTS: tuple[str, ...] = ("orders", "repeat_customers", "active_customers")
#: Facts cumulated over ages (a cell at age N counts the events of ages 0..N).
CUMULATIVE: tuple[str, ...] = (*MONEY, "orders", "repeat_customers")
#: The acquisition that credits a customer: the first order's first click, lifetime window.
ACQUISITION = {"model": "first_click", "window_days": 0, "mode": "cash"}
COMPLETE = "complete"
_AGE, _KEY = "age", "cohort"
PAYBACK_INPUTS = ("ltv_gross_profit", "cac")
_UNCONVERTED = compiler.UNCONVERTED


@dataclass(frozen=True)
class Shape:
    """What the cohort statement depends on: cohort grain (None: one cohort for the whole
    range), age unit and the acquisition/first-order splits."""

    grain: str | None
    age_unit: str
    splits: tuple[str, ...]
    #: the money and count facts the metrics read (the statement sums only those)
    sums: tuple[str, ...]

    @classmethod
    def of(cls, query: SemanticQuery) -> Shape:
        cohort = _cohort(query)
        needed = set(families.facts_for(_formula_metrics(query.metrics)))
        return cls(
            cohort.grain if _KEY in query.dimensions else None,
            cohort.age_unit,
            tuple(d for d in SPLITS if d in query.dimensions),
            tuple(f for f in (*MONEY, *COUNTS) if f in needed),
        )


def _formula_metrics(metric_ids: Sequence[str]) -> tuple[str, ...]:
    """The metrics whose formulas the query evaluates: payback is found over the ages of LTV
    gross profit and CAC."""
    named = [m for m in metric_ids if m not in families.OVER_AGES]
    if "payback_age" in metric_ids:
        named += [m for m in PAYBACK_INPUTS if m not in named]
    return tuple(named)


def _cohort(query: SemanticQuery) -> Cohort:
    return query.cohort or Cohort()


def _last_age(query: SemanticQuery) -> int:
    """The oldest age the cells must hold: max_age with `age` split; otherwise also the age
    the metrics are read at (90-day LTV with the default max_age of 11)."""
    cohort = _cohort(query)
    return cohort.max_age if _AGE in query.dimensions else max(cohort.max_age, cohort.read_age)


def _local_day(binds: dict[str, Any], instant: Any) -> ColumnElement[Any]:
    return cast(func.timezone(binds["tz"], instant), Date)


#: What each customer's row carries of their first order's local day, to age events from.
FIRST_DAY = ("first_day", "first_month", "first_dom")


def _month_index(day: ColumnElement[Any]) -> ColumnElement[Any]:
    """Months since year 0 of a local day: two months' indices differ by calendar months."""
    return cast(func.date_part("year", day) * 12 + func.date_part("month", day), Integer)


def _day_of_month(day: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(func.date_part("day", day), Integer)


def first_day_columns(first_day: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """FIRST_DAY from the first order's local day (computed once per customer)."""
    return [
        first_day.label("first_day"),
        _month_index(first_day).label("first_month"),
        _day_of_month(first_day).label("first_dom"),
    ]


def age_sql(unit: str, day: ColumnElement[Any], first: Any) -> ColumnElement[Any]:
    """Whole `unit`s from the first order's local day (`first`: columns named FIRST_DAY) to
    local day `day` (see the module's Ages)."""
    days = day - first["first_day"]  # date - date: an integer number of days
    if unit == "day":
        return cast(days, Integer)
    if unit == "week":
        return cast(func.div(days, 7), Integer)
    months: ColumnElement[Any] = (
        _month_index(day)
        - first["first_month"]
        - case((_day_of_month(day) < first["first_dom"], 1), else_=0)
    )
    return months


def age_text(unit: str) -> str:
    """`age_sql` as PostgreSQL text over columns named `day` and `first_day` (for the writer
    of cohort_daily, metricx.sync.cohort_rollup: the ages are defined here once)."""
    day, first = column("day", Date), column("first_day", Date)
    firsts = {
        "first_day": first,
        "first_month": _month_index(first),
        "first_dom": _day_of_month(first),
    }
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    compiled = age_sql(unit, day, firsts).compile(
        dialect=dialect, compile_kwargs={"literal_binds": True}
    )
    return str(compiled)


def age_start(unit: str, first: date, age: int) -> date:
    """The first local day at which a customer whose first order was on `first` is `age`
    units old (the day after their age `age - 1` has fully elapsed)."""
    if unit == "day":
        return first + timedelta(days=age)
    if unit == "week":
        return first + timedelta(days=7 * age)
    months = first.year * 12 + first.month - 1 + age
    year, month = divmod(months, 12)
    month += 1
    if first.day <= calendar.monthrange(year, month)[1]:
        return date(year, month, first.day)
    # The day does not exist in that month: the age starts with the next month.
    return date(year + month // 12, month % 12 + 1, 1)


def period_end(grain: str, first: date) -> date:
    """The last day of the cohort period starting on `first`."""
    if grain == "week":
        return first + timedelta(days=6)
    months = 3 if grain == "quarter" else 1
    return age_start("month", first, months) - timedelta(days=1)


def period_start(grain: str, day: date) -> date:
    """The first day of the cohort period holding `day` (weeks start Monday)."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return day.replace(day=1)


# --- the statement ------------------------------------------------------------------------


def _placeholders() -> dict[str, Any]:
    return {
        "ws": bindparam("ws", type_=Integer),
        "tz": bindparam("tz", type_=String),
        "cur": bindparam("cur", type_=String),
        "start": bindparam("start", type_=DateTime(timezone=True)),
        "end": bindparam("end", type_=DateTime(timezone=True)),
        "first": bindparam("first", type_=Date),
        "last": bindparam("last", type_=Date),
        "max_age": bindparam("max_age", type_=Integer),
    }


def _bound_scope(binds: dict[str, Any]) -> Scope:
    """A Scope of placeholders, for the compiler's builders that take one."""
    return Scope(*(typed(Any, binds[k]) for k in ("ws", "tz", "cur")))


def _split_columns(
    shape: Shape, binds: dict[str, Any], customers: Any
) -> tuple[list[ColumnElement[Any]], list[tuple[Any, ColumnElement[bool]]]]:
    """The split columns of each customer and the outer joins they need, all from the
    customer's first order (the live order at their first_order_at; lowest id on a tie)."""
    ws = binds["ws"]
    firsts = (
        select(
            ShopifyOrder.customer_id,
            ShopifyOrder.id.label("order_id"),
            ShopifyOrder.shop_id,
            ShopifyOrder.discounts,
        )
        .join(
            customers,
            and_(
                customers.c.customer_id == ShopifyOrder.customer_id,
                customers.c.first_order_at == ShopifyOrder.processed_at,
            ),
        )
        .where(
            ShopifyOrder.workspace_id == ws,
            ShopifyOrder.test.is_(false()),
            ShopifyOrder.cancelled_at.is_(None),
        )
        .order_by(ShopifyOrder.customer_id, ShopifyOrder.id)
        .ext(distinct_on(ShopifyOrder.customer_id))
        .cte("first_orders")
    )
    joins: list[tuple[Any, ColumnElement[bool]]] = [
        (firsts, firsts.c.customer_id == customers.c.customer_id)
    ]
    columns: list[ColumnElement[Any]] = []
    if any(s.startswith("acquisition_") for s in shape.splits):
        # Standalone, then joined: a cash-mode credit sits at its order's time, so the first
        # orders' credits are those credited in the period (read by the attributions index).
        touch = (
            select(Attribution.order_id, Attribution.touchpoint_id, Attribution.entity_id)
            .where(
                Attribution.workspace_id == ws,
                *(getattr(Attribution, k) == v for k, v in ACQUISITION.items()),
                Attribution.credited_at >= binds["start"],
                Attribution.credited_at < binds["end"],
            )
            .order_by(Attribution.order_id, Attribution.credit.desc(), Attribution.id)
            .ext(distinct_on(Attribution.order_id))
            .subquery("acquisition")
        )
        tree = attributed.entity_tree(_bound_scope(binds)).subquery("tree")
        point = Touchpoint.__table__.alias("acquisition_touch")
        joins += [
            (touch, touch.c.order_id == firsts.c.order_id),
            (point, and_(point.c.id == touch.c.touchpoint_id, point.c.workspace_id == ws)),
            (tree, tree.c.entity_id == touch.c.entity_id),
        ]
        found = {
            "acquisition_channel": func.coalesce(point.c.channel, NO_CHANNEL),
            "acquisition_platform": tree.c.provider,
            "acquisition_campaign": func.coalesce(tree.c.campaign_name, NO_CAMPAIGN),
        }
        columns += [found[s].label(s) for s in shape.splits if s in found]
    if "first_product" in shape.splits:
        # One indexed look-up per first order (a join then a DISTINCT ON per order leaves the
        # planner without an estimate of its rows, and it may loop over all of them).
        line = (
            select(ShopifyOrderLine.product_external_id)
            .where(
                ShopifyOrderLine.order_id == firsts.c.order_id,
                ShopifyOrderLine.workspace_id == ws,
            )
            .order_by(
                (ShopifyOrderLine.quantity * ShopifyOrderLine.unit_price).desc(),
                ShopifyOrderLine.id,
            )
            .limit(1)
            .lateral("first_line")
        )
        product = ShopifyProduct.__table__.alias("first_product")
        joins += [
            (line, true()),
            (
                product,
                and_(
                    product.c.shop_id == firsts.c.shop_id,
                    product.c.external_id == line.c.product_external_id,
                ),
            ),
        ]
        columns.append(func.coalesce(product.c.title, NO_PRODUCT).label("first_product"))
    if "first_order_discount" in shape.splits:
        columns.append(
            case((firsts.c.discounts > 0, "discounted"), else_="full price").label(
                "first_order_discount"
            )
        )
    order = {s: i for i, s in enumerate(SPLITS)}
    columns.sort(key=lambda c: order[c.name])
    return columns, joins


@dataclass(frozen=True)
class CohortStatements:
    """The facts per (keys, age) and the (currency, day) pairs lacking a rate."""

    facts: Select[Any] | CompoundSelect[Any]
    #: None when no money is summed
    missing_rates: Select[Any] | None
    keys: tuple[str, ...]


@lru_cache(maxsize=64)
def cohort_statement(shape: Shape) -> CohortStatements:
    """The cohort facts of every query of this shape (values bound at execution)."""
    binds = _placeholders()
    ws = binds["ws"]
    # the local day once per customer, the cohort from it
    firsts = (
        select(
            ShopifyCustomer.id.label("customer_id"),
            ShopifyCustomer.first_order_at,
            _local_day(binds, ShopifyCustomer.first_order_at).label("first_day"),
        )
        .where(
            ShopifyCustomer.workspace_id == ws,
            ShopifyCustomer.first_order_at >= binds["start"],
            ShopifyCustomer.first_order_at < binds["end"],
        )
        .subquery("first_days")
    )
    cohort_key = (
        cast(func.date_trunc(shape.grain, firsts.c.first_day), Date)
        if shape.grain
        else cast(binds["first"], Date)
    )
    customers = select(
        firsts.c.customer_id,
        firsts.c.first_order_at,
        *first_day_columns(firsts.c.first_day),
        cohort_key.label(_KEY),
    ).cte("cohort_customers")
    if shape.splits:
        split_columns, joins = _split_columns(shape, binds, customers)
        keyed_from: Any = customers
        for table, on in joins:
            keyed_from = keyed_from.outerjoin(table, on)
        keyed = select(*customers.c, *split_columns).select_from(keyed_from).cte("keyed_customers")
    else:
        keyed = customers
    keys = [keyed.c[_KEY], *(keyed.c[s] for s in shape.splits)]
    names = (_KEY, *shape.splits)

    def row(
        key_columns: Sequence[ColumnElement[Any]],
        age: ColumnElement[Any],
        customers: ColumnElement[Any] | None = None,
        unconverted: ColumnElement[Any] | None = None,
        **sums: ColumnElement[Any],
    ) -> list[ColumnElement[Any]]:
        """A result row's columns: keys, age, every sum of the shape (0 unless given)."""
        return [
            *key_columns,
            age.label(_AGE),
            *(cast(sums.get(f, literal(0)), Float).label(f) for f in shape.sums),
            cast(literal(0) if customers is None else customers, Float).label("customers"),
            (literal(0) if unconverted is None else unconverted).label(_UNCONVERTED),
        ]

    parts: list[Select[Any]] = [
        select(*row(keys, cast(null(), Integer), customers=func.count())).group_by(*keys)
    ]
    if not shape.sums:
        return CohortStatements(parts[0], None, names)
    orders = _orders(shape, binds, keyed, keys)
    o = orders.c
    order_keys = [o[k] for k in names]
    age = age_sql(shape.age_unit, o.day, o)
    if "repeat_customers" in shape.sums:
        parts.append(_repeaters(shape, binds, orders, names))
    if "active_customers" in shape.sums:
        # each customer once per age at which they placed a live order
        active = (
            select(*order_keys, age.label(_AGE))
            .where(o.live)
            .group_by(o.customer_id, *order_keys, age)
            .subquery("active")
        )
        active_keys = [active.c[k] for k in names]
        parts.append(
            select(*row(active_keys, active.c[_AGE], active_customers=func.count())).group_by(
                *active_keys, active.c[_AGE]
            )
        )
    money = [m for m in MONEY if m in shape.sums]
    counted = [f for f in shape.sums if f not in ("repeat_customers", "active_customers")]
    missing: Select[Any] | None = None
    if counted:
        events = _events(shape, binds, orders, counted)
        e = events.c
        fx, on, rate = compiler.fx_join(_bound_scope(binds), e.day, e.currency, "cohort_fx")
        lacking = and_(
            e.currency != binds["cur"],
            fx.rate.is_(None),
            or_(*(e[m] != 0 for m in money)) if money else false(),
        )
        event_keys = [e[k] for k in names]
        event_age = age_sql(shape.age_unit, e.day, e)
        parts.append(
            select(
                *row(
                    event_keys,
                    event_age,
                    unconverted=func.count().filter(lacking),
                    **{f: func.sum(e[f] * rate if f in money else e[f]) for f in counted},
                )
            )
            .select_from(events.outerjoin(fx, on))
            # every age, those past max_age dropped in Python: filtering the events on their
            # age (an expression) leaves the planner guessing a few rows and sorting them
            .group_by(*event_keys, event_age)
        )
        missing = (
            select(e.currency, e.day)
            .select_from(events.outerjoin(fx, on))
            .where(event_age.between(0, binds["max_age"]), lacking)
            .distinct()
        )
    return CohortStatements(union_all(*parts), missing, names)


@lru_cache(maxsize=64)
def rollup_statement(shape: Shape) -> CohortStatements:
    """The facts of `cohort_statement` for a shape without splits, summed from cohort_daily
    (metricx.sync.cohort_rollup: each customer's events per first and event day, counted as
    above): one row per (cohort, age), the customers at age 0."""
    binds = _placeholders()
    daily = CohortDaily
    cohort_key = (
        cast(func.date_trunc(shape.grain, daily.first_day), Date)
        if shape.grain
        else cast(binds["first"], Date)
    )
    fact_columns = {
        f: getattr(daily, f"active_{shape.age_unit}" if f == "active_customers" else f)
        for f in (*shape.sums, "customers")
    }
    rows = (
        select(
            cohort_key.label(_KEY),
            daily.day,
            daily.currency,
            *first_day_columns(daily.first_day.expression),
            *(column.label(f) for f, column in fact_columns.items()),
        )
        .where(
            daily.workspace_id == binds["ws"],
            daily.first_day.between(binds["first"], binds["last"]),
        )
        .subquery("cohort_rows")
    )
    r = rows.c
    age = age_sql(shape.age_unit, r.day, r)
    money = [m for m in MONEY if m in shape.sums]
    source: Any = rows
    rate: ColumnElement[Any] = literal(1)
    lacking: ColumnElement[bool] = false()
    if money:
        fx, on, rate = compiler.fx_join(_bound_scope(binds), r.day, r.currency, "cohort_fx")
        source = rows.outerjoin(fx, on)
        lacking = and_(
            r.currency != binds["cur"], fx.rate.is_(None), or_(*(r[m] != 0 for m in money))
        )
    facts = (
        select(
            r[_KEY],
            age.label(_AGE),
            *(
                cast(func.sum(r[f] * rate if f in money else r[f]), Float).label(f)
                for f in shape.sums
            ),
            cast(func.sum(r.customers), Float).label("customers"),
            func.count().filter(lacking).label(_UNCONVERTED),
        )
        .select_from(source)
        .group_by(r[_KEY], age)
    )
    missing = (
        select(r.currency, r.day)
        .select_from(source)
        .where(age.between(0, binds["max_age"]), lacking)
        .distinct()
        if money
        else None
    )
    return CohortStatements(facts, missing, (_KEY,))


def _orders(shape: Shape, binds: dict[str, Any], keyed: Any, keys: list[Any]) -> Any:
    """The cohort's customers' orders from their first real one on (test orders left out;
    a cancelled order placed before it belongs to no age), each with its local day."""
    return (
        select(
            *keys,
            keyed.c.customer_id,
            *(keyed.c[c] for c in FIRST_DAY),
            keyed.c.first_order_at,
            ShopifyOrder.id.label("order_id"),
            ShopifyOrder.processed_at,
            ShopifyOrder.currency,
            ShopifyOrder.cancelled_at,
            _local_day(binds, ShopifyOrder.processed_at).label("day"),
            ShopifyOrder.cancelled_at.is_(None).label("live"),
            *(getattr(ShopifyOrder, c) for c in _order_columns(shape)),
        )
        .select_from(ShopifyOrder)
        .join(keyed, keyed.c.customer_id == ShopifyOrder.customer_id)
        .where(
            ShopifyOrder.workspace_id == binds["ws"],
            ShopifyOrder.test.is_(false()),
            ShopifyOrder.processed_at >= keyed.c.first_order_at,
        )
        .cte("cohort_orders")
    )


def _repeaters(
    shape: Shape, binds: dict[str, Any], orders: Any, names: Sequence[str]
) -> Select[Any]:
    """Customers with a second live order, counted at that order's age: the first live
    order is the one at first_order_at, so the second is another live order at that instant,
    else the earliest live one after it (grouped per customer: no sort of the orders)."""
    o = orders.c
    at_first = func.count().filter(o.live, o.processed_at == o.first_order_at)
    after = func.min(o.processed_at).filter(o.live, o.processed_at > o.first_order_at)
    per_customer = (
        select(
            *(o[k] for k in names),
            *(o[c] for c in FIRST_DAY),
            case((at_first >= 2, o.first_day), else_=_local_day(binds, after)).label("day"),
        )
        .group_by(o.customer_id, *(o[k] for k in names), *(o[c] for c in FIRST_DAY))
        .subquery("second_orders")
    )
    c = per_customer.c
    keys = [c[k] for k in names]
    age = age_sql(shape.age_unit, c.day, c)
    return (
        select(
            *keys,
            age.label(_AGE),
            *(
                cast(func.count() if f == "repeat_customers" else literal(0), Float).label(f)
                for f in shape.sums
            ),
            cast(literal(0), Float).label("customers"),
            literal(0).label(_UNCONVERTED),
        )
        .where(c.day.is_not(None))
        .group_by(*keys, age)
    )


def _order_columns(shape: Shape) -> list[str]:
    """The order columns the shape's sums read (a cancellation's rest reads the sales)."""
    sums = set(shape.sums)
    read = {
        "gross_sales": bool({"gross", "refunds"} & sums),
        "discounts": bool({"discounts", "refunds"} & sums),
        "shipping": "shipping" in sums,
        "taxes": "taxes" in sums,
        "cogs": "cogs" in sums,
    }
    return [c for c, needed in read.items() if needed]


def _events(shape: Shape, binds: dict[str, Any], orders: Any, counted: Sequence[str]) -> Subquery:
    """Every event of the orders with the `counted` sums, at its local day: an order's sales
    (orders and COGS of live ones), each refund, a cancellation's unreturned rest (refunds,
    shipping and taxes given back only when the metrics read them)."""
    ws = binds["ws"]
    o = orders.c
    names = (_KEY, *shape.splits)

    def event(source: Any, day: ColumnElement[Any], **given: ColumnElement[Any]) -> Select[Any]:
        return select(
            *(o[k] for k in names),
            *(o[c] for c in FIRST_DAY),
            day.label("day"),
            o.currency,
            *(given.get(f, literal(0)).label(f) for f in counted),
        ).select_from(source)

    sale_sums: dict[str, Callable[[], ColumnElement[Any]]] = {
        "gross": lambda: o.gross_sales,
        "discounts": lambda: o.discounts,
        "shipping": lambda: o.shipping,
        "taxes": lambda: o.taxes,
        "cogs": lambda: case((o.live, o.cogs), else_=0),
        "orders": lambda: case((o.live, 1), else_=0),
    }
    parts = [event(orders, o.day, **{f: sale_sums[f]() for f in counted if f in sale_sums})]
    # What goes back, by the refund's column: sales add to refunds, shipping and taxes given
    # back are taken off what was charged.
    returned = {"refunds": "sales", "shipping": "shipping", "taxes": "taxes"}
    given_back = [f for f in returned if f in counted]
    if given_back:

        def signed(fact: str, amount: ColumnElement[Any]) -> ColumnElement[Any]:
            return amount if fact == "refunds" else -amount

        parts.append(
            event(
                orders.join(
                    ShopifyRefund,
                    and_(ShopifyRefund.order_id == o.order_id, ShopifyRefund.workspace_id == ws),
                ),
                _local_day(binds, ShopifyRefund.created_at),
                **{f: signed(f, getattr(ShopifyRefund, returned[f])) for f in given_back},
            )
        )
        back = (
            select(
                *(
                    func.coalesce(func.sum(getattr(ShopifyRefund, returned[f])), 0).label(f)
                    for f in given_back
                )
            )
            .where(ShopifyRefund.order_id == o.order_id, ShopifyRefund.workspace_id == ws)
            .lateral("returned")
        )
        charged: dict[str, Callable[[], ColumnElement[Any]]] = {
            "refunds": lambda: o.gross_sales - o.discounts,
            "shipping": lambda: o.shipping,
            "taxes": lambda: o.taxes,
        }
        parts.append(
            event(
                orders.join(back, true()),
                _local_day(binds, o.cancelled_at),
                **{f: signed(f, charged[f]() - back.c[f]) for f in given_back},
            ).where(o.cancelled_at.is_not(None))
        )
    return union_all(*parts).subquery("cohort_events")


def _params(query: SemanticQuery, scope: Scope) -> dict[str, Any]:
    start, end = utc_bounds(query.time_range, scope.timezone)
    return {
        "ws": scope.workspace_id,
        "tz": scope.timezone,
        "cur": scope.currency,
        "start": start,
        "end": end,
        "first": query.time_range.start,
        "last": query.time_range.end,
        "max_age": _last_age(query),
    }


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cells:
    """Facts per cohort key and age: `keys` (one tuple per row of the arrays), and for each
    fact an array (keys × ages), cumulative where the fact is."""

    keys: list[tuple[Any, ...]]
    facts: dict[str, np.ndarray]


def _cells(rows: Sequence[Any], names: list[str], key_count: int, ages: int) -> Cells:
    """The statement's rows as arrays: customers per key (on rows without an age, or at age 0),
    facts per (key, age), cumulated."""
    at = {name: i for i, name in enumerate(names)}
    keys = sorted(
        {tuple(row[:key_count]) for row in rows if row[at["customers"]]},
        key=lambda k: tuple((v is None, v) for v in k),
    )
    index = {key: i for i, key in enumerate(keys)}
    shape = (len(keys), ages)
    facts = {f: np.zeros(shape) for f in (*MONEY, *COUNTS) if f in at}
    customers = np.zeros(len(keys))
    for row in rows:
        i = index[tuple(row[:key_count])]
        customers[i] += row[at["customers"]]
        age = row[at[_AGE]]
        if age is None:
            continue
        for f in facts:
            facts[f][i, age] += row[at[f]] or 0.0
    for f in CUMULATIVE:
        if f in facts:
            facts[f] = np.cumsum(facts[f], axis=1)
    facts["customers"] = np.repeat(customers[:, None], ages, axis=1)
    return Cells(keys, facts)


def _spend(
    conn: Connection, query: SemanticQuery, scope: Scope, shape: Shape
) -> tuple[str | None, dict[tuple[Any, ...], float]]:
    """Ad spend (workspace currency) per (cohort key, platform or campaign name), over the
    query's range: (the split it is keyed by, or None for blended, and the sums)."""
    by = next(
        (s for s in ("acquisition_campaign", "acquisition_platform") if s in shape.splits), None
    )
    dimension = {"acquisition_platform": "provider", "acquisition_campaign": "campaign"}.get(
        by or ""
    )
    ad_shape = compiler.Shape((dimension,) if dimension else (), "day", False, False, False)
    columns = fetch_statements(
        conn,
        compiler.ad_statements(ad_shape, compiler.Binds.of(scope, query.time_range), ("spend",)),
        scope,
    )
    sums: dict[tuple[Any, ...], float] = {}
    days = columns[compiler.BUCKET]
    names = columns[dimension] if dimension else [None] * len(days)
    for day, name, spend in zip(days, names, columns["spend"], strict=True):
        cohort = period_start(shape.grain, day) if shape.grain else query.time_range.start
        key = (cohort, name)
        sums[key] = sums.get(key, 0.0) + float(spend or 0.0)
    return by, sums


def _acquisition(
    cells: Cells, shape: Shape, by: str | None, spend: Mapping[tuple[Any, ...], float]
) -> None:
    """Add `acquisition_spend` and `acquired_customers` per key: the spend of the cohort's
    period over its customers; split by platform or campaign, that one's spend over the
    customers it acquired (no platform or campaign: no spend to divide, empty); else the
    period's blended figures."""
    customers = cells.facts["customers"][:, 0]
    at = (0, 1 + shape.splits.index(by)) if by else (0,)
    acquired: dict[tuple[Any, ...], float] = {}
    for key, count in zip(cells.keys, customers, strict=True):
        group = tuple(key[i] for i in at)
        acquired[group] = acquired.get(group, 0.0) + count
    spent = np.empty(len(cells.keys))
    divided = np.empty(len(cells.keys))
    for i, key in enumerate(cells.keys):
        group = tuple(key[j] for j in at)
        unsplit = by is None
        named = unsplit or group[1] not in (None, NO_CAMPAIGN)
        spent[i] = spend.get(group if by else (group[0], None), 0.0) if named else np.nan
        divided[i] = acquired[group]
    ages = cells.facts["customers"].shape[1]
    cells.facts["acquisition_spend"] = np.repeat(spent[:, None], ages, axis=1)
    cells.facts["acquired_customers"] = np.repeat(divided[:, None], ages, axis=1)


def completeness(
    cohorts: Sequence[date], shape: Shape, span: TimeRange, ages: int, today: date
) -> np.ndarray:
    """(cohorts × ages) True where every customer of the cohort has lived the whole age:
    the cohort's last day (within the range) + the age + one unit has come before today."""
    mask = np.zeros((len(cohorts), ages), dtype=bool)
    for i, first in enumerate(cohorts):
        last = min(period_end(shape.grain, first), span.end) if shape.grain else span.end
        for age in range(ages):
            if age_start(shape.age_unit, last, age + 1) > today:
                break
            mask[i, age] = True
    return mask


def _payback(gross_profit: np.ndarray, cac: np.ndarray, complete: np.ndarray) -> np.ndarray:
    """Per key, the first complete age at which LTV gross profit reaches CAC (NaN if none)."""
    reached = complete & (gross_profit >= cac)  # NaN compares False
    first: np.ndarray = np.argmax(reached, axis=1).astype(float)
    first[~reached.any(axis=1)] = np.nan
    return first


def evaluate_cells(
    query: SemanticQuery, cells: Cells, shape: Shape, costs: Params, today: date
) -> pd.DataFrame:
    """The query's frame from its cells: dimensions, metrics, `complete`."""
    cohort = _cohort(query)
    ages = _last_age(query) + 1
    flat = {f: v.reshape(-1) for f, v in cells.facts.items()}
    complete = completeness([k[0] for k in cells.keys], shape, query.time_range, ages, today)
    values: dict[str, np.ndarray] = {}
    for metric_id in query.metrics:
        if metric_id == "payback_age":
            gp, cac = (
                families.evaluated(m, flat, costs).reshape(-1, ages)
                for m in ("ltv_gross_profit", "cac")
            )
            values[metric_id] = np.repeat(_payback(gp, cac, complete)[:, None], ages, axis=1)
        else:
            values[metric_id] = families.evaluated(metric_id, flat, costs).reshape(-1, ages)
    shown = list(range(ages)) if _AGE in query.dimensions else [cohort.read_age]
    rows = [(i, age) for i in range(len(cells.keys)) for age in shown]
    frame: dict[str, Any] = {}
    key_names = [_KEY, *shape.splits]
    for dimension in query.dimensions:
        if dimension == _AGE:
            frame[_AGE] = [age for _, age in rows]
        else:
            at = key_names.index(dimension)
            frame[dimension] = [_label(cells.keys[i][at]) for i, _ in rows]
    index = (np.array([i for i, _ in rows], dtype=np.int64), np.array(shown * len(cells.keys)))
    kept = complete[index] if rows else np.zeros(0, dtype=bool)
    for metric_id in query.metrics:
        column = values[metric_id][index] if rows else np.zeros(0)
        frame[metric_id] = np.where(kept, column, np.nan)
    frame[COMPLETE] = kept
    return _ordered(query, pd.DataFrame(frame))


def _label(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _ordered(query: SemanticQuery, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in the query's order (a metric's, nulls last; else as the keys sort), limited."""
    if query.order_by is not None and len(frame):
        frame = frame.sort_values(
            query.order_by.metric,
            ascending=query.order_by.direction == "asc",
            na_position="last",
            kind="stable",
        )
    if query.limit is not None:
        frame = frame.head(query.limit)
    return frame.reset_index(drop=True)


def run(
    conn: Connection,
    workspace_id: int,
    query: SemanticQuery,
    scope: Scope,
    costs: Params,
    today: date | None = None,
) -> MetricsResult:
    """Answer a cohort query inside one workspace (`today`: the workspace's, by default)."""
    if scope.workspace_id != workspace_id:
        raise ValueError("the scope is another workspace's")
    shape = Shape.of(query)
    # The rollup holds no acquisition or first-order split: those read the orders.
    statements = cohort_statement(shape) if shape.splits else rollup_statement(shape)
    params = _params(query, scope)
    result = conn.execute(statements.facts, params)
    names = list(result.keys())
    rows = result.fetchall()
    unconverted, age = names.index(_UNCONVERTED), names.index(_AGE)
    ages = _last_age(query) + 1
    rows = [row for row in rows if row[age] is None or 0 <= row[age] < ages]
    if statements.missing_rates is not None and any(row[unconverted] for row in rows):
        raise MissingFxRateError.naming(
            conn.execute(statements.missing_rates, params).all(), scope.currency
        )
    cells = _cells(rows, names, len(statements.keys), ages)
    needed = families.facts_for(_formula_metrics(query.metrics))
    if "acquisition_spend" in needed and cells.keys:
        by, spend = _spend(conn, query, scope, shape)
        _acquisition(cells, shape, by, spend)
    else:
        for fact in ("acquisition_spend", "acquired_customers"):
            cells.facts[fact] = np.full_like(cells.facts["customers"], np.nan)
    frame = evaluate_cells(
        query, cells, shape, costs, today if today is not None else today_in(scope.timezone)
    )
    return MetricsResult(
        query,
        frame,
        None,
        scope.currency,
        scope.timezone,
        {m: query.metric(m).definition for m in query.metrics},
    )
