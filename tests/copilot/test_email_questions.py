"""Email & SMS questions in the offline parser (issue 18): Klaviyo's figures in merchants'
words, the ad and store meanings of the same words kept, and what the email data cannot say
asked about or refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.copilot.alert_intent import recognise
from metricx.copilot.evaluation import demo_entities, evaluate, load_golden
from metricx.copilot.lexicon import NON_AD_SOURCES
from metricx.copilot.offline import OfflineUnderstander
from metricx.copilot.prompts import understander_system
from metricx.copilot.understanding import Conversation, Understanding
from metricx.platforms import EMAIL_PROVIDERS, display_name
from metricx.semantic.query import SemanticQuery

TODAY = date(2026, 11, 25)  # a Wednesday
BATCH = Path(__file__).parent / "blind" / "batch9.jsonl"


def understood(*turns: str) -> Understanding:
    conversation = Conversation(entities=demo_entities())
    understanding = Understanding(status="clarify")
    for turn in turns:
        understanding = OfflineUnderstander().understand(turn, conversation, TODAY)
        conversation.add(turn, understanding)
    return understanding


def answered(*turns: str) -> SemanticQuery:
    understanding = understood(*turns)
    assert understanding.status == "answer", understanding.message
    assert understanding.query is not None
    return understanding.query


# --- the blind batch ------------------------------------------------------------------------


def test_the_email_blind_batch_stays_at_its_after_tuning_score() -> None:
    # tests/copilot/blind/README.md "Blind batch 9": 8/31 blind, 31/31 after its fixes
    report = evaluate(OfflineUnderstander(), load_golden(BATCH), demo_entities())
    assert report.overall.accuracy == 1.0, report.render()


# --- generic words read as Klaviyo's figures beside an email word ---------------------------


@pytest.mark.parametrize(
    ("question", "metrics"),
    [
        ("how much revenue did email drive last week?", ["email_revenue"]),
        ("klaviyo sales last week", ["email_revenue"]),
        ("how many orders came from klaviyo last week", ["email_orders"]),
        ("email ctr last week", ["email_click_rate"]),
        ("sms click rate last week", ["email_click_rate"]),
        ("how many emails did we send last week", ["email_recipients"]),
        ("how much did our flows make last week", ["email_revenue"]),
        ("open rate last week", ["email_open_rate"]),
        ("revenue per recipient last week", ["email_revenue_per_recipient"]),
        (
            "how did email do last week",
            ["email_revenue", "email_orders", "email_open_rate", "email_click_rate"],
        ),
        ("what % of revenue came from klaviyo last week", ["email_revenue", "net_sales"]),
    ],
)
def test_an_email_question_is_read_as_klaviyo_s_figures(question: str, metrics: list[str]) -> None:
    query = answered(question)
    assert query.metrics == metrics
    assert (query.time_range.start, query.time_range.end) == (
        date(2026, 11, 16),
        date(2026, 11, 22),
    )


@pytest.mark.parametrize(
    ("question", "metrics"),
    [
        ("store revenue vs email revenue last week", ["store_revenue", "email_revenue"]),
        ("email revenue vs ad spend last week", ["email_revenue", "spend"]),
        ("click rate last week", ["ctr"]),
        ("clicks last week", ["clicks"]),
        ("how many orders were delivered last week", ["orders"]),
        ("spend last week for the newsletter", ["spend"]),
    ],
)
def test_store_and_ad_words_keep_their_meaning_where_email_is_not_asked_about(
    question: str, metrics: list[str]
) -> None:
    assert answered(question).metrics == metrics


def test_a_campaign_named_like_email_is_still_a_name_filter() -> None:
    query = answered("spend on the newsletter signup campaign last week")
    assert query.metrics == ["spend"] and query.filters.name_contains == "newsletter signup"


def test_a_follow_up_on_an_email_question_stays_on_email_unless_the_store_is_named() -> None:
    assert answered("email revenue last week", "and orders?").metrics == ["email_orders"]
    assert answered("email revenue last week", "and store revenue?").metrics == ["store_revenue"]
    weekly = answered("klaviyo revenue this quarter", "by week")
    assert weekly.metrics == ["email_revenue"] and weekly.grain == "week"


EMAIL_WORDS = ("email", "klaviyo", "sms")
GENERIC = {"revenue": "email_revenue", "orders": "email_orders", "clicks": "email_clicks"}
PERIODS = ("yesterday", "last week", "last month", "last 30 days", "this month", "q3")


@settings(max_examples=60, deadline=None)
@given(
    word=st.sampled_from(EMAIL_WORDS),
    generic=st.sampled_from(sorted(GENERIC)),
    period=st.sampled_from(PERIODS),
    today=st.dates(min_value=date(2026, 1, 2), max_value=date(2027, 3, 1)),
)
def test_an_email_word_changes_the_figure_never_the_dates(
    word: str, generic: str, period: str, today: date
) -> None:
    # Given the same question with and without an email word
    plain = OfflineUnderstander().understand(f"{generic} {period}", Conversation(), today)
    email = OfflineUnderstander().understand(f"{word} {generic} {period}", Conversation(), today)
    # Then both are answered over the same dates, the second with Klaviyo's figure
    assert plain.query is not None and email.query is not None, (plain, email)
    assert email.query.metrics == [GENERIC[generic]]
    assert email.query.time_range == plain.query.time_range
    assert email.query.compare_range == plain.query.compare_range


# --- what the email data cannot say --------------------------------------------------------


def test_an_email_figure_on_an_ad_platform_is_asked_about() -> None:
    understanding = understood("open rate for meta last week")
    assert understanding.status == "clarify"
    assert understanding.choices == ("Email open rate last week?", "CTR on Meta last week?")


@pytest.mark.parametrize(
    "question", ["email revenue by campaign last week", "top 5 email campaigns by revenue"]
)
def test_email_figures_are_not_split_by_campaign(question: str) -> None:
    understanding = understood(question)
    assert understanding.status == "clarify"
    assert "not split by campaign, flow or ad" in understanding.message


def test_an_ad_metric_of_the_email_platform_is_asked_about() -> None:
    understanding = understood("klaviyo roas last week")
    assert understanding.status == "clarify"
    assert "does not come from Klaviyo" in understanding.message


@pytest.mark.parametrize("tool", sorted(NON_AD_SOURCES))
def test_another_email_tool_is_refused_naming_what_metricx_reads(tool: str) -> None:
    understanding = understood(f"{tool} revenue last month")
    assert understanding.status == "refuse"
    for provider in EMAIL_PROVIDERS:
        assert display_name(provider) in understanding.message


@pytest.mark.parametrize(
    "question",
    [
        "email me the spend every monday",
        "send an email to everyone on my klaviyo list",
        "email me the list of customers who refunded last month",
    ],
)
def test_email_as_an_action_is_still_refused(question: str) -> None:
    assert understood(question).status == "refuse"


# --- alerts and the Claude prompt -----------------------------------------------------------


@pytest.mark.parametrize(
    ("request_text", "metric"),
    [
        ("email me when email revenue drops below 500", "email_revenue"),
        ("alert me if open rate goes below 20%", "email_open_rate"),
        ("email me if spend goes over $1000", "spend"),
    ],
)
def test_an_alert_on_an_email_figure_watches_it_and_email_me_stays_a_channel(
    request_text: str, metric: str
) -> None:
    recognised = recognise(request_text, today=TODAY, email="owner@shop.example")
    assert recognised is not None and recognised.proposal is not None, recognised
    assert recognised.proposal.fields["metric"] == metric
    assert {"kind": "email", "to": "owner@shop.example"} in recognised.proposal.fields["channels"]


def test_claude_is_told_what_the_email_figures_are_and_how_to_read_them() -> None:
    system = understander_system(TODAY)
    assert "# Email & SMS questions (Klaviyo)" in system
    assert "email_open_rate" in system and '"click rate" alone is the ads\' ctr' in system
    for tool in NON_AD_SOURCES:
        assert tool.capitalize() in system


# --- email vs SMS: the email_channel filter and split -----------------------------------------


@pytest.mark.parametrize(
    ("question", "channels"),
    [
        ("sms revenue last week", ["sms"]),
        ("klaviyo sms revenue last week", ["sms"]),
        ("how much did texts make last week", ["sms"]),
        ("sms only revenue last week", ["sms"]),
        ("sms click rate last week", ["sms"]),
        ("email only revenue last week", ["email"]),
        ("revenue from emails only last week", ["email"]),
        ("klaviyo revenue without sms last week", ["email"]),
    ],
)
def test_one_channel_named_alone_filters_to_that_channel(question: str, channels: list[str]):
    # given a question naming one channel alone / then the figure is that channel's
    query = answered(question)
    assert all(m.startswith("email_") for m in query.metrics)
    assert query.filters.email_channel == channels and query.dimensions == []


@pytest.mark.parametrize(
    "question",
    [
        "email vs sms revenue last week",
        "sms revenue vs email revenue last week",
        "revenue by channel email and sms last week",
        "klaviyo revenue by channel last week",
        "which made more last week, email or sms?",
    ],
)
def test_email_and_sms_set_apart_split_by_channel(question: str) -> None:
    # given email and SMS compared, or a split by channel / then one row per channel
    query = answered(question)
    assert query.metrics == ["email_revenue"]
    assert query.dimensions == ["email_channel"] and query.filters.email_channel is None
    assert query.limit is None  # "which": both rows, side by side


@pytest.mark.parametrize(
    "question",
    ["email revenue last week", "email and sms revenue last week", "klaviyo revenue last week"],
)
def test_email_or_both_channels_together_stay_the_platform_total(question: str) -> None:
    # "email revenue" is the contract's email_revenue: emails and texts together
    query = answered(question)
    assert query.filters.email_channel is None and query.dimensions == []


def test_texts_have_no_opens_said_beside_an_sms_open_rate() -> None:
    # given the SMS open rate / then asked for and said to be empty; split, the SMS row is
    alone = understood("sms open rate last week")
    assert alone.query is not None and alone.query.filters.email_channel == ["sms"]
    assert "Texts have no opens" in alone.message
    split = understood("email vs sms open rate last week")
    assert split.query is not None and split.query.dimensions == ["email_channel"]
    assert "the SMS row has no email open rate" in split.message


def test_a_split_by_channel_keeps_its_grain_and_follow_ups_keep_the_channel() -> None:
    # given a weekly split / then the grain stays beside the channel split
    weekly = answered("email vs sms revenue by week last month")
    assert weekly.dimensions == ["email_channel"] and weekly.grain == "week"
    # and a follow-up on an SMS question keeps the SMS filter
    orders = answered("sms revenue last week", "and orders?")
    assert orders.metrics == ["email_orders"] and orders.filters.email_channel == ["sms"]


def test_by_channel_without_an_email_word_stays_the_ad_platforms() -> None:
    query = answered("spend by channel last week")
    assert query.dimensions == ["provider"] and query.filters.email_channel is None


def test_a_channel_split_with_a_campaign_split_is_still_asked_about() -> None:
    # email figures have channels but no campaigns or ads
    understanding = understood("email vs sms revenue by campaign last week")
    assert understanding.status == "clarify"
    assert "not split by campaign" in understanding.message
