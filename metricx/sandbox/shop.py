"""The Shopify store: catalogue, customers and orders generated day by day as the clock moves.

Days are generated in order (returning customers need the customers that came before), once,
under a lock; each day's orders come from their own seeded stream, so the shop is the same in
every process whatever order the days are first asked for.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import accumulate
from threading import RLock

from metricx.sandbox import rand
from metricx.sandbox.calendar import local_date, zone
from metricx.sandbox.catalog import Product, build_catalog
from metricx.sandbox.entities import Tree
from metricx.sandbox.journeys import AdPicker, make_journey
from metricx.sandbox.orders import (
    FREE_SHIPPING_CENTS,
    SHIPPING_CENTS,
    TAX_PERCENT,
    Customer,
    Line,
    Order,
    Refund,
    RefundLine,
)
from metricx.sandbox.patterns import PURCHASE_SHAPE, WEEKDAY_ORDERS, season
from metricx.sandbox.series import AdSeries

FIRST_NAMES = (
    "Ava",
    "Liam",
    "Mia",
    "Noah",
    "Emma",
    "Lucas",
    "Sofia",
    "Ethan",
    "Chloe",
    "Mason",
    "Lena",
    "Jonas",
    "Grace",
    "Owen",
    "Ivy",
    "Leo",
    "Zoe",
    "Felix",
    "Nora",
    "Caleb",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Miller",
    "Davis",
    "Martinez",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Nelson",
    "Hill",
    "Reed",
)
_HOUR_CUM = [sum(PURCHASE_SHAPE[: h + 1]) for h in range(24)]
ORDER_ID_BASE = 5_610_000_000_000
CUSTOMER_ID_BASE = 7_240_000_000_000
PRIOR_CUSTOMERS = 1500


@dataclass(frozen=True)
class ShopProfile:
    """What `shop { ... }` answers."""

    domain: str = "northwind-outfitters.myshopify.com"
    name: str = "Northwind Outfitters"
    currency: str = "USD"
    timezone: str = "America/New_York"
    host: str = "northwindoutfitters.com"


def _shares(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights` (rounded down; the rest on the last)."""
    whole = sum(weights)
    shares = [total * w // whole if whole else 0 for w in weights[:-1]]
    return [*shares, total - sum(shares)]


@dataclass(frozen=True)
class _Charges:
    """What an order charged, and the refunds of it Shopify would record (shopify.dev
    Refund: refundLineItems with subtotalSet and totalTaxSet, refundShippingLines,
    orderAdjustments for the difference between those and the money given back)."""

    lines: tuple[Line, ...]
    discount_cents: int
    shipping_cents: int
    tax_cents: int

    @property
    def total(self) -> int:
        gross = sum(line.amount_cents for line in self.lines)
        return gross - self.discount_cents + self.shipping_cents + self.tax_cents

    def _returned(self) -> dict[str, RefundLine]:
        """Each line given back whole: its price less its share of the discount, and its
        share of the tax (charged on discounted prices)."""
        discounts = _shares(self.discount_cents, [line.amount_cents for line in self.lines])
        net = [line.amount_cents - d for line, d in zip(self.lines, discounts, strict=True)]
        taxes = _shares(self.tax_cents, net)
        return {
            line.external_id: RefundLine(line, line.quantity, n, t)
            for line, n, t in zip(self.lines, net, taxes, strict=True)
        }

    def everything_back(self, external_id: str, at: datetime) -> Refund:
        """Every line and the shipping (a cancellation, a full return)."""
        return Refund(
            external_id, at, self.total, tuple(self._returned().values()), self.shipping_cents
        )

    def line_back(self, external_id: str, at: datetime, line: Line) -> Refund:
        """One line at its full price plus tax on that price: more than Shopify reckons for a
        discounted line, the difference an order adjustment."""
        returned = self._returned()[line.external_id]
        tax = line.amount_cents * TAX_PERCENT // 100
        return Refund(
            external_id,
            at,
            line.amount_cents + tax,
            (returned,),
            adjustment_cents=returned.subtotal_cents - line.amount_cents,
            adjustment_tax_cents=returned.tax_cents - tax,
        )

    def goodwill(self, external_id: str, at: datetime, amount: int) -> Refund:
        """Money back with no line returned: all of it an order adjustment, its tax at the
        order's own share of tax."""
        tax = amount * self.tax_cents // self.total if self.total else 0
        return Refund(
            external_id, at, amount, adjustment_cents=tax - amount, adjustment_tax_cents=-tax
        )


class Shop:
    """Catalogue + customers + orders from `start_day` on, generated lazily up to as_of."""

    def __init__(
        self,
        seed: int,
        *,
        start_day: date,
        orders_per_day: int,
        series: AdSeries,
        tree: Tree,
        profile: ShopProfile | None = None,
    ) -> None:
        self.seed = seed
        self.profile = profile or ShopProfile()
        self.start_day = start_day
        self.orders_per_day = orders_per_day
        self.tree = tree
        opened = datetime.combine(start_day - timedelta(days=420), time(15), tzinfo=UTC)
        self.products: tuple[Product, ...] = build_catalog(seed, opened, 420)
        self._picker = AdPicker(series, tree, start_day)
        self._lock = RLock()
        self._orders: list[Order] = []
        self._created: list[datetime] = []
        self._order_by_id: dict[str, Order] = {}
        self._customers: list[Customer] = []
        self._customer_by_id: dict[str, Customer] = {}
        self._next_day = start_day
        self._cum_weights = list(accumulate(p.popularity for p in self.products))
        self._product_by_id = {p.external_id: p for p in self.products}
        self._seed_prior_customers()

    # ---- reading ------------------------------------------------------------------------
    def orders_until(self, as_of: datetime) -> list[Order]:
        """Orders created at or before as_of, oldest first."""
        self._ensure(as_of)
        with self._lock:
            return self._orders[: bisect_right(self._created, as_of)]

    def order(self, external_id: str, as_of: datetime) -> Order | None:
        self._ensure(as_of)
        found = self._order_by_id.get(external_id)
        return found if found is not None and found.created_at <= as_of else None

    def refund(self, external_id: str, as_of: datetime) -> tuple[Order, Refund] | None:
        """A refund issued by as_of, with its order (a refund's number is its order's times
        ten plus one or two, see _aftermath)."""
        number = int(external_id.rsplit("/", 1)[-1]) if external_id[-1:].isdigit() else 0
        order = self.order(f"gid://shopify/Order/{number // 10}", as_of)
        found = (
            [r for r in order.refunds_at(as_of) if r.external_id == external_id] if order else []
        )
        return (order, found[0]) if order and found else None

    def customers_until(self, as_of: datetime) -> list[Customer]:
        """Customers that exist at as_of (created at their first order)."""
        self._ensure(as_of)
        with self._lock:
            return [c for c in self._customers if c.created_at <= as_of]

    def customer(self, external_id: str) -> Customer | None:
        return self._customer_by_id.get(external_id)

    def product(self, external_id: str) -> Product | None:
        return self._product_by_id.get(external_id)

    # ---- generation ---------------------------------------------------------------------
    def _ensure(self, as_of: datetime) -> None:
        last = local_date(as_of, self.profile.timezone)
        if self._next_day > last:
            return
        with self._lock:
            while self._next_day <= last:
                self._generate_day(self._next_day)
                self._next_day += timedelta(days=1)

    def _seed_prior_customers(self) -> None:
        r = rand.rng(self.seed, "prior-customers")
        start = datetime.combine(self.start_day, time(0), tzinfo=UTC)
        for _ in range(PRIOR_CUSTOMERS):
            created = start - timedelta(seconds=int(r.random() * 400 * 86400) + 3600)
            prior = 1 + int(r.random() ** 2 * 4)
            self._new_customer(r, created, prior, prior * (6000 + int(r.random() * 9000)))

    def _new_customer(
        self, r: random.Random, created: datetime, prior: int = 0, spent: int = 0
    ) -> Customer:
        n = len(self._customers)
        first = FIRST_NAMES[int(r.random() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(r.random() * len(LAST_NAMES))]
        customer = Customer(
            f"gid://shopify/Customer/{CUSTOMER_ID_BASE + n * 11}",
            first,
            last,
            f"{first}.{last}{n}@example.com".lower(),
            created,
            prior,
            spent,
        )
        self._customers.append(customer)
        self._customer_by_id[customer.external_id] = customer
        return customer

    def _generate_day(self, day: date) -> None:
        r = rand.rng(self.seed, "orders", day.toordinal())
        expected = (
            self.orders_per_day
            * WEEKDAY_ORDERS[day.weekday()]
            * season(day)
            * (0.9 + 0.2 * r.random())
        )
        count = rand.stochastic_round(expected, r.random())
        tz = zone(self.profile.timezone)
        times = sorted(self._order_time(r, day, tz) for _ in range(count))
        for created in times:
            self._add_order(r, day, created)

    def _order_time(self, r: random.Random, day: date, tz: tzinfo) -> datetime:
        u = r.random() * _HOUR_CUM[-1]
        hour = bisect_right(_HOUR_CUM, u)
        seconds = int(r.random() * 3600)
        local = datetime.combine(day, time(min(hour, 23), seconds // 60, seconds % 60), tzinfo=tz)
        return local.astimezone(UTC)

    def _add_order(self, r: random.Random, day: date, created: datetime) -> None:
        seq = len(self._orders) + 1
        test = r.random() < 0.004
        customer = self._choose_customer(r, created)
        index = 1
        if customer is not None:
            index = customer.number_of_orders(created) + 1
        lines = self._lines(r, seq)
        gross = sum(line.amount_cents for line in lines)
        discount = 0
        if r.random() < 0.25:
            discount = gross * (10, 15, 20)[int(r.random() * 3)] // 100
        shipping = 0 if gross - discount >= FREE_SHIPPING_CENTS else SHIPPING_CENTS
        tax = ((gross - discount) * TAX_PERCENT + 50) // 100
        total = gross - discount + shipping + tax
        cancelled_at, fulfilled_at, refunds = self._aftermath(
            r, seq, created, _Charges(lines, discount, shipping, tax)
        )
        order = Order(
            seq=seq,
            external_id=f"gid://shopify/Order/{ORDER_ID_BASE + seq * 13}",
            name=f"#{1000 + seq}",
            created_at=created,
            customer_id=customer.external_id if customer else None,
            customer_order_index=index,
            lines=lines,
            discount_cents=discount,
            shipping_cents=shipping,
            tax_cents=tax,
            test=test,
            cancelled_at=cancelled_at,
            fulfilled_at=fulfilled_at,
            refunds=refunds,
            journey=make_journey(
                r, created, self.profile.host, self._handle(lines), self._picker, self.tree, day
            ),
        )
        if customer is not None and not test:
            customer.orders.append((created, total))
        self._orders.append(order)
        self._created.append(created)
        self._order_by_id[order.external_id] = order

    def _choose_customer(self, r: random.Random, created: datetime) -> Customer | None:
        roll = r.random()
        if roll < 0.015:
            return None  # guest checkout
        if roll < 0.33 and self._customers:
            return self._customers[int(r.random() * len(self._customers))]
        return self._new_customer(r, created)

    def _lines(self, r: random.Random, seq: int) -> tuple[Line, ...]:
        roll = r.random()
        count = 1 if roll < 0.6 else 2 if roll < 0.88 else 3 + int(r.random() * 3)
        lines = []
        for j in range(count):
            product = r.choices(self.products, cum_weights=self._cum_weights)[0]
            variant = product.variants[int(r.random() * len(product.variants))]
            quantity = 1 if r.random() < 0.85 else 2 + int(r.random() * 2)
            lines.append(
                Line(
                    f"gid://shopify/LineItem/{(ORDER_ID_BASE + seq * 13) * 10 + j}",
                    variant,
                    quantity,
                )
            )
        return tuple(lines)

    def _handle(self, lines: tuple[Line, ...]) -> str:
        product = self.product(lines[0].variant.product_id)
        return product.handle if product else "all"

    def _aftermath(
        self,
        r: random.Random,
        seq: int,
        created: datetime,
        charges: _Charges,
    ) -> tuple[datetime | None, datetime | None, tuple[Refund, ...]]:
        """Cancellation, fulfilment and refunds that will happen to the order later."""
        ref_base = (ORDER_ID_BASE + seq * 13) * 10
        lines, total = charges.lines, charges.total
        roll = r.random()
        if roll < 0.015:
            cancelled = created + timedelta(hours=1 + int(r.random() * 29))
            return (
                cancelled,
                None,
                (
                    charges.everything_back(
                        f"gid://shopify/Refund/{ref_base + 1}", cancelled + timedelta(minutes=2)
                    ),
                ),
            )
        fulfilled = created + timedelta(hours=6 + int(r.random() * 54))
        if roll >= 0.075:
            return None, fulfilled, ()
        first_at = created + timedelta(days=2 + int(r.random() * 23), minutes=int(r.random() * 900))
        first_id = f"gid://shopify/Refund/{ref_base + 1}"
        if r.random() < 0.6 and len(lines) > 1:
            refund = charges.line_back(first_id, first_at, lines[int(r.random() * len(lines))])
        elif r.random() < 0.5:
            refund = charges.goodwill(first_id, first_at, total // 2)
        else:
            refund = charges.everything_back(first_id, first_at)
        refunds = [refund]
        if refund.amount_cents < total and r.random() < 0.15:
            refunds.append(
                charges.goodwill(
                    f"gid://shopify/Refund/{ref_base + 2}",
                    first_at + timedelta(days=3),
                    min(1500, total - refund.amount_cents),
                )
            )
        return None, fulfilled, tuple(refunds)
