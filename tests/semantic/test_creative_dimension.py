"""The `creative` dimension and the creative filters, through the one engine, against the rows
written here, read back the test's own way (pandas over what was written).

The workspace is in New York (USD). One Meta account has four ads under one ad set: two share
the video creative "Hook A", one shows the image creative "Still B", one has no creative
(synced before creatives were read). Each ad has one snapshot row per day in the day's last
quarter hour, where the sync puts what Meta reports per day, so the rollups hold exactly those
sums.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update

from metricx.connectors.records import EntityRecord, OrderRecord, ShopInfo
from metricx.db import transaction
from metricx.models import (
    Attribution,
    Connection,
    Creative,
    Entity,
    MetricSnapshot,
    ShopifyOrder,
)
from metricx.semantic.dates import utc_bounds
from metricx.semantic.engine import run_query
from metricx.semantic.query import NO_CREATIVE, QueryValidationError, SemanticQuery, TimeRange
from metricx.sync import rollup, shopify, snapshots
from metricx.sync.entities import upsert_entities
from metricx.totals import METRIC_COLUMNS as FACT_COLUMNS
from metricx.totals import Totals

METRIC_COLUMNS = list(FACT_COLUMNS)

TZ = "America/New_York"
FIRST = date(2026, 11, 2)  # a Monday
DAYS = [FIRST + timedelta(days=i) for i in range(14)]  # two whole weeks
WHOLE = {"start": DAYS[0].isoformat(), "end": DAYS[-1].isoformat()}


@dataclass(frozen=True)
class Written:
    """One snapshot row as written: its ad, local day and sums."""

    ad: str
    day: date
    totals: Totals


@dataclass(frozen=True)
class Account:
    workspace_id: int
    ads: dict[str, int]  # ad name -> entity id
    creatives: dict[str, int]  # creative name -> creatives.id
    creative_of: dict[str, str | None]  # ad name -> creative name
    rows: list[Written]


def _totals(ad: int, day: int, video: bool) -> Totals:
    """Varied sums per ad and day; only video ads have plays."""
    impressions = 1000 + 37 * ad + 11 * day
    plays = (impressions * (20 + ad + day % 3)) // 100 if video else 0
    thru = plays * (30 + day % 5) // 100
    return Totals(
        spend=Decimal(10 + ad + day) + Decimal("0.25"),
        impressions=impressions,
        clicks=10 + (ad * day) % 9,
        conversions=Decimal(day % 3),
        conversion_value=Decimal(40 * (day % 3)),
        video_plays=plays + plays // 3,
        video_3s_plays=plays,
        thruplays=thru,
        video_p25=plays * 8 // 10,
        video_p50=plays * 6 // 10,
        video_p75=plays * 4 // 10,
        video_p100=plays * 2 // 10,
        video_seconds=Decimal(plays * 6) + Decimal("0.5") if plays else Decimal(0),
    )


def seed_account(
    admin: Any,
    workspace_id: int,
    account: str,
    creatives: dict[str, str],
    creative_of: dict[str, str | None],
    days: list[date] = DAYS,
    totals: Any = _totals,
    currency: str = "USD",
    provider: str = "meta",
) -> Account:
    """A Meta account of `workspace_id` with one ad per `creative_of` key, the creatives
    (name -> format) stored and linked, and a row per ad and day (`totals(ad, day, video)`)."""
    from metricx.services.connections import add_connection

    connection = add_connection(admin, provider, account, "tok")
    records = [
        EntityRecord("account", "acc", None, f"{account} account", "ACTIVE", None, None),
        EntityRecord("campaign", "cmp", "acc", "Prospecting", "ACTIVE", None, None),
        EntityRecord("adset", "set", "cmp", "Broad", "ACTIVE", None, None),
        *(EntityRecord("ad", name, "set", name, "ACTIVE", None, None) for name in creative_of),
    ]
    with transaction() as session:
        session.execute(
            update(Connection)
            .where(Connection.id == connection.id)
            .values(currency=currency, timezone=TZ)
        )
        ids = upsert_entities(session, workspace_id, connection.id, records)
        ads = {name: ids[("ad", name)] for name in creative_of}
        creative_ids = {
            name: session.execute(
                insert(Creative)
                .values(
                    workspace_id=workspace_id,
                    connection_id=connection.id,
                    external_id=f"cr-{name}",
                    name=name,
                    format=fmt,
                )
                .returning(Creative.id)
            ).scalar_one()
            for name, fmt in creatives.items()
        }
        for ad, creative in creative_of.items():
            if creative is not None:
                session.execute(
                    update(Entity)
                    .where(Entity.id == ads[ad])
                    .values(creative_id=creative_ids[creative])
                )
    written = [
        Written(
            ad,
            day,
            totals(i, day.toordinal() % 17, creatives.get(creative or "") == "video"),
        )
        for i, (ad, creative) in enumerate(creative_of.items())
        for day in days
    ]
    write_rows(workspace_id, ads, written)
    return Account(workspace_id, ads, creative_ids, creative_of, written)


def write_rows(workspace_id: int, ads: dict[str, int], rows: list[Written]) -> None:
    """Each row in its day's last quarter hour (where Meta's per-day figures sit), rolled up."""

    def last_quarter(day: date) -> datetime:
        return utc_bounds(TimeRange(start=day, end=day), TZ)[1] - timedelta(minutes=15)

    with transaction() as session:
        snapshots.write_rows(
            session,
            [
                (workspace_id, ads[r.ad], last_quarter(r.day), "15m", *r.totals.values())
                for r in rows
            ],
        )
        days = [r.day for r in rows]
        rollup.refresh(
            session,
            workspace_id,
            list(ads.values()),
            utc_bounds(TimeRange(start=min(days), end=max(days)), TZ)[0],
            utc_bounds(TimeRange(start=min(days), end=max(days)), TZ)[1],
        )


@pytest.fixture
def account(workspace, admin) -> Account:
    return seed_account(
        admin,
        workspace.id,
        "act_1",
        {"Hook A": "video", "Still B": "image"},
        {"Ad 1": "Hook A", "Ad 2": "Hook A", "Ad 3": "Still B", "Ad 4": None},
    )


def written_frame(account: Account) -> pd.DataFrame:
    """What was written, one row per ad and day, with its creative and week: the reference."""
    return pd.DataFrame(
        [
            {
                "creative": account.creative_of[r.ad] or NO_CREATIVE,
                "creative_id": account.creatives.get(account.creative_of[r.ad] or ""),
                "format": {"Hook A": "video", "Still B": "image"}.get(
                    account.creative_of[r.ad] or ""
                ),
                "week": (r.day - timedelta(days=r.day.weekday())).isoformat(),
                "day": r.day,
                **{c: float(getattr(r.totals, c)) for c in METRIC_COLUMNS},
            }
            for r in account.rows
        ]
    )


def ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def expected_metrics(sums: pd.DataFrame | pd.Series, video: pd.Series | None = None) -> dict:
    """The video metrics as ratios of the sums; `video`: the sums of video-creative ads."""
    video = sums if video is None else video
    return {
        "spend": sums["spend"],
        "video_3s_plays": sums["video_3s_plays"],
        "thumb_stop_rate": ratio(video["video_3s_plays"], video["impressions"]),
        "hold_rate": ratio(sums["thruplays"], sums["video_3s_plays"]),
        "thruplay_rate": ratio(video["thruplays"], video["impressions"]),
        "completion_rate": ratio(sums["video_p100"], sums["video_3s_plays"]),
        "avg_watch_seconds": ratio(sums["video_seconds"], sums["video_plays"]),
        "cost_per_thruplay": ratio(sums["spend"], sums["thruplays"]),
    }


METRICS = list(expected_metrics(pd.Series(dict.fromkeys(METRIC_COLUMNS, 1.0))))


def ask(workspace_id: int, **query: Any):
    return run_query(workspace_id, {"metrics": METRICS, "time_range": WHOLE} | query)


def same(actual: Any, expected: float | None) -> bool:
    if expected is None:
        return actual is None or actual != actual  # NaN: empty
    return actual == pytest.approx(expected, rel=1e-9)


# --- the split --------------------------------------------------------------------------


def test_a_split_by_creative_and_week_is_the_written_sums_of_each_creatives_ads(account):
    # Given two weeks of rows of four ads: two sharing a video, one image, one without creative
    reference = written_frame(account)
    # When the engine splits the video metrics by creative and week
    result = ask(account.workspace_id, dimensions=["creative"], grain="week")
    # Then there is one row per creative and week, ads without creative under "(no creative)"
    frame = result.frame
    assert list(frame.columns[:3]) == ["creative", "creative_id", "week"]
    assert sorted(set(frame["creative"])) == sorted(["Hook A", "Still B", NO_CREATIVE])
    assert len(frame) == 3 * 2
    # and every value is the ratio of the written sums of that creative's ads in that week
    for row in frame.to_dict("records"):
        rows = reference[
            (reference["creative"] == row["creative"]) & (reference["week"] == row["week"])
        ]
        sums = rows[METRIC_COLUMNS].sum()
        video = rows[rows["format"] == "video"][METRIC_COLUMNS].sum()
        expected_id = account.creatives.get(row["creative"])
        assert (row["creative_id"] == expected_id) or (
            expected_id is None and pd.isna(row["creative_id"])
        )
        for metric, value in expected_metrics(sums, video).items():
            assert same(row[metric], value), (row["creative"], row["week"], metric)


def test_an_image_creative_has_no_thumb_stop_rate_rather_than_a_zero_one(account):
    # Given an image creative with impressions and no plays
    # When its video ratios are asked
    result = ask(account.workspace_id, dimensions=["creative"])
    still = result.frame.set_index("creative").loc["Still B"]
    # Then they are empty (no video impressions, no plays), never 0 %
    for metric in ("thumb_stop_rate", "hold_rate", "thruplay_rate", "completion_rate"):
        assert pd.isna(still[metric]), metric
    assert pd.isna(still["avg_watch_seconds"]) and pd.isna(still["cost_per_thruplay"])
    # while its spend still counts
    assert still["spend"] > 0


def test_the_thumb_stop_rate_of_a_mix_counts_only_the_video_ads_impressions(account):
    # Given the whole account: video, image and creative-less ads together
    reference = written_frame(account)
    # When the total is asked (no split)
    total = ask(account.workspace_id).frame.iloc[0]
    # Then the thumb-stop rate divides by the video ads' impressions, not every impression
    video = reference[reference["format"] == "video"]
    assert total["thumb_stop_rate"] == pytest.approx(
        video["video_3s_plays"].sum() / video["impressions"].sum()
    )
    assert (
        total["thumb_stop_rate"]
        > reference["video_3s_plays"].sum() / reference["impressions"].sum()
    )
    # and the hold rate stays ThruPlays over every 3-second play
    assert total["hold_rate"] == pytest.approx(
        reference["thruplays"].sum() / reference["video_3s_plays"].sum()
    )


def test_a_video_of_a_platform_whose_plays_are_not_read_has_no_thumb_stop_rate(account, admin):
    # Given a Google video ad with impressions beside the Meta account (Metricx reads no
    # Google video plays, so its rows have none)
    def no_plays(ad: int, day: int, video: bool) -> Totals:
        return _totals(ad, day, False)

    seed_account(
        admin,
        account.workspace_id,
        "1234567890",
        {"Bumper": "video"},
        {"Bumper ad": "Bumper"},
        totals=no_plays,
        provider="google",
    )
    meta = written_frame(account)
    # When the thumb-stop rate is asked by creative and in total
    by_creative = ask(account.workspace_id, dimensions=["creative"]).frame.set_index("creative")
    total = ask(account.workspace_id).frame.iloc[0]
    # Then the Google video reads empty rather than a 0 % hook, and the total is Meta's videos'
    assert pd.isna(by_creative.loc["Bumper", "thumb_stop_rate"])
    video = meta[meta["format"] == "video"]
    assert total["thumb_stop_rate"] == pytest.approx(
        video["video_3s_plays"].sum() / video["impressions"].sum()
    )


def test_the_creative_splits_with_campaign_and_provider_and_sums_back_to_the_total(account):
    # Given the account
    # When split by provider, campaign and creative, per day
    split = ask(
        account.workspace_id, dimensions=["provider", "campaign", "creative"], grain="day"
    ).frame
    total = ask(account.workspace_id).frame.iloc[0]
    # Then each row names all three, and the additive metrics add up to the total
    assert set(split["provider"]) == {"meta"} and set(split["campaign"]) == {"Prospecting"}
    assert len(split) == 3 * len(DAYS)
    for metric in ("spend", "video_3s_plays"):
        assert split[metric].sum() == pytest.approx(total[metric])


def test_top_creatives_by_spend_rank_and_cut_as_the_written_spend_says(account):
    # Given the written spend per creative
    reference = written_frame(account).groupby("creative")["spend"].sum()
    # When the top 2 creatives by spend are asked
    frame = ask(
        account.workspace_id,
        dimensions=["creative"],
        order_by={"metric": "spend", "direction": "desc"},
        limit=2,
    ).frame
    # Then they are the two largest, largest first
    assert list(frame["creative"]) == list(reference.sort_values(ascending=False).index[:2])
    assert list(frame["spend"]) == pytest.approx(list(reference.sort_values(ascending=False)[:2]))


def test_a_comparison_period_aligns_rows_by_creative(account):
    # Given two weeks
    week = {"start": DAYS[7].isoformat(), "end": DAYS[13].isoformat()}
    before = {"start": DAYS[0].isoformat(), "end": DAYS[6].isoformat()}
    reference = written_frame(account)
    # When the second week is compared with the first, split by creative
    result = run_query(
        account.workspace_id,
        {
            "metrics": ["spend", "thumb_stop_rate"],
            "time_range": week,
            "compare_range": before,
            "dimensions": ["creative"],
        },
    )
    # Then each compared row is the same creative's first week
    assert result.compare_frame is not None
    first = reference[reference["day"] <= DAYS[6]].groupby("creative")["spend"].sum()
    for (_, shown), (_, compared) in zip(
        result.frame.iterrows(), result.compare_frame.iterrows(), strict=True
    ):
        assert compared["creative"] == shown["creative"]
        assert compared["spend"] == pytest.approx(first[shown["creative"]])


_count = st.integers(min_value=0, max_value=5_000)


@st.composite
def _video_totals(draw: st.DrawFn) -> Totals:
    """One ad's day: any impressions, plays at most the impressions, and a funnel that only
    narrows (zeros included, so some denominators are 0)."""
    impressions = draw(_count)
    plays = draw(st.integers(min_value=0, max_value=impressions))
    quarters = sorted(
        (draw(st.integers(min_value=0, max_value=plays)) for _ in range(4)), reverse=True
    )
    return Totals(
        spend=Decimal(draw(st.integers(min_value=0, max_value=50_000))) / 100,
        impressions=impressions,
        video_plays=plays + draw(st.integers(min_value=0, max_value=impressions - plays)),
        video_3s_plays=plays,
        thruplays=draw(st.integers(min_value=0, max_value=plays)),
        video_p25=quarters[0],
        video_p50=quarters[1],
        video_p75=quarters[2],
        video_p100=quarters[3],
        video_seconds=Decimal(draw(st.integers(min_value=0, max_value=plays * 60))) / 4,
    )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(days=st.lists(st.lists(_video_totals(), min_size=4, max_size=4), min_size=1, max_size=3))
def test_every_video_ratio_is_the_ratio_of_the_sums_of_its_creatives_rows(account, days):
    # Given any rows for the four ads over one to three days (the account's rows replaced)
    rows = [
        Written(ad, DAYS[d], totals)
        for d, per_ad in enumerate(days)
        for ad, totals in zip(account.creative_of, per_ad, strict=True)
    ]
    with transaction() as session:
        session.execute(
            delete(MetricSnapshot).where(MetricSnapshot.workspace_id == account.workspace_id)
        )
    write_rows(account.workspace_id, account.ads, rows)
    written = written_frame(Account(**{**account.__dict__, "rows": rows}))
    # When the video metrics are split by creative over those days
    span = {"start": DAYS[0].isoformat(), "end": DAYS[len(days) - 1].isoformat()}
    frame = ask(account.workspace_id, dimensions=["creative"], time_range=span).frame
    # Then each is the ratio of its creative's sums (video impressions for the per-impression
    # rates), empty where the denominator is 0; a creative whose rows are all 0 may show none
    assert set(frame["creative"]) <= set(written["creative"])
    unshown = written[~written["creative"].isin(frame["creative"])]
    assert (unshown[METRIC_COLUMNS] == 0).all().all()
    for row in frame.to_dict("records"):
        mine = written[written["creative"] == row["creative"]]
        video = mine[mine["format"] == "video"][METRIC_COLUMNS].sum()
        for metric, value in expected_metrics(mine[METRIC_COLUMNS].sum(), video).items():
            assert same(row[metric], value), (row["creative"], metric)


def test_attributed_credits_split_by_the_credited_ads_creative(account, admin):
    # Given two orders, one credited to an ad of the video creative, one to the campaign
    # (a UTM naming only the campaign)
    from metricx.services.connections import add_connection

    connection = add_connection(admin, "shopify", "acme.myshopify.com", "tok")
    shop = shopify.upsert_shop(
        account.workspace_id,
        connection.id,
        ShopInfo("acme.myshopify.com", "Acme", "USD", TZ),
    )
    at = utc_bounds(TimeRange(start=DAYS[3], end=DAYS[3]), TZ)[0] + timedelta(hours=12)
    shopify.write_orders(
        shop,
        [
            OrderRecord(
                f"o{n}",
                f"#{n}",
                "USD",
                at,
                at,
                at,
                None,
                False,
                f"c{n}",
                Decimal(gross),
                Decimal(0),
                Decimal(0),
                Decimal(0),
                Decimal(0),
                Decimal(gross),
                (),
                (),
                None,
            )
            for n, gross in ((1, 80), (2, 50))
        ],
    )
    with transaction() as session:
        orders = dict(
            session.execute(
                select(ShopifyOrder.external_id, ShopifyOrder.id).where(
                    ShopifyOrder.workspace_id == account.workspace_id
                )
            ).all()
        )
        campaign = session.execute(
            select(Entity.id).where(
                Entity.workspace_id == account.workspace_id, Entity.level == "campaign"
            )
        ).scalar_one()
        for order, entity, revenue in (
            ("o1", account.ads["Ad 1"], 80),
            ("o2", campaign, 50),
        ):
            session.add(
                Attribution(
                    workspace_id=account.workspace_id,
                    order_id=orders[order],
                    entity_id=entity,
                    model="last_click",
                    window_days=28,
                    mode="cash",
                    credited_at=at,
                    credit=Decimal(1),
                    revenue=Decimal(revenue),
                )
            )
    # When attributed revenue and spend are split by creative
    frame = run_query(
        account.workspace_id,
        {
            "metrics": ["spend", "attributed_revenue"],
            "time_range": WHOLE,
            "dimensions": ["creative"],
        },
    ).frame.set_index("creative")
    # Then the ad's credit is its creative's, the campaign's credit has no creative
    assert frame.loc["Hook A", "attributed_revenue"] == pytest.approx(80)
    assert frame.loc[NO_CREATIVE, "attributed_revenue"] == pytest.approx(50)
    assert frame.loc["Still B", "attributed_revenue"] == 0
    spend = written_frame(account).groupby("creative")["spend"].sum()
    assert frame.loc[NO_CREATIVE, "spend"] == pytest.approx(spend[NO_CREATIVE])


# --- filters ----------------------------------------------------------------------------


def test_a_format_filter_keeps_only_the_ads_of_creatives_of_that_format(account):
    # Given the account
    reference = written_frame(account)
    # When only video creatives are asked, with no split
    total = ask(account.workspace_id, filters={"creative_format": ["video"]}).frame.iloc[0]
    # Then the sums are those of the video ads alone (the creative-less ad matches no format)
    video = reference[reference["format"] == "video"]
    assert total["spend"] == pytest.approx(video["spend"].sum())
    assert total["video_3s_plays"] == pytest.approx(video["video_3s_plays"].sum())


def test_a_creative_id_filter_keeps_that_creatives_rows_and_an_unknown_id_matches_nothing(
    account,
):
    # Given the image creative's id
    still = account.creatives["Still B"]
    reference = written_frame(account)
    # When filtered by it, split by creative
    frame = ask(
        account.workspace_id, dimensions=["creative"], filters={"creative_ids": [still]}
    ).frame
    # Then only that creative shows, with its own spend
    assert list(frame["creative"]) == ["Still B"]
    assert frame["spend"].iloc[0] == pytest.approx(
        reference[reference["creative"] == "Still B"]["spend"].sum()
    )
    # and an id no creative of the workspace has matches no row
    assert ask(
        account.workspace_id, dimensions=["creative"], filters={"creative_ids": [still + 10_000]}
    ).frame.empty


@pytest.mark.parametrize(
    ("filters", "problem"),
    [
        ({"creative_format": ["gif"]}, "unknown creative format 'gif'; expected 'image' or"),
        ({"creative_format": []}, "the creative format list is empty"),
        ({"creative_ids": [0]}, "creative ids are positive integers"),
        ({"creative_ids": [3, 3]}, "creative id 3 is listed twice"),
    ],
)
def test_bad_creative_filters_are_refused_with_a_sentence(filters, problem):
    # Given a query with a bad creative filter
    query = {"metrics": ["spend"], "time_range": WHOLE, "filters": filters}
    # When it is validated
    # Then it is refused, naming the problem
    with pytest.raises(QueryValidationError, match=problem):
        SemanticQuery.parse(query)


@pytest.mark.parametrize(
    ("metric", "said"),
    [
        ("orders", "store-level metrics (orders) are incompatible with ad dimensions (creative)"),
        ("email_revenue", "email metrics (email_revenue) are incompatible with ad dimensions"),
    ],
)
def test_store_and_email_metrics_cannot_be_split_by_creative(metric, said):
    # Given a store or email metric split by creative
    query = {"metrics": [metric], "time_range": WHOLE, "dimensions": ["creative"]}
    # When it is validated
    # Then it is refused as for any ad dimension
    with pytest.raises(QueryValidationError, match=said.replace("(", r"\(").replace(")", r"\)")):
        SemanticQuery.parse(query)


def test_store_metrics_with_a_creative_filter_are_refused_naming_the_filter():
    query = {
        "metrics": ["orders"],
        "time_range": WHOLE,
        "filters": {"creative_format": ["video"]},
    }
    with pytest.raises(QueryValidationError, match="creative_format, creative_ids"):
        SemanticQuery.parse(query)


def test_creative_filters_stay_out_of_the_json_when_unset_and_normalise_sorted():
    # Given a query without creative filters and one with them unsorted
    plain = SemanticQuery.parse({"metrics": ["spend"], "time_range": WHOLE})
    given = SemanticQuery.parse(
        {
            "metrics": ["spend"],
            "time_range": WHOLE,
            "dimensions": ["creative"],
            "filters": {"creative_format": ["video", "image"], "creative_ids": [9, 2]},
        }
    )
    # Then the first's JSON has no creative keys, the second's normal form is sorted
    assert "creative" not in plain.to_json()
    assert given.normalised().filters.creative_format == ["image", "video"]
    assert given.normalised().filters.creative_ids == [2, 9]
    assert given.same_as(
        SemanticQuery.parse(
            {
                "metrics": ["spend"],
                "time_range": WHOLE,
                "dimensions": ["creative"],
                "filters": {"creative_format": ["image", "video"], "creative_ids": [2, 9]},
            }
        )
    )


# --- the tenant line --------------------------------------------------------------------


def test_another_workspaces_creatives_never_show_even_when_an_ad_names_one(
    account, other_workspace
):
    # Given another workspace with its own account, creatives and rows
    from metricx.services.users import actor_for, add_user

    other_admin = actor_for(
        add_user(other_workspace.id, "eve@globex.test", "correct horse battery", role="admin")
    )
    other = seed_account(
        other_admin,
        other_workspace.id,
        "act_2",
        {"Secret Launch": "video"},
        {"Their ad": "Secret Launch"},
        currency="EUR",
    )
    secret = other.creatives["Secret Launch"]
    # and an ad of ours that (by a bad write) points at their creative
    with transaction() as session:
        session.execute(
            update(Entity).where(Entity.id == account.ads["Ad 4"]).values(creative_id=secret)
        )
    reference = written_frame(account)
    # When we split by creative, and filter by their creative's id
    frame = ask(account.workspace_id, dimensions=["creative"]).frame
    filtered = ask(
        account.workspace_id, dimensions=["creative"], filters={"creative_ids": [secret]}
    )
    # Then their creative's name never shows, our ad counts as without creative
    assert "Secret Launch" not in set(frame["creative"])
    no_creative = frame.set_index("creative").loc[NO_CREATIVE]
    assert no_creative["spend"] == pytest.approx(
        reference[reference["creative"] == NO_CREATIVE]["spend"].sum()
    )
    # and their creative's id matches nothing of ours
    assert filtered.frame.empty
    # while they see only their own
    theirs = ask(other_workspace.id, dimensions=["creative"]).frame
    assert list(theirs["creative"]) == ["Secret Launch"]


# --- the command line -------------------------------------------------------------------


def test_metricx_query_splits_the_thumb_stop_rate_by_creative(account, ok):
    # Given the account
    reference = written_frame(account)
    video = reference[reference["creative"] == "Hook A"]
    query = {
        "metrics": ["spend", "thumb_stop_rate", "hold_rate"],
        "time_range": WHOLE,
        "dimensions": ["creative"],
        "filters": {"creative_format": ["video"]},
        "limit": 10,
    }
    # When `metricx query` is run with a split by creative
    output = json.loads(ok("query", "-w", "Acme", "--json", json.dumps(query)))
    # Then its columns name the creative and its id, and the rates are the sums' ratios
    assert output["columns"] == ["creative", "creative_id", "spend", "thumb_stop_rate", "hold_rate"]
    assert output["rows"] == [
        [
            "Hook A",
            account.creatives["Hook A"],
            pytest.approx(video["spend"].sum()),
            pytest.approx(video["video_3s_plays"].sum() / video["impressions"].sum()),
            pytest.approx(video["thruplays"].sum() / video["video_3s_plays"].sum()),
        ]
    ]
    assert "3-second video plays ÷ impressions" in output["meta"]["definitions"]["thumb_stop_rate"]
