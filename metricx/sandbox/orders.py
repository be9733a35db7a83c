"""Shopify orders and customers as facts, and how they look at a given moment.

An order is generated once (lines, money, its future refunds, cancellation, fulfilment) and
then *viewed* at `as_of`: refunds not yet issued are invisible, and updated_at is the latest
event that has happened. That is exactly what an incremental updated_at sync has to cope with.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from metricx.sandbox.catalog import Variant
from metricx.sandbox.journeys import Journey

TAX_PERCENT = 8
FREE_SHIPPING_CENTS = 7500
SHIPPING_CENTS = 695


@dataclass(frozen=True)
class Line:
    external_id: str
    variant: Variant
    quantity: int

    @property
    def amount_cents(self) -> int:
        return self.variant.price_cents * self.quantity


@dataclass(frozen=True)
class RefundLine:
    """A refunded order line: its price after discounts and its tax (RefundLineItem)."""

    line: Line
    quantity: int
    subtotal_cents: int
    tax_cents: int


@dataclass(frozen=True)
class Refund:
    """Money given back (`amount_cents`) and what for, as Shopify records it: refunded lines,
    refunded shipping (RefundShippingLine, untaxed here) and an order adjustment, the
    difference between what those come to and what was given back (negative when more was
    given, in sales and tax). They always add up: amount = lines + shipping - adjustment."""

    external_id: str
    created_at: datetime
    amount_cents: int
    lines: tuple[RefundLine, ...] = ()
    shipping_cents: int = 0
    adjustment_cents: int = 0
    adjustment_tax_cents: int = 0

    @property
    def sales_cents(self) -> int:
        """Refunded sales, tax excluded: the lines net of the adjustment."""
        return sum(r.subtotal_cents for r in self.lines) - self.adjustment_cents

    @property
    def tax_cents(self) -> int:
        return sum(r.tax_cents for r in self.lines) - self.adjustment_tax_cents


@dataclass(frozen=True)
class Order:
    """An order with its whole future; read it through the `*_at(as_of)` views."""

    seq: int
    external_id: str
    name: str
    created_at: datetime
    customer_id: str | None
    customer_order_index: int
    lines: tuple[Line, ...]
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    test: bool
    cancelled_at: datetime | None
    fulfilled_at: datetime | None
    refunds: tuple[Refund, ...]
    journey: Journey | None

    @property
    def gross_cents(self) -> int:
        """Σ original unit price × quantity."""
        return sum(line.amount_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        """What the customer paid at checkout."""
        return self.gross_cents - self.discount_cents + self.shipping_cents + self.tax_cents

    def refunds_at(self, as_of: datetime) -> tuple[Refund, ...]:
        return tuple(r for r in self.refunds if r.created_at <= as_of)

    def refunded_cents(self, as_of: datetime) -> int:
        return sum(r.amount_cents for r in self.refunds if r.created_at <= as_of)

    def cancelled_at_view(self, as_of: datetime) -> datetime | None:
        return self.cancelled_at if self.cancelled_at and self.cancelled_at <= as_of else None

    def fulfilled_at_view(self, as_of: datetime) -> datetime | None:
        return self.fulfilled_at if self.fulfilled_at and self.fulfilled_at <= as_of else None

    def updated_at(self, as_of: datetime) -> datetime:
        """The latest change visible at as_of (fulfilment, cancellation, refunds)."""
        latest = self.created_at
        for moment in (self.fulfilled_at, self.cancelled_at, *(r.created_at for r in self.refunds)):
            if moment is not None and latest < moment <= as_of:
                latest = moment
        return latest


@dataclass
class Customer:
    """A customer; `orders` holds (created_at, total cents) of non-test orders, oldest first."""

    external_id: str
    first_name: str
    last_name: str
    email: str
    created_at: datetime
    prior_orders: int = 0
    prior_spent_cents: int = 0
    orders: list[tuple[datetime, int]] = field(default_factory=list)

    def _seen(self, as_of: datetime) -> int:
        return bisect_right(self.orders, (as_of, 1 << 62))

    def number_of_orders(self, as_of: datetime) -> int:
        return self.prior_orders + self._seen(as_of)

    def amount_spent_cents(self, as_of: datetime) -> int:
        return self.prior_spent_cents + sum(t for _, t in self.orders[: self._seen(as_of)])

    def updated_at(self, as_of: datetime) -> datetime:
        seen = self._seen(as_of)
        return self.orders[seen - 1][0] if seen else self.created_at
