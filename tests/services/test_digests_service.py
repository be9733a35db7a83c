"""Digests as the Alerts page and the CLI will use them: admins change them (validated,
audited, rescheduled), anyone subscribes their own address, a preview is the message that
would be sent, sending now twice sends once; another workspace's digests are never seen."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from plain_errors import assert_plain
from sqlalchemy import select

from metricx.db import new_session, transaction
from metricx.errors import InvalidInputError, PermissionDeniedError
from metricx.models import Delivery, SlackWebhook
from metricx.services import audit
from metricx.services.digests import (
    list_digests,
    preview_digest,
    save_digest,
    send_digest_now,
    subscribe_digest,
    unsubscribe_digest,
)
from metricx.services.users import actor_for, add_user

#: Thursday Dec 3, 2026, 09:20 in New York.
NOW = datetime(2026, 12, 3, 14, 20, tzinfo=UTC)


@pytest.fixture
def stranger(other_workspace):
    return actor_for(add_user(other_workspace.id, "eve@globex.test", "correct horse", role="admin"))


def with_slack(workspace_id: int) -> None:
    """The workspace has a Slack webhook (what it holds does not matter here)."""
    with transaction() as session:
        session.add(
            SlackWebhook(workspace_id=workspace_id, ciphertext=b"x", nonce=b"n", key_id="test")
        )


def test_an_admin_sets_a_weekly_digest_rescheduled_and_audited(admin):
    # When an admin sends the weekly digest on Fridays at 07:00 to one address and Slack
    saved = save_digest(
        admin,
        "weekly",
        local_hour=7,
        weekday=4,
        channels=[{"kind": "email", "to": "Team@Acme.test"}, {"kind": "slack"}],
        now=NOW,
    )
    # Then it is stored as asked (the address normalised), next due Friday 07:00 New York
    assert (saved.cadence, saved.local_hour, saved.weekday, saved.enabled) == ("weekly", 7, 4, True)
    assert saved.channels == [{"kind": "email", "to": "team@acme.test"}, {"kind": "slack"}]
    assert saved.next_run_at == datetime(2026, 12, 4, 12, tzinfo=UTC)
    assert saved.when == "every Friday at 07:00"
    # And without a Slack webhook it delivers to the address only
    assert saved.delivers_to == [{"kind": "email", "to": "team@acme.test"}]
    # And the change is audited; the daily digest was created with the defaults
    assert audit.recent(admin.workspace_id)[0].action == "digest.save"
    assert [(d.cadence, d.when) for d in list_digests(admin)] == [
        ("daily", "daily at 08:00"),
        ("weekly", "every Friday at 07:00"),
    ]


@pytest.mark.parametrize(
    ("cadence", "fields", "words"),
    [
        ("monthly", {}, "daily or weekly"),
        ("daily", {"local_hour": 24}, "0 to 23"),
        ("daily", {"weekday": 1}, "takes no weekday"),
        ("weekly", {"weekday": 7}, "0 (Monday) to 6"),
        ("daily", {"channels": [{"kind": "email", "to": "not an address"}]}, "not an email"),
        ("daily", {"channels": [{"kind": "pigeon"}]}, "channel"),
    ],
)
def test_a_bad_setting_is_refused_in_one_line(admin, cadence, fields, words):
    # When an admin saves a digest with a bad setting
    with pytest.raises(InvalidInputError) as refused:
        save_digest(admin, cadence, **fields)
    # Then it is refused in a plain sentence naming the problem, and nothing changed: the
    # workspace has its default digests
    assert words in str(refused.value)
    assert_plain(str(refused.value))
    assert [(d.cadence, d.when) for d in list_digests(admin)] == [
        ("daily", "daily at 08:00"),
        ("weekly", "every Monday at 08:00"),
    ]


def test_members_cannot_change_or_send_digests(member):
    # When a member tries to change or send one
    # Then they are refused
    with pytest.raises(PermissionDeniedError):
        save_digest(member, "daily", local_hour=6)
    with pytest.raises(PermissionDeniedError):
        send_digest_now(member, "daily")


def test_a_member_subscribes_to_the_defaults_keeping_the_admins(admin, member):
    # Given a workspace with Slack, its daily digest going to the defaults
    with_slack(admin.workspace_id)
    save_digest(admin, "daily", now=NOW)
    # When a member subscribes, twice
    first = subscribe_digest(member, "daily", now=NOW)
    second = subscribe_digest(member, "daily", now=NOW)
    # Then the defaults are kept, resolved, with the member's address added once
    expected = [
        {"kind": "email", "to": "ada@acme.test"},
        {"kind": "slack"},
        {"kind": "email", "to": "bob@acme.test"},
    ]
    assert first.channels == second.channels == expected
    assert second.delivers_to == expected
    assert [e.action for e in audit.recent(admin.workspace_id)].count("digest.subscribe") == 1


def test_unsubscribing_keeps_everyone_else_and_the_last_one_out_turns_it_off(admin, member):
    # Given the weekly digest to the defaults plus the member
    subscribe_digest(member, "weekly", now=NOW)
    # When the admin unsubscribes
    saved = unsubscribe_digest(admin, "weekly", now=NOW)
    # Then only the member receives it
    assert saved.channels == saved.delivers_to == [{"kind": "email", "to": "bob@acme.test"}]
    assert saved.enabled
    # And when the member unsubscribes too, twice, nobody does: it is off (not the defaults)
    unsubscribe_digest(member, "weekly", now=NOW)
    saved = unsubscribe_digest(member, "weekly", now=NOW)
    assert (saved.channels, saved.enabled) == ([], False)
    actions = [e.action for e in audit.recent(admin.workspace_id)]
    assert actions.count("digest.unsubscribe") == 2


def test_a_machine_actor_cannot_subscribe(workspace):
    from metricx.actor import Actor

    # When the CLI's actor subscribes
    with pytest.raises(InvalidInputError) as refused:
        subscribe_digest(Actor.system(workspace.id), "daily")
    # Then it is told a subscription is a user's own
    assert "your own email" in str(refused.value)


def test_an_admin_already_receiving_the_defaults_changes_nothing_by_subscribing(admin):
    # When an admin subscribes to a digest that does not exist yet
    saved = subscribe_digest(admin, "weekly", now=NOW)
    # Then it exists with the defaults, which already send to them
    assert (saved.channels, saved.weekday) == ([], 0)
    assert saved.delivers_to == [{"kind": "email", "to": "ada@acme.test"}]


def test_send_now_twice_enqueues_once_per_channel(admin):
    # Given the daily digest to the defaults
    add_user(admin.workspace_id, "grace@acme.test", "another horse", role="admin")
    # When an admin sends it now, twice, on Dec 3
    first = send_digest_now(admin, "daily", today=date(2026, 12, 3), now=NOW)
    second = send_digest_now(admin, "daily", today=date(2026, 12, 3), now=NOW)
    # Then each admin gets Dec 2 once
    assert len(first) == 2 and second == []
    with new_session() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [(r.target, r.payload, r.source) for r in rows] == [
            (email, {"cadence": "daily", "start": "2026-12-02", "end": "2026-12-02"}, "digest")
            for email in ("ada@acme.test", "grace@acme.test")
        ]
        assert [r.id for r in rows] == first
    assert rows[0].subject == "Metricx daily digest — Wed 2 Dec"


def test_a_preview_is_the_message_of_the_latest_window(admin):
    # When the weekly digest is previewed on Monday Nov 23
    message = preview_digest(admin, "weekly", today=date(2026, 11, 23))
    # Then it covers Nov 16 - 22 (here without data) and links to those days
    assert message.subject == "Metricx weekly digest — 16 – 22 Nov: no data"
    assert message.link and "from=2026-11-16" in message.link and "to=2026-11-22" in message.link


def test_another_workspaces_digests_are_not_seen_or_changed(admin, stranger):
    # Given a workspace's changed digest
    save_digest(admin, "daily", local_hour=6, now=NOW)
    # When another workspace's admin lists (their defaults) and saves theirs
    assert [d.local_hour for d in list_digests(stranger)] == [8, 8]
    save_digest(stranger, "daily", local_hour=9, now=NOW)
    # Then each sees only its own
    assert [d.local_hour for d in list_digests(admin)] == [6, 8]
    assert [d.local_hour for d in list_digests(stranger)] == [9, 8]
