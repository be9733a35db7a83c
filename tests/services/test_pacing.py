"""Today's pacing on sandbox data against an independent computation from the raw rows.

Data: the `synced` sandbox workspace (USD, New York; one Meta account in EUR) holds hourly
rows up to yesterday; intraday syncs during today (Nov 20, 2026) add 15-minute rows.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pandas as pd
import pytest
from sandbox_fixtures import NOW, eur_rate
from sqlalchemy import delete, text

from metricx.db import get_engine, transaction
from metricx.models import FxRate
from metricx.semantic.engine import MissingFxRateError, run_query
from metricx.services.connections import list_connections
from metricx.services.pacing import QUARTER_HOUR, pacing
from metricx.sync.pipeline import sync_connection

TZ = "America/New_York"
TODAY, LAST_WEEK = date(2026, 11, 20), date(2026, 11, 13)
SYNC_TIMES = [NOW - timedelta(hours=3), NOW - timedelta(minutes=80), NOW]  # 07:07..10:07 local


def sync_ads(workspace_id: int, fakes, kind: str = "intraday", **window) -> None:
    for connection in list_connections(workspace_id):
        if connection.provider != "shopify":
            assert (
                sync_connection(workspace_id, connection.id, kind, now=fakes.now, **window).status
                == "success"
            )


@pytest.fixture
def intraday(synced, fakes):
    """`synced`, plus intraday syncs at 07:07, 08:47 and 10:07 local today."""
    workspace_id, _ = synced
    for moment in SYNC_TIMES:
        fakes.now = moment
        sync_ads(workspace_id, fakes)
    return workspace_id


def raw_rows(workspace_id: int, day: date) -> pd.DataFrame:
    """The day's snapshot rows, spend converted by hand: local start and end, spend, conv."""
    with get_engine().connect() as conn:
        rows = pd.read_sql(
            text("""
            SELECT s.bucket_start, s.granularity, s.spend, s.conversions, c.currency
            FROM metric_snapshots s JOIN entities e ON e.id = s.entity_id
            JOIN connections c ON c.id = e.connection_id WHERE s.workspace_id = :ws"""),
            conn,
            params={"ws": workspace_id},
        )
    rows["start"] = rows["bucket_start"].dt.tz_convert(TZ).dt.tz_localize(None)
    rows = rows[rows["start"].dt.date == day].copy()
    rows["end"] = rows["start"] + rows["granularity"].map(
        {"15m": timedelta(minutes=15), "1h": timedelta(hours=1)}
    )
    rate = rows["currency"].map(lambda c: float(eur_rate(day)) if c == "EUR" else 1.0)
    rows["spend"] = rows["spend"].astype(float) * rate
    rows["conversions"] = rows["conversions"].astype(float)
    return rows


def expected_at(
    rows: pd.DataFrame, clock: pd.Timestamp, now: pd.Timestamp | None = None
) -> tuple[float, float]:
    """Sums of the buckets that ended by `clock`; at `now`, of every bucket so far."""
    done = rows[(rows["end"] <= clock) | (rows["start"] < clock) & (clock == now)]
    return done["spend"].sum(), done["conversions"].sum()


def test_todays_15_minute_line_and_last_weeks_hourly_line_equal_the_raw_rows(intraday):
    # When the pacing of the synced workspace is read at 10:07 local
    result = pacing(intraday, now=NOW)
    # Then today is on a 15-minute clock up to now (an account west of New York brings its
    # compacted hourly rows of yesterday into the workspace's morning), last week is hourly
    today_rows, last_week_rows = raw_rows(intraday, TODAY), raw_rows(intraday, LAST_WEEK)
    assert set(today_rows["granularity"]) == {"15m", "1h"}
    assert set(last_week_rows["granularity"]) == {"1h"}
    assert (result.today.resolution, result.last_week.resolution) == (
        "15-minute and hourly",
        "hourly",
    )
    assert result.last_week.day == LAST_WEEK
    today_clocks = list(result.today.points["clock"])
    assert today_clocks[0] == pd.Timestamp(TODAY) and today_clocks[-1] == pd.Timestamp(
        "2026-11-20 10:07"
    )
    assert all(b - a == QUARTER_HOUR for a, b in pairwise(today_clocks[:-1]))
    assert len(result.last_week.points) == 25  # 00:00, 01:00 ... 24:00
    # And every point equals the cumulative sum of the raw rows that ended by then
    for line, rows in ((result.today, today_rows), (result.last_week, last_week_rows)):
        for point in line.points.itertuples():
            spend, conversions = expected_at(rows, point.clock, result.now)
            assert point.spend == pytest.approx(spend, rel=1e-9, abs=1e-9)
            assert point.conversions == pytest.approx(conversions, rel=1e-9, abs=1e-9)
    # And the last points are the days' totals as the metric engine reports them
    for line, day in ((result.today, TODAY), (result.last_week, LAST_WEEK)):
        total = run_query(
            intraday,
            {
                "metrics": ["spend", "conversions"],
                "time_range": {"start": str(day), "end": str(day)},
            },
        )
        assert line.points["spend"].iloc[-1] == pytest.approx(total.frame["spend"].iloc[0])
        assert line.points["conversions"].iloc[-1] == pytest.approx(
            total.frame["conversions"].iloc[0]
        )
    assert result.today.points["spend"].iloc[-1] > 0


def test_the_same_time_last_week_is_the_last_hour_before_now(intraday):
    result = pacing(intraday, now=NOW)
    so_far = result.now - pd.Timestamp(TODAY)
    then = result.last_week.by(so_far)
    assert then["clock"] == pd.Timestamp("2026-11-13 10:00")
    assert result.today.by(so_far)["clock"] == pd.Timestamp("2026-11-20 10:07")


def test_a_chart_frame_puts_both_lines_on_todays_clock(intraday):
    frame = pacing(intraday, now=NOW).chart_frame()
    assert set(frame["line"]) == {"Today (15-minute and hourly)", "Same weekday last week (hourly)"}
    assert set(frame["metric"]) == {"spend", "conversions"}
    assert (frame["clock"].dt.date >= TODAY).all()


def test_a_resync_of_today_makes_today_hourly_and_says_so(synced, fakes):
    # Given today written by a range resync (hourly rows) instead of intraday syncs
    workspace_id, _ = synced
    fakes.now = NOW
    sync_ads(workspace_id, fakes, "range", start=TODAY, end=TODAY)
    # Then today's line is hourly, and still equals the raw rows
    result = pacing(workspace_id, now=NOW)
    assert result.today.resolution == "hourly"
    assert list(result.today.points["clock"].dt.minute[:-1].unique()) == [0]
    rows = raw_rows(workspace_id, TODAY)
    for point in result.today.points.itertuples():
        assert point.spend == pytest.approx(expected_at(rows, point.clock, result.now)[0], abs=1e-9)


def test_a_missing_rate_for_today_is_named(intraday):
    with transaction() as session:
        session.execute(delete(FxRate).where(FxRate.day == TODAY))
    with pytest.raises(MissingFxRateError, match="EUR→USD on 2026-11-20"):
        pacing(intraday, now=NOW)


def test_another_workspace_sees_none_of_this_one(intraday, other_workspace):
    result = pacing(other_workspace.id, now=NOW)
    assert result.currency == "EUR"
    for line in (result.today, result.last_week):
        assert (line.points[["spend", "conversions"]] == 0).all().all()
