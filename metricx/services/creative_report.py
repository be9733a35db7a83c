"""The Creatives page's reads (docs/design.md "Creatives"): each creative as a card — its
metadata, its numbers over a period, its launch day and its fatigue verdict — and one
creative's detail: its ads, its weekly trend against cumulative impressions, its watch funnel.

Every number comes from the metric engine (`run_query` split by the `creative` dimension), so
spend is converted and ratios are ratios of sums exactly as everywhere else; only what a
creative is (format, platform, campaigns, ads) is read from the creatives and entities
tables, each statement inside the one workspace.

A creative's life is read over the last LIFETIME_DAYS days up to today (the longest daily
range the engine reads): its launch is its first day with impressions there, and the fatigue
rule (metricx.services.creative_fatigue) judges its weeks there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from metricx.connectors.records import CREATIVE_FORMATS
from metricx.db import new_session
from metricx.errors import InvalidInputError
from metricx.models import Connection, Creative, Entity
from metricx.semantic.engine import run_query
from metricx.semantic.query import MAX_DAILY_DAYS, TimeRange
from metricx.services.creative_fatigue import (
    CreativeWeek,
    FatigueVerdict,
    judge,
    with_cumulative_impressions,
)

#: The numbers a card shows, in its order.
CARD_METRICS = ("spend", "roas", "cpa", "ctr", "thumb_stop_rate", "hold_rate")
#: Read with them for the CSV and the detail (impressions, clicks, conversions: the bases).
REPORT_METRICS = (*CARD_METRICS, "impressions", "clicks", "conversions", "video_3s_plays")
#: What the cards sort by: any card number, the launch day or the name.
SORT_KEYS = (*CARD_METRICS, "launched", "name")
#: What the weekly rows of the fatigue rule are read as.
WEEKLY_FACTS = ("impressions", "clicks", "spend", "conversions", "video_3s_plays")
#: The trend of one creative, week by week.
TREND_METRICS = ("ctr", "thumb_stop_rate", "cpa")
#: The watch funnel's steps, from the 3-second play to the end of the video.
FUNNEL_STEPS = {
    "video_3s_plays": "3-second plays",
    "video_p25": "25 % watched",
    "video_p50": "50 % watched",
    "video_p75": "75 % watched",
    "video_p100": "100 % watched",
}
#: How many creatives one compare chart holds (more lines are not readable).
MAX_COMPARED = 6
#: How far back a creative's life is read: the engine's longest daily range.
LIFETIME_DAYS = MAX_DAILY_DAYS
FORMATS = CREATIVE_FORMATS
_METADATA_COLUMNS = [
    "creative_id",
    "name",
    "format",
    "provider",
    "title",
    "body",
    "call_to_action",
    "campaign_ids",
    "campaigns",
    "ads",
]


@dataclass(frozen=True)
class CreativeFilter:
    """Which creatives the cards show; empty means no restriction. A campaign filter also
    narrows the numbers to those campaigns' ads. Launch days are inclusive."""

    formats: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    campaign_ids: tuple[int, ...] = ()
    launched_from: date | None = None
    launched_until: date | None = None


@dataclass(frozen=True)
class CreativeDetail:
    """One creative: its card row, its ads (with their numbers over the period), its weekly
    trend (week, TREND_METRICS, impressions and cumulative impressions), its watch funnel
    (step, label, plays, share of 3-second plays) and its fatigue verdict."""

    card: dict[str, Any]
    ads: pd.DataFrame
    trend: pd.DataFrame
    funnel: pd.DataFrame
    verdict: FatigueVerdict
    withheld: dict[str, str] = field(default_factory=dict)


def lifetime_range(today: date) -> TimeRange:
    """The days a creative's launch and fatigue are read over."""
    return TimeRange(start=today - timedelta(days=LIFETIME_DAYS - 1), end=today)


AdSelect = TypeVar("AdSelect", bound=Select[*tuple[Any, ...]])


def _with_parents(statement: AdSelect, adset: Any, campaign: Any, workspace_id: int) -> AdSelect:
    """`statement` over ads (Entity) joined to their ad set and campaign, in the workspace."""
    return statement.outerjoin(
        adset, (adset.id == Entity.parent_id) & (adset.workspace_id == workspace_id)
    ).outerjoin(
        campaign, (campaign.id == adset.parent_id) & (campaign.workspace_id == workspace_id)
    )


def metadata(workspace_id: int) -> pd.DataFrame:
    """Every creative of the workspace: creative_id, name, format, provider (its
    connection's platform), title, body, call_to_action, campaign_ids (tuple) and campaigns
    (their names, joined) its ads run in, and ads (how many ads use it)."""
    adset, campaign = aliased(Entity), aliased(Entity)
    with new_session() as session:
        creatives = session.execute(
            select(
                Creative.id,
                Creative.name,
                Creative.format,
                Connection.provider,
                Creative.title,
                Creative.body,
                Creative.call_to_action,
            )
            .join(Connection, Connection.id == Creative.connection_id)
            .where(Creative.workspace_id == workspace_id, Connection.workspace_id == workspace_id)
            .order_by(Creative.id)
        ).all()
        uses = session.execute(
            _with_parents(
                select(Entity.creative_id, Entity.id, campaign.id, campaign.name),
                adset,
                campaign,
                workspace_id,
            ).where(
                Entity.workspace_id == workspace_id,
                Entity.level == "ad",
                Entity.creative_id.is_not(None),
            )
        ).all()
    ads: dict[int, set[int]] = {}
    campaigns: dict[int, dict[int, str]] = {}
    for creative_id, ad_id, campaign_id, campaign_name in uses:
        assert creative_id is not None  # the statement reads ads with a creative only
        ads.setdefault(creative_id, set()).add(ad_id)
        if campaign_id is not None:
            campaigns.setdefault(creative_id, {})[campaign_id] = campaign_name
    rows = []
    for c in creatives:
        ran_in = campaigns.get(c.id, {})
        rows.append(
            [
                c.id,
                c.name,
                c.format,
                c.provider,
                c.title,
                c.body,
                c.call_to_action,
                tuple(sorted(ran_in)),
                ", ".join(sorted(ran_in.values())),
                len(ads.get(c.id, ())),
            ]
        )
    return pd.DataFrame(rows, columns=_METADATA_COLUMNS).astype({"creative_id": "int64"})


def campaigns_with_creatives(workspace_id: int) -> dict[int, str]:
    """{campaign id: label} of the workspace's campaigns whose ads use a creative (the
    campaign filter's choices), by name; a name several campaigns share carries the id."""
    adset, campaign = aliased(Entity), aliased(Entity)
    with new_session() as session:
        rows = session.execute(
            select(campaign.id, campaign.name)
            .distinct()
            .join(adset, adset.parent_id == campaign.id)
            .join(Entity, Entity.parent_id == adset.id)
            .where(
                campaign.workspace_id == workspace_id,
                adset.workspace_id == workspace_id,
                Entity.workspace_id == workspace_id,
                Entity.level == "ad",
                Entity.creative_id.is_not(None),
            )
        ).all()
    shared = Counter(name for _, name in rows)
    # Two accounts often name a campaign alike: the id tells them apart in the list (and in a
    # link, which carries the label shown).
    labelled = ((i, f"{n} (#{i})" if shared[n] > 1 else n) for i, n in rows)
    return dict(sorted(labelled, key=lambda item: (item[1].casefold(), item[0])))


def _creative_frame(
    workspace_id: int,
    metrics: Sequence[str],
    period: TimeRange,
    *,
    grain: str | None = None,
    formats: Sequence[str] = (),
    providers: Sequence[str] = (),
    campaign_ids: Sequence[int] = (),
    creative_ids: Sequence[int] = (),
    dimensions: Sequence[str] = ("creative",),
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The engine's rows split by creative (ads without a creative left out), and what it
    withheld."""
    result = run_query(
        workspace_id,
        {
            "metrics": list(metrics),
            "time_range": period.model_dump(mode="json"),
            "dimensions": list(dimensions),
            "grain": grain,
            "filters": {
                "creative_format": list(formats) or None,
                "provider": list(providers) or None,
                "entity_ids": list(campaign_ids) or None,
                "creative_ids": list(creative_ids) or None,
            },
        },
    )
    frame = result.frame
    if "creative_id" in frame:
        frame = frame[frame["creative_id"].notna()].astype({"creative_id": "int64"})
    return frame.reset_index(drop=True), result.withheld


def _weeks_of(weekly: pd.DataFrame) -> dict[int, list[CreativeWeek]]:
    """The engine's weekly rows as each creative's CreativeWeeks, cumulative impressions
    counted from the first."""
    weeks: dict[int, list[CreativeWeek]] = {}
    columns = ["creative_id", "week", *WEEKLY_FACTS]
    for key, week, impressions, clicks, spend, conversions, plays in zip(
        *(weekly[c].tolist() for c in columns), strict=True
    ):
        weeks.setdefault(int(key), []).append(
            CreativeWeek(
                week=pd.Timestamp(week).date(),
                impressions=int(impressions),
                clicks=int(clicks),
                spend=float(spend),
                conversions=float(conversions),
                video_3s_plays=int(plays),
                cumulative_impressions=0,
            )
        )
    return {key: with_cumulative_impressions(rows) for key, rows in weeks.items()}


def lifetimes(
    workspace_id: int, today: date, creative_ids: Sequence[int] = ()
) -> dict[int, tuple[date, FatigueVerdict]]:
    """{creative id: (launch day, fatigue verdict on `today`)} for the creatives with
    impressions in the last LIFETIME_DAYS days (only `creative_ids` when given)."""
    span = lifetime_range(today)
    daily, _ = _creative_frame(
        workspace_id, ["impressions"], span, grain="day", creative_ids=creative_ids
    )
    shown = daily[daily["impressions"] > 0]
    first = shown.groupby("creative_id")["day"].min()
    launches = {
        int(key): pd.Timestamp(day).date()
        for key, day in zip(first.index.tolist(), first.tolist(), strict=True)
    }
    if not launches:
        return {}
    weekly, _ = _creative_frame(
        workspace_id, WEEKLY_FACTS, span, grain="week", creative_ids=list(launches)
    )
    weekly = weekly.fillna(0)
    video = _video_ids(workspace_id)
    return {
        key: (launched, judge(rows, today, video=key in video))
        for key, rows in _weeks_of(weekly).items()
        if (launched := launches.get(key)) is not None
    }


def fatigue_table(workspace_id: int, today: date) -> pd.DataFrame:
    """Every creative with impressions in the last LIFETIME_DAYS days and its fatigue on
    `today`, fatigued first: creative_id, name, format, provider, launched, fatigue,
    fatigue_reason, best_week, last_week (Mondays), ctr_ratio, thumb_stop_ratio, cpa_ratio
    and cumulative_impressions (up to the end of the last whole week)."""
    lives = lifetimes(workspace_id, today)
    known = metadata(workspace_id)
    known = known[known["creative_id"].isin(list(lives))]
    keys = known["creative_id"].tolist()
    verdicts = [lives[k][1] for k in keys]
    columns: dict[str, list[Any]] = {
        "launched": [lives[k][0] for k in keys],
        **_verdict_columns(verdicts),
        "best_week": [v.best_week.week if v.best_week else None for v in verdicts],
        "last_week": [v.last_week.week if v.last_week else None for v in verdicts],
        "cumulative_impressions": [v.cumulative_impressions for v in verdicts],
    }
    table = known[["creative_id", "name", "format", "provider"]].assign(**columns)
    order = {"fatigued": 0, "healthy": 1, "not_enough_data": 2}
    return (
        table.assign(_order=table["fatigue"].map(order))
        .sort_values(["_order", "name"], kind="mergesort")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def _video_ids(workspace_id: int) -> set[int]:
    """Ids of the workspace's video creatives (the fatigue rule weighs their thumb-stop)."""
    with new_session() as session:
        return set(
            session.scalars(
                select(Creative.id).where(
                    Creative.workspace_id == workspace_id, Creative.format == "video"
                )
            )
        )


def cards(
    workspace_id: int,
    period: TimeRange,
    today: date,
    chosen: CreativeFilter = CreativeFilter(),
    sort_by: str = "spend",
    descending: bool = True,
) -> pd.DataFrame:
    """One row per creative that had impressions or spend in `period` and passes `chosen`:
    the metadata columns, REPORT_METRICS over the period, `launched` (its first day with
    impressions), `fatigue` (fatigued | healthy | not_enough_data) and `fatigue_reason`
    (the evidence in a sentence), plus the verdict's ratios (`ctr_ratio`,
    `thumb_stop_ratio`, `cpa_ratio`). Sorted by `sort_by` (SORT_KEYS; creatives without that
    number last, ties by name). `attrs["withheld"]`: metric id -> why some of its values are
    empty (a period cut at a clock time; metricx.semantic.engine)."""
    if sort_by not in SORT_KEYS:
        raise InvalidInputError(f"sort creatives by one of {', '.join(SORT_KEYS)}")
    unknown = [f for f in chosen.formats if f not in FORMATS]
    if unknown:
        raise InvalidInputError(f"unknown creative format {unknown[0]!r}")
    numbers, withheld = _creative_frame(
        workspace_id,
        REPORT_METRICS,
        period,
        formats=chosen.formats,
        providers=chosen.providers,
        campaign_ids=chosen.campaign_ids,
    )
    numbers = numbers.drop(columns=["creative"])
    ran = numbers[(numbers["impressions"].fillna(0) > 0) | (numbers["spend"].fillna(0) > 0)]
    table = metadata(workspace_id).merge(ran, on="creative_id", how="inner")
    keys = table["creative_id"].tolist()
    lives = lifetimes(workspace_id, today, keys) if keys else {}
    lived: dict[str, list[Any]] = {
        "launched": [lives[k][0] if k in lives else None for k in keys],
        **_verdict_columns([lives[k][1] if k in lives else None for k in keys]),
    }
    table = table.assign(**lived)
    if chosen.launched_from is not None:
        table = table[[d is not None and d >= chosen.launched_from for d in table["launched"]]]
    if chosen.launched_until is not None:
        table = table[[d is not None and d <= chosen.launched_until for d in table["launched"]]]
    table[list(REPORT_METRICS)] = table[list(REPORT_METRICS)].astype(float)
    keys = [sort_by] if sort_by == "name" else [sort_by, "name"]
    table = table.sort_values(
        keys, ascending=[not descending, True][: len(keys)], na_position="last", kind="mergesort"
    ).reset_index(drop=True)
    table.attrs["withheld"] = withheld
    return table


def _verdict_columns(verdicts: Sequence[FatigueVerdict | None]) -> dict[str, list[Any]]:
    return {
        "fatigue": [v.status if v else "not_enough_data" for v in verdicts],
        "fatigue_reason": [
            v.reason if v else "No impressions in the last three years." for v in verdicts
        ],
        "ctr_ratio": [v.ctr_ratio if v else None for v in verdicts],
        "thumb_stop_ratio": [v.thumb_stop_ratio if v else None for v in verdicts],
        "cpa_ratio": [v.cpa_ratio if v else None for v in verdicts],
    }


def compared(
    workspace_id: int,
    creative_ids: Sequence[int],
    metric: str,
    period: TimeRange,
    grain: str = "day",
) -> pd.DataFrame:
    """`metric` of up to MAX_COMPARED creatives over `period`, one row per creative and time
    bucket: creative_id, creative (its name), the bucket (column named by `grain`) and the
    metric."""
    if not creative_ids:
        raise InvalidInputError("choose at least one creative to compare")
    if len(creative_ids) > MAX_COMPARED:
        raise InvalidInputError(f"compare at most {MAX_COMPARED} creatives at a time")
    frame, _ = _creative_frame(
        workspace_id, [metric], period, grain=grain, creative_ids=creative_ids
    )
    return frame.assign(**{grain: pd.to_datetime(frame[grain])})


def detail(workspace_id: int, creative_id: int, period: TimeRange, today: date) -> CreativeDetail:
    """One creative of the workspace (InvalidInputError when it has no such creative)."""
    known = metadata(workspace_id)
    row = known[known["creative_id"] == creative_id]
    if row.empty:
        raise InvalidInputError("this workspace has no such creative")
    numbers, withheld = _creative_frame(
        workspace_id, REPORT_METRICS, period, creative_ids=[creative_id]
    )
    facts = (
        numbers.drop(columns=["creative", "creative_id"]).iloc[0].to_dict()
        if not numbers.empty
        else dict.fromkeys(REPORT_METRICS)
    )
    card: dict[str, Any] = {str(k): v for k, v in (row.iloc[0].to_dict() | facts).items()}
    lived = lifetimes(workspace_id, today, [creative_id]).get(creative_id)
    card["launched"] = lived[0] if lived else None
    verdict = lived[1] if lived else judge([], today, video=False)
    return CreativeDetail(
        card=card,
        ads=_ads(workspace_id, creative_id, period),
        trend=_trend(workspace_id, creative_id, today),
        funnel=_funnel(workspace_id, creative_id, period),
        verdict=verdict,
        withheld=withheld,
    )


def _ads(workspace_id: int, creative_id: int, period: TimeRange) -> pd.DataFrame:
    """The ads using the creative: id, name, status, adset, campaign, and their spend,
    impressions, CTR and ROAS over the period (0 spend when they did not run)."""
    adset, campaign = aliased(Entity), aliased(Entity)
    with new_session() as session:
        rows = session.execute(
            _with_parents(
                select(Entity.id, Entity.name, Entity.status, adset.name, campaign.name),
                adset,
                campaign,
                workspace_id,
            )
            .where(
                Entity.workspace_id == workspace_id,
                Entity.level == "ad",
                Entity.creative_id == creative_id,
            )
            .order_by(Entity.name, Entity.id)
        ).all()
    ads = pd.DataFrame(rows, columns=["id", "name", "status", "adset", "campaign"])
    numbers, _ = _creative_frame(
        workspace_id,
        ["spend", "impressions", "ctr", "roas"],
        period,
        creative_ids=[creative_id],
        dimensions=("ad",),
    )
    numbers = numbers.drop(columns=["ad"]).rename(columns={"ad_id": "id"})
    ads = ads.astype({"id": "int64"}).merge(numbers.astype({"id": "int64"}), on="id", how="left")
    ads["spend"] = ads["spend"].astype(float).fillna(0.0)
    return ads


def _trend(workspace_id: int, creative_id: int, today: date) -> pd.DataFrame:
    """The creative's weeks from its first with impressions: week, TREND_METRICS,
    impressions and cumulative_impressions."""
    weekly, _ = _creative_frame(
        workspace_id,
        [*TREND_METRICS, "impressions"],
        lifetime_range(today),
        grain="week",
        creative_ids=[creative_id],
    )
    weekly = weekly.sort_values("week")
    weekly["impressions"] = weekly["impressions"].fillna(0)
    weekly = weekly[weekly["impressions"].cumsum() > 0]
    return weekly.assign(
        week=pd.to_datetime(weekly["week"]),
        cumulative_impressions=weekly["impressions"].cumsum(),
    )[["week", *TREND_METRICS, "impressions", "cumulative_impressions"]].reset_index(drop=True)


def _funnel(workspace_id: int, creative_id: int, period: TimeRange) -> pd.DataFrame:
    """The watch funnel over the period: step, label, plays and share (of 3-second plays;
    empty when there were none)."""
    frame, _ = _creative_frame(workspace_id, list(FUNNEL_STEPS), period, creative_ids=[creative_id])
    plays = [float(frame[s].iloc[0]) if not frame.empty else 0.0 for s in FUNNEL_STEPS]
    first = plays[0]
    return pd.DataFrame(
        {
            "step": list(FUNNEL_STEPS),
            "label": list(FUNNEL_STEPS.values()),
            "plays": plays,
            "share": [p / first if first else None for p in plays],
        }
    )
