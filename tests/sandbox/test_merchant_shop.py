"""The Shopify side of the merchant: orders, refunds, customers and journeys over time."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from metricx.sandbox.calendar import day_bounds
from metricx.sandbox.merchant import Merchant


def test_past_orders_are_fixed_and_today_fills_up(
    merchant: Merchant, now: datetime, today: date
) -> None:
    shop = merchant.shop
    start_of_today = day_bounds(today, shop.profile.timezone)[0]
    # given the orders visible at the start of today and later in the day
    morning = shop.orders_until(start_of_today)
    afternoon = shop.orders_until(now)
    tomorrow = shop.orders_until(now + timedelta(days=1))
    # then earlier days are the same whenever asked, and today's list only grows
    assert afternoon[: len(morning)] == morning
    assert tomorrow[: len(afternoon)] == afternoon
    assert len(morning) < len(afternoon) < len(tomorrow)
    assert all(o.created_at <= now for o in afternoon)
    # about orders_per_day a day, numbered in time order
    per_day = len(morning) / 45
    assert 25 < per_day < 60
    assert [o.seq for o in afternoon] == list(range(1, len(afternoon) + 1))


def test_order_money_adds_up(merchant: Merchant, now: datetime) -> None:
    for order in merchant.shop.orders_until(now)[-300:]:
        assert order.gross_cents == sum(li.variant.price_cents * li.quantity for li in order.lines)
        assert order.total_cents == (
            order.gross_cents - order.discount_cents + order.shipping_cents + order.tax_cents
        )
        assert 0 <= order.refunded_cents(now) <= order.total_cents
        assert all(
            li.variant.cost_cents is None or li.variant.cost_cents < li.variant.price_cents
            for li in order.lines
        )


def test_refunds_come_later_and_move_updated_at(merchant: Merchant, now: datetime) -> None:
    orders = merchant.shop.orders_until(now - timedelta(days=30))
    refunded = [o for o in orders if o.refunds and o.cancelled_at is None]
    assert refunded
    order = refunded[0]
    refund = order.refunds[0]
    assert refund.created_at > order.created_at
    # before the refund the order shows none and was last updated earlier
    before = refund.created_at - timedelta(seconds=1)
    assert order.refunded_cents(before) == 0
    assert order.updated_at(before) < refund.created_at
    # at the refund it shows it and updated_at moves to it
    assert order.refunded_cents(refund.created_at) == refund.amount_cents
    assert order.updated_at(refund.created_at) == refund.created_at


def test_there_are_cancelled_test_and_discounted_orders(merchant: Merchant, now: datetime) -> None:
    orders = merchant.shop.orders_until(now)
    assert any(o.cancelled_at_view(now) for o in orders)
    assert any(o.test for o in orders)
    assert any(o.discount_cents for o in orders)
    assert any(o.customer_id is None for o in orders)


def test_customers_return_and_their_index_counts_up(merchant: Merchant, now: datetime) -> None:
    orders = [o for o in merchant.shop.orders_until(now) if o.customer_id and not o.test]
    indexes = Counter(o.customer_order_index for o in orders)
    assert indexes[1] > indexes[2] > 0
    by_customer: dict[str, list[int]] = {}
    for order in orders:
        by_customer.setdefault(order.customer_id, []).append(order.customer_order_index)
    for seen in by_customer.values():
        assert seen == sorted(seen) and len(set(seen)) == len(seen)


def test_paid_journeys_point_at_real_campaigns_and_ads(merchant: Merchant, now: datetime) -> None:
    tree = merchant.tree
    campaign_keys = {c.external_id for c in tree.campaigns} | {c.name for c in tree.campaigns}
    ad_keys = {a.external_id for a in tree.ads} | {a.name for a in tree.ads}
    visits = [
        o.journey.last_visit
        for o in merchant.shop.orders_until(now)
        if o.journey and o.journey.last_visit
    ]
    paid = [v for v in visits if v.channel in ("meta", "google")]
    tagged = [v for v in paid if v.utm is not None]
    # most orders come through ads, most of those carry UTMs naming real entities
    assert len(paid) > 0.4 * len(visits)
    assert len(tagged) > 0.8 * len(paid)
    assert all(v.utm.campaign in campaign_keys and v.utm.content in ad_keys for v in tagged)
    by_id = [v for v in tagged if v.utm.campaign.isdigit()]
    assert by_id and all(tree.ad(v.utm.content).campaign_id == v.utm.campaign for v in by_id)
    assert "utm_campaign=" in tagged[0].landing_page
    # the other channels exist too
    channels = Counter(v.channel for v in visits)
    assert {"direct", "organic", "email"} <= set(channels)


def test_some_journeys_are_not_ready_or_have_no_visits(merchant: Merchant, now: datetime) -> None:
    orders = merchant.shop.orders_until(now)
    not_ready = [o for o in orders if o.journey and not o.journey.ready(o.created_at)]
    assert not_ready
    assert all(o.journey.ready(o.created_at + timedelta(hours=4)) for o in not_ready)
    assert any(o.journey and o.journey.ready(now) and o.journey.last_visit is None for o in orders)


def test_customers_exist_from_their_first_order(merchant: Merchant, now: datetime) -> None:
    shop = merchant.shop
    order = next(
        o
        for o in reversed(shop.orders_until(now))
        if o.customer_id and o.customer_order_index == 1 and not o.test
    )
    customer = shop.customer(order.customer_id)
    assert customer.created_at == order.created_at
    assert customer.number_of_orders(now) >= 1
    assert customer.updated_at(now) >= order.created_at
    assert customer not in shop.customers_until(order.created_at - timedelta(seconds=1))
