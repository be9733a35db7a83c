"""The metric service against an independent pandas computation from the raw rows.

Data: the sandbox merchant's Meta accounts (one in EUR), Google account and shop, synced into
a USD workspace in New York through the real connectors. The reference below reads the raw
snapshot, order and refund rows and aggregates them its own way.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sandbox_fixtures import FIRST, LAST
from sqlalchemy import text

from metricx.db import transaction
from metricx.semantic.compiler import Shape, ad_source, ranks_in_sql
from metricx.semantic.engine import MissingFxRateError, run_query
from metricx.semantic.query import SemanticQuery

AD_METRICS = [
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "conversion_value",
    "cpc",
    "cpm",
    "ctr",
    "cvr",
    "cpa",
    "roas",
]
FORMULAS = {  # the reference's own arithmetic, written independently of the catalogue
    "cpc": ("spend", "clicks", 1),
    "cpm": ("spend", "impressions", 1000),
    "ctr": ("clicks", "impressions", 1),
    "cvr": ("conversions", "clicks", 1),
    "cpa": ("spend", "conversions", 1),
    "roas": ("conversion_value", "spend", 1),
    "aov": ("store_revenue", "orders", 1),
    "mer": ("store_revenue", "spend", 1),
}


ENTITY_LEVELS = ("campaign", "adset", "ad")
DIMENSIONS = [[], ["provider"], ["campaign"], ["provider", "campaign"], ["adset"], ["ad"]]
GRAINS = [None, "day", "week", "month", "hour"]
NAME_FILTERS = [None, *ENTITY_LEVELS]  # None, or filter on a name fragment (see below)
ENTITY_FILTERS = [None, *ENTITY_LEVELS]  # None, or filter on one entity of that level


def bucket_labels(ads: pd.DataFrame, grain: str | None) -> pd.Series:
    """The engine's time column, computed the reference's own way."""
    day = pd.to_datetime(ads["day"])
    if grain == "day":
        return day.dt.strftime("%Y-%m-%d")
    if grain == "week":
        return (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    if grain == "month":
        return day.dt.strftime("%Y-%m-01")
    local = ads["bucket_start"].dt.tz_convert("America/New_York").dt.floor("h")
    return local.dt.strftime("%Y-%m-%d %H:%M")


def expected(
    reference,
    metrics,
    start,
    end,
    dimensions=(),
    provider=None,
    grain=None,
    name=None,
    entity_ids=None,
):
    ads = reference["ads"]
    ads = ads[(ads["day"] >= start) & (ads["day"] <= end)]
    if provider:
        ads = ads[ads["provider"].isin(provider)]
    if name:
        level, fragment = name
        ads = ads[ads[level].str.lower().str.contains(fragment.lower(), regex=False)]
    if entity_ids:
        ads = ads[ads[[f"{level}_id" for level in ENTITY_LEVELS]].isin(entity_ids).any(axis=1)]
    keys = [f"{d}_id" if d != "provider" else d for d in dimensions]
    columns = ["spend", "impressions", "clicks", "conversions", "conversion_value"]
    if grain:
        ads = ads.assign(**{grain: bucket_labels(ads, grain)})
        keys = [*keys, grain]
    sums = ads.groupby(keys)[columns].sum() if keys else ads[columns].sum().to_frame().T
    if grain and grain != "hour" and not dimensions:  # every bucket shows, empty ones as 0
        days = pd.DataFrame(
            {"day": [start + timedelta(days=i) for i in range((end - start).days + 1)]}
        )
        sums = sums.reindex(sorted(set(bucket_labels(days, grain))), fill_value=0)
    out = pd.DataFrame(index=sums.index)
    for metric in metrics:
        if metric in FORMULAS:
            num, den, scale = FORMULAS[metric]
            out[metric] = (sums[num] * scale / sums[den].where(sums[den] != 0)).astype(float)
        else:
            out[metric] = sums[metric]
    return out


def close(a, b) -> bool:
    if pd.isna(a) or pd.isna(b):
        return pd.isna(a) and pd.isna(b)
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def ranked(
    want: pd.DataFrame, ads: pd.DataFrame, dimensions, grain, metric: str, direction: str
) -> list[tuple]:
    """The reference's ranking of its rows: `metric` (to 10 significant digits, as its float
    sums may differ from exact ones in the last bits), nulls last, then names in code-point
    order and ids dimension by dimension, then the time bucket."""
    names = {d: dict(zip(ads[f"{d}_id"], ads[d], strict=False)) for d in ENTITY_LEVELS}

    def order(key: tuple) -> tuple:
        value = want.loc[key if len(key) > 1 else key[0], metric]
        missing = pd.isna(value)
        rounded = 0.0 if missing else float(f"{value:.10g}")
        parts: list = [missing, -rounded if direction == "desc" else rounded]
        for dimension, part in zip([*dimensions, *([grain] if grain else [])], key, strict=True):
            if dimension in names:
                parts.append(names[dimension][part])
            parts.append(part)
        return tuple(parts)

    keys = [k if isinstance(k, tuple) else (k,) for k in want.index]
    return sorted(keys, key=order)


def query_of(
    metrics, start, end, dimensions, provider, grain, name, entity_ids, ranking=None
) -> dict:
    query = {
        "metrics": metrics,
        "time_range": {"start": str(start), "end": str(end)},
        "dimensions": dimensions,
        "grain": grain,
        "filters": {
            "provider": provider,
            "name_contains": name[1] if name else None,
            "entity_ids": entity_ids,
        },
    }
    if ranking:
        metric, direction, limit = ranking
        query |= {"order_by": {"metric": metric, "direction": direction}, "limit": limit}
    return query


def test_the_random_queries_reach_every_source_the_compiler_can_choose():
    # Given every combination the property below draws its splits and filters from
    combinations = [
        query_of(
            ["spend"],
            FIRST,
            FIRST,
            dimensions,
            None,
            grain,
            ("campaign", "x") if level else None,
            [1] if entity else None,
        )
        for dimensions in DIMENSIONS
        for grain in GRAINS
        for level in NAME_FILTERS
        for entity in ENTITY_FILTERS
    ]
    # When the compiler picks the ad facts of each
    sources = {ad_source(Shape.of(SemanticQuery.parse(q))) for q in combinations}
    # Then each source it can choose is among them
    assert sources == {"connection", "campaign", "ad", "hour"}


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    metrics=st.lists(st.sampled_from(AD_METRICS), min_size=1, max_size=4, unique=True),
    start_offset=st.integers(0, 11),
    length=st.integers(1, 12),
    dimensions=st.sampled_from(DIMENSIONS),
    provider=st.sampled_from([None, ["meta"], ["google"]]),
    grain=st.sampled_from(GRAINS),
    name_filter=st.sampled_from(NAME_FILTERS),
    entity_level=st.sampled_from(ENTITY_FILTERS),
    pick=st.integers(0, 10_000),
    top=st.sampled_from([None, ("desc", 3), ("asc", 5)]),
)
def test_every_metric_equals_an_independent_computation_from_the_raw_rows(
    synced,
    metrics,
    start_offset,
    length,
    dimensions,
    provider,
    grain,
    name_filter,
    entity_level,
    pick,
    top,
):
    # Given the synced sandbox, and a random range, split, grain, filters and top N
    workspace_id, reference = synced
    ads = reference["ads"]
    start = FIRST + timedelta(days=start_offset)
    end = min(LAST, start + timedelta(days=length - 1))
    name = None
    if name_filter:  # a fragment of a name at the level the engine filters on
        level = next((d for d in reversed(dimensions) if d != "provider"), "campaign")
        chosen = sorted(ads[level].unique())[pick % ads[level].nunique()]
        name = (level, chosen[pick % 3 : pick % 3 + 5].upper())
    entity_ids = None
    if entity_level:
        ids = sorted(int(i) for i in ads[f"{entity_level}_id"].unique())
        entity_ids = [ids[pick % len(ids)]]
    ranking = (metrics[pick % len(metrics)], *top) if top else None
    query = query_of(metrics, start, end, dimensions, provider, grain, name, entity_ids, ranking)
    event(f"source: {ad_source(Shape.of(SemanticQuery.parse(query)))}")
    event(f"ranked in SQL: {ranks_in_sql(SemanticQuery.parse(query))}")
    # When the engine answers
    result = run_query(workspace_id, query)
    # Then every row and metric equals the reference's
    want = expected(reference, metrics, start, end, dimensions, provider, grain, name, entity_ids)
    keys = [f"{d}_id" if d != "provider" else d for d in dimensions] + ([grain] if grain else [])
    if ranking and keys:  # the same rows in the same order, cut at the limit
        metric, direction, limit = ranking
        order = ranked(want, ads, dimensions, grain, metric, direction)[:limit]
        assert list(result.frame[keys].itertuples(index=False, name=None)) == order
        want = want.loc[[k if len(k) > 1 else k[0] for k in order]]
    got = result.frame.set_index(keys) if keys else result.frame
    assert len(got) == len(want)
    for metric in metrics:
        if keys:
            pairs = [(got.loc[k, metric], want.loc[k, metric]) for k in want.index]
        else:
            pairs = [(got[metric].iloc[0], want[metric].iloc[0])]
        assert all(close(a, b) for a, b in pairs), (metric, pairs[:3])


def store_revenue_on(reference, day) -> float:
    """Store revenue of one day as Shopify's sales reports count it, from the rows: the net
    sales and shipping of the orders placed that day (cancelled ones too), less the sales and
    shipping refunded that day and what the orders cancelled that day had not had back."""
    orders, refunds = reference["orders"], reference["refunds"]
    sold = orders[~orders["test"]]
    placed, cancelled = sold[sold["day"] == day], sold[sold["cancel_day"] == day]
    given_back = (refunds["sales"] + refunds["shipping"]).astype(float)
    back = given_back.groupby(refunds["order_id"]).sum()
    kept = (cancelled["gross_sales"] - cancelled["discounts"] + cancelled["shipping"]).astype(
        float
    ) - cancelled["id"].map(back).fillna(0.0)
    sales = (placed["gross_sales"] - placed["discounts"] + placed["shipping"]).astype(float)
    return float(sales.sum() - given_back[refunds["day"] == day].sum() - kept.sum())


def test_store_metrics_by_day_join_ad_spend_without_multiplying_rows(synced):
    workspace_id, reference = synced
    result = run_query(
        workspace_id,
        {
            "metrics": ["spend", "orders", "store_revenue", "mer", "new_customers"],
            "time_range": {"start": str(FIRST), "end": str(LAST)},
            "grain": "day",
        },
    )
    frame = result.frame.set_index("day")
    assert list(frame.index) == [str(FIRST + timedelta(days=i)) for i in range(12)]
    orders = reference["orders"]
    live = orders[(~orders["test"]) & orders["cancelled_at"].isna()]
    for day in (FIRST, FIRST + timedelta(days=5), LAST):
        mine = live[live["day"] == day]
        revenue = store_revenue_on(reference, day)
        spend = expected(reference, ["spend"], day, day)["spend"].iloc[0]
        row = frame.loc[str(day)]
        assert row["orders"] == len(mine)
        assert close(row["store_revenue"], revenue)
        assert close(row["spend"], spend)
        assert close(row["mer"], revenue / spend)


def test_top_n_ranks_with_ties_broken_by_name_and_compares_the_same_ads(synced):
    workspace_id, _ = synced
    result = run_query(
        workspace_id,
        {
            "metrics": ["cpc", "spend"],
            "time_range": {"start": "2026-11-16", "end": "2026-11-19"},
            "compare_range": {"start": "2026-11-12", "end": "2026-11-15"},
            "dimensions": ["ad"],
            "limit": 3,
        },
    )
    spends = list(result.frame["spend"])
    assert len(spends) == 3 and spends == sorted(spends, reverse=True)
    assert list(result.compare_frame["ad_id"]) == list(result.frame["ad_id"])


@pytest.mark.parametrize(
    "split",
    [
        {"dimensions": ["campaign"]},
        {"dimensions": [], "order_by": {"metric": "spend", "direction": "desc"}},
    ],
)
def test_a_comparison_by_day_pairs_each_row_with_the_same_entity_and_day_of_its_period(
    synced, split
):
    # Given spend by day (by campaign, or ranked by spend) over three days, compared with
    # the three days before
    workspace_id, _ = synced
    now, before = (
        {"start": "2026-11-14", "end": "2026-11-16"},
        {"start": "2026-11-11", "end": "2026-11-13"},
    )
    query = {"metrics": ["spend"], "grain": "day", "time_range": now, **split}
    # When it is run with the comparison, and the earlier days on their own
    result = run_query(workspace_id, {**query, "compare_range": before})
    earlier = run_query(workspace_id, {**query, "time_range": before}).frame
    # Then each row's comparison is its own entity three days earlier (empty if it had none)
    ids = [f"{d}_id" for d in split["dimensions"]]
    spend_before = {(*row[ids], row["day"]): row["spend"] for _, row in earlier.iterrows()}
    assert len(result.compare_frame) == len(result.frame)
    for (_, row), (_, other) in zip(
        result.frame.iterrows(), result.compare_frame.iterrows(), strict=True
    ):
        shifted = str(date.fromisoformat(row["day"]) - timedelta(days=3))
        assert list(other[ids]) == list(row[ids])
        if (*row[ids], shifted) in spend_before:
            assert other["day"] == shifted
            assert other["spend"] == spend_before[(*row[ids], shifted)]
        else:
            assert pd.isna(other["spend"])


def test_a_missing_exchange_rate_is_an_error_that_names_the_days(synced):
    workspace_id, _ = synced
    with transaction() as session:
        session.execute(text("DELETE FROM fx_rates WHERE day IN ('2026-11-10', '2026-11-11')"))
    with pytest.raises(MissingFxRateError, match="EUR→USD on 2026-11-10, 2026-11-11"):
        run_query(
            workspace_id,
            {"metrics": ["spend"], "time_range": {"start": str(FIRST), "end": str(LAST)}},
        )


def test_another_workspace_sees_nothing_of_ours_whatever_the_filters(synced, other_workspace):
    _, reference = synced
    ours = reference["ads"]
    result = run_query(
        other_workspace.id,
        {
            "metrics": ["spend", "clicks"],
            "time_range": {"start": str(FIRST), "end": str(LAST)},
            "dimensions": ["ad"],
            "filters": {"entity_ids": sorted({int(i) for i in ours["ad_id"]})[:5]},
        },
    )
    assert result.frame.empty
    totals = run_query(
        other_workspace.id,
        {"metrics": ["spend", "orders"], "time_range": {"start": str(FIRST), "end": str(LAST)}},
    )
    assert totals.frame["spend"].iloc[0] == 0 and totals.frame["orders"].iloc[0] == 0


def test_zero_clicks_give_a_null_cpc_not_zero_or_infinity(synced):
    workspace_id, _ = synced
    result = run_query(
        workspace_id,
        {"metrics": ["cpc"], "time_range": {"start": "2026-12-01", "end": "2026-12-02"}},
    )
    assert pd.isna(result.frame["cpc"].iloc[0])
