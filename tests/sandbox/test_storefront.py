"""The sandbox storefront's pixel events: the buyers walk their Shopify journeys, every
request is one the collector takes as it is, and the history is the same every time."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from metricx.pixel.events import parse_payload
from metricx.sandbox.calendar import local_date
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.storefront import Browser, PixelRequest, Storefront, order_identity

KEY = "demo-pixel-key-0123456789abcdef"
LATER = datetime(2030, 1, 1, tzinfo=UTC)  # every event of the history has reached the collector


@pytest.fixture(scope="module")
def storefront(merchant: Merchant) -> Storefront:
    return Storefront(merchant)


@pytest.fixture(scope="module")
def history(
    storefront: Storefront, merchant: Merchant, now: datetime
) -> list[tuple[Browser, list[PixelRequest]]]:
    """Every browser of the last ten days up to `now`, with the requests its pixel sent."""
    start = local_date(now, "America/New_York") - timedelta(days=9)
    return [
        (b, storefront.requests(KEY, b, now))
        for b in storefront.browsers(start, local_date(now, "America/New_York"), now)
    ]


def _payloads(requests: list[PixelRequest]) -> list[dict]:
    return [json.loads(r.body) for r in requests]


def test_each_buyer_walks_the_order_journey_to_the_purchase(history) -> None:
    buyers = [(b, _payloads(sent)) for b, sent in history if b.order is not None]
    assert len(buyers) > 200
    for browser, sent in buyers:
        order, journey = browser.order, browser.order.journey
        # Given the order's Shopify journey, the buyer's pixel saw each of its visits land
        # where Shopify says, from the same referrer, at the same moment
        if journey is not None and journey.last_visit is not None:
            assert browser.visits[-1] is journey.last_visit
            assert journey.first_visit in browser.visits
        views = {
            (p["url"], p["referrer"], datetime.fromisoformat(p["timestamp"]))
            for p in sent
            if p["event"] == "page_view"
        }
        for visit in browser.visits:
            assert (visit.landing_page, visit.referrer_url, visit.occurred_at) in views
        # Then it added to cart before the order, and the Thank you page sent the purchase
        # with the order's id as the checkout names it, after the order was placed
        times = [datetime.fromisoformat(p["timestamp"]) for p in sent]
        assert times == sorted(times)
        *browsing, thank_you, purchase = sent
        assert all(t <= order.created_at for t in times[:-2])
        assert "add_to_cart" in [p["event"] for p in browsing]
        assert thank_you["event"] == "page_view" and thank_you["url"].endswith("/thank-you")
        assert (purchase["event"], purchase["order_id"], purchase["url"]) == (
            "purchase",
            order_identity(order),
            thank_you["url"],
        )
        assert order.created_at < times[-1] < order.created_at + timedelta(seconds=5)
        # And all of it under one browser id
        assert {p["anonymous_id"] for p in sent} == {browser.anonymous_id}


def test_one_browser_id_per_buyer_and_one_for_each_who_left(history) -> None:
    by_customer = defaultdict(set)
    for browser, _ in history:
        if browser.order is not None and browser.order.customer_id:
            by_customer[browser.order.customer_id].add(browser.anonymous_id)
    assert all(len(ids) == 1 for ids in by_customer.values())
    assert len({next(iter(ids)) for ids in by_customer.values()}) == len(by_customer)
    # a returning customer comes back in the same browser
    orders_of = defaultdict(int)
    for browser, _ in history:
        if browser.order is not None and browser.order.customer_id:
            orders_of[browser.order.customer_id] += 1
    assert max(orders_of.values()) >= 2
    # those who leave never buy, and none of them is a buyer's browser
    left = [(b, _payloads(sent)) for b, sent in history if b.order is None]
    assert len(left) > 50
    assert all(p["event"] != "purchase" for _, sent in left for p in sent)
    buyer_ids = {b.anonymous_id for b, _ in history if b.order is not None}
    assert not buyer_ids & {b.anonymous_id for b, _ in left}


def test_the_visits_are_the_sandbox_journeys_own(history, merchant: Merchant) -> None:
    visits = [v for b, _ in history for v in b.visits]
    # Given the sandbox's ground truth for each visit, its landing page carries the UTMs of
    # the ad it names (by id or by name) or of no ad at all
    paid = [v for v in visits if v.ad_id is not None]
    assert {v.channel for v in paid} == {"meta", "google"}
    for visit in paid:
        ad = merchant.ad(visit.ad_id)
        if visit.utm is not None:
            assert visit.utm.campaign in {ad.campaign_id, merchant.campaign(ad.campaign_id).name}
    assert {v.channel for v in visits} >= {"meta", "google", "direct", "organic", "email"}
    # some buyers came back in between their first and last visit (the pixel sees it)
    assert any(len(b.visits) == 3 for b, _ in history)


def test_every_request_is_taken_by_the_collector_as_it_was_sent(history) -> None:
    for browser, sent in history:
        for shopify_event, request in zip(browser.events, sent, strict=False):
            payload = json.loads(request.body)
            # When the collector checks the body as of the moment it arrived
            [event] = parse_payload(
                request.body.encode(), max_events=1, now=request.received_at
            ).events
            # Then it keeps every field as sent, and the UTMs come from the landing URL
            assert (
                event.workspace_key,
                event.event_id,
                event.anonymous_id,
                event.event,
                event.url,
                event.referrer,
                event.order_id,
            ) == (
                payload["workspace_key"],
                payload["event_id"],
                payload["anonymous_id"],
                payload["event"],
                payload["url"],
                payload["referrer"],
                payload.get("order_id"),
            )
            assert (
                event.occurred_at
                == datetime.fromisoformat(payload["timestamp"])
                == shopify_event.timestamp
            )  # Shopify's time, to the millisecond
            assert timedelta(0) < request.received_at - event.occurred_at < timedelta(seconds=1)
            visit = next((v for v in browser.visits if v.landing_page == payload["url"]), None)
            if visit is not None and visit.utm is not None:
                assert (event.utm["utm_campaign"], event.utm["utm_content"]) == (
                    visit.utm.campaign,
                    visit.utm.content,
                )


def test_the_body_is_what_the_pixel_sends(history) -> None:
    # The custom pixel's request: these fields in this order, a purchase adds order_id, a
    # timestamp as Date.toISOString writes it, JSON without spaces (the JavaScript itself
    # is run against the same Shopify events in test_storefront_pixel_js.py)
    fields = ["workspace_key", "event_id", "anonymous_id", "event", "url", "referrer", "timestamp"]
    for _, sent in history:
        for request in sent:
            payload = json.loads(request.body)
            assert list(payload) == fields + (
                ["order_id"] if payload["event"] == "purchase" else []
            )
            assert payload["timestamp"].endswith("Z") and len(payload["timestamp"]) == 24
            assert payload["event_id"].startswith("sh-") and len(payload["event_id"]) <= 64
            assert request.body == json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def test_the_same_merchant_sends_the_same_history(knobs, now: datetime) -> None:
    # Given two builds of the same merchant, and one of another merchant
    day = local_date(now, "America/New_York") - timedelta(days=1)

    def bodies(merchant: Merchant, as_of: datetime) -> list[str]:
        front = Storefront(merchant)
        return [
            r.body for b in front.browsers(day, day, as_of) for r in front.requests(KEY, b, as_of)
        ]

    same = bodies(Merchant(**knobs), now)
    assert same == bodies(Merchant(**knobs), now)
    other = bodies(Merchant(**{**knobs, "seed": 8}), now)
    assert not {json.loads(b)["event_id"] for b in same} & {
        json.loads(b)["event_id"] for b in other
    }


def test_a_later_replay_only_adds(merchant: Merchant, now: datetime, today: date) -> None:
    # Given the storefront of today, asked in the afternoon and again in the evening
    front = Storefront(merchant)

    def sent(as_of: datetime) -> dict[str, str]:
        return {
            json.loads(r.body)["event_id"]: r.body
            for b in front.browsers(today - timedelta(days=1), today, as_of)
            for r in front.requests(KEY, b, as_of)
        }

    afternoon, evening = sent(now), sent(now + timedelta(hours=5))
    # Then nothing reached the collector after it was asked, and the evening's history holds
    # the afternoon's, unchanged: a replay later stores only what is new
    assert all(
        datetime.fromisoformat(json.loads(b)["timestamp"]) <= now for b in afternoon.values()
    )
    assert len(evening) > len(afternoon)
    assert {k: evening[k] for k in afternoon} == afternoon


def test_orders_before_as_of_only(storefront: Storefront, now: datetime, today: date) -> None:
    buyers = [b for b in storefront.browsers(today, today, now) if b.order is not None]
    assert buyers and all(b.order.created_at <= now for b in buyers)
    later = [b for b in storefront.browsers(today, today, LATER) if b.order is not None]
    assert len(later) > len(buyers)
