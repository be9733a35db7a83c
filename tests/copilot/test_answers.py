"""Honest answers (issue #14): choices that continue the conversation, names checked against the
workspace, the scope stated, partial periods flagged, better/worse by each metric's direction,
"no data" never shown as a zero, same-name entities told apart, and "why did X change?"."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from metricx.cli import main
from metricx.copilot.service import ask
from metricx.copilot.understanding import Conversation
from metricx.copilot.why import decompose
from metricx.db import transaction
from metricx.models import Entity
from metricx.platforms import AD_PROVIDERS
from metricx.semantic.catalogue import format_value
from metricx.semantic.engine import run_query

TODAY = date(2026, 11, 20)  # a Friday; the synced data covers Nov 8-19


def test_a_clarification_carries_ready_questions_and_picking_one_answers(synced):
    workspace_id, _ = synced
    conversation = Conversation()
    asked = ask(workspace_id, "best campaigns last week", conversation, today=TODAY)
    assert asked.status == "clarify" and asked.to_contract()["choices"]
    # Each choice is the question with the missing piece filled in
    assert "best campaigns last week by ROAS" in asked.choices
    picked = ask(workspace_id, "best campaigns last week by ROAS", conversation, today=TODAY)
    assert picked.status == "answer"
    assert picked.understanding.query.order_by.metric == "roas"


def test_the_cli_json_shows_the_choices_of_a_clarification(synced):
    result = CliRunner().invoke(
        main,
        [
            "ask",
            "--workspace",
            "Acme",
            "--today",
            "2026-11-20",
            "--json",
            "ROAS of campaign Zebra Unicorn Quantum",
        ],
    )
    assert result.exit_code == 0, result.output
    contract = json.loads(result.output)
    assert contract["status"] == "clarify" and contract["result"] is None
    assert "Zebra Unicorn Quantum" in contract["answer"]
    assert contract["choices"]  # the workspace's closest names, as ready questions


def test_a_name_that_matches_nothing_says_so_and_offers_the_closest_names(synced):
    workspace_id, _ = synced
    answer = ask(workspace_id, "spend on the Zebra campaing yesterday", today=TODAY)
    assert answer.status == "clarify" and answer.result is None
    assert "\u201czebra\u201d" in answer.answer and answer.choices


def test_a_name_that_matches_is_answered_with_its_scope_stated(synced):
    workspace_id, _ = synced
    answer = ask(workspace_id, "spend of campaign Brand Search last week", today=TODAY)
    assert answer.understanding.query.filters.name_contains == "Brand Search"
    assert "Scope: campaigns whose name contains \u201cBrand Search\u201d" in answer.answer
    unfiltered = ask(workspace_id, "spend last week", today=TODAY)
    assert "Scope: all campaigns, on every connected platform." in unfiltered.answer


def test_a_partial_period_is_flagged_and_the_like_for_like_comparison_offered(synced):
    workspace_id, _ = synced
    conversation = Conversation()
    answer = ask(workspace_id, "Meta spend this week vs last week", conversation, today=TODAY)
    assert "differ in length (5 days vs 7 days)" in answer.answer
    [offer] = answer.choices
    assert offer == "the same days: 2026-11-16 to 2026-11-20 vs 2026-11-09 to 2026-11-13"
    same_days = ask(workspace_id, offer, conversation, today=TODAY).understanding.query
    assert same_days.time_range.days == same_days.compare_range.days == 5
    assert same_days.filters.provider == ["meta"]  # the rest of the question is kept


@pytest.mark.parametrize("metric", ["cpa", "roas"])
def test_a_change_says_better_or_worse_by_the_metric_s_direction(synced, metric):
    workspace_id, _ = synced
    answer = ask(workspace_id, f"{metric} last 5 days vs the previous period", today=TODAY)
    result = answer.result
    now, before = result.frame[metric].iloc[0], result.compare_frame[metric].iloc[0]
    higher_is_better = metric == "roas"
    word = "better" if (now > before) == higher_is_better else "worse"
    assert f", {word})" in answer.answer


def test_a_comparison_period_without_data_says_no_data_never_zero(synced):
    workspace_id, _ = synced
    answer = ask(workspace_id, "spend yesterday vs Oct 19", today=TODAY)
    assert "There is no data for Oct 19, 2026 to compare with." in answer.answer
    assert "vs $0.00" not in answer.answer


def test_entities_with_the_same_name_are_told_apart(synced):
    workspace_id, _ = synced
    with transaction() as session:
        first, second = session.scalars(
            select(Entity.id)
            .where(Entity.workspace_id == workspace_id, Entity.level == "campaign")
            .limit(2)
        ).all()
        session.execute(
            update(Entity).where(Entity.id.in_([first, second])).values(name="Twin Campaign")
        )
    answer = ask(workspace_id, "spend by campaign last week", today=TODAY)
    assert f"Twin Campaign (#{first})" in answer.answer
    assert f"Twin Campaign (#{second})" in answer.answer


def test_why_splits_a_ratio_s_change_into_mix_and_rate_that_add_up(synced):
    workspace_id, _ = synced
    answer = ask(workspace_id, "why did roas change over the last 5 days?", today=TODAY)
    assert answer.status == "answer" and answer.decomposition is not None
    query = answer.understanding.query
    whole = run_query(workspace_id, query)
    before, after = whole.compare_frame["roas"].iloc[0], whole.frame["roas"].iloc[0]
    table = answer.decomposition.table
    # mix + rate per campaign, summed, is the whole change, as the engine computes it
    assert math.isclose(table["change"].sum(), after - before, abs_tol=1e-9)
    assert math.isclose((table["mix"] + table["rate"]).sum(), after - before, abs_tol=1e-9)
    assert "Mix effect in total" in answer.answer
    top = table.iloc[0]["segment"]
    assert top in answer.answer  # the biggest driver, named in words
    assert list(answer.table().columns)[:3] == [
        "campaign",
        "ROAS (platform-reported) before",
        "ROAS (platform-reported) after",
    ]
    assert answer.to_contract()["explanation"]["dimension"] == "campaign"


def test_why_splits_an_additive_metric_into_each_platform_s_change(synced):
    workspace_id, _ = synced
    answer = ask(workspace_id, "why did spend go up over the last 5 days by platform", today=TODAY)
    split = answer.decomposition
    assert split.dimension == "provider" and set(split.table["segment"]) == set(AD_PROVIDERS)
    for provider in AD_PROVIDERS:
        frame = run_query(
            workspace_id,
            {
                "metrics": ["spend"],
                "time_range": answer.understanding.query.time_range,
                "filters": {"provider": [provider]},
            },
        ).frame
        row = split.table[split.table["segment"] == provider].iloc[0]
        assert math.isclose(row["after"], frame["spend"].iloc[0])
    assert format_value("spend", abs(split.table.iloc[0]["change"]), "USD") in answer.answer


def test_a_store_metric_why_says_it_cannot_be_split_by_ads(synced):
    workspace_id, _ = synced
    query = ask(
        workspace_id, "revenue last 5 days vs the previous period", today=TODAY
    ).understanding.query
    split = decompose(workspace_id, query)
    assert split.metric == "spend" and "store figure" in split.text


def test_is_it_going_well_gets_the_overview_with_the_biggest_movers(synced):
    workspace_id, _ = synced
    answer = ask(workspace_id, "is it going well?", today=TODAY)
    assert answer.status == "answer"
    assert answer.understanding.query.compare_range is not None
    assert "Biggest drivers by campaign" in answer.answer


def test_a_retail_day_is_stated_in_the_answer(synced):
    workspace_id, _ = synced
    answer = ask(workspace_id, "spend since black friday", today=date(2026, 12, 3))
    assert "Black Friday 2026: Nov 27, 2026." in answer.answer
