"""Hand-checked cases of the metric service on rows written by hand: days of 23 and 25 hours
in the workspace's zone (reached through date phrases), an ad account in another zone and
currency than the workspace, empty ranges, and rates missing for ad or store money.

The workspace is in New York (USD). The ad account reports in Berlin time and EUR, one unit
of spend (EUR 1), 10 impressions and 1 click in every hour, so a workspace day's clicks are
its length in hours.
"""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import text, update

from metricx.connectors.records import EntityRecord, OrderRecord, ShopInfo
from metricx.db import transaction
from metricx.models import Connection, FxRate
from metricx.semantic.dates import resolve_phrase
from metricx.semantic.engine import MissingFxRateError, run_query
from metricx.sync import shopify, snapshots
from metricx.sync.entities import upsert_entities
from metricx.totals import Totals

SPRING, FALL = date(2026, 3, 8), date(2026, 11, 1)  # New York's 23- and 25-hour days
HOUR = Totals(spend=Decimal(1), impressions=10, clicks=1)


def rate(day: date) -> Decimal:
    """A different EUR→USD rate every day, so converting per day shows."""
    return Decimal(2) + Decimal(day.day) / 100


@pytest.fixture
def hourly_ads(workspace, admin):
    from metricx.services.connections import add_connection

    connection = add_connection(admin, "meta", "act_9", "tok")
    with transaction() as session:
        session.execute(
            update(Connection)
            .where(Connection.id == connection.id)
            .values(currency="EUR", timezone="Europe/Berlin")
        )
        ids = upsert_entities(
            session,
            workspace.id,
            connection.id,
            [
                EntityRecord("account", "1", None, "Acct", "ACTIVE", None, None),
                EntityRecord("campaign", "2", "1", "Spring sale", "ACTIVE", None, None),
                EntityRecord("adset", "3", "2", "Set", "ACTIVE", None, None),
                EntityRecord("ad", "4", "3", "Ad", "ACTIVE", None, None),
            ],
        )
        ad = ids[("ad", "4")]
        days = [d + timedelta(days=i) for d in (SPRING, FALL) for i in range(-2, 3)]
        hourly = {(ad, day): {hour: HOUR for hour in range(24)} for day in days}
        snapshots.replace_days(session, workspace.id, "Europe/Berlin", [ad], days, hourly)
        for day in days:
            session.add(
                FxRate(
                    workspace_id=workspace.id,
                    day=day,
                    from_currency="EUR",
                    to_currency="USD",
                    rate=rate(day),
                )
            )
    return workspace.id, ad


@pytest.mark.parametrize(
    "today, hours", [(SPRING + timedelta(days=1), 23), (FALL + timedelta(days=1), 25)]
)
@pytest.mark.parametrize("dimensions", [[], ["campaign"], ["ad"]])
def test_yesterday_on_a_dst_switch_day_has_as_many_hours_as_the_day(
    hourly_ads, today, hours, dimensions
):
    # Given one click an hour, and "yesterday" said the day after a clock change
    workspace_id, _ = hourly_ads
    day = resolve_phrase("yesterday", today)
    # When the engine answers for it, from any of its rollups
    result = run_query(
        workspace_id,
        {
            "metrics": ["clicks", "spend", "cpc"],
            "time_range": day.model_dump(mode="json"),
            "dimensions": dimensions,
        },
    )
    # Then the day has 23 or 25 hours of clicks, its spend at that day's rate
    row = result.frame.iloc[0]
    assert len(result.frame) == 1 and day.start == day.end == today - timedelta(days=1)
    assert row["clicks"] == hours
    assert row["spend"] == pytest.approx(hours * float(rate(day.start)))
    assert row["cpc"] == pytest.approx(float(rate(day.start)))


def test_hours_of_a_fall_back_day_fold_the_repeated_hour_into_its_local_label(hourly_ads):
    # Given New York's 25-hour day, read by the hour
    workspace_id, _ = hourly_ads
    result = run_query(
        workspace_id,
        {
            "metrics": ["clicks"],
            "grain": "hour",
            "time_range": {"start": str(FALL), "end": str(FALL)},
        },
    )
    # Then 24 local hours, 01:00 twice as long, and every click is there
    clicks = dict(zip(result.frame["hour"], result.frame["clicks"], strict=True))
    assert len(clicks) == 24 and clicks["2026-11-01 01:00"] == 2
    assert sum(clicks.values()) == 25


def test_days_are_the_workspace_days_not_the_ad_accounts(hourly_ads):
    # Given an account in Berlin time, and a workspace in New York time
    workspace_id, _ = hourly_ads
    # When two New York days are asked by day
    result = run_query(
        workspace_id,
        {
            "metrics": ["clicks", "spend"],
            "grain": "day",
            "time_range": {"start": str(FALL - timedelta(days=1)), "end": str(FALL)},
        },
    )
    # Then each is a New York day (24 and 25 hours), converted at its own day's rate
    frame = result.frame.set_index("day")
    assert list(frame["clicks"]) == [24, 25]
    assert frame.loc[str(FALL), "spend"] == pytest.approx(25 * float(rate(FALL)))
    before = FALL - timedelta(days=1)
    assert frame.loc[str(before), "spend"] == pytest.approx(24 * float(rate(before)))


def test_an_empty_range_gives_zero_sums_null_ratios_and_no_split_rows(hourly_ads):
    # Given a range without any row
    workspace_id, _ = hourly_ads
    empty = {"start": "2026-06-01", "end": "2026-06-03"}
    # When it is asked as a total, by day and by ad
    total = run_query(workspace_id, {"metrics": ["spend", "cpc"], "time_range": empty})
    by_day = run_query(workspace_id, {"metrics": ["spend"], "grain": "day", "time_range": empty})
    by_ad = run_query(
        workspace_id, {"metrics": ["spend"], "dimensions": ["ad"], "time_range": empty}
    )
    # Then the total is 0 with a null CPC, every day shows 0, and there is no ad row
    assert total.frame["spend"].iloc[0] == 0 and pd.isna(total.frame["cpc"].iloc[0])
    assert list(by_day.frame["spend"]) == [0, 0, 0]
    assert by_ad.frame.empty


def test_a_comparison_period_without_rows_compares_the_same_ads_as_empty(hourly_ads):
    # Given an ad with spend on FALL, and nothing at all in June
    workspace_id, ad = hourly_ads
    # When FALL by ad is compared with a June day
    result = run_query(
        workspace_id,
        {
            "metrics": ["spend", "cpc"],
            "dimensions": ["ad"],
            "time_range": {"start": str(FALL), "end": str(FALL)},
            "compare_range": {"start": "2026-06-01", "end": "2026-06-01"},
        },
    )
    # Then the comparison names the same ad, with no figures
    compare = result.compare_frame
    assert list(compare["ad_id"]) == [ad] and list(compare["ad"]) == ["Ad"]
    assert compare[["spend", "cpc"]].isna().all().all()


def test_a_missing_rate_for_ad_money_names_the_day_but_clicks_need_none(hourly_ads):
    # Given the rate of one day removed
    workspace_id, _ = hourly_ads
    with transaction() as session:
        session.execute(text("DELETE FROM fx_rates WHERE day = :d"), {"d": FALL})
    week = {"start": str(FALL - timedelta(days=1)), "end": str(FALL + timedelta(days=1))}
    # When spend is asked over it, then an error names the day
    with pytest.raises(MissingFxRateError, match="EUR→USD on 2026-11-01 "):
        run_query(
            workspace_id, {"metrics": ["spend"], "time_range": week, "dimensions": ["campaign"]}
        )
    # And clicks alone convert nothing, so they need no rate
    clicks = run_query(workspace_id, {"metrics": ["clicks"], "time_range": week})
    assert clicks.frame["clicks"].iloc[0] == 24 + 25 + 24


@pytest.mark.parametrize("dimensions", [[], ["campaign"], ["ad"]])
def test_a_workspace_in_its_accounts_currency_needs_no_rate_at_all(hourly_ads, dimensions):
    # Given the workspace switched to the account's currency (EUR), and no rate left
    workspace_id, _ = hourly_ads
    with transaction() as session:
        session.execute(
            text("UPDATE workspaces SET currency = 'EUR' WHERE id = :w"), {"w": workspace_id}
        )
        session.execute(text("DELETE FROM fx_rates"))
    week = {"start": str(FALL - timedelta(days=1)), "end": str(FALL + timedelta(days=1))}
    # When spend is asked over three days, from each rollup
    result = run_query(
        workspace_id, {"metrics": ["spend", "cpc"], "time_range": week, "dimensions": dimensions}
    )
    # Then it is the euros themselves: one per hour, unconverted
    assert result.currency == "EUR"
    assert result.frame["spend"].iloc[0] == 24 + 25 + 24
    assert result.frame["cpc"].iloc[0] == 1


def test_a_missing_rate_beyond_the_top_n_still_fails_the_ranking(hourly_ads, admin):
    # Given a second ad account in USD that outspends the EUR one, whose rate of a day is gone
    from metricx.services.connections import add_connection

    workspace_id, _ = hourly_ads
    connection = add_connection(admin, "google", "555-000-1111", "tok")
    with transaction() as session:
        ids = upsert_entities(
            session,
            workspace_id,
            connection.id,
            [
                EntityRecord("account", "g1", None, "G", "ACTIVE", None, None),
                EntityRecord("campaign", "g2", "g1", "Search", "ACTIVE", None, None),
                EntityRecord("adset", "g3", "g2", "Group", "ACTIVE", None, None),
                EntityRecord("ad", "g4", "g3", "Text ad", "ACTIVE", None, None),
            ],
        )
        big = Totals(spend=Decimal(100), impressions=10, clicks=1)
        snapshots.replace_days(
            session,
            workspace_id,
            "America/New_York",
            [ids[("ad", "g4")]],
            [FALL],
            {(ids[("ad", "g4")], FALL): {12: big}},
        )
        session.execute(text("DELETE FROM fx_rates WHERE day = :d"), {"d": FALL})
    # When only the top ad by spend is asked (the USD one: the EUR ad is cut by the limit)
    query = {
        "metrics": ["spend"],
        "dimensions": ["ad"],
        "limit": 1,
        "time_range": {"start": str(FALL), "end": str(FALL)},
    }
    # Then the query still fails on the EUR ad's missing rate: its rank could not be known
    with pytest.raises(MissingFxRateError, match="EUR→USD on 2026-11-01"):
        run_query(workspace_id, query)
    with transaction() as session:
        session.add(
            FxRate(
                workspace_id=workspace_id,
                day=FALL,
                from_currency="EUR",
                to_currency="USD",
                rate=rate(FALL),
            )
        )
    top = run_query(workspace_id, query).frame
    assert list(top["ad"]) == ["Text ad"] and top["spend"].iloc[0] == 100


@pytest.mark.parametrize("limit", [3, None])
def test_a_top_n_breaks_ties_by_name_in_code_point_order_then_by_id(hourly_ads, limit):
    # Given six more ads that spent the same on FALL, two of them with the same name
    workspace_id, ad = hourly_ads
    names = ["b ad", "Twin", "Ä ad", "B ad", "a ad", "Twin"]
    with transaction() as session:
        connection_id = session.scalar(
            text("SELECT connection_id FROM entities WHERE id = :a"), {"a": ad}
        )
        ids = upsert_entities(
            session,
            workspace_id,
            connection_id,
            [
                EntityRecord("ad", f"t{i}", "3", name, "ACTIVE", None, None)
                for i, name in enumerate(names)
            ],
        )
        tied = [ids[("ad", f"t{i}")] for i in range(len(names))]
        five = Totals(spend=Decimal(5), impressions=10, clicks=1)
        snapshots.replace_days(
            session,
            workspace_id,
            "Europe/Berlin",
            tied,
            [FALL],
            {(t, FALL): {12: five} for t in tied},
        )
    # When the top ads by spend are asked, cut between the twins (limit 3), or all of them
    query = {
        "metrics": ["spend"],
        "dimensions": ["ad"],
        "order_by": {"metric": "spend"},
        "time_range": {"start": str(FALL), "end": str(FALL)},
        "limit": limit,
    }
    frame = run_query(workspace_id, query).frame
    # Then the biggest first, then the tied ones by name in code-point order (capitals before
    # lower case, accents last), then by id
    twins = sorted(t for t, name in zip(tied, names, strict=True) if name == "Twin")
    want = [
        ("Ad", ad),
        ("B ad", tied[3]),
        ("Twin", twins[0]),
        ("Twin", twins[1]),
        ("a ad", tied[4]),
        ("b ad", tied[0]),
        ("Ä ad", tied[2]),
    ][:limit]
    assert list(zip(frame["ad"], frame["ad_id"], strict=True)) == want
    assert set(frame["spend"].iloc[1:]) == {float(5 * rate(FALL))}  # exact sums: equal


def test_a_missing_rate_for_store_money_names_the_day(workspace, admin):
    # Given a shop in euros with one order on a day without a EUR→USD rate
    from metricx.services.connections import add_connection

    connection = add_connection(admin, "shopify", "acme.myshopify.com", "tok")
    shop = shopify.upsert_shop(
        workspace.id, connection.id, ShopInfo("acme.myshopify.com", "Acme", "EUR", "Europe/Berlin")
    )
    at = datetime(2026, 11, 1, 15, tzinfo=UTC)
    shopify.write_orders(
        shop,
        [
            OrderRecord(
                "1",
                "#1",
                "EUR",
                at,
                at,
                at,
                None,
                False,
                None,
                Decimal(100),
                Decimal(0),
                Decimal(5),
                Decimal(19),
                Decimal(0),
                Decimal(124),
                (),
                (),
                None,
            )
        ],
    )
    # When store revenue is asked, then an error names the day
    with pytest.raises(MissingFxRateError, match="EUR→USD on 2026-11-01"):
        run_query(
            workspace.id,
            {
                "metrics": ["store_revenue"],
                "time_range": {"start": "2026-11-01", "end": "2026-11-01"},
            },
        )
    # And with the rate in place, the order is converted at it
    with transaction() as session:
        session.add(
            FxRate(
                workspace_id=workspace.id,
                day=date(2026, 11, 1),
                from_currency="EUR",
                to_currency="USD",
                rate=Decimal("1.1"),
            )
        )
    result = run_query(
        workspace.id,
        {
            "metrics": ["store_revenue", "orders"],
            "time_range": {"start": "2026-11-01", "end": "2026-11-01"},
        },
    )
    assert result.frame["store_revenue"].iloc[0] == pytest.approx(105 * 1.1)
    assert result.frame["orders"].iloc[0] == 1


def test_a_result_survives_the_page_cache_and_shows_its_sql_on_demand(hourly_ads):
    # Given a result (pages keep them in st.cache_data, which pickles them)
    workspace_id, _ = hourly_ads
    result = run_query(
        workspace_id,
        {
            "metrics": ["spend"],
            "dimensions": ["campaign"],
            "time_range": {"start": str(FALL), "end": str(FALL)},
        },
    )
    # When it is pickled and read back
    again = pickle.loads(pickle.dumps(result))
    # Then it holds the same rows, and the SQL it ran compiles when asked for
    pd.testing.assert_frame_equal(again.frame, result.frame)
    assert "metric_daily_campaign" in again.sql[0] and "%(ws)s" in again.sql[0]
