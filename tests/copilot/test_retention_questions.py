"""Issue #15, item 4: the copilot answers retention and product questions through the cohort
and product query families, with the definitions and the incomplete cells said."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd
import pytest

from metricx.copilot.evaluation import demo_entities, query_differences
from metricx.copilot.offline import OfflineUnderstander
from metricx.copilot.prompts import answer_tool, understander_system
from metricx.copilot.respond import answer_text, chart
from metricx.copilot.service import _check_names, ask
from metricx.copilot.understanding import Conversation, Understanding
from metricx.semantic.query import SemanticQuery
from metricx.semantic.result import MetricsResult

TODAY = date(2026, 12, 3)  # a Thursday


def understood(*turns: str, today: date = TODAY) -> Understanding:
    conversation = Conversation(entities=demo_entities())
    understanding = Understanding(status="clarify")
    for turn in turns:
        understanding = OfflineUnderstander().understand(turn, conversation, today)
        conversation.add(turn, understanding)
    return understanding


def query_of(*turns: str, today: date = TODAY) -> dict[str, Any]:
    understanding = understood(*turns, today=today)
    assert understanding.status == "answer", understanding.message
    assert understanding.query is not None
    return understanding.query.model_dump(mode="json", exclude={"custom"})


# --- cohort questions ----------------------------------------------------------------------------


def test_a_day_age_is_read_at_that_age_for_the_month_named() -> None:
    query = query_of("what's the 90-day LTV of customers we got in September?")
    assert query["metrics"] == ["ltv"]
    assert query["time_range"] == {"start": "2026-09-01", "end": "2026-09-30"}
    assert query["dimensions"] == []
    assert query["cohort"] == {"grain": "month", "age_unit": "day", "max_age": 90, "at_age": 90}


def test_without_age_or_period_the_latest_complete_year_is_read_at_90_days() -> None:
    understanding = understood("what's our repeat rate?")
    assert understanding.query is not None
    query = understanding.query
    # Sep 2025 - Aug 2026: the last cohort day (Aug 31) + 90 days has passed by Dec 3
    assert (query.time_range.start, query.time_range.end) == (date(2025, 9, 1), date(2026, 8, 31))
    assert query.cohort is not None and query.cohort.read_age == 90
    assert (
        "90 days" in understanding.message and "2025-09-01 to 2026-08-31" in understanding.message
    )


def test_which_channel_is_best_ranks_channels_and_keeps_one() -> None:
    understanding = understood("which channel brings the customers with the best LTV to CAC?")
    query = understanding.query
    assert query is not None and query.metrics == ["ltv_cac"]
    assert query.dimensions == ["acquisition_channel"]
    assert query.order_by is not None and query.order_by.direction == "desc"
    assert query.limit == 1
    assert "blended CAC" in understanding.message


@pytest.mark.parametrize(
    ("question", "dimensions", "cohort"),
    [
        (
            "show me the cohort table for repeat rate",
            ["cohort", "age"],
            {"grain": "month", "age_unit": "month", "max_age": 11, "at_age": None},
        ),
        (
            "retention curve for customers acquired in q1",
            ["age"],
            {"grain": "month", "age_unit": "month", "max_age": 11, "at_age": None},
        ),
        (
            "CAC by platform last quarter",
            ["acquisition_platform"],
            {"grain": "month", "age_unit": "day", "max_age": 0, "at_age": 0},
        ),
        (
            "365-day LTV by quarterly cohort for 2025",
            ["cohort"],
            {"grain": "quarter", "age_unit": "day", "max_age": 365, "at_age": 365},
        ),
    ],
)
def test_tables_curves_counts_and_cohort_splits_take_their_shapes(
    question: str, dimensions: list[str], cohort: dict[str, Any]
) -> None:
    query = query_of(question)
    assert query["dimensions"] == dimensions
    assert query["cohort"] == cohort


def test_two_cohorts_compared_are_both_months_split_by_cohort() -> None:
    query = query_of(
        "how does the 90-day ltv of september's customers compare with august's?",
        today=date(2027, 1, 10),
    )
    assert query["time_range"] == {"start": "2026-08-01", "end": "2026-09-30"}
    assert query["dimensions"] == ["cohort"] and query["compare_range"] is None


def test_follow_ups_change_the_split_or_the_age_of_a_cohort_query() -> None:
    split = query_of("90-day ltv of customers acquired in june", "and by channel?")
    assert split["dimensions"] == ["acquisition_channel"]
    assert split["time_range"] == {"start": "2026-06-01", "end": "2026-06-30"}
    aged = query_of("repeat rate of customers from march at 60 days", "what about 180 days?")
    assert aged["cohort"]["at_age"] == 180
    assert aged["time_range"] == {"start": "2026-03-01", "end": "2026-03-31"}


# --- product questions ---------------------------------------------------------------------------


def test_top_products_by_margin_rank_products_over_the_default_week() -> None:
    understanding = understood("top 5 products by margin")
    query = understanding.query
    assert query is not None and query.metrics == ["gross_margin"]
    assert query.dimensions == ["product"] and query.limit == 5
    assert query.order_by is not None and query.order_by.direction == "desc"
    assert "last 7 days" in understanding.message


def test_losing_money_after_ads_lists_contribution_lowest_first_and_says_what_it_means() -> None:
    understanding = understood("which products lose money after ads last month?")
    query = understanding.query
    assert query is not None
    assert set(query.metrics) == {
        "product_gross_profit",
        "allocated_spend",
        "contribution_after_ads",
    }
    assert query.order_by is not None
    assert (query.order_by.metric, query.order_by.direction) == ("contribution_after_ads", "asc")
    assert query.limit is None
    assert "below zero" in understanding.message


def test_a_product_name_filters_product_titles_not_campaigns() -> None:
    query = query_of("refund rate for the Trailhead Fleece in september")
    assert query["filters"]["name_contains"] == "Trailhead Fleece"
    assert query["dimensions"] == ["product"]


def test_follow_ups_change_the_level_or_the_ranking_of_a_product_query() -> None:
    assert query_of("refund rate by product last month", "by sku instead")["dimensions"] == ["sku"]
    worst = query_of("top 5 products by margin last month", "what about the worst 5?")
    assert worst["order_by"] == {"metric": "gross_margin", "direction": "asc"}


# --- what stays an ad or store question, and what is asked about ----------------------------------


@pytest.mark.parametrize(
    ("question", "metric"),
    [
        ("what was our CAC last month?", "ncpa"),
        ("new customers last week", "new_customers"),
        ("gross profit in october", "gross_profit"),
        ("spend on Shopping | All Products last month", "spend"),
    ],
)
def test_ad_and_store_questions_stay_ad_and_store_queries(question: str, metric: str) -> None:
    understanding = understood(question)
    assert understanding.query is not None and understanding.query.family == "ads"
    assert understanding.query.metrics == [metric]


@pytest.mark.parametrize(
    "question",
    [
        "gross margin last month",  # per product only
        "ltv by device for customers acquired in may",
        "products with a margin under 20% last month",
        "which cohort is best?",
        "top products last month",
    ],
)
def test_what_the_families_cannot_say_is_asked_about(question: str) -> None:
    assert understood(question).status == "clarify"


def test_units_without_a_product_offer_the_question_split_by_product() -> None:
    understanding = understood("how many units did we sell last week")
    assert understanding.status == "clarify"
    assert understanding.choices == ("how many units did we sell last week by product?",)


def test_the_returning_customer_rate_is_the_cohorts_repeat_rate() -> None:
    assert query_of("returning customer rate")["metrics"] == ["repeat_rate"]


def test_changing_a_unit_cost_is_refused() -> None:
    assert understood("set the unit cost of the Drift Beanie to $8").status == "refuse"


def test_an_ad_question_after_a_product_one_starts_fresh() -> None:
    query = query_of("top 5 products by margin", "spend by platform last week")
    assert query["metrics"] == ["spend"] and query["dimensions"] == ["provider"]


# --- the answer text -----------------------------------------------------------------------------


def result_of(query: dict[str, Any], frame: pd.DataFrame, **extra: Any) -> MetricsResult:
    parsed = SemanticQuery.parse(query)
    definitions = {m: parsed.metric(m).definition for m in parsed.metrics}
    return MetricsResult(parsed, frame, None, "USD", "America/New_York", definitions, **extra)


COHORT_TABLE = {
    "metrics": ["repeat_rate"],
    "time_range": {"start": "2026-10-01", "end": "2026-11-30"},
    "dimensions": ["cohort", "age"],
    "cohort": {"grain": "month", "age_unit": "month", "max_age": 1},
}


def test_a_cohort_answer_names_the_cohorts_ages_definitions_and_incomplete_cells() -> None:
    frame = pd.DataFrame(
        {
            "cohort": ["2026-10-01", "2026-10-01", "2026-11-01", "2026-11-01"],
            "age": [0, 1, 0, 1],
            "repeat_rate": [0.05, 0.12, math.nan, math.nan],
            "complete": [True, True, False, False],
        }
    )
    text = answer_text(result_of(COHORT_TABLE, frame))
    assert "customers acquired Oct 1, 2026 – Nov 30, 2026" in text
    assert "- Oct 2026: month 0 5.00%, month 1 12.00%" in text
    assert "- Nov 2026: month 0 —, month 1 —" in text
    assert "2 of 4 cells are not complete yet" in text and "never shown as a drop" in text
    assert "Repeat rate = share of the cohort's customers" in text  # the metric's definition
    assert "A cohort is the customers whose first order" in text
    assert chart(result_of(COHORT_TABLE, frame)) is not None


def test_a_single_incomplete_reading_says_why_it_is_empty() -> None:
    query = {
        "metrics": ["ltv"],
        "time_range": {"start": "2026-11-01", "end": "2026-11-30"},
        "cohort": {"grain": "month", "age_unit": "day", "max_age": 90, "at_age": 90},
    }
    frame = pd.DataFrame({"ltv": [math.nan], "complete": [False]})
    text = answer_text(result_of(query, frame))
    assert "at day 90 after their first order" in text
    assert "Not complete yet" in text and "Nov 30, 2026" in text


def test_a_product_answer_names_the_losing_products_and_the_unallocated_spend() -> None:
    query = {
        "metrics": ["product_gross_profit", "allocated_spend", "contribution_after_ads"],
        "time_range": {"start": "2026-11-01", "end": "2026-11-30"},
        "dimensions": ["product"],
        "order_by": {"metric": "contribution_after_ads", "direction": "asc"},
    }
    frame = pd.DataFrame(
        {
            "product": ["Drift Beanie", "Summit Rain Shell"],
            "product_gross_profit": [100.0, 900.0],
            "allocated_spend": [150.0, 300.0],
            "contribution_after_ads": [-50.0, 600.0],
        }
    )
    result = result_of(query, frame, unallocated={"allocated_spend": 25.0})
    text = answer_text(result)
    assert "Losing money after ads (1 of 2 rows): Drift Beanie (-$50.00)" in text
    assert "Ad spend allocated to no product" in text and "$25.00" in text
    assert "Attribution used to allocate ad spend: last click, 28-day window, cash basis." in text
    assert "Scope: every product of the store." in text


# --- Claude is told about both families; the service leaves product names alone -----------------


def test_the_system_prompt_and_the_tool_explain_cohort_and_product_queries() -> None:
    prompt = understander_system(TODAY)
    assert "# Cohort questions" in prompt and "# Product questions" in prompt
    for metric_id in (
        "ltv",
        "repeat_rate",
        "payback_age",
        "gross_margin",
        "contribution_after_ads",
    ):
        assert f"- {metric_id} (" in prompt
    schema: dict[str, Any] = answer_tool()["input_schema"]  # type: ignore[assignment]
    assert "cohort" in schema["properties"]["query"]["anyOf"][0]["properties"]


def test_a_product_title_is_not_checked_against_campaign_names() -> None:
    understanding = understood("how many units of the Drift Beanie did we sell last month")
    conversation = Conversation(entities=demo_entities())
    assert _check_names(conversation, understanding) is understanding


def test_the_scorer_compares_a_cohort_query_with_an_ad_query_field_by_field() -> None:
    cohort = SemanticQuery.parse({**COHORT_TABLE, "dimensions": ["cohort"]})
    ads = SemanticQuery.parse({"metrics": ["spend"], "time_range": COHORT_TABLE["time_range"]})
    differences = query_differences(cohort, ads)
    assert any(d.startswith("cohort: expected {") and d.endswith("got None") for d in differences)


# --- through the engine, on the synced sandbox (Nov 8-19, 2026) ----------------------------------


def test_a_product_question_is_answered_through_the_engine_with_its_definitions(synced) -> None:
    workspace_id, _ = synced
    answer = ask(workspace_id, "top 5 products by margin last week", today=date(2026, 11, 20))
    assert answer.status == "answer", answer.answer
    assert answer.result is not None and 0 < len(answer.result.frame) <= 5
    assert "Ranked by Margin (highest first):" in answer.answer
    assert "Margin = gross profit ÷ net sales." in answer.answer


def test_a_young_cohort_is_answered_as_incomplete_not_as_a_drop(synced) -> None:
    workspace_id, _ = synced
    answer = ask(
        workspace_id,
        "90-day repeat rate of customers acquired this month",
        today=date(2026, 11, 20),
    )
    assert answer.status == "answer", answer.answer
    assert answer.result is not None
    assert not answer.result.frame["complete"].any()
    assert "Not complete yet" in answer.answer
