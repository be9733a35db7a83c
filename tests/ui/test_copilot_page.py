"""The Copilot page: a question in the chat box gives the sourced answer and its query."""

from datetime import date

from apptest import log_in


def test_a_member_asks_and_gets_the_answer_with_its_query(synced, member, monkeypatch):
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: date(2026, 11, 20))
    at = log_in(member.label, "battery staple")
    at.switch_page("pages/copilot.py").run()
    assert not at.exception
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
    at.switch_page("pages/copilot.py").run()
    at.chat_input[0].set_value("write me a poem about the sea").run()
    assert not at.exception
    assert at.chat_message[1].markdown[0].value
    assert not at.get("vega_lite_chart")
