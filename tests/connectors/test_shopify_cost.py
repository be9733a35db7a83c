"""Query cost within Shopify's limit, and pacing on the bucket, as properties.

The connector prices its queries (metricx/connectors/shopify_cost.py) and the fake prices what
it parses (metricx/sandbox/fakes/graphql.py), each from shopify.dev's published rules; the two
must agree, every page the connector plans must fit under 1,000 points, and pacing on
throttleStatus must never let a query reach a bucket that cannot hold it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import test_shopify_fake as support
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_shopify_fake import VirtualTime

from metricx.connectors.shopify_cost import MAX_QUERY_COST, Pacer
from metricx.connectors.shopify_queries import ORDERS, PRODUCTS, RESOURCES
from metricx.sandbox.fakes.graphql import LeakyBucket, cost, parse

NESTED = st.integers(1, 250)

# The shared Shopify fixtures (see test_shopify_fake).
fake = support.fake
shopify = support.shopify
virtual = support.virtual


def test_the_old_page_sizes_cost_25_times_the_limit_and_the_planned_ones_fit() -> None:
    old = {"first": 50, "lines": 25, "refunds": 100}
    assert ORDERS.page_query().cost(old) == 24802
    planned = ORDERS.page_size(ORDERS.inner)
    assert planned == 15
    assert ORDERS.page_query().cost({"first": planned, **ORDERS.inner}) <= MAX_QUERY_COST
    assert PRODUCTS.page_size(PRODUCTS.inner) == 12


@settings(max_examples=150, deadline=None)
@given(
    resource=st.sampled_from(sorted(RESOURCES)),
    lines=NESTED,
    refunds=NESTED,
    variants=NESTED,
    cap=st.integers(1, 250),
)
def test_any_planned_page_costs_at_most_1000_and_both_sides_price_it_alike(
    resource, lines, refunds, variants, cap
) -> None:
    # Given any nested page sizes and any cap on the page
    spec = RESOURCES[resource]
    inner = {
        k: v
        for k, v in {"lines": lines, "refunds": refunds, "variants": variants}.items()
        if k in spec.inner
    }
    # When the connector plans the page
    first = spec.page_size(inner, most=cap)
    query = spec.page_query()
    variables = {"first": first, "cursor": None, "q": None, **inner}
    # Then it fits (or nothing does), it is the largest that fits, and the fake agrees
    mine = query.cost(variables)
    assert cost(parse(query.text, variables)) == mine
    if first == 0:
        assert query.cost({**variables, "first": 1}) > MAX_QUERY_COST
        return
    assert mine <= MAX_QUERY_COST
    assert first == cap or query.cost({**variables, "first": first + 1}) > MAX_QUERY_COST


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(inner=st.integers(1, 40))
def test_the_fake_accepts_every_page_the_client_plans(
    shopify, sandbox, fake, virtual, now, inner
) -> None:
    # Given a client whose nested pages hold `inner` items (1 to 40)
    client = shopify(
        inner_page_size=inner, bulk_threshold=None, clock=virtual.clock, sleep=virtual.sleep
    )
    sandbox.requests.clear()
    # When it reads six hours of orders and the products
    orders = list(client.orders(now - timedelta(hours=6)))
    products = list(client.products())
    # Then Shopify (the fake) refused none of its queries for cost
    assert orders and products
    assert not [r for r in sandbox.requests.of("shopify") if r.fault == "max_cost"]
    sizes = [
        value
        for r in sandbox.requests.of("shopify")
        for name, value in r.body["variables"].items()
        if name in ("first", "lines", "refunds", "variants", "items", "shipping", "adjustments")
    ]
    assert sizes and all(0 < size <= 250 for size in sizes)


QUERIES = st.lists(
    st.tuples(
        st.integers(1, MAX_QUERY_COST),  # requested cost
        st.floats(0, 1),  # share of it actually used
        st.floats(0, 30),
    ),  # think time before the next query, s
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    maximum=st.sampled_from([1000.0, 2000.0, 4000.0, 20000.0]),
    restore=st.sampled_from([50.0, 100.0, 200.0, 1000.0, 2000.0]),
    start=st.floats(0, 1),
    queries=QUERIES,
)
def test_pacing_on_throttle_status_never_meets_a_throttled_answer(
    maximum, restore, start, queries
) -> None:
    # Given a bucket in any state (any plan, any level) and a client that has seen it once
    time_ = VirtualTime()
    bucket = LeakyBucket(maximum, restore, now=time_.clock)
    bucket.reset(level=start * maximum)
    pacer = Pacer(time_.clock)
    pacer.observe(bucket.status())
    for requested, used, think in queries:
        # When the client waits as pacing says before each query
        time_.sleep(pacer.wait_before(requested))
        # Then the bucket always holds the query's cost
        assert bucket.admit(requested), (requested, bucket.status())
        bucket.refund(requested - int(requested * used))
        pacer.observe(bucket.status())
        time_.sleep(think)
    assert bucket.refusals == 0


def test_pacing_waits_exactly_what_the_bucket_lacks() -> None:
    time_ = VirtualTime()
    pacer = Pacer(time_.clock)
    assert pacer.wait_before(900) == 0  # nothing seen yet: Shopify will tell us
    pacer.observe({"maximumAvailable": 2000.0, "currentlyAvailable": 400.0, "restoreRate": 100.0})
    assert pacer.wait_before(900) == pytest.approx(5.0, abs=0.002)
    time_.sleep(2.0)
    assert pacer.wait_before(900) == pytest.approx(3.0, abs=0.002)
    assert pacer.wait_before(600) == 0


def test_a_long_read_paces_and_is_never_throttled(shopify, sandbox, fake, virtual, now) -> None:
    # Given a bucket nearly empty and a client pacing on the same (virtual) clock, which has
    # read the shop first as every sync does (its answer tells the bucket's state)
    fake.bucket.reset(level=50)
    client = shopify(clock=virtual.clock, sleep=virtual.sleep, bulk_threshold=None)
    client.shop_info()
    # When ten days of orders are read page by page
    records = list(client.orders(now - timedelta(days=10)))
    # Then the client waited for the bucket instead of being throttled
    assert len(records) > 250
    assert fake.bucket.refusals == 0
    assert virtual.sleeps and sum(virtual.sleeps) > 10
    assert client.requests_made == len(sandbox.requests.of("shopify"))
