"""Custom metrics and dimensions as data: what a workspace may define, and what a query carries.

No database: Definitions validate themselves, expand to fact sums and are attached to a
SemanticQuery. The engine's numbers are tested in test_custom_engine.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from metricx.semantic import evaluate
from metricx.semantic.custom import (
    CustomDefinitionError,
    CustomMetric,
    Definitions,
    check_id,
)
from metricx.semantic.expression import Binary, Filtered, Number, Ref
from metricx.semantic.formula import parse as parse_formula
from metricx.semantic.query import QueryValidationError, SemanticQuery

WEEK = {"start": "2026-11-01", "end": "2026-11-07"}
STAGE: dict[str, Any] = {
    "label": "Funnel stage",
    "rules": [{"field": "campaign", "op": "contains", "value": "retarget", "then": "BOFU"}],
    "otherwise": "TOFU",
}
PLATFORM_GROUP: dict[str, Any] = {
    "label": "Platform group",
    "rules": [{"field": "provider", "op": "equals", "value": "meta", "then": "Social"}],
}


def definitions(**formulas: str) -> Definitions:
    """Custom metrics by id from their formulas, with the funnel stage dimension."""
    return Definitions.model_validate(
        {
            "metrics": {k: {"label": k.title(), "formula": f} for k, f in formulas.items()},
            "dimensions": {"stage": STAGE, "platform_group": PLATFORM_GROUP},
        }
    )


def refusal(**formulas: str) -> str:
    with pytest.raises(CustomDefinitionError) as raised:
        definitions(**formulas).check()
    return str(raised.value)


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "suggestion"),
    [("spnd / clicks", "'spend'"), ("roaz", "'roas'"), ("meta_shar * 2", "'meta_share'")],
)
def test_an_unknown_name_is_refused_with_the_closest_names(formula: str, suggestion: str) -> None:
    message = refusal(mine=formula, meta_share="spend[provider=meta] / spend")
    assert "'mine' names" in message and "which is no metric" in message
    assert f"did you mean {suggestion}" in message or suggestion in message


def test_a_name_nothing_resembles_is_refused_without_a_guess() -> None:
    message = refusal(mine="zzzqqq + 1")
    assert message == "the formula of 'mine' names 'zzzqqq', which is no metric"


@pytest.mark.parametrize(
    ("formulas", "circle"),
    [
        ({"a": "a + 1"}, "a → a"),
        ({"a": "b + 1", "b": "a * 2"}, "a → b → a"),
        ({"a": "spend / b", "b": "c - 1", "c": "clicks * a"}, "a → b → c → a"),
    ],
)
def test_metrics_that_refer_to_each_other_name_the_circle(
    formulas: dict[str, str], circle: str
) -> None:
    assert refusal(**formulas) == f"the custom metrics refer to each other in a circle: {circle}"


def test_a_metric_outside_the_circle_still_expands() -> None:
    # Given a circle b ↔ c and a metric a that does not touch it
    custom = definitions(a="spend / 2", b="c", c="b")
    # Then a expands, and only the circle is refused
    assert custom.expanded("a") == Binary("/", Ref("spend"), Number(Decimal(2)))
    with pytest.raises(CustomDefinitionError, match="circle: b → c → b"):
        custom.expanded("b")


# --- restrictions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "store_fact"),
    [
        ("orders[provider=meta]", "orders"),
        ("aov[provider=meta]", "gross"),
        ("store_revenue[stage=BOFU] / spend", "gross"),
    ],
)
def test_a_store_metric_cannot_be_restricted_and_a_sentence_says_why(
    formula: str, store_fact: str
) -> None:
    message = refusal(mine=formula)
    assert message.startswith("'mine': ")
    assert "cannot be restricted" in message and f"built from {store_fact!r}" in message
    assert "only ad-platform metrics can be restricted" in message


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("spend[provider=snapchat]", "the platform must be one of meta, google, tiktok"),
        ("spend[stage=MOFU]", "stage takes the values 'BOFU', 'TOFU'"),
        ("spend[color=red]", "restricted by provider or by a custom dimension, not by 'color'"),
    ],
)
def test_an_unknown_platform_dimension_or_value_is_refused(formula: str, expected: str) -> None:
    assert expected in refusal(mine=formula)


def test_a_restriction_of_a_restricted_metric_is_refused() -> None:
    message = refusal(meta_spend="spend[provider=meta]", mine="meta_spend[stage=BOFU]")
    assert "restricted already; restrict its parts instead" in message


def test_a_restriction_reaches_every_ad_sum_of_a_derived_metric_and_matches_values_by_case() -> (
    None
):
    # Given ROAS restricted to Meta, and spend to a stage typed in lower case
    custom = definitions(meta_roas="roas[provider=META]", late="spend[stage=bofu]")
    # Then both sums of ROAS are Meta's, and the stage value is the dimension's own spelling
    assert custom.expanded("meta_roas") == Binary(
        "/",
        Filtered("conversion_value", "provider", "meta"),
        Filtered("spend", "provider", "meta"),
    )
    assert custom.expanded("late") == Filtered("spend", "stage", "BOFU")


# --- ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["spend", "roas", "provider", "campaign", "ad", "gross", "store_revenue"]
)
def test_a_built_in_name_cannot_be_a_custom_id(name: str) -> None:
    with pytest.raises(CustomDefinitionError, match=f"'{name}' is a built-in name"):
        check_id(name)


@pytest.mark.parametrize(
    "name", ["Meta_share", "1st", "meta-share", "meta share", "", "a" * 41, "é", "x\x00"]
)
def test_an_id_with_other_characters_is_refused(name: str) -> None:
    with pytest.raises(CustomDefinitionError, match="must start with a letter"):
        check_id(name)


def test_definitions_refuse_a_bad_id_as_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="built-in name"):
        Definitions.model_validate({"metrics": {"spend": {"label": "x", "formula": "clicks"}}})


def test_a_formula_that_cannot_be_read_is_refused_where_it_is_defined() -> None:
    with pytest.raises(ValidationError, match=r"the formula cannot be read: .* at character 8"):
        CustomMetric(label="x", formula="spend +")


# --- empty values --------------------------------------------------------------------------


def test_a_division_by_zero_is_an_empty_value_not_an_error() -> None:
    # Given Meta's share of spend, and of a figure that is zero
    custom = definitions(share="spend[provider=meta] / (spend - spend)")
    tree = custom.expanded("share")
    sums = {"spend[provider=meta]": 5, "spend": 10}
    # Then the value is empty: None exactly, NaN in columns (never 0 or infinity)
    assert evaluate.decimal(tree, sums) is None
    values = evaluate.columns(tree, {"spend[provider=meta]": [5.0, 0.0], "spend": [10.0, 0.0]})
    assert np.isnan(values).all()


def test_a_custom_metric_as_a_catalogue_entry() -> None:
    custom = Definitions.model_validate(
        {
            "metrics": {
                "meta_share": {
                    "label": "Meta share",
                    "formula": "spend[provider=meta] / spend",
                    "unit": "percent",
                    "higher_is_better": None,
                    "description": "How much of the budget goes to Meta.",
                }
            }
        }
    )
    metric = custom.metric("meta_share")
    assert (metric.label, metric.unit, metric.higher_is_better, metric.source) == (
        "Meta share",
        "percent",
        None,
        "ads",
    )
    assert metric.definition == (
        "Meta share = spend[provider=meta] / spend. How much of the budget goes to Meta."
    )


# --- what a query carries ------------------------------------------------------------------


def test_used_by_keeps_what_a_metric_needs_and_what_that_needs_in_turn() -> None:
    # Given a metric built on another that restricts by the stage, and unrelated definitions
    custom = definitions(
        bofu_share="bofu_spend / spend", bofu_spend="spend[stage=BOFU]", unrelated="clicks * 2"
    )
    # Then asking for the share brings the metric it names and the dimension that one uses
    used = custom.used_by(["bofu_share"])
    assert set(used.metrics) == {"bofu_share", "bofu_spend"}
    assert set(used.dimensions) == {"stage"}
    assert set(custom.used_by(["platform_group"]).dimensions) == {"platform_group"}
    assert not custom.used_by(["spend", "campaign"])


def test_a_query_parsed_with_definitions_carries_only_those_it_uses() -> None:
    custom = definitions(
        bofu_share="bofu_spend / spend", bofu_spend="spend[stage=BOFU]", unrelated="clicks * 2"
    )
    query = SemanticQuery.parse({"metrics": ["bofu_share", "spend"], "time_range": WEEK}, custom)
    assert query.custom is not None
    assert set(query.custom.metrics) == {"bofu_share", "bofu_spend"}
    assert set(query.custom.dimensions) == {"stage"}
    assert query.metric("bofu_share").label == "Bofu_Share"
    split = SemanticQuery.parse(
        {"metrics": ["spend"], "time_range": WEEK, "dimensions": ["platform_group"]}, custom
    )
    assert split.custom is not None and set(split.custom.dimensions) == {"platform_group"}
    assert not split.custom.metrics
    plain = SemanticQuery.parse({"metrics": ["spend"], "time_range": WEEK}, custom)
    assert plain.custom is None


def test_a_query_keeps_its_own_definition_over_the_workspace_one() -> None:
    # Given a workspace defining mine and meta_share, and a query defining its own mine
    workspace = definitions(mine="spend * 2", meta_share="spend[provider=meta] / spend")
    own = {"metrics": {"mine": {"label": "Mine", "formula": "clicks * 3"}}}
    # When the query names both (as run_query attaches the workspace's on an unknown name)
    query = SemanticQuery.parse(
        {"metrics": ["mine", "meta_share"], "time_range": WEEK, "custom": own}, workspace
    )
    # Then mine is the query's own, meta_share the workspace's
    assert query.custom is not None
    assert query.custom.metrics["meta_share"].formula == "spend[provider=meta] / spend"
    assert query.custom.metrics["mine"].formula == "clicks * 3"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"metrics": ["meta_share"]}, "unknown metric 'meta_share'"),
        ({"metrics": ["spend"], "dimensions": ["stage"]}, "unknown dimension 'stage'"),
        (
            {"metrics": ["spend"], "filters": {"dimension_values": {"stage": ["BOFU"]}}},
            "unknown dimension 'stage'",
        ),
        (
            {"metrics": ["spend"], "order_by": {"metric": "meta_share", "direction": "desc"}},
            "unknown metric 'meta_share'",
        ),
    ],
)
def test_a_query_naming_custom_names_without_definitions_is_refused(
    raw: dict[str, Any], expected: str
) -> None:
    with pytest.raises(QueryValidationError, match=expected):
        SemanticQuery.parse({**raw, "time_range": WEEK})


def test_a_query_filtering_by_a_value_the_dimension_never_takes_is_refused() -> None:
    with pytest.raises(QueryValidationError, match="stage has no value 'MOFU'"):
        SemanticQuery.parse(
            {
                "metrics": ["spend"],
                "time_range": WEEK,
                "filters": {"dimension_values": {"stage": ["MOFU"]}},
            },
            definitions(),
        )


def test_a_query_carrying_a_broken_definition_is_refused_with_its_sentence() -> None:
    with pytest.raises(QueryValidationError, match="circle: a → b → a"):
        SemanticQuery.parse(
            {
                "metrics": ["a"],
                "time_range": WEEK,
                "custom": {
                    "metrics": {
                        "a": {"label": "A", "formula": "b"},
                        "b": {"label": "B", "formula": "a"},
                    }
                },
            }
        )


@pytest.mark.parametrize("metric", ["orders", "margin_per_dollar"])
def test_a_store_figure_split_by_a_custom_dimension_is_refused(metric: str) -> None:
    custom = definitions(margin_per_dollar="(net_sales - cogs) / spend")
    with pytest.raises(QueryValidationError, match="cannot be split by platform or campaign"):
        SemanticQuery.parse(
            {"metrics": [metric], "time_range": WEEK, "dimensions": ["stage"]}, custom
        )


@pytest.mark.parametrize("value", ["Top of funnel", "1st", "BOFU-1"])
def test_every_value_a_dimension_takes_can_be_restricted_to(value: str) -> None:
    stage = {**STAGE, "rules": [{**STAGE["rules"][0], "then": value}]}
    written = [f"spend[stage={value}]", f'spend[stage="{value}"]', f"spend[stage='{value}']"]
    expanded = []
    for formula in written:
        try:
            custom = Definitions.model_validate(
                {
                    "metrics": {"mine": {"label": "Mine", "formula": formula}},
                    "dimensions": {"stage": stage},
                }
            )
        except ValidationError:
            continue
        expanded.append(custom.expanded("mine"))
    assert Filtered("spend", "stage", value) in expanded


@st.composite
def acyclic_definitions(draw: st.DrawFn) -> Definitions:
    """Up to 8 custom metrics, each naming catalogue metrics and earlier custom ones, some
    restricted to a platform or a dimension's value."""
    formulas: dict[str, str] = {}
    for i in range(draw(st.integers(1, 8))):
        names = ["spend", "clicks", "roas", *formulas]
        parts = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))
        written = []
        for name in parts:
            restriction = draw(
                st.sampled_from([None, "provider=meta", "stage=BOFU", "platform_group=Social"])
            )
            restrictable = name not in formulas or "[" not in formulas[name]
            written.append(f"{name}[{restriction}]" if restriction and restrictable else name)
        formulas[f"m{i}"] = " + ".join(written)
    return definitions(**formulas)


@settings(max_examples=200, deadline=None)
@given(custom=acyclic_definitions(), data=st.data())
def test_what_used_by_keeps_is_enough_to_expand_and_nothing_more(
    custom: Definitions, data: st.DataObject
) -> None:
    # Given random definitions, and one metric a query names
    metric = data.draw(st.sampled_from(sorted(custom.metrics)))
    try:
        whole = custom.expanded(metric)
    except CustomDefinitionError:
        return  # e.g. a restriction of a metric built on a restricted one: refused elsewhere
    # When only what it uses is carried
    carried = custom.used_by([metric])
    # Then that expands to the same tree, and holds only names the expansion went through
    assert carried.expanded(metric) == whole
    needed = {metric}
    pending = [metric]
    while pending:
        for node in parse_formula(custom.metrics[pending.pop()].formula).nodes():
            if isinstance(node, Ref) and node.name in custom.metrics and node.name not in needed:
                needed.add(node.name)
                pending.append(node.name)
    assert set(carried.metrics) == needed
    restricting = {
        n.key
        for m in needed
        for n in parse_formula(custom.metrics[m].formula).nodes()
        if isinstance(n, Filtered) and n.key != "provider"
    }
    assert set(carried.dimensions) == restricting
