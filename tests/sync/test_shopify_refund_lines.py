"""Refund lines stored with their refunds: which order line each refund gave back, how many and
for how much; replaced with the order's other children whenever it is read again, so re-reading
changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_fixtures import CREDENTIALS, NOW
from sqlalchemy import func, select

from metricx.connectors.records import LineItemRecord, OrderRecord, RefundLineRecord, RefundRecord
from metricx.connectors.shopify import ShopifyClient
from metricx.db import new_session
from metricx.models import (
    ShopifyOrder,
    ShopifyOrderLine,
    ShopifyRefund,
    ShopifyRefundLine,
    ShopifyShop,
)
from metricx.sync import shopify
from metricx.sync.pipeline import sync_connection

# {(order, refund): {(order line or None, quantity, subtotal)}}
RefundLines = dict[tuple[str, str], set[tuple[str | None, int, Decimal]]]


def _stored() -> RefundLines:
    with new_session() as session:
        rows = session.execute(
            select(
                ShopifyOrder.external_id,
                ShopifyRefund.external_id,
                ShopifyOrderLine.external_id,
                ShopifyRefundLine.quantity,
                ShopifyRefundLine.subtotal,
            )
            .join(ShopifyRefund, ShopifyRefund.id == ShopifyRefundLine.refund_id)
            .join(ShopifyOrder, ShopifyOrder.id == ShopifyRefund.order_id)
            .outerjoin(ShopifyOrderLine, ShopifyOrderLine.id == ShopifyRefundLine.line_id)
        )
        stored: RefundLines = {}
        for order, refund, line, quantity, subtotal in rows:
            stored.setdefault((order, refund), set()).add((line, quantity, subtotal))
    return stored


def _row_count() -> int:
    with new_session() as session:
        return session.execute(select(func.count()).select_from(ShopifyRefundLine)).scalar_one()


def _issued(merchant, as_of: datetime) -> RefundLines:
    """The same, as the sandbox's shop issued them by `as_of`."""
    return {
        (order.external_id, refund.external_id): {
            (r.line.external_id, r.quantity, Decimal(r.subtotal_cents) / 100) for r in refund.lines
        }
        for order in merchant.shop.orders_until(as_of)
        for refund in order.refunds_at(as_of)
        if refund.lines
    }


def _line_parts() -> dict[str, Decimal]:
    """Each refund's lines part as the refund itself says it: sales before order adjustments."""
    with new_session() as session:
        return dict(session.execute(select(ShopifyRefund.external_id, ShopifyRefund.sales)).all())


def test_a_sync_stores_the_lines_each_refund_gave_back(fakes, connections) -> None:
    connection = connections["shopify"]
    # Given the shop synced
    assert sync_connection(connection.workspace_id, connection.id, "shop", now=NOW).status == (
        "success"
    )
    # Then every refund's lines are stored, each on the order line it gave back
    stored = _stored()
    assert stored == _issued(fakes.merchant, NOW) and stored
    # ... and per refund they add up to its lines part (its sales before the adjustment)
    adjustments = {
        refund.external_id: Decimal(refund.adjustment_cents) / 100
        for order in fakes.merchant.shop.orders_until(NOW)
        for refund in order.refunds_at(NOW)
    }
    sales = _line_parts()
    for (_, refund), lines in stored.items():
        assert sum(subtotal for _, _, subtotal in lines) == sales[refund] + adjustments[refund]


def test_reading_orders_again_changes_no_refund_line(fakes, connections) -> None:
    connection = connections["shopify"]
    ws = connection.workspace_id
    # Given the shop synced, and an order that will be refunded in the coming days
    later = next(
        o
        for o in fakes.merchant.shop.orders_until(NOW)
        if any(NOW < r.created_at < NOW + timedelta(days=10) and r.lines for r in o.refunds)
    )
    refund = next(r for r in later.refunds if r.created_at > NOW)
    assert sync_connection(ws, connection.id, "shop", now=NOW).status == "success"
    before, rows = _stored(), _row_count()
    # When the shop syncs again, and every order is read again whole
    assert sync_connection(ws, connection.id, "shop", now=NOW).status == "success"
    client = ShopifyClient(
        CREDENTIALS.shopify_shop,
        CREDENTIALS.shopify_access_token,
        url_template=fakes.env["SHOPIFY_URL_TEMPLATE"],
        bulk_threshold=None,
        sleep=lambda s: None,
    )
    with new_session() as session:
        shop = session.scalars(select(ShopifyShop)).one()
    shopify.write_orders(shop, client.orders())
    # Then nothing changed
    assert (_stored(), _row_count()) == (before, rows)
    assert rows == sum(len(lines) for lines in before.values())
    # And when the refund comes, the order is read again with it: every refund's lines are
    # as the shop says, once
    fakes.now = refund.created_at + timedelta(minutes=5)
    assert sync_connection(ws, connection.id, "shop", now=fakes.now).status == "success"
    after = _stored()
    assert (later.external_id, refund.external_id) in after.keys() - before.keys()
    assert after == _issued(fakes.merchant, fakes.now)
    assert _row_count() == sum(len(lines) for lines in after.values())


PLACED = datetime(2026, 10, 5, 15, 0, tzinfo=UTC)
LINES = ("L1", "L2", "L3")
# A refund line: which line (one the order has, or one it does not list), quantity, cents.
refund_lines = st.lists(
    st.tuples(st.sampled_from((*LINES, "GONE")), st.integers(1, 3), st.integers(0, 50_000)),
    max_size=5,
)


def _order(number: int, refunds: list[list[tuple[str, int, int]]]) -> OrderRecord:
    lines = tuple(LineItemRecord(line, 3, None, Decimal("200"), None, None, None) for line in LINES)
    return OrderRecord(
        external_id=f"gid://shopify/Order/{number}",
        name=f"#{number}",
        currency="USD",
        created_at=PLACED,
        processed_at=PLACED,
        updated_at=PLACED,
        cancelled_at=None,
        test=False,
        customer_id=None,
        gross=Decimal(1800),
        discounts=Decimal(0),
        shipping=Decimal(0),
        tax=Decimal(0),
        refunded=Decimal(0),
        total=Decimal(1800),
        line_items=lines,
        refunds=tuple(
            RefundRecord(
                f"gid://shopify/Refund/{number}{i}",
                PLACED + timedelta(days=1),
                sum((Decimal(cents) / 100 for _, _, cents in given), Decimal(0)),
                lines=tuple(
                    RefundLineRecord(line, quantity, Decimal(cents) / 100)
                    for line, quantity, cents in given
                ),
            )
            for i, given in enumerate(refunds)
        ),
        journey=None,
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(orders=st.lists(st.lists(refund_lines, max_size=3), min_size=1, max_size=4))
def test_refund_lines_add_up_per_refund_and_line_however_often_written(shop, orders) -> None:
    records = [_order(n, refunds) for n, refunds in enumerate(orders, 1)]
    written = {o.external_id for o in records}
    # Given orders whose refunds give lines back (a line twice, or one the order lacks)
    # When they are written, and written again
    for _ in range(2):
        shopify.write_orders(shop, records)
        # Then each refund holds, per order line, the quantities and subtotals it gave back
        expected: RefundLines = {}
        for o in records:
            for r in o.refunds:
                sums: dict[str | None, tuple[int, Decimal]] = {}
                for rl in r.lines:
                    line = rl.line_external_id if rl.line_external_id in LINES else None
                    quantity, subtotal = sums.get(line, (0, Decimal(0)))
                    sums[line] = (quantity + rl.quantity, subtotal + rl.subtotal)
                if sums:
                    expected[(o.external_id, r.external_id)] = {
                        (line, quantity, subtotal) for line, (quantity, subtotal) in sums.items()
                    }
        ours = {key: lines for key, lines in _stored().items() if key[0] in written}
        assert ours == expected
