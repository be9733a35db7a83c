"""A pixel purchase joins the Shopify order whatever form of the order's id the storefront
sent: Shopify's custom pixel sends checkout_completed's event.data.checkout.order.id as it
comes (https://shopify.dev/docs/api/web-pixels-api/standard-events/checkout_completed), a
number or a gid://shopify/OrderIdentity/N (how the checkout names the order it created:
https://shopify.dev/docs/api/checkout-ui-extensions/latest/target-apis/checkout-apis/order-api),
and older snippets sent the Admin id or the order name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from table_rows import read

from metricx.attribution.compute import attribute_new_orders, orders_to_attribute
from metricx.db import transaction
from metricx.models import Connection, PixelEvent, ShopifyOrder, ShopifyShop

NUMBER = 6_012_345_678_901
PLACED = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
SHOP = "acme-boots.myshopify.com"
LANDING = f"https://{SHOP}/products/boots?utm_source=facebook&utm_medium=paid_social"


def _shop_with_one_order(workspace_id: int) -> int:
    """The shop and one order as the Shopify sync stores them (Admin GraphQL ids)."""
    with transaction() as session:
        connection = Connection(
            workspace_id=workspace_id,
            provider="shopify",
            external_account_id=SHOP,
            name="Acme Boots",
        )
        session.add(connection)
        session.flush()
        shop = ShopifyShop(
            workspace_id=workspace_id,
            connection_id=connection.id,
            domain=SHOP,
            name="Acme Boots",
            currency="USD",
            timezone="America/New_York",
        )
        session.add(shop)
        session.flush()
        order = ShopifyOrder(
            workspace_id=workspace_id,
            shop_id=shop.id,
            external_id=f"gid://shopify/Order/{NUMBER}",
            name="#9001",
            created_at=PLACED,
            processed_at=PLACED,
            updated_at=PLACED,
            currency="USD",
            gross_sales=Decimal("129.00"),
        )
        session.add(order)
        session.flush()
        return order.id


def _browser_sends(workspace_id: int, order_id_sent: str) -> None:
    """A buyer's browser: an ad click on a product page, then the purchase."""
    with transaction() as session:
        session.add_all(
            [
                PixelEvent(
                    workspace_id=workspace_id,
                    event_id="view-1",
                    anonymous_id="anon-1",
                    event="page_view",
                    url=LANDING,
                    referrer="https://m.facebook.com/",
                    utm_source="facebook",
                    utm_medium="paid_social",
                    occurred_at=PLACED - timedelta(hours=2),
                ),
                PixelEvent(
                    workspace_id=workspace_id,
                    event_id="buy-1",
                    anonymous_id="anon-1",
                    event="purchase",
                    url=f"https://{SHOP}/checkouts/cn/c1/thank-you",
                    order_external_id=order_id_sent,
                    occurred_at=PLACED,
                ),
            ]
        )


def _pixel_touches(order_id: int) -> list[dict]:
    return read(
        """SELECT t.channel, t.landing_page FROM touchpoints t
                   JOIN customer_journeys j ON j.id = t.journey_id
                   WHERE j.order_id = :o AND t.source_kind = 'pixel'""",
        o=order_id,
    ).to_dict("records")


@pytest.mark.parametrize(
    "order_id_sent",
    [
        f"gid://shopify/OrderIdentity/{NUMBER}",  # checkout_completed, as the checkout names it
        str(NUMBER),  # checkout_completed, as a plain number
        f"gid://shopify/Order/{NUMBER}",  # the Admin API's id
        "#9001",  # the order's name
    ],
)
def test_the_purchase_joins_its_order_whichever_id_form_was_sent(workspace, order_id_sent):
    # Given a synced order and the buyer's pixel events, the purchase naming the order so
    order_id = _shop_with_one_order(workspace.id)
    _browser_sends(workspace.id, order_id_sent)
    # When the orders with a recent pixel purchase are attributed
    assert orders_to_attribute(workspace.id) == [order_id]
    attribute_new_orders(workspace.id)
    # Then the order's journey reaches back to the ad click, which takes the credit
    assert _pixel_touches(order_id) == [{"channel": "paid_social", "landing_page": LANDING}]
    credits = read(
        """SELECT sum(credit) AS total FROM attributions WHERE order_id = :o
                      AND model = 'last_click' AND window_days = 28 AND mode = 'cash'""",
        o=order_id,
    )
    assert credits.total[0] == 1


@pytest.mark.parametrize(
    "order_id_sent",
    [
        f"gid://shopify/OrderIdentity/{NUMBER + 1}",  # another order
        f"gid://shopify/Checkout/{NUMBER}",  # the same number, but not an order's
        f"{NUMBER}0",
    ],
)
def test_a_purchase_naming_no_order_of_the_shop_joins_none(workspace, order_id_sent):
    order_id = _shop_with_one_order(workspace.id)
    _browser_sends(workspace.id, order_id_sent)
    assert orders_to_attribute(workspace.id) == []
    attribute_new_orders(workspace.id)
    assert _pixel_touches(order_id) == []
