"""The built-in monitors as the Alerts page uses them: every kind listed with its defaults,
changed by admins only (audited, bad settings refused in one plain line), another
workspace's monitors and firings never seen, and the history of rules' and monitors'
firings newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plain_errors import assert_plain
from sqlalchemy import select

from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError, PermissionDeniedError
from metricx.models import MONITOR_KINDS, AlertEvent, AlertMonitor
from metricx.services import alerts, audit
from metricx.services import monitors as service
from metricx.services.users import actor_for, add_user

NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)


@pytest.fixture
def stranger(other_workspace):
    return actor_for(add_user(other_workspace.id, "eve@globex.test", "correct horse", role="admin"))


def fire(workspace_id: int, *, at: datetime, message: str, rule_id=None, kind=None) -> None:
    """An event as the jobs record them, of a rule or of the workspace's monitor `kind`."""
    with transaction() as session:
        monitor_id = (
            None
            if kind is None
            else session.scalar(
                select(AlertMonitor.id).where(
                    AlertMonitor.workspace_id == workspace_id, AlertMonitor.kind == kind
                )
            )
        )
        session.add(
            AlertEvent(
                workspace_id=workspace_id,
                rule_id=rule_id,
                monitor_id=monitor_id,
                window_key=at.isoformat(timespec="minutes"),
                split_value=None,
                value=1,
                message=message,
                fired_at=at,
            )
        )


def test_every_monitor_is_listed_on_by_default_with_its_settings(admin, member):
    # When a member opens the Alerts page of a new workspace
    listed = service.list_monitors(member)
    # Then every kind is there, enabled, its parameters with their defaults
    assert [m.kind for m in listed] == list(MONITOR_KINDS)
    assert all(m.enabled and m.channels == [] and m.cooldown_minutes == 360 for m in listed)
    by_kind = {m.kind: m for m in listed}
    assert by_kind["data_stale"].params == {"minutes": 60}
    assert by_kind["spend_no_conversions"].params == {"min_spend": 50, "days": 1, "level": "ad"}
    assert by_kind["tracking_drop"].title == "Tracking drop"
    assert by_kind["connection_broken"].last_event is None
    # And listing again creates nothing more
    assert len(service.list_monitors(admin)) == len(MONITOR_KINDS)


def test_an_admin_changes_a_monitor_audited(admin):
    # When an admin raises the stale limit, sends it to Slack and an address, and mutes it
    changed = service.update_monitor(
        admin,
        "data_stale",
        enabled=False,
        params={"minutes": 120},
        channels=[{"kind": "slack"}, {"kind": "email", "to": "Ops@Acme.test"}],
        cooldown_minutes=60,
    )
    # Then the monitor says so, and the list agrees
    assert (changed.enabled, changed.params, changed.cooldown_minutes) == (
        False,
        {"minutes": 120},
        60,
    )
    assert changed.channels == [{"kind": "slack"}, {"kind": "email", "to": "ops@acme.test"}]
    assert {m.kind: m for m in service.list_monitors(admin)}["data_stale"] == changed
    # And the change is in the audit log
    [entry] = [e for e in audit.recent(admin.workspace_id) if e.action == "alert_monitor.update"]
    assert entry.target == "data_stale"
    assert entry.details["params"] == {"minutes": 120}


def test_a_member_cannot_change_a_monitor(member):
    with pytest.raises(
        PermissionDeniedError, match="only an admin can change the built-in monitors"
    ):
        service.update_monitor(member, "data_stale", enabled=False)
    assert all(m.enabled for m in service.list_monitors(member))


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        (
            {"params": {"minutes": 5}},
            "invalid data_stale monitor settings: minutes: must be at least 15, got 5",
        ),
        ({"params": {"minuts": 60}}, "invalid data_stale monitor settings: unknown field 'minuts'"),
        ({"channels": [{"kind": "sms"}]}, "invalid channel 1: kind: unknown channel 'sms'"),
        ({"channels": [{"kind": "email"}]}, "an email channel needs 'to'"),
        ({"cooldown_minutes": -1}, "the cool-down is 0 to 10080 minutes (a week), got -1"),
    ],
)
def test_bad_settings_are_refused_with_a_plain_message(admin, changes, said):
    with pytest.raises(InvalidInputError) as refused:
        service.update_monitor(admin, "data_stale", **changes)
    assert said in str(refused.value)
    assert_plain(str(refused.value))
    # And nothing was stored
    assert {m.kind: m for m in service.list_monitors(admin)}["data_stale"].params == {"minutes": 60}


def test_an_unknown_monitor_is_refused(admin):
    with pytest.raises(InvalidInputError, match="unknown monitor 'stale'; expected one of"):
        service.update_monitor(admin, "stale", enabled=False)


# Each example replaces the params whole, so sharing the workspace between examples is sound.
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(["minutes", "hours", "x"]),
        st.integers() | st.text(max_size=5) | st.none(),
        max_size=2,
    )
)
def test_whatever_params_come_in_they_are_stored_valid_or_refused_plainly(admin, params):
    try:
        changed = service.update_monitor(admin, "data_stale", params=params)
    except InvalidInputError as refused:
        assert_plain(str(refused))
    else:
        assert 15 <= changed.params["minutes"] <= 7 * 24 * 60


def test_another_workspaces_monitors_and_firings_are_invisible(admin, stranger):
    # Given both workspaces' monitors, one of Acme's fired, and Globex's stale monitor off
    service.list_monitors(admin)
    service.update_monitor(stranger, "data_stale", enabled=False)
    fire(
        admin.workspace_id,
        at=NOW,
        message="Meta connection 'Acme EU' needs re-authorisation",
        kind="connection_broken",
    )
    # Then Globex sees its own monitors only, and none of Acme's firings
    theirs = {m.kind: m for m in service.list_monitors(stranger)}
    assert theirs["connection_broken"].last_event is None
    assert service.recent_events(stranger) == []
    # And Acme's monitors keep their own settings, with the firing as the last event
    ours = {m.kind: m for m in service.list_monitors(admin)}
    assert ours["data_stale"].enabled
    assert ours["connection_broken"].last_event is not None
    assert ours["connection_broken"].last_event.message.startswith("Meta connection 'Acme EU'")


def test_the_history_holds_rules_and_monitors_newest_first(admin, member):
    # Given a workspace rule, a member's personal rule and a monitor, each fired
    service.list_monitors(admin)
    shared = alerts.add_rule(
        admin, {"name": "Spend watch", "metric": "spend", "condition": "above", "threshold": 500}
    )
    personal = alerts.add_rule(
        member,
        {"name": "Mine", "metric": "spend", "condition": "above", "threshold": 5},
        personal=True,
    )
    fire(admin.workspace_id, at=NOW - timedelta(hours=2), message="spend high", rule_id=shared.id)
    fire(admin.workspace_id, at=NOW - timedelta(hours=1), message="stale", kind="data_stale")
    fire(admin.workspace_id, at=NOW, message="mine", rule_id=personal.id)
    # Then the admin reads all three, newest first, each named by its rule or monitor
    assert [(e.source, e.name, e.message) for e in service.recent_events(admin)] == [
        ("rule", "Mine", "mine"),
        ("monitor", "Data stale", "stale"),
        ("rule", "Spend watch", "spend high"),
    ]
    # And a limit keeps the newest
    assert [e.message for e in service.recent_events(admin, limit=1)] == ["mine"]
    with pytest.raises(InvalidInputError):
        service.recent_events(admin, limit=0)


def test_a_member_sees_the_workspaces_firings_and_their_own_not_anothers_personal(admin, member):
    other = actor_for(add_user(admin.workspace_id, "cy@acme.test", "battery staple", role="member"))
    service.list_monitors(admin)
    theirs = alerts.add_rule(
        other,
        {"name": "Theirs", "metric": "spend", "condition": "above", "threshold": 5},
        personal=True,
    )
    fire(admin.workspace_id, at=NOW - timedelta(hours=1), message="stale", kind="data_stale")
    fire(admin.workspace_id, at=NOW, message="theirs", rule_id=theirs.id)
    assert [e.message for e in service.recent_events(member)] == ["stale"]
    assert [e.message for e in service.recent_events(other)] == ["theirs", "stale"]
    with new_session() as session:
        assert session.scalar(select(AlertEvent.id).where(AlertEvent.message == "theirs"))
