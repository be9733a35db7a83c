"""The demo's storefront pixel: its events go through the collector's checks and writer into
the workspace, once however often the demo runs, before attribution, which then finds pixel
journeys that end in each order's purchase and credit the ads the visits came from."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
from sandbox_fixtures import NOW
from table_rows import read

from metricx.attribution.compute import attribute_workspace
from metricx.sandbox.calendar import local_date
from metricx.sandbox.journeys import Visit
from metricx.sandbox.runtime import demo_today
from metricx.sandbox.storefront import Storefront, order_identity
from metricx.services import demo as demo_service
from metricx.services.demo import PIXEL_DAYS, Demo, replay_storefront

TZ = "America/New_York"
# What each of the sandbox's channels is to attribution (metricx.attribution.channels).
CHANNEL = {
    "meta": "paid_social",
    "google": "paid_search",
    "tiktok": "paid_social",
    "email": "email",
    "organic": "organic_search",
    "social": "organic_social",
    "direct": "direct",
}


def _pixel_rows(workspace_id: int):
    return read(
        """SELECT event_id, anonymous_id, event, url, referrer, utm_source, utm_medium,
                          utm_campaign, utm_content, utm_term, order_external_id, occurred_at,
                          received_at
                   FROM pixel_events WHERE workspace_id = :w ORDER BY event_id""",
        w=workspace_id,
    )


def test_the_replay_stores_each_event_once_as_the_collector_would(workspace, fakes) -> None:
    merchant = fakes.merchant
    start = local_date(NOW, TZ) - timedelta(days=6)
    # Given a week of the storefront's pixel requests, sent into the workspace
    first = replay_storefront(workspace.id, merchant, now=NOW, start=start)
    stored = _pixel_rows(workspace.id)
    # Then every request was one event, stored with the time it reached the collector
    assert first.requests == first.stored == len(stored) > 500
    assert set(stored.event) == {"page_view", "add_to_cart", "purchase"}
    assert (stored.received_at > stored.occurred_at).all()
    assert (stored.occurred_at <= NOW).all()
    # and the UTMs of landing pages were read from their URLs, as the collector does
    tagged = stored[stored.url.str.contains("utm_campaign=")]
    assert len(tagged) > 50 and tagged.utm_campaign.notna().all()
    # When the same history is sent again (the demo run a second time)
    again = replay_storefront(workspace.id, merchant, now=NOW, start=start)
    # Then the collector's ON CONFLICT (workspace, event_id) stored nothing new, and the
    # stored rows did not change
    assert (again.requests, again.stored) == (first.requests, 0)
    assert _pixel_rows(workspace.id).equals(stored)
    # When it runs later the same day, only what happened since is new
    later = replay_storefront(workspace.id, merchant, now=NOW + timedelta(hours=3), start=start)
    assert 0 < later.stored == later.requests - first.requests
    assert len(_pixel_rows(workspace.id)) == first.stored + later.stored


def test_another_workspace_keeps_its_own_events(workspace, other_workspace, fakes) -> None:
    merchant = fakes.merchant
    day = local_date(NOW, TZ) - timedelta(days=1)
    # Given another workspace whose storefront sent the very same events (same event ids)
    theirs = replay_storefront(other_workspace.id, merchant, now=NOW, start=day, end=day)
    before = _pixel_rows(other_workspace.id)
    # When the demo's history is sent into this workspace
    ours = replay_storefront(workspace.id, merchant, now=NOW, start=day, end=day)
    # Then this workspace stored all of it (event ids are unique per workspace), under its
    # own key's workspace, and the other workspace's rows are exactly as they were
    assert ours.stored == theirs.stored > 0
    assert _pixel_rows(other_workspace.id).equals(before)
    assert set(_pixel_rows(workspace.id).event_id) == set(before.event_id)
    counts = read("SELECT workspace_id, count(*) AS n FROM pixel_events GROUP BY 1")
    assert dict(zip(counts.workspace_id, counts.n, strict=True)) == {
        workspace.id: ours.stored,
        other_workspace.id: theirs.stored,
    }


@pytest.fixture
def attributed_with_pixel(synced, fakes):
    """The synced sandbox shop, its storefront's pixel history replayed, then attributed."""
    workspace_id, _ = synced
    merchant = fakes.merchant
    replay = replay_storefront(workspace_id, merchant, now=NOW)
    attribute_workspace(workspace_id)
    return workspace_id, merchant, replay


def _ground_truth(merchant) -> tuple[dict[str, list[Visit]], dict[str, tuple[str, datetime]]]:
    """(every visit of each browser, oldest first; order external id -> (browser, purchase
    time) for the purchases the pixel sent by NOW), as the sandbox made them."""
    front = Storefront(merchant)
    visits: dict[str, list[Visit]] = defaultdict(list)
    purchases = {}
    for browser in front.browsers(merchant.start_day, local_date(NOW, TZ), NOW):
        visits[browser.anonymous_id] += browser.visits
        sent = front.requests("key", browser, NOW)
        if browser.order is not None and len(sent) == len(browser.events):
            purchases[browser.order.external_id] = (
                browser.anonymous_id,
                browser.events[-1].timestamp,
            )
            assert order_identity(browser.order) == browser.events[-1].order_id
    for seen in visits.values():
        seen.sort(key=lambda v: v.occurred_at)
    return visits, purchases


def test_pixel_journeys_reach_the_purchase_and_credit_the_ads_their_utms_name(
    attributed_with_pixel,
) -> None:
    workspace_id, merchant, replay = attributed_with_pixel
    visits, purchases = _ground_truth(merchant)
    orders = read(
        """SELECT id, external_id, processed_at FROM shopify_orders
                     WHERE workspace_id = :w AND cancelled_at IS NULL AND NOT test""",
        w=workspace_id,
    )
    assert len(orders) > 200 and set(orders.external_id) <= set(purchases)
    touches = read(
        """SELECT j.order_id, t.occurred_at, t.landing_page, t.channel, t.entity_id
                      FROM touchpoints t JOIN customer_journeys j ON j.id = t.journey_id
                      WHERE t.workspace_id = :w AND t.source_kind = 'pixel'
                      ORDER BY j.order_id, t.position""",
        w=workspace_id,
    )
    entities = read(
        "SELECT id, level, external_id, parent_id FROM entities WHERE workspace_id = :w",
        w=workspace_id,
    ).set_index("id")

    def lineage(entity_id) -> dict[str, str]:
        """{level: external id} of the entity and its parents."""
        found = {}
        while not pd.isna(entity_id):
            row = entities.loc[int(entity_id)]
            found[row.level] = row.external_id
            entity_id = row.parent_id
        return found

    by_order = {order_id: group for order_id, group in touches.groupby("order_id")}
    last_clicks = read(
        """SELECT order_id, entity_id, credit FROM attributions
                          WHERE workspace_id = :w AND model = 'last_click' AND window_days = 28
                          AND mode = 'cash'""",
        w=workspace_id,
    ).set_index("order_id")
    exact_ads = paid_touches = 0
    for order in orders.itertuples():
        browser, bought_at = purchases[order.external_id]
        # Given the sandbox's record of every visit of the buyer's browser up to the purchase
        expected = [v for v in visits[browser] if v.occurred_at <= bought_at]
        # Then the order's pixel journey is those visits, one touch each, in order, the
        # last one the visit that bought (the internal page views are no touches)
        got = by_order[order.id]
        assert list(zip(got.landing_page, got.occurred_at, strict=True)) == [
            (v.landing_page, v.occurred_at) for v in expected
        ]
        assert got.occurred_at.max() <= order.processed_at + timedelta(seconds=5)
        for visit, touch in zip(expected, got.itertuples(), strict=True):
            # and each touch is of the visit's channel, mapped to the ad it came from
            assert touch.channel == CHANNEL[visit.channel]
            if visit.ad_id is None or visit.utm is None:
                assert pd.isna(touch.entity_id)
                continue
            paid_touches += 1
            ad = merchant.ad(visit.ad_id)
            levels = lineage(touch.entity_id)
            assert levels["campaign"] == ad.campaign_id
            assert levels.get("ad", ad.external_id) == ad.external_id
            exact_ads += "ad" in levels
        # And last click credits the order whole to the entity its last visit names
        credit = last_clicks.loc[[order.id]]
        assert credit.credit.sum() == 1
        last = expected[-1]
        if last.ad_id is not None and last.utm is not None:
            levels = lineage(credit.entity_id.iloc[0])
            assert levels["campaign"] == merchant.ad(last.ad_id).campaign_id
    assert paid_touches > 100 and exact_ads > 0.9 * paid_touches
    assert replay.stored == replay.requests


def test_orders_shopify_gave_no_journey_are_attributed_through_the_pixel(
    attributed_with_pixel,
) -> None:
    workspace_id = attributed_with_pixel[0]
    # Given orders whose Shopify journey holds no visit
    bare = read(
        """SELECT o.id FROM shopify_orders o WHERE o.workspace_id = :w
                   AND o.cancelled_at IS NULL AND NOT o.test AND NOT EXISTS (
                       SELECT 1 FROM customer_journeys j JOIN touchpoints t
                       ON t.journey_id = j.id AND t.source_kind = 'shopify'
                       WHERE j.order_id = o.id)""",
        w=workspace_id,
    )
    assert len(bare) > 0
    # Then the pixel's touches give them a journey and their credit sums to 1
    credits = read(
        """SELECT order_id, sum(credit) AS total FROM attributions
                      WHERE workspace_id = :w AND model = 'linear' AND window_days = 28
                      AND mode = 'cash' GROUP BY 1""",
        w=workspace_id,
    ).set_index("order_id")
    assert all(credits.total.get(order_id) == 1 for order_id in bare.id)


def test_the_demo_replays_the_storefront_after_syncing_and_before_attributing(
    workspace, fakes, monkeypatch
) -> None:
    calls: list[tuple] = []

    def sync_connection(workspace_id, connection_id, kind, **kwargs):
        calls.append(("sync", connection_id, kind))
        return SimpleNamespace(rows=1)

    def attribute(workspace_id, progress=None):
        stored = read(
            "SELECT count(*) AS n FROM pixel_events WHERE workspace_id = :w", w=workspace_id
        ).n[0]
        calls.append(("attribute", workspace_id, int(stored)))

    monkeypatch.setattr("metricx.sync.pipeline.sync_connection", sync_connection)
    monkeypatch.setattr("metricx.attribution.compute.attribute_workspace", attribute)
    monkeypatch.setattr(demo_service, "demo_merchant", lambda demo: fakes.merchant)
    shop = SimpleNamespace(id=7, name="Shop", provider="shopify")
    # Given the demo workspace with its shop connection (the sandbox's small merchant)
    demo = Demo(workspace, [shop], fakes.merchant.start_day, demo_today())
    progress: list[tuple[str, int, int]] = []
    # When the demo syncs
    rows = demo_service.sync_demo(demo, lambda *a: progress.append(a))
    # Then the shop was synced, then the storefront's pixel events stored, then attribution
    # ran over them; the stored events count among the demo's rows
    assert calls[0] == ("sync", 7, "shop")
    assert calls[-1][:2] == ("attribute", workspace.id) and calls[-1][2] > 0
    assert rows == 1 + calls[-1][2]
    # and the storefront was replayed for the orders of the last PIXEL_DAYS days
    pixel = [p for p in progress if p[0] == "Pixel events"]
    assert pixel[-1] == ("Pixel events", PIXEL_DAYS, PIXEL_DAYS)
    first_day = demo.end - timedelta(days=PIXEL_DAYS - 1)
    bought = read("""SELECT min(occurred_at) AS first, max(received_at) AS last
                     FROM pixel_events WHERE event = 'purchase'""")
    assert local_date(bought["first"][0].to_pydatetime(), TZ) >= first_day
    # up to the real clock's now
    assert datetime.now(UTC) - bought["last"][0].to_pydatetime() < timedelta(days=1)
