"""Custom metrics and dimensions through the engine, against the raw rows (pandas).

Data: the sandbox merchant synced by `synced` (sandbox_fixtures): Meta in USD and EUR, Google,
the shop. The reference restricts and groups the raw snapshot rows its own way.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sandbox_fixtures import FIRST, LAST

from metricx.semantic.engine import run_query
from metricx.services import custom_definitions

PERIOD = {"start": str(FIRST), "end": str(LAST)}
STAGE = {
    "label": "Funnel stage",
    "rules": [{"field": "campaign", "op": "contains", "value": "retarget", "then": "BOFU"}],
    "otherwise": "TOFU",
}


def close(a: float, b: float) -> bool:
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def test_a_metric_restricted_to_meta_is_the_share_of_meta_spend(synced, admin):
    # Given a custom metric: Meta's share of spend
    workspace_id, reference = synced
    custom_definitions.save_metric(
        admin,
        "meta_share",
        {"label": "Meta share", "formula": "spend[provider=meta] / spend", "unit": "percent"},
    )
    # When asked for by name, by provider
    result = run_query(workspace_id, {"metrics": ["meta_share", "spend"], "time_range": PERIOD})
    # Then it is Meta's spend over all spend, from the raw rows
    ads = reference["ads"]
    ads = ads[(ads["day"] >= FIRST) & (ads["day"] <= LAST)]
    want = ads.loc[ads["provider"] == "meta", "spend"].sum() / ads["spend"].sum()
    assert close(result.frame["meta_share"].iloc[0], want)
    assert result.definitions["meta_share"].startswith("Meta share = spend[provider=meta] / spend")


def test_a_custom_dimension_splits_ad_metrics_by_its_rules(synced, admin):
    # Given a funnel stage: campaigns named like retargeting are BOFU, the rest TOFU
    workspace_id, reference = synced
    custom_definitions.save_dimension(admin, "stage", STAGE)
    # When ROAS is split by it
    result = run_query(
        workspace_id,
        {"metrics": ["spend", "roas"], "time_range": PERIOD, "dimensions": ["stage"]},
    )
    # Then each stage's ROAS is the ratio of its sums
    ads = reference["ads"]
    ads = ads[(ads["day"] >= FIRST) & (ads["day"] <= LAST)]
    stage = ads["campaign"].str.lower().str.contains("retarget").map({True: "BOFU", False: "TOFU"})
    sums = ads.groupby(stage)[["spend", "conversion_value"]].sum()
    got = result.frame.set_index("stage")
    assert set(got.index) == set(sums.index)
    for name, row in sums.iterrows():
        assert close(got.loc[name, "spend"], row["spend"])
        assert close(got.loc[name, "roas"], row["conversion_value"] / row["spend"])


@pytest.mark.parametrize("stage", ["BOFU", "TOFU"])
def test_a_custom_dimension_filters_and_restricts(synced, admin, stage):
    workspace_id, reference = synced
    custom_definitions.save_dimension(admin, "stage", STAGE)
    custom_definitions.save_metric(
        admin, "stage_spend", {"label": "x", "formula": f"spend[stage={stage}]", "unit": "currency"}
    )
    filtered = run_query(
        workspace_id,
        {
            "metrics": ["spend"],
            "time_range": PERIOD,
            "filters": {"dimension_values": {"stage": [stage]}},
        },
    )
    restricted = run_query(workspace_id, {"metrics": ["stage_spend"], "time_range": PERIOD})
    ads = reference["ads"]
    ads = ads[(ads["day"] >= FIRST) & (ads["day"] <= LAST)]
    is_bofu = ads["campaign"].str.lower().str.contains("retarget")
    want = ads.loc[is_bofu if stage == "BOFU" else ~is_bofu, "spend"].sum()
    assert close(filtered.frame["spend"].iloc[0], want)
    assert close(restricted.frame["stage_spend"].iloc[0], want)
