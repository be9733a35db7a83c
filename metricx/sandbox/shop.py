"""The Shopify store: catalogue, customers and orders generated day by day as the clock moves.

Days are generated in order (returning customers need the customers that came before), once,
under a lock; each day's orders come from their own seeded stream, so the shop is the same in
every process whatever order the days are first asked for.

Customers come back as metricx.sandbox.retention plans it: every order of a customer books
the day of their next one (or none). A day's order count is drawn as before; the customers
due that day take their share of it and new customers the rest, so volumes do not depend on
retention. The customers of the year before the history are simulated the same way and only
those who come back during it are kept.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import accumulate
from threading import RLock

from metricx.sandbox import rand, retention
from metricx.sandbox.calendar import local_date, zone
from metricx.sandbox.catalog import Product, build_catalog
from metricx.sandbox.entities import Tree
from metricx.sandbox.journeys import (
    AdPicker,
    Journey,
    acquisition_channel,
    featured_campaigns,
    make_journey,
    pick_channel,
)
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
WARM_UP_DAYS = 365  # customers acquired this long before the history may still come back
GUEST_SHARE = 0.015


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
class _Due:
    """A customer booked to order on a day; `second` is their chance of a second order, which
    sets the chance of every later one (retention.chance_after)."""

    customer: Customer
    second: float


@dataclass
class _Earlier:
    """A customer of the warm-up year, kept only if they come back during the history."""

    key: str
    created: datetime
    second: float
    orders: int = 1


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
        promoted = {p.handle: p for p in self.products if p.promoted}
        landings = featured_campaigns(tree, list(promoted))
        # campaign id -> the product all its ads link to (and its last-click buyers buy)
        self.featured: dict[str, Product] = {c: promoted[h] for c, h in landings.items()}
        self._picker = AdPicker(series, tree, start_day, landings)
        self._lock = RLock()
        self._orders: list[Order] = []
        self._created: list[datetime] = []
        self._order_by_id: dict[str, Order] = {}
        self._customers: list[Customer] = []
        self._customer_by_id: dict[str, Customer] = {}
        self._due: dict[int, list[_Due]] = {}
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

    def _order_count(self, r: random.Random, day: date) -> int:
        expected = (
            self.orders_per_day
            * WEEKDAY_ORDERS[day.weekday()]
            * season(day)
            * (0.9 + 0.2 * r.random())
        )
        return rand.stochastic_round(expected, r.random())

    def _seed_prior_customers(self) -> None:
        """Simulate the year before the history (customers only, no orders) and keep those
        due back during it, with the orders they placed before as their prior count."""
        r = rand.rng(self.seed, "prior-customers")
        waiting: dict[int, list[_Earlier]] = {}
        first_day = self.start_day - timedelta(days=WARM_UP_DAYS)
        for offset in range(WARM_UP_DAYS):
            day = first_day + timedelta(days=offset)
            back = waiting.pop(day.toordinal(), [])
            for earlier in back:
                earlier.orders += 1
            newcomers = max(0, self._order_count(r, day) - len(back))
            for k in range(newcomers):
                product = r.choices(self.products, cum_weights=self._cum_weights)[0]
                second = retention.second_order_chance(pick_channel(r.random()), product.repeat)
                created = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(
                    seconds=int(r.random() * 86400)
                )
                back.append(_Earlier(f"prior-{offset}-{k}", created, second))
            for earlier in back:
                due = retention.next_order_day(
                    self.seed, earlier.key, earlier.orders, earlier.second, day
                )
                if due is None:
                    continue
                if due < self.start_day:
                    waiting.setdefault(due.toordinal(), []).append(earlier)
                    continue
                customer = self._new_customer(
                    r,
                    earlier.created,
                    earlier.orders,
                    earlier.orders * (6000 + int(r.random() * 9000)),
                )
                self._due.setdefault(due.toordinal(), []).append(_Due(customer, earlier.second))

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
        count = self._order_count(r, day)
        due = self._due.pop(day.toordinal(), [])
        buyers: list[_Due | None] = [*due, *[None] * max(0, count - len(due))]
        r.shuffle(buyers)
        tz = zone(self.profile.timezone)
        times = sorted(self._order_time(r, day, tz) for _ in buyers)
        for created, buyer in zip(times, buyers, strict=True):
            self._add_order(r, day, created, buyer)

    def _order_time(self, r: random.Random, day: date, tz: tzinfo) -> datetime:
        u = r.random() * _HOUR_CUM[-1]
        hour = bisect_right(_HOUR_CUM, u)
        seconds = int(r.random() * 3600)
        local = datetime.combine(day, time(min(hour, 23), seconds // 60, seconds % 60), tzinfo=tz)
        return local.astimezone(UTC)

    def _add_order(self, r: random.Random, day: date, created: datetime, due: _Due | None) -> None:
        seq = len(self._orders) + 1
        test = r.random() < 0.004
        customer = self._choose_customer(r, created, due)
        index = 1
        if customer is not None:
            index = customer.number_of_orders(created) + 1
        lines = self._lines(r, seq)
        journey = make_journey(
            r, created, self.profile.host, self._handle(lines), self._picker, self.tree, day
        )
        featured = self._featured_product(journey)
        if featured is not None:
            variant = featured.variants[int(r.random() * len(featured.variants))]
            lines = (Line(lines[0].external_id, variant, lines[0].quantity), *lines[1:])
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
            journey=journey,
        )
        if customer is not None and not test:
            customer.orders.append((created, total))
            second = due.second if due else self._second_order_chance(journey, lines)
            self._book_next_order(customer, index, second, day)
        self._orders.append(order)
        self._created.append(created)
        self._order_by_id[order.external_id] = order

    def _choose_customer(
        self, r: random.Random, created: datetime, due: _Due | None
    ) -> Customer | None:
        if due is not None:
            return due.customer
        if r.random() < GUEST_SHARE:
            return None  # guest checkout
        return self._new_customer(r, created)

    def _featured_product(self, journey: Journey | None) -> Product | None:
        """The product a buyer whose last click was a featured campaign's ad came for."""
        last = journey.last_visit if journey else None
        if last is None or last.ad_id is None:
            return None
        return self.featured.get(self.tree.ad(last.ad_id).campaign_id)

    def _second_order_chance(self, journey: Journey | None, lines: tuple[Line, ...]) -> float:
        """A new customer's chance of coming back, from their first click and the first order's
        highest-revenue product."""
        main = max(lines, key=lambda line: line.amount_cents)
        product = self.product(main.variant.product_id)
        return retention.second_order_chance(
            acquisition_channel(journey), product.repeat if product else 1.0
        )

    def _book_next_order(self, customer: Customer, number: int, second: float, day: date) -> None:
        due = retention.next_order_day(self.seed, customer.external_id, number, second, day)
        if due is not None:
            self._due.setdefault(due.toordinal(), []).append(_Due(customer, second))

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
