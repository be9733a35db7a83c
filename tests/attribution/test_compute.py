"""Stored attributions on the synced sandbox: exact credits, nothing doubled, incremental."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sandbox_fixtures import NOW
from sqlalchemy import delete, select
from table_rows import execute, read

from metricx.attribution.compute import (
    attribute_new_orders,
    attribute_orders,
    attribute_workspace,
    orders_to_attribute,
)
from metricx.db import transaction
from metricx.models import CustomerJourney, PixelEvent, Workspace
from metricx.sync.pipeline import sync_connection

# What an order kept: its sales and shipping less the goods and shipping refunded (tax apart).
ORDERS = """SELECT o.id, o.processed_at, o.gross_sales - o.discounts + o.shipping
                   - coalesce((SELECT sum(r.sales + r.shipping) FROM shopify_refunds r
                               WHERE r.order_id = o.id), 0) AS revenue
            FROM shopify_orders o
            WHERE o.workspace_id = :ws AND NOT o.test AND o.cancelled_at IS NULL"""


def test_every_orders_credits_sum_to_exactly_one_under_every_model_window_and_mode(attributed):
    # Given the sandbox's orders attributed
    # When credits are summed per order and setting
    sums = read(
        """SELECT order_id, model, window_days, mode, sum(credit) AS total
                   FROM attributions WHERE workspace_id = :ws
                   GROUP BY order_id, model, window_days, mode""",
        ws=attributed,
    )
    # Then each is exactly 1 (orders without a touch in the window have no rows at all)
    assert len(sums) > 0
    assert (sums["total"] == 1).all()
    assert sums.groupby(["model", "window_days", "mode"]).size().nunique() <= 5


@pytest.mark.parametrize("window", [1, 7, 28, 0])
def test_credited_revenue_plus_unattributed_is_the_stores_revenue(attributed, window):
    # Given an independent list of orders that have any touch inside the window
    orders = read(ORDERS, ws=attributed)
    touches = read(
        """SELECT j.order_id, t.occurred_at FROM touchpoints t
                      JOIN customer_journeys j ON j.id = t.journey_id
                      WHERE t.workspace_id = :ws""",
        ws=attributed,
    )
    joined = touches.merge(orders, left_on="order_id", right_on="id")
    inside = joined[
        (joined.occurred_at <= joined.processed_at)
        & ((window == 0) | (joined.occurred_at >= joined.processed_at - timedelta(days=window)))
    ]
    unattributed = orders[~orders.id.isin(inside.order_id)]["revenue"].astype(float).sum()
    # When the stored credits of every model are summed
    credited = read(
        """SELECT model, sum(revenue) AS revenue FROM attributions
                       WHERE workspace_id = :ws AND window_days = :w AND mode = 'cash'
                       GROUP BY model""",
        ws=attributed,
        w=window,
    )
    # Then credited + unattributed = the store's revenue, for every model
    assert len(credited) == 6
    total = orders["revenue"].astype(float).sum()
    for revenue in credited["revenue"].astype(float):
        assert revenue + unattributed == pytest.approx(total, abs=0.01)


def test_recomputing_changes_nothing(attributed):
    # Given the stored attributions
    before = read("SELECT count(*) AS n, sum(credit) AS c, sum(revenue) AS r FROM attributions")
    # When the nightly recomputation runs again (and again)
    attribute_workspace(attributed)
    attribute_workspace(attributed)
    # Then the rows are the same: nothing doubled
    after = read("SELECT count(*) AS n, sum(credit) AS c, sum(revenue) AS r FROM attributions")
    pd.testing.assert_frame_equal(before, after)


def test_an_order_whose_journey_changed_is_picked_up_incrementally(attributed):
    # Given nothing is waiting, then an order's journey is replaced (as the Shopify sync does
    # when an order is updated: its touchpoints go, and their attributions with them)
    assert orders_to_attribute(attributed) == []
    order_id = int(read("SELECT order_id FROM customer_journeys LIMIT 1").order_id[0])
    rows = read("SELECT count(*) AS n FROM attributions WHERE order_id = :o", o=order_id).n[0]
    with transaction() as session:
        journey = session.scalar(
            select(CustomerJourney).where(CustomerJourney.order_id == order_id)
        )
        session.execute(delete(CustomerJourney).where(CustomerJourney.id == journey.id))
    # and the next Shopify sync reads every order again (the watermark forgotten)
    execute(
        "UPDATE shopify_shops SET orders_synced_until = NULL WHERE workspace_id = :ws",
        ws=attributed,
    )
    shop_id = int(read("SELECT id FROM connections WHERE provider = 'shopify'").id[0])
    assert sync_connection(attributed, shop_id, "shop", now=NOW).status == "success"
    # When the incremental step runs
    waiting = orders_to_attribute(attributed)
    run = attribute_new_orders(attributed)
    # Then exactly the re-synced orders were credited again, each once
    assert order_id in waiting and run.orders == len(waiting)
    assert (
        read("SELECT count(*) AS n FROM attributions WHERE order_id = :o", o=order_id).n[0] == rows
    )
    assert orders_to_attribute(attributed) == []


def _pixel(workspace_id: int, event_id: str, event: str, at, **fields) -> PixelEvent:
    return PixelEvent(
        workspace_id=workspace_id,
        event_id=event_id,
        anonymous_id="anon-1",
        event=event,
        occurred_at=at,
        **fields,
    )


def test_pixel_page_views_become_touches_of_the_order_they_led_to(attributed):
    # Given an order, and the buyer's browser: a tagged visit from a Google campaign 60 days
    # before, an internal page view, then the purchase
    order = read(ORDERS + " ORDER BY processed_at DESC LIMIT 1", ws=attributed).iloc[0]
    name = read("SELECT name FROM shopify_orders WHERE id = :o", o=int(order.id)).name[0]
    campaign = read("""SELECT e.id, e.external_id FROM entities e JOIN connections c
                       ON c.id = e.connection_id WHERE c.provider = 'google'
                       AND e.level = 'campaign' LIMIT 1""").iloc[0]
    at = order.processed_at.to_pydatetime()
    with transaction() as session:
        session.add_all(
            [
                _pixel(
                    attributed,
                    "e1",
                    "page_view",
                    at - timedelta(days=60),
                    url=f"https://shop.test/?utm_source=google&utm_medium=cpc"
                    f"&utm_campaign={campaign.external_id}",
                    referrer="https://www.google.com/",
                ),
                _pixel(
                    attributed,
                    "e2",
                    "page_view",
                    at - timedelta(days=60, minutes=-3),
                    url="https://shop.test/cart",
                    referrer="https://shop.test/",
                ),
                _pixel(
                    attributed,
                    "e3",
                    "purchase",
                    at,
                    url="https://shop.test/thanks",
                    order_external_id=name,
                ),
            ]
        )
    # When the incremental step runs
    assert int(order.id) in orders_to_attribute(attributed)
    attribute_new_orders(attributed)
    # Then one pixel touch (the internal page view is not a visit) maps to the campaign
    pixel = read(
        """SELECT t.channel, t.entity_id FROM touchpoints t
                    JOIN customer_journeys j ON j.id = t.journey_id
                    WHERE j.order_id = :o AND t.source_kind = 'pixel'""",
        o=int(order.id),
    )
    assert pixel.to_dict("records") == [{"channel": "paid_search", "entity_id": campaign.id}]
    # and, 60 days before anything Shopify saw, it is the first click of the lifetime window
    firsts = read(
        """SELECT entity_id FROM attributions WHERE order_id = :o
                     AND model = 'first_click' AND window_days = 0 AND mode = 'cash'""",
        o=int(order.id),
    )
    assert firsts.entity_id.tolist() == [campaign.id]


def test_another_workspaces_pixel_events_never_join_these_orders(attributed, other_workspace):
    # Given workspace B sends a purchase carrying the name of one of A's orders
    name = read(
        "SELECT name FROM shopify_orders WHERE workspace_id = :ws LIMIT 1", ws=attributed
    ).name[0]
    order_at = read("SELECT max(processed_at) AS last FROM shopify_orders").iloc[0, 0]
    with transaction() as session:
        session.add_all(
            [
                _pixel(
                    other_workspace.id,
                    "b1",
                    "page_view",
                    order_at - timedelta(hours=1),
                    url="https://evil.test/?utm_source=facebook&utm_medium=paid_social",
                ),
                _pixel(other_workspace.id, "b2", "purchase", order_at, order_external_id=name),
            ]
        )
    # When both workspaces are attributed
    attribute_new_orders(attributed)
    attribute_workspace(other_workspace.id)
    # Then A has no pixel touches and B has no attributions
    assert read("SELECT count(*) AS n FROM touchpoints WHERE source_kind = 'pixel'").n[0] == 0
    assert (
        read(
            "SELECT count(*) AS n FROM attributions WHERE workspace_id = :ws", ws=other_workspace.id
        ).n[0]
        == 0
    )


def test_a_changed_utm_convention_remaps_touches_on_recomputation(attributed):
    # Given touches matched by id or name
    matched = read("SELECT count(entity_id) AS n FROM touchpoints").n[0]
    # When the workspace only accepts ids and attribution is recomputed
    with transaction() as session:
        session.get(Workspace, attributed).utm_match = "id"
    ids = [int(i) for i in read("SELECT id FROM shopify_orders").id]
    attribute_orders(attributed, ids)
    # Then name-tagged touches no longer map to an entity (and the hygiene report shows them)
    assert read("SELECT count(entity_id) AS n FROM touchpoints").n[0] < matched
