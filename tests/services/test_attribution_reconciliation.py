"""The reconciliation's words are generated from its numbers: how the platforms' purchases
compare with the store's orders, and why the store revenue there differs from the
Dashboard's (with both amounts)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sandbox_fixtures import FIRST, LAST
from table_rows import read

from metricx.attribution.compute import attribute_workspace
from metricx.semantic.catalogue import format_value
from metricx.semantic.engine import run_query
from metricx.semantic.query import Attribution, TimeRange
from metricx.services import attribution

MORE = "The platforms report more purchases than the store sold"
FEWER = (
    "The platforms report fewer purchases than the store has orders ({claimed} against "
    "{orders} Shopify orders): the rest came from other channels (organic, email, direct) "
    "or were not tracked."
)
ABOUT = "The platforms report about as many purchases as the store has orders"


def claims(
    meta: float,
    google: float,
    orders: float,
    *,
    revenue: float = 0.0,
    order_refunds: float = 0.0,
    dashboard_revenue: float = 0.0,
    refunds_issued: float = 0.0,
) -> attribution.Reconciliation:
    """A reconciliation built by hand: what the platforms claim beside the store's orders."""
    platforms = pd.DataFrame(
        {"platform": ["meta", "google"], "platform_conversions": [meta, google]}
    )
    return attribution.Reconciliation(
        platforms,
        orders,
        revenue,
        Attribution(),
        "USD",
        order_refunds,
        dashboard_revenue,
        refunds_issued,
    )


def test_fewer_claimed_purchases_than_orders_point_at_other_channels():
    # Given the demo's 30 days: 741 platform purchases against 1,767 orders
    found = claims(meta=400, google=341, orders=1767)
    # Then the sentence says the platforms report fewer, not that they over-claim
    assert found.summary() == FEWER.format(claimed="741", orders="1,767")


def test_more_claimed_purchases_than_orders_are_over_claiming():
    found = claims(meta=282, google=330.2, orders=185)
    assert found.summary().startswith(f"{MORE} (612 against 185 Shopify orders): ")
    assert "claims orders another platform also claims" in found.summary()


def test_about_as_many_claimed_purchases_as_orders_say_so():
    found = claims(meta=500, google=495, orders=1000)
    assert found.summary().startswith(f"{ABOUT} (995 against 1,000 Shopify orders)")


def test_no_purchase_anywhere_says_so():
    assert claims(0, 0, 0).summary() == (
        "Neither the platforms nor the store recorded a purchase in these days."
    )


@given(meta=st.integers(0, 5000), google=st.integers(0, 5000), orders=st.integers(0, 5000))
def test_the_sentence_always_matches_the_numbers_it_states(meta, google, orders):
    sentence = claims(meta, google, orders).summary()
    claimed = meta + google
    if claimed == orders == 0:
        return
    assert f"({claimed:,} against {orders:,} Shopify orders)" in sentence
    if abs(claimed - orders) <= attribution.ABOUT_EQUAL * orders:
        assert sentence.startswith(ABOUT)
    elif claimed > orders:
        assert sentence.startswith(MORE)
    else:
        assert sentence.startswith("The platforms report fewer purchases")


def test_a_currency_conversion_gap_is_named_beside_the_refunds():
    # Given $100 of the gap is not explained by refunds (orders in another currency)
    found = claims(
        1, 1, 2, revenue=1000, order_refunds=50, dashboard_revenue=1060, refunds_issued=90
    )
    # Then the sentence names the refunds on each side, the rest, and both totals
    assert found.revenue_summary() == (
        "Attributed revenue counts each order placed in these days less what has been refunded "
        "on it so far ($50.00); the Dashboard's store revenue counts the same orders less the "
        "refunds issued in these days, whatever day their order was placed ($90.00); and the "
        "Dashboard converts other currencies at each day's rate ($100.00 of the difference): "
        "$1,000.00 vs $1,060.00."
    )


@pytest.fixture
def attributed(synced) -> int:
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    return workspace_id


@pytest.mark.parametrize(
    "span", [TimeRange(start=FIRST, end=LAST), TimeRange(start=LAST.replace(day=13), end=LAST)]
)
def test_the_revenue_difference_states_both_services_figures(attributed, span):
    # Given the sandbox shop, whose refunds trail their orders by days
    ws = attributed
    # When the reconciliation explains its store revenue
    found = attribution.reconciliation(ws, span)
    sentence = found.revenue_summary()
    # Then both amounts are the services' own: the channel split's total and the Dashboard's
    dashboard = run_query(
        ws, {"metrics": ["store_revenue", "refunds"], "time_range": span.model_dump(mode="json")}
    ).frame.iloc[0]
    split = attribution.channel_breakdown(ws, span)
    assert found.store_revenue == pytest.approx(split["revenue"].sum())
    attributed_text, dashboard_text = (
        format_value("store_revenue", amount, "USD")
        for amount in (split["revenue"].sum(), dashboard["store_revenue"])
    )
    assert sentence.endswith(f": {attributed_text} vs {dashboard_text}.")
    # And the refunds it names are those of the period's orders vs those issued in the period
    # (goods and shipping, tax apart), as independent SQL finds them
    refunded = read(
        """SELECT coalesce(sum(r.sales + r.shipping), 0)::float AS amount
                       FROM shopify_refunds r JOIN shopify_orders o ON o.id = r.order_id
                       WHERE o.workspace_id = :ws AND NOT o.test AND o.cancelled_at IS NULL
                       AND (o.processed_at AT TIME ZONE 'America/New_York')::date
                           BETWEEN :a AND :b""",
        ws=ws,
        a=span.start,
        b=span.end,
    ).amount[0]
    issued = read(
        """SELECT coalesce(sum(r.sales + r.shipping), 0)::float AS amount
                     FROM shopify_refunds r JOIN shopify_orders o ON o.id = r.order_id
                     WHERE o.workspace_id = :ws AND NOT o.test
                     AND (r.created_at AT TIME ZONE 'America/New_York')::date
                         BETWEEN :a AND :b""",
        ws=ws,
        a=span.start,
        b=span.end,
    ).amount[0]
    assert f"refunded on it so far ({format_value('refunds', refunded, 'USD')})" in sentence
    assert (
        f"whatever day their order was placed ({format_value('refunds', issued, 'USD')})"
    ) in sentence
    # And, one currency only, refunds and cancellations explain the whole gap
    assert found.store_revenue - found.dashboard_revenue == pytest.approx(
        found.refunds_issued - found.order_refunds - found.cancelled
    )
    assert "converts other currencies" not in sentence
    assert found.dashboard_revenue != pytest.approx(found.store_revenue)
