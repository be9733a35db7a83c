"""attributed_* metrics through the metric service, against the stored credits read back
independently (pandas over raw rows), for random settings, splits and ranges."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_fixtures import FIRST, LAST
from table_rows import read

from metricx.attribution.compute import attribute_workspace
from metricx.attribution.models import MODELS
from metricx.semantic.engine import run_query

CREDITS = """
    WITH RECURSIVE up AS (
        SELECT e.id AS entity_id, e.id, e.level, e.parent_id FROM entities e
        UNION ALL
        SELECT up.entity_id, p.id, p.level, p.parent_id
        FROM up JOIN entities p ON p.id = up.parent_id
    )
    SELECT a.model, a.window_days, a.mode, a.credit::float AS credit,
           a.revenue::float AS revenue, o.customer_order_index = 1 AS first_order,
           (a.credited_at AT TIME ZONE 'America/New_York')::date AS day, c.provider,
           (SELECT id FROM up WHERE up.entity_id = a.entity_id AND level = 'campaign')
               AS campaign_id,
           (SELECT id FROM up WHERE up.entity_id = a.entity_id AND level = 'ad') AS ad_id
    FROM attributions a JOIN shopify_orders o ON o.id = a.order_id
    JOIN entities e ON e.id = a.entity_id JOIN connections c ON c.id = e.connection_id
    WHERE a.workspace_id = :ws"""


@pytest.fixture
def credits_reference(synced):
    workspace_id, _ = synced
    attribute_workspace(workspace_id)
    return workspace_id, read(CREDITS, ws=workspace_id)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    model=st.sampled_from(MODELS),
    window=st.sampled_from([1, 7, 14, 28, None]),
    mode=st.sampled_from(["cash", "accrual"]),
    start_offset=st.integers(0, 11),
    length=st.integers(1, 12),
    dimensions=st.sampled_from([[], ["provider"], ["campaign"], ["provider", "campaign"]]),
    provider=st.sampled_from([None, ["meta"], ["google"]]),
)
def test_attributed_metrics_equal_the_stored_credits_summed_independently(
    credits_reference, model, window, mode, start_offset, length, dimensions, provider
):
    # Given the sandbox attributed, and a random setting, range, split and filter
    workspace_id, credits = credits_reference
    start = FIRST + timedelta(days=start_offset)
    end = min(LAST, start + timedelta(days=length - 1))
    # When the metric service answers
    result = run_query(
        workspace_id,
        {
            "metrics": [
                "attributed_orders",
                "attributed_revenue",
                "nc_attributed_revenue",
                "attributed_roas",
                "spend",
            ],
            "time_range": {"start": str(start), "end": str(end)},
            "dimensions": dimensions,
            "filters": {"provider": provider},
            "attribution": {"model": model, "window_days": window, "mode": mode},
        },
    )
    # Then each row equals the reference's own sums of the raw credit rows
    rows = credits[
        (credits.model == model)
        & (credits.window_days == (window or 0))
        & (credits["mode"] == mode)
        & (credits.day >= start)
        & (credits.day <= end)
    ]
    if provider:
        rows = rows[rows.provider.isin(provider)]
    rows = rows.assign(nc=rows.revenue.where(rows.first_order, 0.0))
    keys = [d if d == "provider" else f"{d}_id" for d in dimensions]
    want = (
        rows.groupby(keys)[["credit", "revenue", "nc"]].sum()
        if keys
        else rows[["credit", "revenue", "nc"]].sum().to_frame().T
    )
    got = result.frame.set_index(keys) if keys else result.frame
    for key in want.index:
        mine = got.loc[key] if keys else got.iloc[0]
        expected = want.loc[key]
        assert mine["attributed_orders"] == pytest.approx(expected.credit, abs=1e-6)
        assert mine["attributed_revenue"] == pytest.approx(expected.revenue, abs=1e-4)
        assert mine["nc_attributed_revenue"] == pytest.approx(expected.nc, abs=1e-4)
        spend = mine["spend"]
        if spend:
            assert mine["attributed_roas"] == pytest.approx(expected.revenue / spend, rel=1e-9)


def test_attributed_and_platform_figures_split_by_ad_keep_campaign_level_credits_apart(
    credits_reference,
):
    # Given credits, some to campaigns named only by utm_campaign
    workspace_id, credits = credits_reference
    chosen = credits[
        (credits.model == "last_click") & (credits.window_days == 28) & (credits["mode"] == "cash")
    ]
    # When split by ad
    result = run_query(
        workspace_id,
        {
            "metrics": ["attributed_orders"],
            "dimensions": ["ad"],
            "time_range": {"start": str(FIRST), "end": str(LAST)},
        },
    )
    # Then the ads' credits and the "(unknown)" ad row add up to every credit in the range
    in_range = chosen[(chosen.day >= FIRST) & (chosen.day <= LAST)]
    assert result.frame["attributed_orders"].sum() == pytest.approx(in_range.credit.sum())
    assert pd.isna(result.frame["ad_id"]).sum() <= 1
