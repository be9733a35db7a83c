"""The campaign tree is read at most hourly by the 15-minute sync (Meta: only what changed),
while ad facts stay 15 minutes fresh; a new ad that spends is read at once, with its name."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sandbox_fixtures import NOW, platform_day_totals, stored_day_totals
from sqlalchemy import select

from metricx.db import new_session
from metricx.models import Entity
from metricx.semantic.dates import today_in
from metricx.sync.pipeline import sync_connection

EDGES = ("/campaigns", "/adsets", "/ads")


def intraday(fakes, connection, at: datetime) -> None:
    fakes.now = at
    outcome = sync_connection(connection.workspace_id, connection.id, "intraday", now=at)
    assert outcome.status == "success", outcome.error


def graph_requests(fakes) -> list:
    """Requests to the Graph API (not the previews fetched from the fake's stand-in CDN,
    which a tree read makes once per new creative)."""
    return [r for r in fakes.requests.of("meta") if not r.path.startswith("/thumbnails/")]


def meta_paths(fakes) -> list[str]:
    return [r.path for r in graph_requests(fakes)]


def stored_tree(connection_id: int) -> dict[tuple[str, str], tuple[str, int | None]]:
    with new_session() as session:
        rows = session.execute(
            select(Entity.level, Entity.external_id, Entity.name, Entity.parent_id).where(
                Entity.connection_id == connection_id
            )
        ).all()
    return {(level, external): (name, parent) for level, external, name, parent in rows}


def test_the_tree_is_read_hourly_and_incrementally_while_facts_stay_fresh(fakes, connections):
    # given a Meta connection synced once (the first read takes the whole tree)
    connection = connections["meta"]
    intraday(fakes, connection, NOW)
    tree = stored_tree(connection.id)
    fakes.requests.clear()
    # when the 15-minute syncs of the next three quarters run
    for minutes in (15, 30, 45):
        intraday(fakes, connection, NOW + timedelta(minutes=minutes))
    # then they read the ads' facts only
    assert all(path.endswith("/insights") for path in meta_paths(fakes))
    assert len(meta_paths(fakes)) == 3
    # when an hour has passed since the tree was read
    fakes.requests.clear()
    intraday(fakes, connection, NOW + timedelta(minutes=61))
    # then the tree is read again, asking only for what changed since the last read
    edge_reads = [r for r in fakes.requests.of("meta") if r.path.endswith(EDGES)]
    assert len(edge_reads) == 3
    assert all("updated_time" in r.params["filtering"] for r in edge_reads)
    # and nothing of the stored tree was lost or detached by the partial read
    assert stored_tree(connection.id) == tree


def test_hourly_incremental_tree_reads_cost_a_third_of_whole_reads(fakes, connections, setenv):
    # given four hours of 15-minute syncs, reading the account and tree every time ...
    connection = connections["meta"]

    def requests_for_four_hours(start: datetime) -> int:
        fakes.requests.clear()
        for quarter in range(16):
            intraday(fakes, connection, start + timedelta(minutes=15 * quarter))
        return len(graph_requests(fakes))

    setenv(ENTITY_REFRESH_MINUTES="0")
    before = requests_for_four_hours(NOW - timedelta(hours=8))
    # ... and at most hourly (the default)
    setenv(ENTITY_REFRESH_MINUTES="60")
    after = requests_for_four_hours(NOW - timedelta(hours=4))
    # then the same freshness of facts costs a third of the requests: every quarter one read
    # of the facts, every hour three edge reads of what changed, and nothing else
    assert before == 16 * (1 + 3 + 1)
    assert after == 16 + 4 * 3
    assert after / before < 0.36


def test_a_new_ad_that_spends_is_read_at_once_with_its_name(fakes, connections, setenv):
    # given a tree read before the account's campaigns existed, and no scheduled read since
    connection = connections["meta"]
    account = fakes.merchant.account(connection.external_account_id)
    campaigns = fakes.merchant.campaigns_of(account.external_id)
    setenv(ENTITY_REFRESH_MINUTES="100000")
    intraday(fakes, connection, min(c.created_at for c in campaigns) - timedelta(hours=1))
    assert not [key for key in stored_tree(connection.id) if key[0] == "ad"]
    # when the first ads spend, on the first day of the history
    first_hours = datetime.combine(fakes.merchant.start_day, time(3), ZoneInfo(account.timezone))
    intraday(fakes, connection, first_hours)
    # then each ad that spent is stored under its ad set, with its real name
    tree, ids = stored_tree(connection.id), _ids(connection.id)
    today = today_in(account.timezone, first_hours)
    spent = platform_day_totals(fakes.merchant, account.external_id, [today], first_hours)
    assert spent
    for ad_id, _ in spent:
        ad = fakes.merchant.ad(ad_id)
        assert tree[("ad", ad_id)] == (ad.name, ids[("adset", ad.adset_id)])
    # and the day's facts are exact
    assert stored_day_totals(connection.id, account.timezone, [today]) == spent


def _ids(connection_id: int) -> dict[tuple[str, str], int]:
    with new_session() as session:
        rows = session.execute(
            select(Entity.level, Entity.external_id, Entity.id).where(
                Entity.connection_id == connection_id
            )
        ).all()
    return {(level, external): pk for level, external, pk in rows}


def shopify_queries(fakes) -> list[str]:
    """The root field each GraphQL request asked for (orders, products, shop, ...)."""
    import re

    roots = []
    for request in fakes.requests.of("shopify"):
        query = (request.body or {}).get("query", "") if isinstance(request.body, dict) else ""
        match = re.search(r"\{\s*(\w+)", query)
        roots.append(match.group(1) if match else "?")
    return roots


def shop_sync(fakes, connection, at: datetime) -> None:
    fakes.now = at
    outcome = sync_connection(connection.workspace_id, connection.id, "shop", now=at)
    assert outcome.status == "success", outcome.error


def test_a_shop_reads_orders_every_time_and_its_lists_hourly(fakes, connections):
    # given a shop synced once (shop, products, customers and orders read)
    connection = connections["shopify"]
    shop_sync(fakes, connection, NOW)
    fakes.requests.clear()
    # when it syncs again a quarter later
    shop_sync(fakes, connection, NOW + timedelta(minutes=15))
    # then only orders were read (and counted, to choose pages or a bulk operation)
    assert set(shopify_queries(fakes)) <= {"orders", "ordersCount"}, shopify_queries(fakes)
    # and an hour after the lists were read, they are read again
    fakes.requests.clear()
    shop_sync(fakes, connection, NOW + timedelta(minutes=61))
    assert {"shop", "products", "customers", "orders"} <= set(shopify_queries(fakes))
