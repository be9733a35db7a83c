"""The Copilot page: it says which mode answers (Claude or the offline parser), and a question
in the chat box gives the sourced answer and its query."""

from datetime import date

import pytest
from apptest import log_in

from metricx.config import get_config
from metricx.semantic.catalogue import format_value
from metricx.semantic.engine import run_query


def test_a_member_asks_and_gets_the_answer_with_its_query(synced, member, monkeypatch):
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: date(2026, 11, 20))
    at = log_in(member.label, "battery staple")
    at.switch_page("views/copilot.py").run()
    assert not at.exception
    # Without a key the page says the offline parser answers, and how to switch to Claude
    assert at.caption[0].value.startswith(
        "Offline parser: set ANTHROPIC_API_KEY to answer with Claude."
    )
    assert any("Compare CPC" in b.label for b in at.button)  # suggestions for a new user
    at.chat_input[0].set_value("What was my spend by platform last week?").run()
    assert not at.exception, at.exception
    answer = at.chat_message[1].markdown[0].value
    assert "Nov 9, 2026 – Nov 15, 2026" in answer and "Ad spend" in answer
    assert "Definitions:" in answer
    assert len(at.get("vega_lite_chart")) == 1
    assert '"dimensions": [\n    "provider"\n  ]' in at.code[0].value


def test_an_out_of_scope_question_is_declined_politely(synced, member):
    at = log_in(member.label, "battery staple")
    at.switch_page("views/copilot.py").run()
    at.chat_input[0].set_value("write me a poem about the sea").run()
    assert not at.exception
    assert at.chat_message[1].markdown[0].value
    assert not at.get("vega_lite_chart")


LAST_WEEK = {"metrics": ["spend"], "time_range": {"start": "2026-11-09", "end": "2026-11-15"}}


@pytest.fixture
def claude(setenv):
    """The Anthropic API (a local fake speaking the Messages API) with a key configured."""
    from metricx.sandbox.fakes.anthropic import FakeAnthropicServer

    with FakeAnthropicServer() as fake:
        setenv(**fake.env)
        yield fake


def understood(query: dict):
    from metricx.sandbox.fakes.anthropic import Reply

    return Reply.tool({"status": "answer", "query": query, "message": "", "choices": []})


def test_with_claude_a_grounded_streamed_answer_is_shown(synced, member, claude):
    from metricx.sandbox.fakes.anthropic import Reply

    workspace_id, _ = synced
    spend = run_query(workspace_id, LAST_WEEK).frame["spend"].iloc[0]
    words = f"You spent {format_value('spend', spend, 'USD')} on ads last week."
    claude.script(understood(LAST_WEEK), Reply.say(words))
    at = log_in(member.label, "battery staple")
    at.switch_page("views/copilot.py").run()
    # With a key the page names Claude and the configured model
    assert at.caption[0].value.startswith(
        f"Answers written by Claude ({get_config().anthropic_model})."
    )
    at.chat_input[0].set_value("how much did I spend last week?").run()
    assert not at.exception, at.exception
    assert words in "".join(m.value for m in at.chat_message[1].markdown)


def test_with_claude_a_made_up_number_is_replaced_by_the_computed_answer(synced, member, claude):
    from metricx.sandbox.fakes.anthropic import Reply

    workspace_id, _ = synced
    spend = run_query(workspace_id, LAST_WEEK).frame["spend"].iloc[0]
    claude.script(understood(LAST_WEEK), Reply.say("You spent $987,654.32 last week."))
    at = log_in(member.label, "battery staple")
    at.switch_page("views/copilot.py").run()
    at.chat_input[0].set_value("how much did I spend last week?").run()
    shown = "".join(m.value for m in at.chat_message[1].markdown)
    assert "987,654.32" not in shown
    assert format_value("spend", spend, "USD") in shown


@pytest.fixture
def friday(monkeypatch):
    """The page's today: Friday Nov 20, 2026 (the synced data covers Nov 8-19)."""
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: date(2026, 11, 20))


def test_a_clarification_shows_its_choices_and_a_click_continues_the_conversation(
    synced, member, friday
):
    at = log_in(member.label, "battery staple")
    at.switch_page("views/copilot.py").run()
    at.chat_input[0].set_value("best campaigns last week").run()
    assert not at.exception, at.exception
    [choice] = [b for b in at.button if b.label == "best campaigns last week by ROAS"]
    choice.click().run()
    assert not at.exception, at.exception
    answer = at.chat_message[3].markdown[0].value
    assert "Ranked by ROAS" in answer


def test_a_partial_period_is_flagged_with_the_like_for_like_offer(synced, member, friday):
    at = log_in(member.label, "battery staple")
    at.switch_page("views/copilot.py").run()
    at.chat_input[0].set_value("spend this week vs last week").run()
    assert not at.exception, at.exception
    assert "differ in length (5 days vs 7 days)" in at.chat_message[1].markdown[0].value
    offer = "the same days: 2026-11-16 to 2026-11-20 vs 2026-11-09 to 2026-11-13"
    [button] = [b for b in at.button if b.label == offer]
    button.click().run()
    assert not at.exception, at.exception
    assert (
        "Nov 16, 2026 – Nov 20, 2026 compared with Nov 9, 2026 – Nov 13, 2026"
        in at.chat_message[3].markdown[0].value
    )


def test_a_why_answer_shows_its_drivers_and_their_table(synced, member, friday):
    at = log_in(member.label, "battery staple")
    at.switch_page("views/copilot.py").run()
    at.chat_input[0].set_value("why did roas change over the last 5 days?").run()
    assert not at.exception, at.exception
    assert "Biggest drivers by campaign" in at.chat_message[1].markdown[0].value
    [table] = at.dataframe
    assert {"campaign", "contribution", "mix effect", "rate effect"} <= set(table.value.columns)


def test_an_answer_by_creative_shows_each_creatives_stored_preview(synced, member, friday):
    # given a member on the Copilot page, the sandbox's ads and creatives synced
    at = log_in(member.label, "battery staple")
    at.switch_page("views/copilot.py").run()
    # when they ask for ROAS by creative over a synced week
    at.chat_input[0].set_value("roas by creative from nov 9 to nov 15").run()
    assert not at.exception, at.exception
    # then the answer's table has one row per creative, each beside its preview, sent inline
    # from the local store (never a platform's link)
    table = at.dataframe[0].value
    assert "creative_id" in table and table["creative_id"].notna().any()
    previews = table["preview"].dropna()
    assert len(previews) > 0 and previews.str.startswith("data:image/").all()
