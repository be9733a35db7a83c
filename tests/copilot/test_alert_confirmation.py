"""The copilot's "alert me" path, service level: asking proposes a rule and saves nothing;
confirming saves it once, in the asker's workspace and scope; problems are one-line replies."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from metricx.copilot.service import ask, confirm_proposal
from metricx.db import new_session
from metricx.models import AlertRule, CopilotTurn
from metricx.services import alerts, digests
from metricx.services.users import actor_for, add_user

TODAY = date(2026, 12, 3)


def rules_in(workspace_id: int) -> list[AlertRule]:
    with new_session() as session:
        return list(
            session.scalars(select(AlertRule).where(AlertRule.workspace_id == workspace_id))
        )


def test_asking_proposes_the_rule_in_words_and_saves_nothing(admin):
    # When an admin asks for an alert
    answer = ask(
        admin.workspace_id, "alert me if CAC goes above $70", today=TODAY, user_id=admin.user_id
    )
    # Then the answer proposes it, in words, with where it goes, and asks to confirm
    assert answer.status == "propose" and answer.proposal is not None
    assert answer.answer == (
        "I'll alert you when NCPA is above $70.00 today so far, checked every 15 minutes, "
        "by email to ada@acme.test. Save this alert?"
    )
    assert answer.to_contract()["proposal"]["fields"]["metric"] == "ncpa"
    # and nothing is saved yet, while the turn is logged like any other
    assert rules_in(admin.workspace_id) == []
    with new_session() as session:
        turn = session.scalars(select(CopilotTurn)).one()
    assert (turn.status, turn.question) == ("propose", "alert me if CAC goes above $70")


def test_confirming_saves_one_workspace_rule_with_the_fields_read(admin, other_workspace):
    # Given a proposal
    answer = ask(
        admin.workspace_id,
        "ping me on Slack if ROAS for Meta drops below 2.5x",
        today=TODAY,
        user_id=admin.user_id,
    )
    assert answer.proposal is not None
    # When the admin confirms it
    said = confirm_proposal(admin, answer.proposal)
    # Then one workspace rule holds exactly what was proposed
    assert said.startswith("Saved as a workspace rule")
    [row] = rules_in(admin.workspace_id)
    assert (row.owner_id, row.metric, row.condition, row.threshold) == (
        None,
        "roas",
        "below",
        Decimal("2.5"),
    )
    assert row.filters["provider"] == ["meta"] and row.channels == [{"kind": "slack"}]
    assert (row.period, row.schedule) == ("today", "after_sync")
    # and no other workspace got anything
    assert rules_in(other_workspace.id) == []


def test_confirming_twice_still_saves_one_rule(admin):
    answer = ask(
        admin.workspace_id,
        "alert me if spend goes above $1,000",
        today=TODAY,
        user_id=admin.user_id,
    )
    assert answer.proposal is not None
    first = confirm_proposal(admin, answer.proposal)
    second = confirm_proposal(admin, answer.proposal)
    assert first.startswith("Saved") and second.startswith("This alert is already saved")
    assert len(rules_in(admin.workspace_id)) == 1


def test_a_members_confirmation_makes_a_personal_rule(member):
    answer = ask(
        member.workspace_id,
        "tell me when orders fall by 30% vs last week",
        today=TODAY,
        user_id=member.user_id,
    )
    assert answer.proposal is not None
    said = confirm_proposal(member, answer.proposal)
    assert said.startswith("Saved as a personal rule of bob@acme.test")
    [row] = rules_in(member.workspace_id)
    assert (row.owner_id, row.condition, row.baseline) == (
        member.user_id,
        "falls_by",
        "same_weekday",
    )
    assert row.channels == [{"kind": "email", "to": "bob@acme.test"}]
    # and it is theirs: another member does not see it
    other = actor_for(add_user(member.workspace_id, "cy@acme.test", "battery staple"))
    assert alerts.list_rules(other) == []


def test_an_admin_may_keep_the_rule_to_themselves(admin):
    answer = ask(admin.workspace_id, "alert me if CPC > $3", today=TODAY, user_id=admin.user_id)
    assert answer.proposal is not None
    assert confirm_proposal(admin, answer.proposal, personal=True).startswith(
        "Saved as a personal rule of ada@acme.test"
    )
    [row] = rules_in(admin.workspace_id)
    assert row.owner_id == admin.user_id


def test_a_member_cannot_save_a_workspace_rule_and_is_told_in_one_line(member):
    answer = ask(member.workspace_id, "alert me if CPC > $3", today=TODAY, user_id=member.user_id)
    assert answer.proposal is not None
    said = confirm_proposal(member, answer.proposal, personal=False)
    assert said.startswith("Not saved: only an admin can add workspace alert rules")
    assert not said.saved and "\n" not in said
    assert rules_in(member.workspace_id) == []


def test_a_bad_threshold_is_a_clear_message_never_a_rule(admin):
    # Asked: a fall of more than 100 % cannot happen
    answer = ask(
        admin.workspace_id, "alert me if CTR falls by 150%", today=TODAY, user_id=admin.user_id
    )
    assert answer.proposal is None and answer.status == "clarify"
    assert answer.answer == (
        "I understood you want an alert, but invalid alert rule: a metric cannot fall by "
        "more than 100 %."
    )
    # Confirmed with a threshold that is no number (a proposal altered on its way back)
    good = ask(
        admin.workspace_id, "alert me if spend goes above $70", today=TODAY, user_id=admin.user_id
    ).proposal
    assert good is not None
    bad = replace(good, fields=good.fields | {"threshold": "seventy"})
    said = confirm_proposal(admin, bad)
    assert said.startswith("Not saved: invalid alert rule") and "seventy" in said
    assert rules_in(admin.workspace_id) == []


def test_no_threshold_is_asked_for_never_guessed(admin):
    answer = ask(
        admin.workspace_id, "alert me when CAC gets too high", today=TODAY, user_id=admin.user_id
    )
    assert answer.proposal is None
    assert answer.answer.startswith("I understood you want an alert, but at what value of NCPA?")


def test_ordinary_questions_still_reach_the_parser(admin):
    answer = ask(admin.workspace_id, "how many alerts fired?", today=TODAY, user_id=admin.user_id)
    assert answer.proposal is None and answer.status != "propose"


@pytest.fixture
def claude(setenv):
    from metricx.sandbox.fakes.anthropic import FakeAnthropicServer

    with FakeAnthropicServer() as fake:
        setenv(**fake.env)
        yield fake


def test_with_claude_the_alert_is_read_before_claude_is_asked(admin, claude):
    from metricx.sandbox.fakes.anthropic import Reply

    # Given a Claude reply that would answer a question instead
    claude.script(
        Reply.tool(
            {
                "status": "answer",
                "message": "",
                "choices": [],
                "query": {
                    "metrics": ["spend"],
                    "time_range": {"start": "2026-12-01", "end": "2026-12-01"},
                },
            }
        )
    )
    answer = ask(
        admin.workspace_id, "alert me if CAC goes above $70", today=TODAY, user_id=admin.user_id
    )
    # Then the same proposal as offline, and Claude was never called
    assert answer.proposal is not None and answer.proposal.fields["metric"] == "ncpa"
    assert claude.app.pending == 1


def daily_and_weekly(actor) -> dict[str, object]:
    return {saved.cadence: saved for saved in digests.list_digests(actor)}


def test_a_member_subscribes_to_the_daily_digest_once(member):
    # When a member asks to hear every morning how yesterday went
    answer = ask(
        member.workspace_id,
        "tell me every morning how yesterday went",
        today=TODAY,
        user_id=member.user_id,
    )
    assert answer.proposal is not None and answer.proposal.kind == "digest"
    assert answer.answer.endswith("Save this digest?")
    # Then confirming (twice) adds their email to the daily digest once
    first = confirm_proposal(member, answer.proposal)
    second = confirm_proposal(member, answer.proposal)
    assert first.startswith("Saved: the daily digest goes daily at 08:00 to ") and second.saved
    daily = daily_and_weekly(member)["daily"]
    assert [c for c in daily.channels if c.get("to") == "bob@acme.test"] == [
        {"kind": "email", "to": "bob@acme.test"}
    ]


def test_an_admins_stated_day_and_hour_become_the_weekly_digests(admin):
    answer = ask(
        admin.workspace_id,
        "send me a weekly summary on Fridays at 7am",
        today=TODAY,
        user_id=admin.user_id,
    )
    assert answer.proposal is not None
    said = confirm_proposal(admin, answer.proposal)
    assert said.startswith("Saved: the weekly digest goes every Friday at 07:00"), said
    weekly = daily_and_weekly(admin)["weekly"]
    assert (weekly.weekday, weekly.local_hour) == (4, 7)
    assert {"kind": "email", "to": "ada@acme.test"} in weekly.delivers_to


def test_a_member_cannot_send_the_digest_to_slack(member):
    answer = ask(
        member.workspace_id, "send me a daily summary on Slack", today=TODAY, user_id=member.user_id
    )
    assert answer.proposal is not None
    said = confirm_proposal(member, answer.proposal)
    assert said == "Not saved: only an admin can send the digest to Slack" and not said.saved
