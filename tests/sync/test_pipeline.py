"""The sync pipeline end to end: real connectors, fake platforms, real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sandbox_fixtures import NOW, platform_day_totals, stored_day_totals
from sqlalchemy import func, select

from metricx.connection_store import get_connection
from metricx.db import new_session
from metricx.models import Entity, MetricSnapshot, ShopifyOrder, SyncRun
from metricx.platforms import AD_PROVIDERS
from metricx.semantic.dates import today_in
from metricx.sync.pipeline import compact_connection, sync_connection
from metricx.totals import Totals


def account_of(fakes, connection):
    return fakes.merchant.account(connection.external_account_id)


def last_days(tz: str, count: int, now=NOW) -> list:
    today = today_in(tz, now)
    return [today - timedelta(days=d) for d in range(count, 0, -1)]


def runs(connection_id: int) -> list[SyncRun]:
    with new_session() as session:
        return list(
            session.scalars(
                select(SyncRun).where(SyncRun.connection_id == connection_id).order_by(SyncRun.id)
            )
        )


@pytest.mark.parametrize("provider", AD_PROVIDERS)
def test_a_range_sync_stores_every_ad_day_exactly_as_the_platform_reports(
    fakes, connections, provider
):
    # Given an ad account on the platform
    connection = connections[provider]
    account = account_of(fakes, connection)
    days = last_days(account.timezone, 5)
    # When its last five days are synced
    outcome = sync_connection(
        connection.workspace_id, connection.id, "range", start=days[0], end=days[-1]
    )
    # Then every ad-day sums to the platform's number, to the cent (Google: every account-day
    # to its campaigns' totals, Performance Max included, whose ads Google never reports)
    assert outcome.status == "success" and outcome.rows > 0
    stored = stored_day_totals(connection.id, account.timezone, days)
    reported = platform_day_totals(fakes.merchant, account.external_id, days, NOW)
    if provider == "meta":
        assert stored == reported
    for day in days:
        assert sum((t for (_, d), t in stored.items() if d == day), Totals()) == sum(
            (t for (_, d), t in reported.items() if d == day), Totals()
        )
    # And the whole campaign tree is there (Google: with a campaign-level leaf per campaign,
    # and no Performance Max ads), and the account's zone and currency were read
    with new_session() as session:
        levels = dict(
            session.execute(
                select(Entity.level, func.count())
                .where(Entity.connection_id == connection.id)
                .group_by(Entity.level)
            ).all()
        )
    campaigns = fakes.merchant.campaigns_of(account.external_id)
    ads = [
        ad
        for ad in fakes.merchant.ads_of(account.external_id)
        if fakes.merchant.campaign(ad.campaign_id).objective != "PERFORMANCE_MAX"
    ]
    assert levels["ad"] == len(ads) + (len(campaigns) if provider == "google" else 0)
    assert levels["campaign"] == len(campaigns)
    stored = get_connection(connection.workspace_id, connection.id)
    assert (stored.timezone, stored.currency) == (account.timezone, account.currency)
    [run] = runs(connection.id)
    assert (run.status, run.window_start, run.window_end) == ("success", days[0], days[-1])
    assert run.rows_written == outcome.rows


def test_intraday_syncs_store_only_what_accrued_and_a_repeat_adds_nothing(fakes, connections):
    connection = connections["meta"]
    account = account_of(fakes, connection)
    today = today_in(account.timezone, NOW)
    # Given a first 15-minute sync
    ws = connection.workspace_id
    assert sync_connection(ws, connection.id, "intraday", now=NOW).rows > 0
    # When the same sync runs again at the same moment (a duplicated job)
    assert sync_connection(ws, connection.id, "intraday", now=NOW).rows == 0
    # And two hours later the platform reports more, and the next sync runs
    fakes.now = NOW + timedelta(hours=2)
    sync_connection(connection.workspace_id, connection.id, "intraday", now=fakes.now)
    # Then today's rows sum to the latest running totals, spread over two 15-minute buckets
    assert stored_day_totals(connection.id, account.timezone, [today]) == platform_day_totals(
        fakes.merchant, account.external_id, [today], fakes.now
    )
    with new_session() as session:
        buckets = session.scalars(
            select(func.distinct(MetricSnapshot.bucket_start)).where(
                MetricSnapshot.granularity == "15m"
            )
        ).all()
    assert len(buckets) >= 2


def test_restatements_compaction_and_refetch_keep_every_day_exact(fakes, connections):
    connection = connections["meta"]
    account = account_of(fakes, connection)
    ws = connection.workspace_id
    # Given a week synced, then intraday syncs over two days while conversions restate
    sync_connection(
        ws,
        connection.id,
        "range",
        start=last_days(account.timezone, 7)[0],
        end=last_days(account.timezone, 1)[0],
        now=NOW,
    )
    for hours in (1, 9, 20, 30):
        fakes.now = NOW + timedelta(hours=hours)
        sync_connection(ws, connection.id, "intraday", now=fakes.now)
    # When the nightly compaction and the daily re-fetch run
    compact_connection(get_connection(ws, connection.id), now=fakes.now)
    sync_connection(ws, connection.id, "range", now=fakes.now)
    # Then no 15-minute row is left on a past day, and every re-fetched day is exact
    days = last_days(account.timezone, 7, fakes.now)
    assert stored_day_totals(connection.id, account.timezone, days) == platform_day_totals(
        fakes.merchant, account.external_id, days, fakes.now
    )
    today = today_in(account.timezone, fakes.now)
    assert stored_day_totals(connection.id, account.timezone, [today]) == platform_day_totals(
        fakes.merchant, account.external_id, [today], fakes.now
    )


def test_the_shop_sync_is_incremental_and_never_duplicates_an_order(fakes, connections):
    shop = connections["shopify"]
    # Given the shop's history synced
    first = sync_connection(shop.workspace_id, shop.id, "shop")
    expected = len(fakes.merchant.shop.orders_until(NOW))
    with new_session() as session:
        count = session.scalar(select(func.count()).select_from(ShopifyOrder))
    assert first.status == "success" and count == expected
    # When a day passes (new orders, refunds on old ones) and it syncs twice
    fakes.now = NOW + timedelta(days=1)
    sync_connection(shop.workspace_id, shop.id, "shop")
    sync_connection(shop.workspace_id, shop.id, "shop")
    # Then each order is there once, the new ones included, refunds as the shop reports them
    orders = fakes.merchant.shop.orders_until(fakes.now)
    with new_session() as session:
        stored = dict(
            session.execute(select(ShopifyOrder.external_id, ShopifyOrder.refunded)).all()
        )
    assert len(stored) == len(orders) > count
    refunded = {o.external_id: o.refunded_cents(fakes.now) for o in orders}
    assert {k: int(v * 100) for k, v in stored.items()} == refunded
