"""Days cut at a clock time ("today so far") through the metric service, against the rows
written here, read back the test's own way.

The workspace is in New York (USD). A Google and a Meta ad (both in New York time and USD)
have a snapshot row every 15 minutes of each day below, except YESTERDAY, whose rows were
compacted into hours; the shop has an order in every hour at a different minute, every fifth
one refunded half an hour later, each by a new customer. Meta's conversions sit in the day's
last quarter hour, where the sync puts what Meta reports per day only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from metricx.connectors.records import EntityRecord, OrderRecord, RefundRecord, ShopInfo
from metricx.db import transaction
from metricx.models import Connection
from metricx.semantic.compiler import Shape, ad_source
from metricx.semantic.dates import compare_range_for, utc_bounds
from metricx.semantic.engine import run_query
from metricx.semantic.query import SemanticQuery, TimeRange
from metricx.semantic.result import MetricsResult
from metricx.sync import rollup, shopify, snapshots
from metricx.sync.entities import upsert_entities
from metricx.totals import Totals

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
TODAY, YESTERDAY = date(2026, 11, 10), date(2026, 11, 9)
FALL, SPRING = date(2026, 11, 1), date(2026, 3, 8)  # New York's 25- and 23-hour days
DAYS = (YESTERDAY, TODAY, FALL, SPRING)
QUARTER = timedelta(minutes=15)
AD_SUMS = ("spend", "impressions", "clicks", "conversions", "conversion_value")
STORE_SUMS = ("orders", "net_sales", "new_customers")


@dataclass(frozen=True)
class Row:
    """One snapshot row as written: its platform, bucket start (UTC) and sums."""

    provider: str
    start: datetime
    totals: Totals


@dataclass(frozen=True)
class Order:
    """One order as written (discount 1, shipping 2): when it was processed, its gross sales,
    and when and how much of it was refunded."""

    processed_at: datetime
    gross: int
    refunded_at: datetime | None = None
    refund: int = 0


@dataclass(frozen=True)
class Shop:
    workspace_id: int
    rows: list[Row]
    orders: list[Order]


def _local_day(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


def _ad_rows(provider: str, day: date) -> list[Row]:
    """Varied sums every quarter hour (every hour on YESTERDAY, compacted); Google converts
    through the day, Meta's conversions of the day sit in its last quarter hour."""
    start, end = utc_bounds(TimeRange(start=day, end=day), TZ)
    step = timedelta(hours=1) if day == YESTERDAY else QUARTER
    starts = [start + i * step for i in range((end - start) // step)]
    rows = []
    for i, at in enumerate(starts):
        converts = (i % 4 == 2) if provider == "google" else at == starts[-1]
        rows.append(
            Row(
                provider,
                at,
                Totals(
                    spend=Decimal(i % 7 + 1),
                    impressions=10 * (i % 5 + 1),
                    clicks=i % 3,
                    conversions=Decimal(3 if converts else 0),
                    conversion_value=Decimal(45 if converts else 0),
                ),
            )
        )
    return rows


def _orders(day: date) -> list[Order]:
    start, end = utc_bounds(TimeRange(start=day, end=day), TZ)
    orders = []
    for hour in range((end - start) // timedelta(hours=1)):
        at = start + timedelta(hours=hour, minutes=17 * hour % 60, seconds=30)
        if hour % 5 == 0:
            orders.append(Order(at, 10 + hour, at + timedelta(minutes=30), 3))
        else:
            orders.append(Order(at, 10 + hour))
    return orders


def _ad(admin, workspace_id: int, provider: str, account: str) -> int:
    from metricx.services.connections import add_connection

    connection = add_connection(admin, provider, account, "tok")
    with transaction() as session:
        session.execute(
            update(Connection)
            .where(Connection.id == connection.id)
            .values(currency="USD", timezone=TZ)
        )
        ids = upsert_entities(
            session,
            workspace_id,
            connection.id,
            [
                EntityRecord(
                    "account", f"{provider}1", None, f"{provider} account", "ACTIVE", None, None
                ),
                EntityRecord(
                    "campaign",
                    f"{provider}2",
                    f"{provider}1",
                    f"{provider} campaign",
                    "ACTIVE",
                    None,
                    None,
                ),
                EntityRecord("adset", f"{provider}3", f"{provider}2", "Set", "ACTIVE", None, None),
                EntityRecord("ad", f"{provider}4", f"{provider}3", "Ad", "ACTIVE", None, None),
            ],
        )
    return ids[("ad", f"{provider}4")]


@pytest.fixture
def shop(workspace, admin) -> Shop:
    from metricx.services.connections import add_connection

    rows, orders = [], []
    for provider, account in (("google", "555-000-1111"), ("meta", "act_9")):
        ad = _ad(admin, workspace.id, provider, account)
        mine = [row for day in DAYS for row in _ad_rows(provider, day)]
        with transaction() as session:
            snapshots.write_rows(
                session,
                [
                    (
                        workspace.id,
                        ad,
                        row.start,
                        "1h" if _local_day(row.start) == YESTERDAY else "15m",
                        *row.totals.values(),
                    )
                    for row in mine
                ],
            )
            rollup.refresh(
                session,
                workspace.id,
                [ad],
                min(r.start for r in mine),
                max(r.start for r in mine) + QUARTER,
            )
        rows += mine
    connection = add_connection(admin, "shopify", "acme.myshopify.com", "tok")
    store = shopify.upsert_shop(
        workspace.id, connection.id, ShopInfo("acme.myshopify.com", "Acme", "USD", TZ)
    )
    records = []
    for day in DAYS:
        for order in _orders(day):
            number = len(records)
            refunds = (
                (RefundRecord(f"r{number}", order.refunded_at, Decimal(order.refund)),)
                if order.refunded_at
                else ()
            )
            records.append(
                OrderRecord(
                    str(number),
                    f"#{number}",
                    "USD",
                    order.processed_at,
                    order.processed_at,
                    order.processed_at,
                    None,
                    False,
                    f"c{number}",
                    Decimal(order.gross),
                    Decimal(1),
                    Decimal(2),
                    Decimal(0),
                    Decimal(order.refund),
                    Decimal(order.gross + 1 - order.refund),
                    (),
                    refunds,
                    None,
                )
            )
            orders.append(order)
    shopify.write_orders(store, records)
    return Shop(workspace.id, rows, orders)


def cut_at(day: date, until: time | None) -> datetime:
    """The instant a day stops at (the end of the day when until is None)."""
    return utc_bounds(TimeRange(start=day, end=day, until=until), TZ)[1]


def reference(
    shop: Shop,
    first: date,
    last: date,
    until: time | None,
    before: bool = True,
    provider: str | None = None,
) -> dict[str, float]:
    """The sums of the rows of first..last that start before the cut (or, `before` False,
    those of the last day from the cut on): counted here, from what was written."""
    cut = cut_at(last, until)
    start = utc_bounds(TimeRange(start=first, end=last), TZ)[0]
    end = cut_at(last, None)

    def chosen(at: datetime) -> bool:
        return start <= at < cut if before else cut <= at < end

    rows = [r for r in shop.rows if chosen(r.start) and provider in (None, r.provider)]
    sums = {name: float(sum(getattr(r.totals, name) for r in rows)) for name in AD_SUMS}
    orders = [o for o in shop.orders if chosen(o.processed_at)]
    refunds = sum(o.refund for o in shop.orders if o.refunded_at and chosen(o.refunded_at))
    sums["orders"] = len(orders)
    sums["new_customers"] = len(orders)  # every order is a new customer's first
    sums["net_sales"] = sum(o.gross - 1 for o in orders) - refunds
    return sums


def ask(shop: Shop, metrics: list[str], time_range: TimeRange, **more) -> MetricsResult:
    return run_query(
        shop.workspace_id,
        {"metrics": metrics, "time_range": time_range.model_dump(mode="json"), **more},
    )


def day_until(day: date, until: time | None) -> TimeRange:
    return TimeRange(start=day, end=day, until=until)


ADDITIVE = ["spend", "impressions", "clicks", "orders", "net_sales", "new_customers"]


@pytest.mark.parametrize(
    ("day", "quarters", "hours"), [(TODAY, 56, 14), (FALL, 60, 15), (SPRING, 52, 13)]
)
def test_a_day_cut_at_14_counts_exactly_the_rows_before_14_local_time(shop, day, quarters, hours):
    # Given a day with a row every quarter hour and an order every hour (on FALL 01:00 comes
    # twice, on SPRING 02:00 never)
    # When it is asked until 14:00
    result = ask(shop, [*ADDITIVE, "cpc"], day_until(day, time(14)))
    # Then exactly the quarters and orders before 14:00 New York time count
    row = result.frame.iloc[0]
    want = reference(shop, day, day, time(14))
    assert (
        len(
            [
                r
                for r in shop.rows
                if r.provider == "google"
                and _local_day(r.start) == day
                and r.start < cut_at(day, time(14))
            ]
        )
        == quarters
    )
    assert row["orders"] == want["orders"] == hours
    for metric in ADDITIVE:
        assert row[metric] == pytest.approx(want[metric]), metric
    # And the ratio is the ratio of those sums
    assert row["cpc"] == pytest.approx(want["spend"] / want["clicks"])
    assert result.withheld == {}


def test_an_hourly_row_counts_when_its_hour_starts_before_the_cut(shop):
    # Given YESTERDAY compacted into hourly rows, and TODAY still in quarter hours
    # When both are asked until 14:30
    yesterday = ask(shop, ["impressions"], day_until(YESTERDAY, time(14, 30)))
    today = ask(shop, ["impressions"], day_until(TODAY, time(14, 30)))

    # Then YESTERDAY counts 15 whole hours (14:00-15:00 starts before 14:30), TODAY 58
    # quarters
    def impressions(rows: int) -> float:
        return float(sum(2 * 10 * (i % 5 + 1) for i in range(rows)))  # two ads

    assert yesterday.frame["impressions"].iloc[0] == impressions(15)
    assert today.frame["impressions"].iloc[0] == impressions(58)


def test_today_so_far_compares_with_yesterday_up_to_the_same_time(shop):
    # Given today so far, until 14:30, compared with the previous period
    today = day_until(TODAY, time(14, 30))
    before = compare_range_for("previous_period", today)
    # When the service answers
    result = run_query(
        shop.workspace_id,
        {
            "metrics": ["spend", "orders", "cpc"],
            "time_range": today.model_dump(mode="json"),
            "compare_range": before.model_dump(mode="json"),
        },
    )
    # Then the comparison is yesterday until 14:30, and counts only what came before then
    assert before == day_until(YESTERDAY, time(14, 30))
    now, then = result.frame.iloc[0], result.compare_frame.iloc[0]
    want_now = reference(shop, TODAY, TODAY, time(14, 30))
    want_then = reference(shop, YESTERDAY, YESTERDAY, time(14, 30))
    assert (now["spend"], now["orders"]) == (want_now["spend"], want_now["orders"])
    assert (then["spend"], then["orders"]) == (want_then["spend"], want_then["orders"])
    assert then["cpc"] == pytest.approx(want_then["spend"] / want_then["clicks"])


def test_whole_days_are_unchanged_without_until(shop):
    # Given two whole days (until None)
    days = TimeRange(start=YESTERDAY, end=TODAY)
    query = SemanticQuery.parse({"metrics": ADDITIVE, "time_range": days.model_dump(mode="json")})
    # When asked, then they are read from the daily rollups, and count every row of both
    assert "until" not in query.time_range.model_dump(mode="json")
    assert ad_source(Shape.of(query)) != "hour"
    row = ask(shop, ADDITIVE, days).frame.iloc[0]
    want = reference(shop, YESTERDAY, TODAY, None)
    for metric in ADDITIVE:
        assert row[metric] == pytest.approx(want[metric]), metric


@pytest.mark.parametrize("grain", ["day", "week", "month", "hour"])
@pytest.mark.parametrize("dimensions", [[], ["provider"], ["campaign"]])
def test_every_grain_and_split_counts_the_same_cut(shop, grain, dimensions):
    # Given YESTERDAY whole and TODAY until 09:45
    span = TimeRange(start=YESTERDAY, end=TODAY, until=time(9, 45))
    additive = ["spend", "clicks", *([] if dimensions else ["orders"])]  # store: no split
    # When asked by a time grain, split or not
    frame = ask(shop, [*additive, "cpc"], span, grain=grain, dimensions=dimensions).frame
    # Then the buckets add up to the reference's cut sums; no hour after the cut shows
    want = reference(shop, YESTERDAY, TODAY, time(9, 45))
    for metric in additive:
        assert frame[metric].sum() == pytest.approx(want[metric]), metric
    if grain == "day":
        today = frame[frame["day"] == str(TODAY)]
        assert today["spend"].sum() == pytest.approx(
            reference(shop, TODAY, TODAY, time(9, 45))["spend"]
        )
    if grain == "hour":
        assert max(frame["hour"]) == f"{TODAY} 09:00"


def test_meta_conversions_cut_within_a_day_are_withheld_not_undercounted(shop):
    # Given Meta's conversions of TODAY in its last quarter hour (reported per day only)
    span = day_until(TODAY, time(14))
    # When TODAY until 14:00 is asked for conversions, split by platform and as a total
    metrics = ["spend", "conversions", "roas"]
    by_platform = ask(shop, metrics, span, dimensions=["provider"])
    total = ask(shop, metrics, span)
    # Then Google's count (its hours carry them); Meta's, and the total, are empty, not 0
    rows = by_platform.frame.set_index("provider")
    google = reference(shop, TODAY, TODAY, time(14), provider="google")
    assert rows.loc["google", "conversions"] == google["conversions"] > 0
    assert rows.loc["google", "roas"] == pytest.approx(google["conversion_value"] / google["spend"])
    assert pd.isna(rows.loc["meta", "conversions"]) and pd.isna(rows.loc["meta", "roas"])
    assert pd.isna(total.frame["conversions"].iloc[0])
    # And spend, which Meta reports by the hour, still counts; the result says what is empty
    meta = reference(shop, TODAY, TODAY, time(14), provider="meta")
    assert rows.loc["meta", "spend"] == meta["spend"] > 0
    assert set(by_platform.withheld) == set(total.withheld) == {"conversions", "roas"}
    assert "Meta" in total.withheld["roas"]
    assert total.to_contract()["meta"]["withheld"] == total.withheld


def test_meta_conversions_count_when_the_cut_leaves_none_out(shop):
    # Given TODAY until 23:50: Meta's last quarter (23:45) starts before the cut
    span = day_until(TODAY, time(23, 50))
    # When conversions are asked, then every one counts and nothing is withheld
    result = ask(shop, ["conversions"], span)
    assert result.frame["conversions"].iloc[0] == reference(shop, TODAY, TODAY, None)["conversions"]
    assert result.withheld == {}
    # And by the hour nothing is withheld either: each hour shown is whole
    hourly = ask(shop, ["conversions"], day_until(TODAY, time(14)), grain="hour")
    assert hourly.withheld == {} and hourly.frame["conversions"].notna().all()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    day=st.sampled_from(DAYS),
    until=st.times().filter(lambda t: t != time(0)),
    grain=st.sampled_from([None, "day", "hour"]),
)
def test_a_cut_day_plus_the_rest_of_it_is_the_whole_day(shop, day, until, grain):
    # Given any cut of any day (DST days and a compacted day included)
    # When the day is asked until the cut and whole
    metrics = [*ADDITIVE, "cpc", "ctr", "aov"]
    part = ask(shop, metrics, day_until(day, until), grain=grain).frame
    whole = ask(shop, metrics, day_until(day, None)).frame.iloc[0]
    # Then the part is what came before the cut, and with the rest it makes the whole day
    before = reference(shop, day, day, until)
    rest = reference(shop, day, day, until, before=False)
    for metric in ADDITIVE:
        assert part[metric].sum() == pytest.approx(before[metric]), metric
        assert part[metric].sum() + rest[metric] == pytest.approx(whole[metric]), metric
    # And ratios are ratios of the part's sums (x/0 is empty)
    if grain is None:
        row = part.iloc[0]
        revenue = before["net_sales"] + 2 * before["orders"]  # store revenue adds shipping
        for metric, numerator, denominator in (
            ("cpc", before["spend"], before["clicks"]),
            ("ctr", before["clicks"], before["impressions"]),
            ("aov", revenue, before["orders"]),
        ):
            if denominator:
                assert row[metric] == pytest.approx(numerator / denominator), metric
            else:
                assert pd.isna(row[metric]), metric
