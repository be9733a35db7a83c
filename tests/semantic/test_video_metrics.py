"""The video metrics of the catalogue, and Meta's video facts in a day cut at a clock time.

Meta reports video plays per day only (its hourly breakdowns carry no video_* field), so the
sync puts a day's plays in the day's last quarter hour, like its purchases: a day cut at a
clock time cannot count them and the engine leaves them empty (named in `withheld`) rather
than undercounting. The workspace is in New York (USD); one Meta ad shows a video creative and
has a snapshot row every quarter hour of TODAY and YESTERDAY, delivery spread over the day,
the day's video facts in its last quarter hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import insert, update

from metricx.connectors.records import EntityRecord
from metricx.db import transaction
from metricx.models import Connection, Creative, Entity
from metricx.semantic import catalogue
from metricx.semantic.dates import utc_bounds
from metricx.semantic.engine import WITHHELD_NOTE, run_query
from metricx.semantic.query import TimeRange
from metricx.sync import rollup, snapshots
from metricx.sync.entities import upsert_entities
from metricx.totals import PER_DAY, VIDEO, Totals

TZ = "America/New_York"
TODAY, YESTERDAY = date(2026, 11, 10), date(2026, 11, 9)
QUARTER = timedelta(minutes=15)
VIDEO_METRICS = {
    "video_3s_plays": ("count", True),
    "thruplays": ("count", True),
    "video_p25": ("count", True),
    "video_p50": ("count", True),
    "video_p75": ("count", True),
    "video_p100": ("count", True),
    "thumb_stop_rate": ("percent", True),
    "hold_rate": ("percent", True),
    "thruplay_rate": ("percent", True),
    "completion_rate": ("percent", True),
    "avg_watch_seconds": ("count", True),
    "cost_per_thruplay": ("currency", False),
}


@dataclass(frozen=True)
class Row:
    start: datetime
    totals: Totals


@dataclass(frozen=True)
class VideoAd:
    workspace_id: int
    rows: list[Row]


def _day_rows(day: date) -> list[Row]:
    """Delivery every quarter hour; the day's video facts (and nothing else) in the last."""
    start, end = utc_bounds(TimeRange(start=day, end=day), TZ)
    starts = [start + i * QUARTER for i in range((end - start) // QUARTER)]
    rows = [
        Row(at, Totals(spend=Decimal(i % 7 + 1), impressions=40 * (i % 5 + 1), clicks=i % 3))
        for i, at in enumerate(starts)
    ]
    plays = 900 + day.day
    rows[-1] = Row(
        starts[-1],
        Totals(
            spend=Decimal(2),
            impressions=50,
            video_plays=plays + plays // 4,
            video_3s_plays=plays,
            thruplays=plays // 3,
            video_p25=plays // 2,
            video_p50=plays // 3,
            video_p75=plays // 4,
            video_p100=plays // 5,
            video_seconds=Decimal(plays * 7) + Decimal("0.75"),
        ),
    )
    return rows


@pytest.fixture
def video_ad(workspace, admin) -> VideoAd:
    from metricx.services.connections import add_connection

    connection = add_connection(admin, "meta", "act_7", "tok")
    with transaction() as session:
        session.execute(
            update(Connection)
            .where(Connection.id == connection.id)
            .values(currency="USD", timezone=TZ)
        )
        ids = upsert_entities(
            session,
            workspace.id,
            connection.id,
            [
                EntityRecord("account", "a", None, "Account", "ACTIVE", None, None),
                EntityRecord("campaign", "c", "a", "Launch", "ACTIVE", None, None),
                EntityRecord("adset", "s", "c", "Broad", "ACTIVE", None, None),
                EntityRecord("ad", "ad", "s", "Video ad", "ACTIVE", None, None),
            ],
        )
        creative = session.execute(
            insert(Creative)
            .values(
                workspace_id=workspace.id,
                connection_id=connection.id,
                external_id="cr1",
                name="Unboxing 15s",
                format="video",
            )
            .returning(Creative.id)
        ).scalar_one()
        ad = ids[("ad", "ad")]
        session.execute(update(Entity).where(Entity.id == ad).values(creative_id=creative))
        rows = [*_day_rows(YESTERDAY), *_day_rows(TODAY)]
        snapshots.write_rows(
            session, [(workspace.id, ad, r.start, "15m", *r.totals.values()) for r in rows]
        )
        rollup.refresh(session, workspace.id, [ad], rows[0].start, rows[-1].start + QUARTER)
    return VideoAd(workspace.id, rows)


def sums(ad: VideoAd, first: date, last: date, until: time | None = None) -> dict[str, float]:
    """The written sums of the rows starting in first..last (before the cut on the last)."""
    start, end = utc_bounds(TimeRange(start=first, end=last, until=until), TZ)
    chosen = [r.totals for r in ad.rows if start <= r.start < end]
    return {
        name: float(sum(getattr(t, name) for t in chosen))
        for name in ("spend", "impressions", *VIDEO)
    }


def ask(ad: VideoAd, span: TimeRange, **more):
    return run_query(
        ad.workspace_id,
        {
            "metrics": ["spend", "impressions", "video_3s_plays", "thumb_stop_rate", "hold_rate"],
            "time_range": span.model_dump(mode="json"),
            "dimensions": ["creative"],
            **more,
        },
    )


# --- the catalogue ----------------------------------------------------------------------


def test_the_catalogue_lists_each_video_metric_with_its_unit_and_direction():
    # Given the catalogue
    # Then every video metric of the contract is there, with the unit a reader formats it by
    # and whether more is better
    for metric_id, (unit, better) in VIDEO_METRICS.items():
        metric = catalogue.get_metric(metric_id)
        assert (metric.unit, metric.higher_is_better, metric.source) == (unit, better, "ads")
    # and seconds watched is a fact the averages are built from, not a metric of its own
    assert catalogue.FACTS["video_seconds"] == "ads"
    assert "video_seconds" not in catalogue.METRICS


@pytest.mark.parametrize(
    ("metric_id", "said"),
    [
        ("thumb_stop_rate", "3-second video plays ÷ impressions"),
        ("thumb_stop_rate", "hook rate"),
        ("thumb_stop_rate", "counted over ads whose creative is a video"),
        ("hold_rate", "ThruPlays ÷ 3-second video plays"),
        ("hold_rate", "that is the ThruPlay rate"),
        ("thruplay_rate", "ThruPlays ÷ impressions"),
        ("completion_rate", "video plays to 100% ÷ 3-second video plays"),
        ("avg_watch_seconds", "seconds watched ÷ video plays started"),
        ("avg_watch_seconds", "as Meta's 'video average play time'"),
        ("cost_per_thruplay", "spend ÷ ThruPlays"),
        ("video_3s_plays", "per day only"),
    ],
)
def test_each_definition_says_what_it_divides_by(metric_id, said):
    assert said in catalogue.get_metric(metric_id).definition


def test_the_per_impression_rates_read_the_video_ads_impressions_only():
    # Given the thumb-stop and ThruPlay rates
    # Then both their sums are restricted to video creatives; the per-play rates are not
    assert catalogue.facts_for(["thumb_stop_rate", "thruplay_rate"]) == (
        "video_3s_plays[creative_format=video]",
        "impressions[creative_format=video]",
        "thruplays[creative_format=video]",
    )
    assert set(catalogue.facts_for(["hold_rate", "avg_watch_seconds"])) == {
        "video_plays",
        "video_3s_plays",
        "thruplays",
        "video_seconds",
    }


def test_values_are_ratios_of_sums_and_empty_when_nothing_was_played():
    # Given a day with impressions but no play
    none = dict.fromkeys(("spend", "impressions", *VIDEO), 0) | {"impressions": 900, "spend": 5}
    restricted = {"video_3s_plays[creative_format=video]": 0, "thruplays[creative_format=video]": 0}
    sums_of = none | restricted | {"impressions[creative_format=video]": 900}
    # Then the thumb-stop rate is 0 (a video nobody stopped for), the per-play rates empty
    assert catalogue.compute("thumb_stop_rate", sums_of) == 0
    for metric in ("hold_rate", "completion_rate", "avg_watch_seconds", "cost_per_thruplay"):
        assert catalogue.compute(metric, sums_of) is None, metric
    # and an average watch time shows as seconds
    assert catalogue.format_value("avg_watch_seconds", Decimal("7.25")) == "7.25"
    assert catalogue.format_value("thumb_stop_rate", Decimal("0.3125")) == "31.25%"


# --- a day cut at a clock time ----------------------------------------------------------


def test_meta_video_facts_are_per_day_like_its_conversions():
    assert set(VIDEO) <= set(PER_DAY)


def test_meta_video_metrics_of_a_day_cut_at_a_clock_time_are_withheld_not_undercounted(video_ad):
    # Given today's rows, the day's plays in its last quarter hour
    span = TimeRange(start=TODAY, end=TODAY, until=time(14, 0))
    # When today so far (to 14:00) is split by creative
    result = ask(video_ad, span)
    row = result.frame.iloc[0]
    # Then delivery counts the rows before 14:00
    expected = sums(video_ad, TODAY, TODAY, time(14, 0))
    assert row["creative"] == "Unboxing 15s"
    assert row["impressions"] == pytest.approx(expected["impressions"])
    assert row["spend"] == pytest.approx(expected["spend"])
    # and every metric built on plays is empty, named with the reason
    for metric in ("video_3s_plays", "thumb_stop_rate", "hold_rate"):
        assert pd.isna(row[metric]), metric
        assert result.withheld[metric] == WITHHELD_NOTE
    assert "video plays" in WITHHELD_NOTE
    assert "spend" not in result.withheld and "impressions" not in result.withheld


def test_whole_days_count_every_play_of_meta(video_ad):
    # Given yesterday and today taken whole
    result = ask(video_ad, TimeRange(start=YESTERDAY, end=TODAY), grain="day")
    # Then each day's plays and rates are its written sums' and nothing is withheld
    assert result.withheld == {}
    for row in result.frame.to_dict("records"):
        day = date.fromisoformat(row["day"])
        expected = sums(video_ad, day, day)
        assert row["video_3s_plays"] == pytest.approx(expected["video_3s_plays"])
        assert row["thumb_stop_rate"] == pytest.approx(
            expected["video_3s_plays"] / expected["impressions"]
        )
        assert row["hold_rate"] == pytest.approx(expected["thruplays"] / expected["video_3s_plays"])


def test_by_the_hour_the_plays_sit_in_the_days_last_hour_of_their_creative(video_ad):
    # Given today by the hour, split by creative (read from the snapshot rows)
    result = ask(video_ad, TimeRange(start=TODAY, end=TODAY), grain="hour")
    frame = result.frame
    # Then every hour is the creative's, and only the last holds the day's plays
    assert set(frame["creative"]) == {"Unboxing 15s"}
    played = frame[frame["video_3s_plays"] > 0]
    assert list(played["hour"]) == [f"{TODAY} 23:00"]
    assert frame["video_3s_plays"].sum() == pytest.approx(
        sums(video_ad, TODAY, TODAY)["video_3s_plays"]
    )
