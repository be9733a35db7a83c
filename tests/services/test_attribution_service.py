"""The attribution service: channel split, reconciliation and UTM hygiene on the sandbox."""

from __future__ import annotations

import pytest
from rq.job import Job
from sandbox_fixtures import FIRST, LAST
from table_rows import execute, read

from metricx.attribution.compute import attribute_workspace
from metricx.errors import PermissionDeniedError
from metricx.semantic.query import Attribution, TimeRange
from metricx.services import attribution

SPAN = TimeRange(start=FIRST, end=LAST)
# What each live order kept: sales and shipping less the goods and shipping refunded on it.
LIVE_ORDERS = """SELECT o.id, o.gross_sales - o.discounts + o.shipping
                        - coalesce((SELECT sum(r.sales + r.shipping) FROM shopify_refunds r
                                    WHERE r.order_id = o.id), 0) AS revenue
                 FROM shopify_orders o WHERE o.workspace_id = :ws AND NOT o.test
                 AND o.cancelled_at IS NULL
                 AND (o.processed_at AT TIME ZONE 'America/New_York')::date BETWEEN :a AND :b"""


@pytest.fixture
def attributed(synced) -> int:
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    return workspace_id


def test_the_channel_split_adds_up_to_the_stores_orders(attributed):
    # Given the orders placed in the range, read back independently
    orders = read(LIVE_ORDERS, ws=attributed, a=FIRST, b=LAST)
    # When they are split over channels by last click, 7 days
    split = attribution.channel_breakdown(attributed, SPAN, Attribution(window_days=7))
    # Then the rows (unattributed included) add up to the orders and their revenue,
    # and paid rows name their platform
    assert split["orders"].sum() == pytest.approx(len(orders))
    assert split["revenue"].sum() == pytest.approx(orders.revenue.astype(float).sum())
    assert split.iloc[-1]["channel"] == "unattributed"
    paid = split[split.channel.str.startswith("paid_")]
    assert len(paid) and paid.provider.notna().all()


def test_reconciliation_sets_platform_claims_beside_the_credited_orders(attributed):
    # When the platforms are reconciled with the store
    found = attribution.reconciliation(attributed, SPAN)
    table = found.platforms.set_index("platform")
    # Then the credited orders per platform equal the stored last-click credits to its ads
    credited = read(
        """SELECT c.provider, sum(a.credit)::float AS credit FROM attributions a
                       JOIN entities e ON e.id = a.entity_id
                       JOIN connections c ON c.id = e.connection_id
                       JOIN shopify_orders o ON o.id = a.order_id
                       WHERE a.model = 'last_click' AND a.window_days = 28 AND a.mode = 'cash'
                       AND (a.credited_at AT TIME ZONE 'America/New_York')::date
                           BETWEEN :a AND :b
                       GROUP BY c.provider""",
        a=FIRST,
        b=LAST,
    ).set_index("provider")
    for platform in ("meta", "google"):
        assert table.loc[platform, "attributed_orders"] == pytest.approx(
            credited.loc[platform, "credit"]
        )
    # And attribution never gives out more orders than the store has
    assert table["attributed_orders"].sum() <= found.store_orders
    assert found.store_orders == len(read(LIVE_ORDERS, ws=attributed, a=FIRST, b=LAST))


def test_hygiene_flags_campaigns_whose_visits_no_longer_match(attributed):
    # Given every spending campaign appears in some journey
    assert attribution.utm_hygiene(attributed, SPAN).silent_campaigns.empty
    # When the workspace accepts only ids, name-tagged links stop matching
    execute("UPDATE workspaces SET utm_match = 'id' WHERE id = :ws", ws=attributed)
    attribute_workspace(attributed)
    report = attribution.utm_hygiene(attributed, SPAN)
    # Then their campaigns are flagged as spending without a journey, and their UTMs listed
    named = read("""SELECT DISTINCT t.utm_campaign FROM touchpoints t
                    WHERE t.channel LIKE 'paid_%' AND t.entity_id IS NULL""")
    assert len(report.silent_campaigns) > 0
    assert set(report.unmatched_utms.utm_campaign) == set(named.utm_campaign)
    assert (report.silent_campaigns.spend > 0).all()


def test_only_an_admin_can_queue_a_recomputation(synced, admin, member, redis_conn):
    with pytest.raises(PermissionDeniedError):
        attribution.request_recompute(member)
    job_id = attribution.request_recompute(admin)
    assert Job.fetch(job_id, connection=redis_conn).args == (admin.workspace_id,)
    assert read(
        "SELECT action FROM audit_log WHERE action LIKE 'attribution.%'"
    ).action.tolist() == ["attribution.recompute"]
