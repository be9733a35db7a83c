"""The copilot and a workspace's custom metrics and dimensions: named by id, label or
description, split and filtered by, through the offline parser and through Claude, and only
ever the asking workspace's own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import anthropic
import pytest

from metricx.copilot.claude import ClaudeUnderstander
from metricx.copilot.evaluation import demo_entities
from metricx.copilot.offline import OfflineUnderstander
from metricx.copilot.service import EXAMPLE_QUESTIONS, ask, suggested_questions
from metricx.copilot.understanding import Conversation, Understanding
from metricx.sandbox.fakes.anthropic import FakeAnthropicServer, Reply
from metricx.semantic.catalogue import format_value
from metricx.semantic.custom import Definitions
from metricx.semantic.engine import run_query
from metricx.services import custom_definitions

TODAY = date(2026, 11, 20)  # a Friday; "last week" is Nov 9-15
LAST_WEEK = {"start": "2026-11-09", "end": "2026-11-15"}
META_SHARE = {
    "label": "Meta share",
    "formula": "spend[provider=meta] / spend",
    "unit": "percent",
    "higher_is_better": None,
    "description": "What share of ad spend went to Meta",
}
STAGE = {
    "label": "Funnel stage",
    "rules": [{"field": "campaign", "op": "contains", "value": "retarget", "then": "BOFU"}],
    "otherwise": "TOFU",
}
DEFINITIONS = Definitions.model_validate(
    {"metrics": {"meta_share": META_SHARE}, "dimensions": {"stage": STAGE}}
)


def understand(
    question: str, conversation: Conversation | None = None, definitions: Definitions = DEFINITIONS
) -> Understanding:
    conversation = conversation or Conversation(entities=demo_entities(), definitions=definitions)
    understanding = OfflineUnderstander().understand(question, conversation, TODAY)
    conversation.add(question, understanding)
    return understanding


def answered(question: str, conversation: Conversation | None = None) -> Any:
    understanding = understand(question, conversation)
    assert understanding.status == "answer", understanding.message
    assert understanding.query is not None
    return understanding.query


# --- the offline parser ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "meta_share last week",  # its id
        "Meta share last week",  # its label
        "what was our meta shr last week?",  # a typo of its label
        "what share of spend went to meta last week",  # its description
    ],
)
def test_a_custom_metric_is_named_by_id_label_or_description(question):
    query = answered(question)
    assert query.metrics == ["meta_share"]
    assert query.filters.provider is None  # "to meta" is part of the metric, not a filter
    assert query.custom.metrics == {"meta_share": DEFINITIONS.metrics["meta_share"]}


@pytest.mark.parametrize(
    ("question", "platform"),
    [
        # "spend" and "meta" are words the catalogue reads: no reason to reach for a description
        ("how much did we spend on meta last week", "meta"),
        # the description is of Meta's share, not Google's
        ("what share of spend went to google last week", "google"),
    ],
)
def test_a_clear_catalogue_question_keeps_its_catalogue_metric(question, platform):
    query = answered(question)
    assert (query.metrics, query.filters.provider, query.custom) == (["spend"], [platform], None)


@pytest.mark.parametrize(
    "question", ["ROAS by funnel stage last week", "spend and roas by stage last week"]
)
def test_a_custom_dimension_splits_by_id_or_label(question):
    query = answered(question)
    assert query.dimensions == ["stage"] and "roas" in query.metrics
    assert query.custom.dimensions == {"stage": DEFINITIONS.dimensions["stage"]}


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("spend on BOFU campaigns last week", ["BOFU"]),
        ("BOFU spend last week", ["BOFU"]),
        ("spend excluding bofu last week", ["TOFU"]),
    ],
)
def test_a_custom_dimension_value_filters(question, kept):
    query = answered(question)
    assert (query.metrics, query.dimensions) == (["spend"], [])
    assert query.filters.dimension_values == {"stage": kept}


def test_two_values_of_a_dimension_are_shown_side_by_side():
    query = answered("roas for BOFU vs TOFU last week")
    assert query.dimensions == ["stage"]
    assert query.filters.dimension_values == {"stage": ["BOFU", "TOFU"]}


def test_follow_ups_split_and_filter_by_a_custom_dimension():
    conversation = Conversation(entities=demo_entities(), definitions=DEFINITIONS)
    first = answered("spend last week", conversation)
    split = answered("now by funnel stage", conversation)
    assert split.dimensions == ["stage"] and split.time_range == first.time_range
    only = answered("only TOFU", conversation)
    assert only.filters.dimension_values == {"stage": ["TOFU"]}
    assert only.dimensions == ["stage"] and only.metrics == ["spend"]


def test_a_value_of_two_dimensions_is_asked_about_and_the_choice_answers():
    # Given two dimensions that both have a BOFU
    intent = {"label": "Intent", "rules": [{"field": "ad", "value": "cart", "then": "BOFU"}]}
    both = Definitions.model_validate(
        {"metrics": {"meta_share": META_SHARE}, "dimensions": {"stage": STAGE, "intent": intent}}
    )
    conversation = Conversation(entities=demo_entities(), definitions=both)
    # When asked about BOFU spend, the copilot asks which BOFU
    asked = understand("spend on BOFU campaigns last week", conversation)
    assert asked.status == "clarify" and "Funnel stage" in asked.message
    assert asked.choices == ("Funnel stage BOFU", "Intent BOFU")
    # And the question with the dimension named answers
    query = answered("spend on Intent BOFU campaigns last week", conversation)
    assert query.filters.dimension_values == {"intent": ["BOFU"]}


def test_a_workspace_without_the_metric_is_told_it_does_not_exist():
    asked = understand("meta_share last week", definitions=Definitions())
    assert asked.status == "clarify" and "I don't have a metric" in asked.message


# --- Claude ------------------------------------------------------------------------------------


@pytest.fixture
def fake(server: FakeAnthropicServer) -> Iterator[FakeAnthropicServer]:
    server.reset()
    yield server
    assert server.app.pending == 0, "the test left scripted replies unused"


@pytest.fixture
def claude(server: FakeAnthropicServer) -> ClaudeUnderstander:
    client = anthropic.Anthropic(
        api_key=server.api_key, base_url=server.url, max_retries=0, timeout=5
    )
    return ClaudeUnderstander(client, model="claude-sonnet-4-6")


def answer(query: dict[str, Any]) -> Reply:
    return Reply.tool({"status": "answer", "query": query, "message": "", "choices": []})


STAGE_ROAS = {
    "metrics": ["meta_share", "roas"],
    "time_range": LAST_WEEK,
    "dimensions": ["stage"],
    "filters": {"dimension_values": {"stage": ["BOFU"]}},
}


def test_claude_is_told_the_workspace_definitions_and_its_query_carries_them(fake, claude):
    # Given a workspace with a custom metric and dimension
    fake.script(answer(STAGE_ROAS))
    conversation = Conversation(definitions=DEFINITIONS)
    # When Claude answers with their ids
    got = claude.understand("meta share and ROAS of BOFU by funnel stage", conversation, TODAY)
    # Then the query validates with the workspace's definitions attached
    assert got.status == "answer" and got.query is not None
    assert got.query.custom.model_dump() == DEFINITIONS.model_dump()
    (body,) = fake.bodies()
    # And the model was told them: ids in the tool schema, the rest as data in the user message
    schema = body["tools"][0]["input_schema"]
    assert (
        "meta_share"
        in schema["properties"]["query"]["anyOf"][0]["properties"]["metrics"]["items"]["enum"]
    )
    assert "meta_share" in schema["$defs"]["OrderBy"]["properties"]["metric"]["enum"]
    assert "filters.dimension_values" in body["system"]
    workspace = json.loads(body["messages"][0]["content"])["workspace"]
    [metric] = workspace["custom_metrics"]
    assert metric["id"] == "meta_share" and metric["formula"] == "spend[provider=meta] / spend"
    assert metric["description"] == META_SHARE["description"]
    [dimension] = workspace["custom_dimensions"]
    assert (dimension["id"], dimension["label"], dimension["values"]) == (
        "stage",
        "Funnel stage",
        ["BOFU", "TOFU"],
    )


def test_claude_cannot_define_metrics_of_its_own(fake, claude):
    # A query that brings its own "custom" is judged against the workspace's definitions only
    invented = {**STAGE_ROAS, "custom": {"metrics": {"free_money": {**META_SHARE}}}}
    fake.script(
        answer({**invented, "metrics": ["free_money"]}), answer({**invented, "metrics": ["spend"]})
    )
    got = claude.understand("free money by stage", Conversation(definitions=DEFINITIONS), TODAY)
    assert got.status == "answer" and got.query.metrics == ["spend"]
    assert "free_money" not in got.query.definitions.metrics
    repair = fake.bodies()[1]["messages"][-1]["content"][0]
    assert repair["is_error"] and "unknown metric 'free_money'" in repair["content"]


# --- end to end, with the sandbox merchant's data ----------------------------------------------


@pytest.fixture
def defined(synced, admin) -> int:
    workspace_id, _ = synced
    custom_definitions.save_metric(admin, "meta_share", META_SHARE)
    custom_definitions.save_dimension(admin, "stage", STAGE)
    return int(workspace_id)


@pytest.mark.parametrize(
    "question",
    ["meta_share last week", "Meta share last week", "what share of spend went to meta last week"],
)
def test_a_custom_metric_is_answered_with_its_number_and_its_definition(defined, question):
    answer = ask(defined, question, today=TODAY)
    assert answer.status == "answer", answer.answer
    expected = run_query(defined, {"metrics": ["meta_share"], "time_range": LAST_WEEK})
    share = expected.frame["meta_share"].iloc[0]
    assert answer.result.frame["meta_share"].iloc[0] == pytest.approx(share)
    shown = format_value(expected.metric("meta_share"), share, "USD")
    assert f"Meta share: **{shown}**" in answer.answer
    assert "Meta share = spend[provider=meta] / spend" in answer.answer


def test_roas_by_funnel_stage_splits_and_bofu_spend_filters(defined):
    split = ask(defined, "ROAS by funnel stage last week", today=TODAY)
    assert split.status == "answer", split.answer
    expected = run_query(
        defined, {"metrics": ["roas"], "time_range": LAST_WEEK, "dimensions": ["stage"]}
    )
    got = split.result.frame.set_index("stage")["roas"]
    assert set(got.index) == {"BOFU", "TOFU"}
    for stage, roas in expected.frame.set_index("stage")["roas"].items():
        assert got[stage] == pytest.approx(roas)
        assert (
            f"{stage}: ROAS (platform-reported) {format_value('roas', roas, 'USD')}" in split.answer
        )

    filtered = ask(defined, "BOFU spend last week", today=TODAY)
    assert filtered.status == "answer", filtered.answer
    bofu = (
        run_query(
            defined,
            {
                "metrics": ["spend"],
                "time_range": LAST_WEEK,
                "filters": {"dimension_values": {"stage": ["BOFU"]}},
            },
        )
        .frame["spend"]
        .iloc[0]
    )
    assert filtered.result.frame["spend"].iloc[0] == pytest.approx(bofu)
    assert format_value("spend", bofu, "USD") in filtered.answer
    assert "campaigns whose Funnel stage is BOFU" in filtered.answer


def test_another_workspace_does_not_see_the_custom_metric(defined, other_workspace, fake, server):
    # Given workspace A defines meta_share: workspace B asking for it is told it is unknown
    offline = ask(other_workspace.id, "meta_share last week", today=TODAY)
    assert offline.status == "clarify" and offline.result is None
    # And Claude naming it for workspace B gets it refused by validation, twice, then asks back
    client = anthropic.Anthropic(
        api_key=server.api_key, base_url=server.url, max_retries=0, timeout=5
    )
    query = {"metrics": ["meta_share"], "time_range": LAST_WEEK}
    fake.script(answer(query), answer(query))
    claude = ClaudeUnderstander(client, model="claude-sonnet-4-6")
    asked = ask(other_workspace.id, "meta_share last week", today=TODAY, understander=claude)
    assert asked.status == "clarify" and "unknown metric 'meta_share'" in asked.answer
    assert "workspace" not in json.loads(fake.bodies()[0]["messages"][0]["content"])


def test_the_first_questions_offered_use_the_workspace_definitions(workspace, admin):
    assert suggested_questions(workspace.id) == EXAMPLE_QUESTIONS
    custom_definitions.save_metric(admin, "meta_share", META_SHARE)
    custom_definitions.save_dimension(admin, "stage", STAGE)
    offered = suggested_questions(workspace.id)
    assert offered[:2] == ("Meta share last week", "ROAS by Funnel stage last week")
    # and each of them is understood as the workspace's own metric or split
    assert answered(offered[0]).metrics == ["meta_share"]
    assert answered(offered[1]).dimensions == ["stage"]
