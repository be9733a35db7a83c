"""Refund lines: which order line each refund gave back, how many and for how much
(RefundLineItem.lineItem, quantity, subtotalSet), read on the paged and the bulk path."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import test_shopify_fake as support
from test_shopify_errors import Rewriting

from metricx.connectors.errors import MalformedResponseError
from metricx.connectors.records import RefundLineRecord

# The shared Shopify fixtures (see test_shopify_fake).
fake = support.fake
shopify = support.shopify


def _cents(cents: int) -> Decimal:
    return Decimal(cents) / 100


@pytest.mark.parametrize("bulk_threshold", [None, 10], ids=["pages", "bulk"])
def test_each_refund_names_the_lines_it_gave_back(
    shopify, fake, merchant, now, bulk_threshold
) -> None:
    # Given the orders of the last 30 days, some refunded (whole, one line, or goodwill)
    since = now - timedelta(days=30)
    truth = {o.external_id: o for o in merchant.shop.orders_until(now)}
    # When they are read
    records = [r for r in shopify(bulk_threshold=bulk_threshold).orders(since) if r.refunds]
    # Then every refund carries its lines as the shop issued them
    assert records
    for record in records:
        issued = {r.external_id: r for r in truth[record.external_id].refunds_at(now)}
        for refund in record.refunds:
            expected = issued[refund.external_id]
            assert refund.lines == tuple(
                RefundLineRecord(r.line.external_id, r.quantity, _cents(r.subtotal_cents))
                for r in expected.lines
            )
            # ... and they are the refund's sales before its order adjustment
            lines_part = sum((line.subtotal for line in refund.lines), Decimal(0))
            assert lines_part - _cents(expected.adjustment_cents) == refund.sales
    kinds = {bool(r.lines) for record in records for r in record.refunds}
    assert kinds == {True, False}  # lines given back, and money with no line (goodwill)


def _without_line_item(body: dict[str, Any]) -> dict[str, Any]:
    for found in (body.get("data") or {}).values():
        for refund in (found or {}).get("refunds") or ():
            for item in refund.get("refundLineItems", {}).get("nodes", ()):
                item.pop("lineItem", None)
    return body


def test_a_refund_line_that_names_no_order_line_is_malformed(shopify, fake, now) -> None:
    # Given Shopify answering refund lines without the (non-null) lineItem
    client = shopify(transport=Rewriting(_without_line_item), bulk_threshold=None)
    # When orders with refunds are read, then the answer is refused, naming what is missing
    with pytest.raises(MalformedResponseError, match="lineItem"):
        list(client.orders(now - timedelta(days=30)))
