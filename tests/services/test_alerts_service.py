"""Alert rules as the pages, the CLI and the copilot will use them: admins own the
workspace's rules, members their personal ones; every change audited; another workspace's
rule is not found; a test run says what would fire and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from plain_errors import assert_plain
from sqlalchemy import func, select

from metricx.db import new_session
from metricx.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from metricx.models import AlertEvent, AlertRule
from metricx.services import alerts, audit
from metricx.services.users import actor_for, add_user

SPEND = {"name": "Spend watch", "metric": "spend", "condition": "above", "threshold": 500}
NOW = datetime(2026, 12, 3, 14, 20, tzinfo=UTC)


@pytest.fixture
def other_member(workspace):
    return actor_for(add_user(workspace.id, "cy@acme.test", "battery staple", role="member"))


@pytest.fixture
def stranger(other_workspace):
    return actor_for(add_user(other_workspace.id, "eve@globex.test", "correct horse", role="admin"))


def names(actor) -> list[str]:
    return [saved.rule.name for saved in alerts.list_rules(actor)]


def test_an_admin_adds_lists_and_deletes_a_workspace_rule_audited(admin):
    # Given a workspace rule added by an admin at 09:20 in New York
    saved = alerts.add_rule(admin, SPEND, now=NOW)
    # Then it is the workspace's, due at the next quarter hour
    assert (saved.scope, saved.next_run_at) == (
        "workspace rule",
        datetime(2026, 12, 3, 14, 30, tzinfo=UTC),
    )
    assert names(admin) == ["Spend watch"]
    # When it is deleted, it is gone, and both changes are in the audit log
    alerts.delete_rule(admin, saved.id)
    assert names(admin) == []
    logged = [(row.action, row.target) for row in reversed(audit.recent(admin.workspace_id))]
    assert logged[-2:] == [("alert_rule.add", str(saved.id)), ("alert_rule.delete", str(saved.id))]


def test_a_member_keeps_personal_rules_and_only_reads_the_workspaces(admin, member, other_member):
    # Given a workspace rule, and a personal rule of each member
    shared = alerts.add_rule(admin, SPEND)
    mine = alerts.add_rule(member, {**SPEND, "name": "Mine"}, personal=True)
    alerts.add_rule(other_member, {**SPEND, "name": "Theirs"}, personal=True)
    # Then a member sees the workspace's rules and their own; an admin sees every rule
    assert names(member) == ["Spend watch", "Mine"]
    assert mine.scope == "personal rule of bob@acme.test"
    assert names(admin) == ["Spend watch", "Mine", "Theirs"]
    # And a member may neither add nor delete a workspace rule
    with pytest.raises(PermissionDeniedError, match="only an admin can add workspace alert"):
        alerts.add_rule(member, SPEND)
    with pytest.raises(PermissionDeniedError, match="only an admin can delete workspace alert"):
        alerts.delete_rule(member, shared.id)
    # And another member's rule does not exist for them
    theirs = alerts.list_rules(other_member)[-1].id
    with pytest.raises(NotFoundError, match=f"no alert rule {theirs} in this workspace"):
        alerts.delete_rule(member, theirs)
    # While their own is theirs to delete, and an admin may delete anyone's
    alerts.delete_rule(member, mine.id)
    alerts.delete_rule(admin, theirs)
    assert names(admin) == ["Spend watch"]


def test_another_workspaces_rule_is_not_found(admin, stranger):
    # Given a rule of this workspace
    saved = alerts.add_rule(admin, SPEND)
    # Then another workspace's admin neither lists, tests nor deletes it
    assert alerts.list_rules(stranger) == []
    for attempt in (alerts.test_rule, alerts.delete_rule):
        with pytest.raises(NotFoundError, match=f"no alert rule {saved.id} in this workspace"):
            attempt(stranger, saved.id)
    assert names(admin) == ["Spend watch"]


@pytest.mark.parametrize("rule_id", ["abc", "0", "-3", "99999999999999999999", 3.5, None])
def test_a_bad_rule_id_is_refused_in_one_sentence(admin, rule_id):
    with pytest.raises(InvalidInputError) as refused:
        alerts.delete_rule(admin, rule_id)
    assert_plain(str(refused.value))
    assert "the rule id must be" in str(refused.value)


def test_a_rule_is_checked_against_the_workspace_before_it_is_stored(admin):
    # Given a metric typed wrong and a huge threshold
    with pytest.raises(InvalidInputError, match=r"unknown metric 'spendd' \(did you mean 'spend'"):
        alerts.add_rule(admin, {**SPEND, "metric": "spendd"})
    with pytest.raises(InvalidInputError, match="threshold: must be a number between"):
        alerts.add_rule(admin, {**SPEND, "threshold": "9" * 40})
    # Then nothing was stored
    with new_session() as session:
        assert session.scalar(select(func.count()).select_from(AlertRule)) == 0


def test_a_personal_rule_needs_a_person(admin):
    from metricx.actor import Actor

    with pytest.raises(InvalidInputError, match="a personal alert rule belongs to a user"):
        alerts.add_rule(Actor.system(admin.workspace_id), SPEND, personal=True)


def test_testing_a_rule_records_nothing_and_keeps_its_schedule(admin, member):
    # Given a rule on a workspace with no data yet
    saved = alerts.add_rule(admin, {**SPEND, "condition": "below", "threshold": 1})
    # When a member tests it
    result = alerts.test_rule(member, str(saved.id), now=NOW)
    # Then it says there is no data, and nothing was recorded or moved
    assert [e.message for e in result.evaluations] == ["Ad spend today so far: no data"]
    assert result.firing == []
    with new_session() as session:
        assert session.scalar(select(func.count()).select_from(AlertEvent)) == 0
        assert session.get_one(AlertRule, saved.id).next_run_at == saved.next_run_at


def test_an_admin_adds_the_recommended_anomaly_rules_once(admin, member, stranger):
    from metricx.alerts.anomaly_defaults import DEFAULT_ANOMALY_RULES

    # When an admin adds the recommended rules, twice
    first = alerts.add_recommended_rules(admin, now=NOW)
    again = alerts.add_recommended_rules(admin, now=NOW)
    # Then each family got one anomalous workspace rule, once, and it was audited
    assert (first, again) == (len(DEFAULT_ANOMALY_RULES), 0)
    rules = [saved.rule for saved in alerts.list_rules(admin)]
    assert {r.condition for r in rules} == {"anomalous"}
    assert len(rules) == len(DEFAULT_ANOMALY_RULES)
    assert audit.recent(admin.workspace_id)[0].action == "alert_rule.recommended"
    # And another workspace has none of them, and a member may not add them
    assert alerts.list_rules(stranger) == []
    with pytest.raises(PermissionDeniedError):
        alerts.add_recommended_rules(member)
