"""The built-in monitors' checks on seeded workspaces (Acme: New York, USD): each fires for
its situation, under the right split value and with a message saying what to do, and stays
quiet when things are healthy. Spend and conversions are the engine's (`run_query`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, text

from metricx.alerts import monitors
from metricx.db import transaction
from metricx.models import (
    Connection,
    CustomerJourney,
    Entity,
    MetricSnapshot,
    PixelEvent,
    ShopifyOrder,
    ShopifyShop,
    SyncRun,
    Touchpoint,
)
from metricx.semantic.engine import run_query
from metricx.sync import rollup

#: Friday Nov 20, 2026, 10:07 in New York.
NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
NY = ZoneInfo("America/New_York")
TODAY = date(2026, 11, 20)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), NY)


def add_connection(
    workspace_id: int,
    provider: str = "meta",
    *,
    status: str = "active",
    synced: datetime | None = NOW - timedelta(minutes=10),
    created: datetime = NOW - timedelta(days=30),
    name: str | None = None,
    error: str | None = None,
    currency: str = "USD",
) -> int:
    with transaction() as session:
        row = Connection(
            workspace_id=workspace_id,
            provider=provider,
            external_account_id=name or f"{provider}-{status}-{created:%f%S}{synced}",
            name=name or f"{provider} {status}",
            status=status,
            last_synced_at=synced,
            last_error=error,
            currency=currency,
            created_at=created,
        )
        session.add(row)
        session.flush()
        return row.id


@dataclass(frozen=True)
class Bucket:
    """An ad's facts in one snapshot bucket (local start)."""

    start: datetime
    spend: float = 0
    clicks: int = 0
    conversions: float = 0
    granularity: str = "15m"


def add_tree(
    workspace_id: int,
    connection_id: int,
    ads: dict[str, Iterable[Bucket]],
    budgets: dict[str, Decimal] | None = None,
) -> dict[str, dict[str, int]]:
    """One campaign > ad set > ad per name (budgets on the campaigns named), its buckets
    written and rolled up as the sync does. Returns {name: {level: entity id}}."""
    tree: dict[str, dict[str, int]] = {}
    starts = []
    with transaction() as session:
        for name, buckets in ads.items():
            parent = None
            tree[name] = {}
            for level in ("campaign", "adset", "ad"):
                entity = Entity(
                    workspace_id=workspace_id,
                    connection_id=connection_id,
                    level=level,
                    external_id=f"{name}-{level}",
                    name=f"{name} {level}",
                    parent_id=parent,
                    budget=(budgets or {}).get(name) if level == "campaign" else None,
                )
                session.add(entity)
                session.flush()
                parent = tree[name][level] = entity.id
            for b in buckets:
                starts.append(b.start)
                session.add(
                    MetricSnapshot(
                        workspace_id=workspace_id,
                        entity_id=tree[name]["ad"],
                        bucket_start=b.start.astimezone(UTC),
                        granularity=b.granularity,
                        spend=Decimal(str(b.spend)),
                        impressions=b.clicks * 10,
                        clicks=b.clicks,
                        conversions=Decimal(str(b.conversions)),
                        conversion_value=0,
                        leads=0,
                    )
                )
        session.flush()
        if starts:
            rollup.refresh(
                session,
                workspace_id,
                [levels["ad"] for levels in tree.values()],
                min(starts) - timedelta(days=1),
                max(starts) + timedelta(days=1),
            )
    return tree


def check(kind: str, workspace_id: int, params: dict | None = None, now: datetime = NOW):
    return monitors.check(kind, workspace_id, params or {}, now)


# -- connection_broken -------------------------------------------------------------------------


def test_broken_connections_each_fire_with_what_to_do(workspace):
    # Given an active, a paused, a re-auth and a failing connection
    add_connection(workspace.id, "meta", status="active")
    add_connection(workspace.id, "google", status="paused")
    reauth = add_connection(workspace.id, "meta", status="needs_reauth", name="Acme EU")
    failing = add_connection(
        workspace.id, "shopify", status="error", name="acme.myshopify.com", error="HTTP 500\nx"
    )
    # When the monitor checks
    found = {f.split_value: f for f in check("connection_broken", workspace.id)}
    # Then the two broken ones fire, each under its connection id, saying what to do
    assert set(found) == {str(reauth), str(failing)}
    assert found[str(reauth)].message == (
        "Meta connection 'Acme EU' needs re-authorisation: reconnect it on the Connections page"
    )
    assert "failed to sync" in found[str(failing)].message
    assert "(last error: HTTP 500)" in found[str(failing)].message


def test_healthy_connections_do_not_fire(workspace):
    add_connection(workspace.id, "meta")
    add_connection(workspace.id, "google", status="paused")
    assert check("connection_broken", workspace.id) == []


# -- data_stale --------------------------------------------------------------------------------


def test_stale_connections_fire_but_fresh_paused_and_first_backfills_do_not(workspace):
    # Given connections synced 10 minutes and 2 hours ago, a paused one synced days ago,
    # one in its first backfill and one added 3 hours ago that never synced, nothing running
    add_connection(workspace.id, "meta", name="fresh")
    stale = add_connection(workspace.id, "google", name="stale", synced=NOW - timedelta(hours=2))
    add_connection(
        workspace.id, "meta", name="paused", status="paused", synced=NOW - timedelta(days=3)
    )
    backfilling = add_connection(
        workspace.id, "meta", name="new", synced=None, created=NOW - timedelta(hours=3)
    )
    never = add_connection(
        workspace.id, "shopify", name="never", synced=None, created=NOW - timedelta(hours=3)
    )
    with transaction() as session:
        session.add(
            SyncRun(
                workspace_id=workspace.id,
                connection_id=backfilling,
                kind="range",
                status="running",
            )
        )
    # When the monitor checks with the default hour
    found = {f.split_value: f for f in check("data_stale", workspace.id)}
    # Then the stale one and the one that never synced fire
    assert set(found) == {str(stale), str(never)}
    assert found[str(stale)].value == 120
    assert found[str(stale)].message.startswith(
        "Google Ads connection 'stale' last synced 2 hours ago (2026-11-20 13:07 UTC)"
    )
    assert "has not completed a sync since it was added 3 hours ago" in found[str(never)].message
    # And with a 3-hour allowance, only the never-synced one (added just over it) is left
    assert [f.split_value for f in check("data_stale", workspace.id, {"minutes": 179})] == [
        str(never)
    ]


def test_connections_synced_within_the_hour_are_not_stale(workspace):
    add_connection(workspace.id, "meta", synced=NOW - timedelta(minutes=59))
    add_connection(workspace.id, "shopify", synced=None, created=NOW - timedelta(minutes=20))
    assert check("data_stale", workspace.id) == []


# -- pacing_over_budget ------------------------------------------------------------------------


def morning(day: date, per_quarter: float, **facts: float) -> list[Bucket]:
    """Quarter-hour buckets from 08:00 to 10:00 local."""
    return [
        Bucket(local(day, 8) + timedelta(minutes=15 * q), per_quarter, **facts)  # type: ignore[arg-type]
        for q in range(8)
    ]


def test_a_campaign_on_pace_to_overspend_its_budget_fires(workspace):
    # Given a campaign with a $100 daily budget that has spent $80 by 10:07, a calm one with
    # $100 that spent $20, and no spend last week (the day's share is the share of its hours)
    meta = add_connection(workspace.id, "meta")
    tree = add_tree(
        workspace.id,
        meta,
        {"Hot": morning(TODAY, 10), "Calm": morning(TODAY, 2.5)},
        budgets={"Hot": Decimal(100), "Calm": Decimal(100)},
    )
    # When the monitor checks
    [finding] = check("pacing_over_budget", workspace.id)
    # Then the hot campaign fires: $80 / (10h07 of 24h) projected, against its budget
    share = (10 + 7 / 60) / 24
    assert finding.split_value == str(tree["Hot"]["campaign"])
    assert finding.value == pytest.approx(80 / share)
    assert finding.reference == 100
    assert finding.message == (
        f"Campaign 'Hot campaign' is on pace to spend ${80 / share:,.2f} today, "
        f"{(80 / share - 100):,.0f}% over its daily budget of $100.00 ($80.00 spent by 10:07)"
    )
    # And with a 100% allowance it does not
    assert check("pacing_over_budget", workspace.id, {"over_percent": 100}) == []


def test_the_projection_follows_last_weeks_shape_of_the_day(workspace):
    # Given last Friday spent $100 by 10:00 and $100 more in the afternoon
    meta = add_connection(workspace.id, "meta")
    last_friday = TODAY - timedelta(days=7)
    tree = add_tree(
        workspace.id,
        meta,
        {
            "Shape": [
                Bucket(local(last_friday, 9), 100, granularity="1h"),
                Bucket(local(last_friday, 15), 100, granularity="1h"),
                *morning(TODAY, 8),
            ]
        },
        budgets={"Shape": Decimal(100)},
    )
    # When today's $64 by 10:07 is projected, firing past 20 %
    [finding] = check("pacing_over_budget", workspace.id, {"over_percent": 20})
    # Then it is projected with last week's half-done-by-now: $128, 28% over
    assert finding.split_value == str(tree["Shape"]["campaign"])
    assert finding.value == pytest.approx(128)
    # And a 30% allowance covers it, as Meta's own daily allowance (75 %) does by default
    assert check("pacing_over_budget", workspace.id, {"over_percent": 30}) == []
    assert check("pacing_over_budget", workspace.id) == []


@pytest.mark.parametrize(("provider", "fires"), [("meta", True), ("google", False)])
def test_by_default_a_day_within_its_platforms_own_allowance_is_not_an_overspend(
    workspace, provider, fires
):
    # Given a campaign on pace to spend 90 % over its $100 budget today ($80 by 10:07)
    connection = add_connection(workspace.id, provider)
    add_tree(workspace.id, connection, {"Hot": morning(TODAY, 10)}, budgets={"Hot": Decimal(100)})
    # When the monitor checks with its defaults
    found = check("pacing_over_budget", workspace.id)
    # Then Meta (which may spend 75 % over on a day) fires, Google (twice the budget) not
    assert bool(found) is fires


# -- spend_no_conversions ----------------------------------------------------------------------


def test_ads_spending_without_conversions_fire_on_the_engines_numbers(workspace):
    # Given three Google ads today: $80 without conversions, $80 with 2, $20 without
    google = add_connection(workspace.id, "google")
    tree = add_tree(
        workspace.id,
        google,
        {
            "Dud": morning(TODAY, 10),
            "Good": morning(TODAY, 10, conversions=0.25),
            "Small": morning(TODAY, 2.5),
        },
    )
    # When the monitor checks
    [finding] = check("spend_no_conversions", workspace.id)
    # Then only the $80 ad without conversions fires, with the engine's spend
    engine = run_query(
        workspace.id,
        {
            "metrics": ["spend", "conversions"],
            "time_range": {"start": "2026-11-20", "end": "2026-11-20", "until": "10:07:00"},
            "dimensions": ["ad"],
        },
    ).frame
    spend = dict(zip(engine["ad"], engine["spend"], strict=True))
    assert finding.split_value == str(tree["Dud"]["ad"])
    assert finding.value == spend["Dud ad"] == 80
    assert finding.message == "Ad 'Dud ad' spent $80.00 today with no conversions"
    # And a lower bar catches the small one; the ad set level names the ad set
    assert {f.label for f in check("spend_no_conversions", workspace.id, {"min_spend": 20})} == {
        "Dud ad",
        "Small ad",
    }
    [by_adset] = check("spend_no_conversions", workspace.id, {"level": "adset"})
    assert by_adset.split_value == str(tree["Dud"]["adset"])
    assert by_adset.message.startswith("Ad set 'Dud adset' spent $80.00 today")


def test_spend_over_several_days_counts_the_earlier_days_too(workspace):
    google = add_connection(workspace.id, "google")
    add_tree(
        workspace.id,
        google,
        {"Slow": [*morning(TODAY - timedelta(days=2), 4), *morning(TODAY, 3)]},
    )
    # $24 today is under $50; $56 over three days is not
    assert check("spend_no_conversions", workspace.id) == []
    [finding] = check("spend_no_conversions", workspace.id, {"days": 3})
    assert finding.value == 56
    assert "in the last 3 days (today so far)" in finding.message


def test_withheld_conversions_are_no_data_not_zero(workspace):
    # Given a Meta ad that spent $80 this morning, whose day's purchases the sync placed in a
    # bucket after 10:07 (Meta reports conversions per day only)
    meta = add_connection(workspace.id, "meta")
    add_tree(
        workspace.id,
        meta,
        {"Daily": [*morning(TODAY, 10), Bucket(local(TODAY, 11), conversions=1)]},
    )
    # When the engine reads today so far, it leaves the conversions empty (withheld)
    engine = run_query(
        workspace.id,
        {
            "metrics": ["conversions"],
            "time_range": {"start": "2026-11-20", "end": "2026-11-20", "until": "10:07:00"},
            "dimensions": ["ad"],
        },
    )
    assert "conversions" in engine.withheld
    # Then the monitor sees no data, not zero conversions, and does not fire
    assert check("spend_no_conversions", workspace.id) == []


# -- tracking_drop -----------------------------------------------------------------------------


def add_pixel(workspace_id: int, day: date, purchases: int, page_views: int) -> None:
    """Events spread from 08:00 local on `day`, a minute apart."""
    with transaction() as session:
        for at in range(purchases + page_views):
            event = "purchase" if at < purchases else "page_view"
            session.add(
                PixelEvent(
                    workspace_id=workspace_id,
                    event_id=f"{day}-{at}",
                    anonymous_id=f"visitor-{at}",
                    event=event,
                    occurred_at=local(day, 8) + timedelta(seconds=at * 10),
                )
            )


@pytest.mark.parametrize(
    ("purchases", "page_views", "fires"),
    [(5, 190, True), (18, 190, False), (5, 50, False)],
    ids=["purchases-fall-traffic-holds", "healthy", "traffic-fell-too"],
)
def test_pixel_purchases_falling_while_page_views_hold_fire(
    workspace, purchases, page_views, fires
):
    # Given 20 purchases and 200 page views by 10:07 on each of the last 4 Fridays
    for weeks in range(1, 5):
        add_pixel(workspace.id, TODAY - timedelta(weeks=weeks), 20, 200)
    add_pixel(workspace.id, TODAY, purchases, page_views)
    # When the monitor checks
    found = check("tracking_drop", workspace.id)
    # Then it fires only when purchases fell and page views did not
    assert [f.split_value for f in found] == (["pixel"] if fires else [])
    if fires:
        assert found[0].message.startswith(
            "Pixel purchases fell 75% today so far (5 vs a usual 20 on this weekday by this "
            "time) while page views did not (down 5%)"
        )
        assert (found[0].value, found[0].reference) == (5, 20)


def test_without_pixel_events_platform_purchases_are_watched_against_clicks(workspace):
    # Given a Google account with 20 conversions and 100 clicks on each of the last Fridays'
    # mornings, and 2 conversions on 100 clicks today
    google = add_connection(workspace.id, "google")
    weeks = [Bucket(local(TODAY - timedelta(weeks=k), 9), 50, 100, 20, "1h") for k in range(1, 5)]
    add_tree(workspace.id, google, {"Ad": [*weeks, Bucket(local(TODAY, 9), 50, 100, 2)]})
    # When the monitor checks
    [finding] = check("tracking_drop", workspace.id)
    # Then Google's reported purchases fire (no pixel variant: the workspace has no events)
    assert finding.split_value == "google"
    assert finding.message.startswith("Google Ads-reported purchases fell 90% today so far")
    assert "while clicks did not (unchanged)" in finding.message


def test_a_small_baseline_is_not_a_drop(workspace):
    google = add_connection(workspace.id, "google")
    weeks = [Bucket(local(TODAY - timedelta(weeks=k), 9), 50, 100, 4, "1h") for k in range(1, 5)]
    add_tree(workspace.id, google, {"Ad": [*weeks, Bucket(local(TODAY, 9), 50, 100, 0)]})
    assert check("tracking_drop", workspace.id) == []
    [finding] = check("tracking_drop", workspace.id, {"min_baseline_purchases": 4})
    assert finding.split_value == "google"


def add_pixel_events(workspace_id: int, day: date, per_hour: dict[int, int]) -> None:
    """Page views on `day`: per local hour, that many spread evenly through the hour."""
    rows = [
        {
            "workspace_id": workspace_id,
            "event_id": f"{day}-{hour}-{n}",
            "anonymous_id": f"visitor-{n % 7}",
            "event": "page_view",
            "occurred_at": local(day, hour) + timedelta(seconds=n * 3600 // count),
        }
        for hour, count in per_hour.items()
        for n in range(count)
    ]
    with transaction() as session:
        session.execute(insert(PixelEvent), rows)


#: A Friday morning's page views per local hour (the monitor checks at 10:07).
MORNING = {7: 40, 8: 60, 9: 60}


def test_a_pixel_gone_silent_fires_within_the_hour(workspace):
    # Given 8 Fridays of 40-60 page views an hour, and today's stopping at 09:00
    for weeks in range(1, 9):
        add_pixel_events(workspace.id, TODAY - timedelta(weeks=weeks), MORNING)
    add_pixel_events(workspace.id, TODAY, {7: 40, 8: 60})
    # When the monitor checks at 10:07
    found = check("tracking_drop", workspace.id)
    # Then the silence fires on its own split value, saying what to check
    [silent] = [f for f in found if f.split_value == "pixel_silence"]
    assert (silent.value, silent.reference) == (0, 60)
    assert silent.message.startswith(
        "The pixel received 0 events in the last hour (to 10:00) against a usual 60 on this "
        "weekday at this time (down 100%)"
    )
    # And switched off, it does not
    assert check("tracking_drop", workspace.id, {"pixel_silence": False}) == []


@pytest.mark.parametrize(
    "today",
    [{7: 40, 8: 60, 9: 55}, {7: 40, 8: 60, 9: 15}, {7: 40, 8: 60, 9: 6}],
    ids=["healthy", "down-75%-not-silent", "down-90%-but-sending-in-the-last-quarter"],
)
def test_a_pixel_still_sending_is_not_silent(workspace, today):
    # Given the same Fridays, and today's page views held, down 75 %, or down 90 % but still
    # arriving up to 10:00
    for weeks in range(1, 9):
        add_pixel_events(workspace.id, TODAY - timedelta(weeks=weeks), MORNING)
    add_pixel_events(workspace.id, TODAY, today)
    # When the monitor checks, then no silence
    assert [f.split_value for f in check("tracking_drop", workspace.id)] == []


def test_a_quiet_night_or_a_new_pixel_is_not_silent(workspace):
    # Given a pixel installed three weeks ago with 60 an hour, and at night 5 an hour
    for weeks in range(1, 4):
        add_pixel_events(workspace.id, TODAY - timedelta(weeks=weeks), MORNING)
    for weeks in range(1, 9):
        add_pixel_events(workspace.id, TODAY - timedelta(weeks=weeks), {1: 5, 2: 5, 3: 5})
    # When the monitor checks at 10:07 with nothing today (too little history for the
    # morning) and at 04:07 (3 hours of night make 15, too few to call a silence)
    at_four = datetime.combine(TODAY, time(4, 7), NY).astimezone(UTC)
    # Then neither fires
    assert check("tracking_drop", workspace.id) == []
    assert check("tracking_drop", workspace.id, now=at_four) == []


# -- utm_hygiene -------------------------------------------------------------------------------


def add_touches(workspace_id: int, day: date, matched: int, unmatched: int) -> None:
    """Paid visits on `day`: `matched` pointing at an ad, `unmatched` at nothing (each its
    own order and journey)."""
    with transaction() as session:
        shop = session.scalar(
            text("SELECT id FROM shopify_shops WHERE workspace_id = :ws"), {"ws": workspace_id}
        )
        if shop is None:
            connection = Connection(
                workspace_id=workspace_id,
                provider="shopify",
                external_account_id="acme.myshopify.com",
                name="acme",
            )
            session.add(connection)
            session.flush()
            row = ShopifyShop(
                workspace_id=workspace_id,
                connection_id=connection.id,
                domain="acme.myshopify.com",
                name="acme",
                currency="USD",
                timezone="America/New_York",
            )
            session.add(row)
            session.flush()
            shop = row.id
        ad = session.scalar(
            text("SELECT id FROM entities WHERE workspace_id = :ws AND level = 'ad' LIMIT 1"),
            {"ws": workspace_id},
        )
        at = local(day, 12)
        for n in range(matched + unmatched):
            order = ShopifyOrder(
                workspace_id=workspace_id,
                shop_id=shop,
                external_id=f"{day}-{n}",
                name=f"#{day}-{n}",
                created_at=at,
                processed_at=at,
                updated_at=at,
                currency="USD",
            )
            session.add(order)
            session.flush()
            journey = CustomerJourney(workspace_id=workspace_id, order_id=order.id)
            session.add(journey)
            session.flush()
            session.add(
                Touchpoint(
                    workspace_id=workspace_id,
                    journey_id=journey.id,
                    source_kind="last_visit",
                    occurred_at=at,
                    channel="paid_social",
                    utm_source="facebook",
                    utm_campaign="spring" if n < matched else "typo",
                    entity_id=ad if n < matched else None,
                )
            )


@pytest.mark.parametrize(("unmatched_now", "fires"), [(12, True), (6, False)])
def test_a_rising_share_of_unmatched_paid_visits_fires(workspace, unmatched_now, fires):
    # Given an ad, and 40 paid visits in each of the two weeks before today: 4 unmatched
    # (10%) the week before, `unmatched_now` (30% or 15%) last week
    meta = add_connection(workspace.id, "meta")
    add_tree(workspace.id, meta, {"Spring": []})
    add_touches(workspace.id, TODAY - timedelta(days=10), 36, 4)
    add_touches(workspace.id, TODAY - timedelta(days=3), 40 - unmatched_now, unmatched_now)
    # When the monitor checks
    found = check("utm_hygiene", workspace.id)
    # Then a rise of 20 points fires, one of 5 does not
    assert [(f.split_value, f.value, f.reference) for f in found] == (
        [(None, 30, 10)] if fires else []
    )
    if fires:
        assert found[0].message.startswith(
            "30% of paid visits in the last 7 days carry UTMs that match no campaign or ad "
            "(up 20 points from 10% the week before)"
        )


def test_too_few_paid_visits_are_not_compared(workspace):
    add_tree(workspace.id, add_connection(workspace.id, "meta"), {"Spring": []})
    add_touches(workspace.id, TODAY - timedelta(days=10), 9, 1)
    add_touches(workspace.id, TODAY - timedelta(days=3), 5, 5)
    assert check("utm_hygiene", workspace.id) == []
    assert len(check("utm_hygiene", workspace.id, {"min_touches": 10})) == 1


# -- api_version_eol ---------------------------------------------------------------------------


def test_versions_near_or_past_their_end_fire_for_connected_platforms_only(workspace, setenv):
    # Given Meta v24.0 (ended Nov 10, 2026), Google v26 (no date) and Shopify 2026-01 (ends
    # Jan 1, 2027: 42 days after Nov 20), and Meta and Shopify connections
    setenv(META_API_VERSION="v24.0", GOOGLE_ADS_API_VERSION="v26", SHOPIFY_API_VERSION="2026-01")
    add_connection(workspace.id, "meta")
    add_connection(workspace.id, "shopify")
    # When the monitor checks with 30 days' notice
    [meta] = check("api_version_eol", workspace.id)
    # Then Meta's ended version fires
    assert (meta.split_value, meta.value) == ("meta", -10)
    assert meta.message.startswith("Meta Marketing API v24.0 stopped working on 2026-11-10")
    # And with 60 days' notice Shopify's does too
    found = {f.split_value: f for f in check("api_version_eol", workspace.id, {"days_before": 60})}
    assert set(found) == {"meta", "shopify"}
    assert found["shopify"].message == (
        "Shopify Admin API 2026-01 stops working on 2027-01-01; move to a newer version "
        "before then (in 42 days)"
    )


def test_live_versions_and_unconnected_platforms_do_not_fire(workspace, setenv):
    setenv(META_API_VERSION="v24.0", GOOGLE_ADS_API_VERSION="v26")
    add_connection(workspace.id, "google")
    assert check("api_version_eol", workspace.id) == []
