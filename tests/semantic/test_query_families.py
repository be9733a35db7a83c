"""Cohort and product queries: one SemanticQuery, three families, each kept to itself."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metricx.semantic import families
from metricx.semantic.catalogue import METRICS
from metricx.semantic.query import (
    COHORT_DIMENSIONS,
    PRODUCT_DIMENSIONS,
    QueryValidationError,
    SemanticQuery,
)

YEAR = {"start": "2025-12-01", "end": "2026-11-30"}


def parse(**fields: Any) -> SemanticQuery:
    return SemanticQuery.parse({"time_range": YEAR, **fields})


def refusal(**fields: Any) -> str:
    with pytest.raises(QueryValidationError) as caught:
        parse(**fields)
    return str(caught.value)


def test_a_cohort_metric_makes_a_cohort_query_with_the_default_cohorts() -> None:
    # Given a question about LTV by cohort and age, with no cohort spec
    query = parse(metrics=["cohort_customers", "ltv"], dimensions=["cohort", "age"])
    # Then it is a cohort query of monthly cohorts and ages 0..11 months
    assert query.family == "cohort"
    assert query.cohort is not None
    assert (query.cohort.grain, query.cohort.age_unit, query.cohort.max_age) == (
        "month",
        "month",
        11,
    )
    # and its JSON carries the spec it ran with
    assert SemanticQuery.parse(query.to_json()) == query


def test_ninety_day_ltv_reads_one_age() -> None:
    query = parse(metrics=["ltv"], cohort={"age_unit": "day", "at_age": 90})
    assert query.cohort is not None and query.cohort.read_age == 90


def test_an_ad_query_keeps_its_json_shape() -> None:
    # Given an ordinary ad query, its JSON has no cohort and no product filter keys
    text = parse(metrics=["spend"]).to_json()
    assert "cohort" not in text and "product_ids" not in text


def test_product_dimensions_make_a_product_query() -> None:
    query = parse(metrics=["units", "gross_margin"], dimensions=["product"], limit=5)
    assert query.family == "products"
    # a limit without order_by ranks by the first metric (products have no spend to rank by)
    assert query.order_by is not None and query.order_by.metric == "units"


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"metrics": ["ltv", "spend"]}, "cannot be asked in one query"),
        ({"metrics": ["units", "ltv"]}, "cannot be asked in one query"),
        ({"metrics": ["spend"], "dimensions": ["product"]}, "'product' splits product metrics"),
        ({"metrics": ["roas"], "dimensions": ["age"]}, "'age' splits cohort metrics"),
        ({"metrics": ["spend"], "filters": {"product_ids": [3]}}, "restricts product metrics"),
        ({"metrics": ["ltv"], "dimensions": ["campaign"]}, "a cohort query splits by"),
        ({"metrics": ["ltv"], "compare_range": YEAR}, "takes no compare_range"),
        ({"metrics": ["ltv"], "grain": "month"}, "takes no grain"),
        ({"metrics": ["ltv"], "filters": {"provider": ["meta"]}}, "takes no filters"),
        (
            {"metrics": ["ltv"], "dimensions": ["age"], "cohort": {"at_age": 3}},
            "drop one of them",
        ),
        (
            {
                "metrics": ["ltv"],
                "dimensions": ["age"],
                "cohort": {"grain": "week", "age_unit": "day", "max_age": 1100},
            },
            "too many",
        ),
        ({"metrics": ["units"], "dimensions": ["product", "ad"]}, "a product query splits by"),
        ({"metrics": ["units"], "grain": "hour"}, "no hourly rows"),
        ({"metrics": ["units"], "filters": {"provider": ["meta"]}}, "filters by product_ids"),
        ({"metrics": ["spend"], "cohort": {}}, "no cohort metric"),
        ({"metrics": ["units"], "filters": {"product_ids": [0]}}, "product ids are positive"),
        (
            {"metrics": ["spend"], "filters": {"dimension_values": {"product": ["x"]}}},
            "takes custom dimensions",
        ),
    ],
)
def test_a_query_mixing_families_or_their_options_is_refused_in_a_sentence(
    fields: dict[str, Any], says: str
) -> None:
    message = refusal(**fields)
    assert says in message
    assert "Traceback" not in message and len(message) < 600


@given(
    st.lists(st.sampled_from(list(families.COHORT_METRICS)), min_size=1, max_size=4, unique=True),
    st.lists(st.sampled_from(COHORT_DIMENSIONS), max_size=3, unique=True),
)
def test_every_cohort_metric_and_split_validates(metrics: list[str], dimensions: list[str]) -> None:
    query = parse(metrics=metrics, dimensions=dimensions)
    assert query.family == "cohort"
    # every fact a metric needs is a cohort fact
    assert set(query.facts) <= set(families.COHORT_FACTS)
    assert all(query.metric(m).definition for m in metrics)


@given(
    st.lists(st.sampled_from(list(families.PRODUCT_METRICS)), min_size=1, max_size=5, unique=True),
    st.lists(st.sampled_from(PRODUCT_DIMENSIONS), max_size=2, unique=True),
)
def test_every_product_metric_and_split_validates(
    metrics: list[str], dimensions: list[str]
) -> None:
    query = parse(metrics=metrics, dimensions=dimensions)
    assert query.family == "products"
    assert set(query.facts) <= set(families.PRODUCT_FACTS)


def test_family_metrics_stay_out_of_the_ad_catalogue() -> None:
    # The Analytics pickers and custom formulas read catalogue.METRICS: no family metric there
    assert not set(METRICS) & (set(families.COHORT_METRICS) | set(families.PRODUCT_METRICS))


def test_a_product_metric_is_the_p_and_l_formula_over_product_facts() -> None:
    # net sales of a product = gross − discounts − refunds, as the store's; margin its ratio
    sums = {"gross": [100.0], "discounts": [10.0], "refunds": [20.0], "cogs": [30.0]}
    assert families.evaluated("product_net_sales", sums)[0] == 70.0
    assert families.evaluated("gross_margin", sums)[0] == pytest.approx(40 / 70)
    # and x/0 is empty, never infinity
    empty = {"gross": [0.0], "discounts": [0.0], "refunds": [0.0], "cogs": [0.0]}
    assert str(families.evaluated("gross_margin", empty)[0]) == "nan"
