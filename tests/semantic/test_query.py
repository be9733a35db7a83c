"""SemanticQuery: docs/design.md's JSON shape, clear one-line errors, defaults, comparison form."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from design_query import DESIGN_QUERY
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.errors import InvalidInputError
from metricx.platforms import AD_PROVIDERS
from metricx.semantic.catalogue import METRIC_IDS, is_store_level
from metricx.semantic.query import (
    ALL_METRIC_IDS,
    DIMENSIONS,
    Attribution,
    OrderBy,
    QueryValidationError,
    SemanticQuery,
    TimeRange,
)

MINIMAL = {"metrics": ["spend"], "time_range": {"start": "2026-11-01", "end": "2026-11-07"}}


def query(**changes: Any) -> dict[str, Any]:
    """The minimal valid query with some keys replaced."""
    return {**MINIMAL, **changes}


def test_the_design_example_parses_and_round_trips_unchanged() -> None:
    # given the JSON example of docs/design.md / when parsing it and writing it back
    parsed = SemanticQuery.parse(json.dumps(DESIGN_QUERY))
    # then nothing is lost or renamed
    assert json.loads(parsed.to_json()) == DESIGN_QUERY
    assert parsed.time_range == TimeRange(start=date(2026, 11, 23), end=date(2026, 11, 25))
    assert parsed.time_range.days == 3
    assert parsed.base_metrics == ("spend", "clicks")


def test_a_minimal_query_fills_in_the_documented_defaults() -> None:
    parsed = SemanticQuery.parse(MINIMAL)
    assert parsed.dimensions == [] and parsed.grain is None and parsed.compare_range is None
    assert parsed.filters.model_dump() == {
        "provider": None,
        "name_contains": None,
        "entity_ids": None,
        "dimension_values": None,
    }
    assert parsed.order_by is None and parsed.limit is None
    # no attributed metric, so no attribution settings are invented
    assert parsed.attribution is None


def test_attributed_metrics_without_settings_get_last_click_28_days_cash() -> None:
    parsed = SemanticQuery.parse(query(metrics=["attributed_roas", "spend"]))
    assert parsed.attribution == Attribution(model="last_click", window_days=28, mode="cash")


def test_attribution_given_is_kept_and_null_window_means_lifetime() -> None:
    given_settings = {"model": "time_decay", "window_days": None, "mode": "accrual"}
    parsed = SemanticQuery.parse(query(metrics=["nc_roas"], attribution=given_settings))
    assert parsed.attribution == Attribution(**given_settings)


def test_top_n_without_a_metric_ranks_by_spend_descending() -> None:
    # "top 3 ads by CPC" would name the metric; "top 3 ads" does not
    parsed = SemanticQuery.parse(query(metrics=["cpc"], dimensions=["ad"], limit=3))
    assert parsed.order_by == OrderBy(metric="spend", direction="desc")
    # without spend among the needed sums, the first metric ranks
    store = SemanticQuery.parse(query(metrics=["orders"], grain="day", limit=5))
    assert store.order_by == OrderBy(metric="orders", direction="desc")


def test_compare_range_may_be_shorter_or_longer() -> None:
    longer = {"start": "2026-10-01", "end": "2026-10-31"}
    assert SemanticQuery.parse(query(compare_range=longer)).compare_range.days == 31
    shorter = {"start": "2026-10-01", "end": "2026-10-01"}
    assert SemanticQuery.parse(query(compare_range=shorter)).compare_range.days == 1


def test_order_by_a_base_metric_of_the_requested_metrics_is_allowed() -> None:
    # CPC is spend ÷ clicks, so ranking CPC rows by spend is meaningful
    parsed = SemanticQuery.parse(
        query(metrics=["cpc"], dimensions=["campaign"], order_by={"metric": "clicks"})
    )
    assert parsed.order_by == OrderBy(metric="clicks", direction="desc")


def test_store_metrics_are_fine_as_totals_and_over_time() -> None:
    parsed = SemanticQuery.parse(
        query(
            metrics=["orders", "mer", "poas"],
            grain="week",
            filters={"provider": ["google", "meta", "tiktok"]},  # every platform: no filter
        )
    )
    assert parsed.grain == "week"


RANGE_REVERSED = {"start": "2026-11-07", "end": "2026-11-01"}


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (query(metrics=["cpcc"]), ["unknown metric 'cpcc'", "did you mean 'cpc'"]),
        (query(metrics=[]), ["metric list is empty"]),
        (query(metrics=["cpc", "cpc"]), ["'cpc' is listed twice"]),
        (query(time_range=RANGE_REVERSED), ["time_range", "before start"]),
        (query(compare_range=RANGE_REVERSED), ["compare_range", "before start"]),
        (query(time_range={"start": "2026-02-30", "end": "2026-03-01"}), ["not a date"]),
        (query(limit=0), ["limit", "at least 1"]),
        (query(limit=101), ["limit", "at most 100"]),
        (query(dimensions=["country"]), ["unknown dimension 'country'"]),
        (query(dimensions=["campain"]), ["did you mean 'campaign'"]),
        (query(dimensions=["ad", "ad"]), ["dimension 'ad' is listed twice"]),
        (query(grain="hours"), ["unknown grain 'hours'"]),
        (
            query(metrics=["cpc"], dimensions=["ad"], order_by={"metric": "roas"}),
            ["order_by", "'roas'", "not among the requested metrics"],
        ),
        (query(order_by={"metric": "spnd"}), ["unknown metric 'spnd'"]),
        (query(order_by={"metric": "spend", "direction": "down"}), ["order direction"]),
        (
            query(
                dimensions=["campaign"],
                grain="hour",
                time_range={"start": "2026-10-01", "end": "2026-11-15"},
            ),
            ["too many rows", "46 days"],
        ),
        (query(metrics=["orders"], dimensions=["campaign"]), ["incompatible", "orders"]),
        (query(metrics=["spend", "mer"], dimensions=["provider"]), ["incompatible", "mer"]),
        (query(metrics=["store_revenue"], filters={"name_contains": "Sale"}), ["incompatible"]),
        (query(filters={"provider": ["snapchat"]}), ["unknown provider 'snapchat'"]),
        (query(filters={"provider": []}), ["provider list is empty"]),
        (query(filters={"entity_ids": [0]}), ["positive"]),
        (query(attribution={"model": "last_touch"}), ["attribution model", "last_click"]),
        (query(attribution={"window_days": 30}), ["attribution window 30"]),
        (query(sort="spend"), ["unknown field 'sort'"]),
        (query(filters={"campaign": "x"}), ["unknown field 'filters.campaign'"]),
        ({"time_range": MINIMAL["time_range"]}, ["missing required field 'metrics'"]),
        ('{"metrics": ["spend"],', ["not valid JSON"]),
        ("[1, 2]", ["expected a JSON object"]),
    ],
)
def test_invalid_queries_say_what_is_wrong_in_one_line(payload, words) -> None:
    # given an invalid query / when parsing it
    with pytest.raises(QueryValidationError) as caught:
        SemanticQuery.parse(payload)
    # then one line names the problem, ready for a CLI to print
    message = str(caught.value)
    assert message.startswith("invalid query: ")
    assert "\n" not in message
    for word in words:
        assert word in message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(QueryValidationError) as caught:
        SemanticQuery.parse(query(metrics=["roaz"], limit=500, grain="year"))
    message = str(caught.value)
    assert "roaz" in message and "limit" in message and "grain" in message


def test_every_inconsistency_is_reported_at_once() -> None:
    with pytest.raises(QueryValidationError) as caught:
        SemanticQuery.parse(
            query(
                metrics=["orders"],
                dimensions=["ad"],
                grain="hour",
                order_by={"metric": "cpc"},
                time_range={"start": "2026-01-01", "end": "2026-03-01"},
            )
        )
    message = str(caught.value)
    assert "order_by" in message and "incompatible" in message and "too many rows" in message


def test_query_errors_are_user_errors_for_the_cli() -> None:
    with pytest.raises(InvalidInputError):
        SemanticQuery.parse(query(limit=0))


def days(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end}


@pytest.mark.parametrize(
    ("grain", "span", "longest"),
    [
        ("hour", days("2026-09-01", "2026-10-01"), 31),
        ("day", days("2024-01-01", "2026-12-31"), 1096),
        ("week", days("2000-01-01", "2100-12-31"), None),
        ("month", days("2000-01-01", "2100-12-31"), None),
        (None, days("2000-01-01", "2100-12-31"), None),
    ],
)
def test_each_grain_caps_its_range_and_says_what_to_do(grain, span, longest) -> None:
    # Given the longest range a grain allows, it parses
    assert SemanticQuery.parse(query(grain=grain, time_range=span)).grain == grain
    if longest is None:
        return  # weeks, months and totals: the calendar's bounds are the cap
    # When the range is one day longer (as the comparison, too)
    longer = {**span, "end": (date.fromisoformat(span["end"]) + timedelta(days=1)).isoformat()}
    for refused in (
        query(grain=grain, time_range=longer),
        query(grain=grain, compare_range=longer),
    ):
        with pytest.raises(QueryValidationError) as caught:
            SemanticQuery.parse(refused)
        # Then the message says the limit and the way out
        message = str(caught.value)
        assert f"at most {longest:,} days" in message and "too many rows" in message
        assert "use grain" in message


@pytest.mark.parametrize(
    "span",
    [
        days("0001-01-01", "2026-11-01"),  # "spend by day since year 1": 740,000 rows once
        days("2026-11-01", "9999-12-31"),  # its UTC bounds overflowed
        days("1999-12-31", "2000-01-01"),
        days("2100-12-31", "2101-01-01"),
    ],
)
def test_dates_outside_2000_to_2100_are_refused_naming_the_bounds(span) -> None:
    for refused in (query(time_range=span), query(compare_range=span)):
        with pytest.raises(QueryValidationError) as caught:
            SemanticQuery.parse(refused)
        message = str(caught.value)
        assert "outside the dates Metricx handles" in message
        assert "2000-01-01 to 2100-12-31" in message


@pytest.mark.parametrize(
    ("ids", "words"),
    [
        ([2**63], ["entity ids", "up to 9,223,372,036,854,775,807"]),
        ([2**63 - 1, 2**80], ["up to"]),
        ([-5], ["positive"]),
    ],
)
def test_entity_ids_beyond_a_bigint_are_refused_before_the_database(ids, words) -> None:
    with pytest.raises(QueryValidationError) as caught:
        SemanticQuery.parse(query(filters={"entity_ids": ids}))
    assert all(word in str(caught.value) for word in words)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Sale\x00", ["filters.name_contains", "NUL"]),
        ("Sale\ud800", ["lone surrogate"]),
        ("Sale\x1b[31m", ["control character"]),
        ("x" * 201, ["longer than 200"]),
    ],
)
def test_a_name_filter_with_nul_surrogates_or_controls_is_refused(text, words) -> None:
    with pytest.raises(QueryValidationError) as caught:
        SemanticQuery.parse(query(filters={"name_contains": text}))
    assert all(word in str(caught.value) for word in words)


@pytest.mark.parametrize(
    "payload",
    [
        '{"metrics": ["spend"], "limit": 1' + "0" * 5000 + "}",  # beyond Python's int parsing
        '{"metrics": ' + "[" * 100_000,  # beyond Python's recursion
        b'{"metrics": ["\xff"]}',
    ],
)
def test_json_beyond_pythons_own_limits_is_a_query_error(payload) -> None:
    with pytest.raises(QueryValidationError) as caught:
        SemanticQuery.parse(payload)
    assert str(caught.value).startswith("invalid query: not ")


def test_a_message_repeats_only_a_few_words_of_what_was_given() -> None:
    # Given kilobytes pasted where metric ids go, and many fields wrong at once
    pasted = "x" * 5000
    with pytest.raises(QueryValidationError) as caught:
        SemanticQuery.parse(
            {
                "metrics": [pasted, "y" * 300, "spend"],
                pasted: 1,
                "a": 1,
                "b": 2,
                "c": 3,
                "d": 4,
                "time_range": "soon",
            }
        )
    # Then the message names the problems in a few lines' worth, the catalogue listed once
    message = str(caught.value)
    assert len(message) < 1200 and message.count("known metrics:") == 1
    assert "xxxx…" in message and "more problems" in message


def test_json_schema_is_a_self_describing_tool_input() -> None:
    schema = SemanticQuery.json_schema()
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"metrics", "time_range"}
    # every top-level field explains itself to a model that only sees the schema
    assert all(p.get("description") for p in schema["properties"].values())
    # the catalogue's metrics, then the cohort and product families'
    assert schema["properties"]["metrics"]["items"]["enum"] == list(ALL_METRIC_IDS)
    assert set(METRIC_IDS) < set(ALL_METRIC_IDS)
    assert "MER = store revenue ÷ ad spend" in schema["properties"]["metrics"]["description"]
    json.dumps(schema)  # serialisable as is


def test_normalised_form_ignores_how_a_question_was_written() -> None:
    # given the same question written two ways
    first = SemanticQuery.parse(
        query(
            metrics=["cpc", "spend"],
            dimensions=["ad", "campaign"],
            filters={"provider": list(AD_PROVIDERS), "name_contains": "  Black Friday "},
            limit=5,
            order_by={"metric": "spend"},
        )
    )
    second = SemanticQuery.parse(
        query(
            metrics=["spend", "cpc"],
            dimensions=["campaign", "ad"],
            filters={"name_contains": "black friday"},
            limit=5,
            attribution={"model": "linear"},
        )
    )
    # then they compare equal once normalised, and not before
    assert first != second
    assert first.same_as(second)
    assert first.normalised().metrics == ["cpc", "spend"]
    assert first.normalised().dimensions == ["campaign", "ad"]
    # and a different period is a different question
    other = second.model_copy(
        update={"time_range": TimeRange(start=date(2026, 11, 2), end=date(2026, 11, 7))}
    )
    assert not first.same_as(other)


def test_normalised_form_keeps_what_changes_the_answer() -> None:
    last_click = SemanticQuery.parse(query(metrics=["attributed_revenue"]))
    linear = SemanticQuery.parse(
        query(metrics=["attributed_revenue"], attribution={"model": "linear"})
    )
    assert not last_click.same_as(linear)
    top_3 = SemanticQuery.parse(query(dimensions=["ad"], limit=3))
    top_5 = SemanticQuery.parse(query(dimensions=["ad"], limit=5))
    assert not top_3.same_as(top_5)


# --- round trip over random valid queries ----------------------------------------------------

AD_METRICS = [m for m in METRIC_IDS if not is_store_level(m)]
DAY0 = date(2020, 1, 1)


@st.composite
def time_ranges(draw: st.DrawFn, max_days: int = 400) -> dict[str, str]:
    start = DAY0 + timedelta(days=draw(st.integers(0, 3000)))
    end = start + timedelta(days=draw(st.integers(0, max_days)))
    return {"start": start.isoformat(), "end": end.isoformat()}


@st.composite
def valid_queries(draw: st.DrawFn) -> dict[str, Any]:
    metrics = draw(st.lists(st.sampled_from(AD_METRICS), min_size=1, max_size=4, unique=True))
    dimensions = draw(st.lists(st.sampled_from(DIMENSIONS), max_size=2, unique=True))
    grain = draw(st.sampled_from([None, "day", "week", "month"]))
    ranked = draw(st.booleans())
    return {
        "metrics": metrics,
        "time_range": draw(time_ranges()),
        "compare_range": draw(st.none() | time_ranges()),
        "dimensions": dimensions,
        "grain": grain,
        "filters": {
            "provider": draw(st.none() | st.sampled_from([["meta"], ["google"]])),
            "name_contains": draw(
                st.none()
                | st.text(min_size=1, max_size=12).filter(
                    lambda text: text.strip() and text.isprintable()
                )
            ),
            "entity_ids": draw(
                st.none() | st.lists(st.integers(1, 10**9), min_size=1, max_size=3, unique=True)
            ),
        },
        "order_by": {
            "metric": draw(st.sampled_from(metrics)),
            "direction": draw(st.sampled_from(["asc", "desc"])),
        }
        if ranked
        else None,
        "limit": draw(st.none() | st.integers(1, 100)),
        "attribution": draw(
            st.none()
            | st.builds(
                dict,
                model=st.sampled_from(["first_click", "linear", "position_based"]),
                window_days=st.sampled_from([1, 7, 14, 28, None]),
                mode=st.sampled_from(["cash", "accrual"]),
            )
        ),
    }


@settings(max_examples=150, deadline=None)
@given(payload=valid_queries())
def test_any_valid_query_round_trips_through_json(payload) -> None:
    # given a valid query / when it is written as JSON and parsed again
    parsed = SemanticQuery.parse(payload)
    again = SemanticQuery.parse(parsed.to_json())
    # then it is the same query, and the same question
    assert again == parsed
    assert again.same_as(parsed)
    assert json.loads(again.to_json()) == json.loads(parsed.to_json())


@settings(max_examples=100, deadline=None)
@given(payload=valid_queries(), limit=st.integers(101, 10**6) | st.integers(-(10**6), 0))
def test_any_out_of_range_limit_is_refused_by_name(payload, limit) -> None:
    with pytest.raises(QueryValidationError, match="limit"):
        SemanticQuery.parse({**payload, "limit": limit})
