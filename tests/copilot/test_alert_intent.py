"""The copilot's "alert me" recogniser (metricx/copilot/alert_intent.py), as a battery: each
phrasing with the rule (or digest) it must propose, and ordinary questions it must leave to
the parser. The battery was written before the recogniser was tuned; its blind score and its
final score are in the lead's report for issue #16."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.copilot.alert_intent import ProposedAlert, recognise
from metricx.semantic.custom import Definitions

TODAY = date(2026, 11, 20)  # a Friday
EMAIL = "owner@shop.example"
ME = [{"kind": "email", "to": EMAIL}]
SLACK = [{"kind": "slack"}]
DEFINITIONS = Definitions.model_validate(
    {
        "metrics": {
            "meta_share": {
                "label": "Meta share",
                "formula": "spend[provider=meta] / spend",
                "unit": "percent",
            }
        },
        "dimensions": {
            "funnel_stage": {
                "label": "Funnel stage",
                "rules": [{"field": "campaign", "value": "retarget", "then": "BOFU"}],
                "otherwise": "TOFU",
            }
        },
    }
)


def proposal_for(question: str) -> ProposedAlert | None:
    recognised = recognise(question, today=TODAY, definitions=DEFINITIONS, email=EMAIL)
    assert recognised is not None, f"not recognised as an alert request: {question!r}"
    return recognised.proposal


def rule(**fields: Any) -> dict[str, Any]:
    """Expected rule fields; unnamed ones take the defaults every proposal states."""
    expected = {
        "condition": "above",
        "period": "today",
        "schedule": "after_sync",
        "local_hour": None,
        "split": None,
        "baseline": None,
        "channels": ME,
    }
    return expected | fields


RULES: list[tuple[str, dict[str, Any]]] = [
    # the issue's own example, and the trigger words
    ("alert me if CAC goes above $70", rule(metric="ncpa", threshold="70")),
    ("Alert me when CAC goes over $70", rule(metric="ncpa", threshold="70")),
    ("notify me when spend exceeds $1,000", rule(metric="spend", threshold="1000")),
    ("let me know if ROAS drops below 2", rule(metric="roas", condition="below", threshold="2")),
    ("tell me when orders fall under 10", rule(metric="orders", condition="below", threshold="10")),
    ("warn me if CPC > $2.50", rule(metric="cpc", threshold="2.5")),
    ("please alert me if CPA is more than 45 dollars", rule(metric="cpa", threshold="45")),
    (
        "can you notify me if store revenue is less than $500 today",
        rule(metric="store_revenue", condition="below", threshold="500"),
    ),
    ("alert me when ad spend < 100", rule(metric="spend", condition="below", threshold="100")),
    ("let me know when we spend more than €1.5k", rule(metric="spend", threshold="1500")),
    ("alert me if spend goes above 2k", rule(metric="spend", threshold="2000")),
    ("notify me if AOV drops below £40", rule(metric="aov", condition="below", threshold="40")),
    ("alert me if CPM exceeds 25 usd", rule(metric="cpm", threshold="25")),
    # ratios and percent metrics in their display unit
    ("alert me if ROAS goes below 2.5x", rule(metric="roas", condition="below", threshold="2.5")),
    ("warn me when MER falls below 3", rule(metric="mer", condition="below", threshold="3")),
    ("alert me if CTR drops below 1.5%", rule(metric="ctr", condition="below", threshold="1.5")),
    (
        "let me know if conversion rate falls under 2 percent",
        rule(metric="cvr", condition="below", threshold="2"),
    ),
    ("tell me if my meta share goes above 60%", rule(metric="meta_share", threshold="60")),
    # changes against a baseline
    (
        "alert me if spend rises by 20%",
        rule(metric="spend", condition="rises_by", threshold="20", baseline="previous_period"),
    ),
    (
        "notify me when orders fall by 30% vs last week",
        rule(metric="orders", condition="falls_by", threshold="30", baseline="same_weekday"),
    ),
    (
        "let me know if CPA jumps 25% compared to the same day last week",
        rule(metric="cpa", condition="rises_by", threshold="25", baseline="same_weekday"),
    ),
    (
        "warn me when revenue drops by 40 percent",
        rule(
            metric="store_revenue", condition="falls_by", threshold="40", baseline="previous_period"
        ),
    ),
    (
        "alert me if clicks are down 50% vs yesterday",
        rule(metric="clicks", condition="falls_by", threshold="50", baseline="previous_period"),
    ),
    (
        "alert me if CPC increases by 15% week over week",
        rule(metric="cpc", condition="rises_by", threshold="15", baseline="same_weekday"),
    ),
    # anomalies
    ("alert me if spend looks unusual", rule(metric="spend", condition="anomalous", threshold="4")),
    ("tell me when CPA spikes", rule(metric="cpa", condition="anomalous", threshold="4")),
    ("notify me of anomalous ROAS", rule(metric="roas", condition="anomalous", threshold="4")),
    # filters and splits
    # (blind, this line was "CAC for Meta": CAC is a store metric, which no platform filter
    # splits; that request is now in INCOMPLETE, answered with the reason)
    (
        "alert me if CPA for Meta goes above $70",
        rule(metric="cpa", threshold="70", filters={"provider": ["meta"]}),
    ),
    (
        "alert me if ROAS on Google Ads drops below 3",
        rule(metric="roas", condition="below", threshold="3", filters={"provider": ["google"]}),
    ),
    (
        'alert me if spend for campaign "Summer Sale" exceeds $300',
        rule(metric="spend", threshold="300", filters={"name_contains": "Summer Sale"}),
    ),
    (
        "alert me if CPA by campaign goes above $50",
        rule(metric="cpa", threshold="50", split="campaign"),
    ),
    (
        "warn me when any campaign's ROAS falls below 1",
        rule(metric="roas", condition="below", threshold="1", split="campaign"),
    ),
    (
        "notify me if CPC per platform exceeds $3",
        rule(metric="cpc", threshold="3", split="provider"),
    ),
    (
        "alert me if spend for BOFU campaigns goes over $200",
        rule(
            metric="spend",
            threshold="200",
            filters={"dimension_values": {"funnel_stage": ["BOFU"]}},
        ),
    ),
    # periods and schedules
    (
        "alert me if spend yesterday was above $900",
        rule(metric="spend", threshold="900", period="yesterday"),
    ),
    (
        "alert me if ROAS over the last 7 days drops below 2",
        rule(metric="roas", condition="below", threshold="2", period="last_7_days"),
    ),
    (
        "every morning at 9, alert me if yesterday's CAC was above $70",
        rule(metric="ncpa", threshold="70", period="yesterday", schedule="daily", local_hour=9),
    ),
    (
        "check every morning at 9 and tell me if CPA is over $40",
        rule(metric="cpa", threshold="40", period="yesterday", schedule="daily", local_hour=9),
    ),
    (
        "alert me every day at 6pm if spend is above $500",
        rule(metric="spend", threshold="500", schedule="daily", local_hour=18),
    ),
    (
        "check hourly and notify me if spend exceeds $2000 today",
        rule(metric="spend", threshold="2000", schedule="hourly"),
    ),
    # channels
    ("ping me on Slack if CAC goes above $70", rule(metric="ncpa", threshold="70", channels=SLACK)),
    (
        "alert me on slack when ROAS drops below 2",
        rule(metric="roas", condition="below", threshold="2", channels=SLACK),
    ),
    ("send me an email if spend goes over $1000", rule(metric="spend", threshold="1000")),
    ("email me when orders drop below 5", rule(metric="orders", condition="below", threshold="5")),
    ("slack me if CPC goes above $4", rule(metric="cpc", threshold="4", channels=SLACK)),
    (
        "notify me on Slack and by email if CPA exceeds $60",
        rule(metric="cpa", threshold="60", channels=[*ME, *SLACK]),
    ),
    (
        "send a Slack message when spend is over $800",
        rule(metric="spend", threshold="800", channels=SLACK),
    ),
]

DIGESTS: list[tuple[str, dict[str, Any]]] = [
    ("tell me every morning how yesterday went", {"cadence": "daily", "local_hour": 8}),
    ("send me a weekly summary on Mondays", {"cadence": "weekly", "weekday": 0, "local_hour": 8}),
    ("email me a daily digest at 7am", {"cadence": "daily", "local_hour": 7}),
    (
        "every Friday at 5pm send me a recap of the week",
        {"cadence": "weekly", "weekday": 4, "local_hour": 17},
    ),
    ("send me a daily summary on Slack", {"cadence": "daily", "local_hour": 8, "channels": SLACK}),
]

#: Alert requests that lack something: the message names it, and no threshold is guessed.
INCOMPLETE: list[tuple[str, str]] = [
    ("alert me if it goes above $70", "metric"),
    ("alert me when CAC gets too high", "threshold"),
    ("notify me about ROAS", "threshold"),
    ("warn me if spend or CPA goes above 50", "one metric"),
    ("alert me if CAC for Meta goes above $70", "cannot be split by platform"),
    # added after the blind run: a word that might be a filter is asked about, never dropped
    ("alert me if CPA rises above $1.2K for campaign Brand", "quotes"),
    ("alert me if spend is above $500 this week", "today so far, yesterday or the last 7 days"),
    ("alert me if revenue for Snapchat goes above $100", "snapchat"),
    ("alert me every Monday if spend is above $500", "not weekly"),
]

#: Ordinary questions: they go to the parser, never to an alert.
QUESTIONS = [
    "what was my CAC when spend was above $70?",
    "how many alerts fired?",
    "which alerts fired yesterday?",
    "what was my spend last week?",
    "campaigns with ROAS above 2 last month",
    "tell me how yesterday went",
    "let me know what my ROAS was last week",
    "tell me when my best day was",
    "show me days when CPA was over $50",
    "did spend go above $1000 yesterday?",
    "why did CPA rise by 20% last week?",
    "notification settings",
    "alert rules",
    "which campaigns had CTR below 1%",
    "how is my ROAS trending?",
    "send me the numbers for last week",
    "when did revenue drop below $500?",
    "compare spend this week vs last week",
    "what does the anomalous spend mean?",
    # added after the blind run, from the review of what the first version stole
    "check every campaign's ROAS last week",
    "tell me if ROAS was above 2 last week",
    "get me a daily report of spend for last month",
    "email me the list of customers who refunded last month",
    "email me roas every monday",
]


def _matches(fields: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    wrong = []
    for key, want in expected.items():
        got = fields.get(key)
        if key == "threshold":
            same = got is not None and Decimal(str(got)) == Decimal(want)
        elif key == "filters":
            got_filters = {k: v for k, v in (got or {}).items() if v is not None}
            same = got_filters == want
        else:
            same = got == want
        if not same:
            wrong.append(f"{key}: {got!r} != {want!r}")
    return wrong


@pytest.mark.parametrize(("question", "expected"), RULES, ids=[q for q, _ in RULES])
def test_an_alert_request_proposes_the_rule_it_names(question, expected):
    proposal = proposal_for(question)
    assert proposal is not None and proposal.kind == "rule"
    expected = dict(expected)
    expected.setdefault("filters", {})
    assert not _matches(proposal.fields, expected), _matches(proposal.fields, expected)
    assert proposal.words  # the rule in words, for the user to confirm


@pytest.mark.parametrize(("question", "expected"), DIGESTS, ids=[q for q, _ in DIGESTS])
def test_a_digest_request_proposes_a_subscription(question, expected):
    proposal = proposal_for(question)
    assert proposal is not None and proposal.kind == "digest"
    expected = {"channels": ME, "weekday": None} | expected
    assert not _matches(proposal.fields, expected), _matches(proposal.fields, expected)


@pytest.mark.parametrize(("question", "missing"), INCOMPLETE, ids=[q for q, _ in INCOMPLETE])
def test_an_incomplete_request_says_what_is_missing_and_guesses_nothing(question, missing):
    recognised = recognise(question, today=TODAY, definitions=DEFINITIONS, email=EMAIL)
    assert recognised is not None and recognised.proposal is None
    assert recognised.message.startswith("I understood you want an alert, but")
    assert missing in recognised.message


@pytest.mark.parametrize("question", QUESTIONS)
def test_an_ordinary_question_is_not_taken_for_an_alert(question):
    assert recognise(question, today=TODAY, definitions=DEFINITIONS, email=EMAIL) is None


def test_the_proposal_says_the_rule_in_words():
    proposal = proposal_for("alert me if CAC goes above $70")
    assert proposal is not None
    assert proposal.words == "NCPA above $70.00 today so far"
    assert "every 15 minutes" in proposal.text and EMAIL in proposal.text
    assert proposal.text.endswith("Save this alert?")


COMPARISONS = {
    "goes above": "above",
    "exceeds": "above",
    ">": "above",
    "drops below": "below",
    "is under": "below",
    "<": "below",
}


@given(
    metric=st.sampled_from(
        [
            ("spend", "spend"),
            ("CPC", "cpc"),
            ("orders", "orders"),
            ("ROAS", "roas"),
            ("CTR", "ctr"),
            ("meta share", "meta_share"),
        ]
    ),
    comparison=st.sampled_from(sorted(COMPARISONS)),
    number=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2),
)
@settings(max_examples=150, deadline=None)
def test_the_threshold_is_the_number_written_never_another(metric, comparison, number):
    # Given any metric, comparison and number, the proposal holds exactly that number
    word, metric_id = metric
    proposal = proposal_for(f"alert me if {word} {comparison} {number}")
    assert proposal is not None
    assert (proposal.fields["metric"], proposal.fields["condition"]) == (
        metric_id,
        COMPARISONS[comparison],
    )
    assert Decimal(proposal.fields["threshold"]) == number


@given(rest=st.text(alphabet="abcdefghijklmnopqrstuvwxyz $%<>.0123456789", max_size=60))
@settings(max_examples=200, deadline=None)
def test_a_question_is_never_an_alert(rest):
    # "what ..." and "how ..." ask about the data, whatever follows (alert words included)
    for opening in ("what was my spend", "how many alerts", "which campaigns"):
        assert recognise(f"{opening} {rest}", today=TODAY, email=EMAIL) is None
        assert recognise(f"{opening} alert me if {rest}", today=TODAY, email=EMAIL) is None
