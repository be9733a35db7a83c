"""The notifications service: the Slack webhook (admins, sealed, audited), test messages,
the delivery log and retries, each scoped by the workspace and the actor's role."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from metricx.db import new_session, transaction
from metricx.delivery import outbox
from metricx.delivery.slack import SANDBOX_WEBHOOK_URL
from metricx.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from metricx.models import AuditLog, SlackWebhook
from metricx.services import notifications
from metricx.services.connections import rotate_keys
from metricx.services.users import actor_for, add_user
from metricx.vault import generate_key

TEST_KEY = base64.b64encode(bytes(range(32))).decode()  # tests/conftest.py's key "test"
REAL_LOOKING = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcDEF123ghiJKL456"


def test_an_admin_sets_the_webhook_sealed_and_audited_without_the_secret(admin):
    # When an admin sets the workspace's webhook
    notifications.set_slack_webhook(admin, REAL_LOOKING)
    # Then the workspace has one, stored sealed (the URL nowhere in plain text)
    assert notifications.slack_webhook_set(admin)
    with new_session() as session:
        stored = session.get_one(SlackWebhook, admin.workspace_id)
        assert b"abcDEF123" not in stored.ciphertext
        assert outbox.slack_webhook_url(session, admin.workspace_id) == REAL_LOOKING
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "slack_webhook.set"))
        [entry] = list(audit)
    # And the audit names the Slack team, never the secret
    assert entry.details["team"] == "T0123ABCD" and "abcDEF123" not in str(entry.details)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/T1/B1/x",
        "https://hooks.slack.com.evil.test/services/T1/B1/x",
        "https://evil.test/services/T1/B1/x",
        "https://hooks.slack.com/services/T1/B1",
        "https://hooks.slack.com:8443/services/T1/B1/x",
        "https://hooks.slack.com/services/T1/B1/x?redirect=1",
        "not a url",
    ],
)
def test_anything_but_a_slack_webhook_url_is_refused_in_one_line(admin, url):
    with pytest.raises(InvalidInputError, match=r"hooks\.slack\.com/services"):
        notifications.set_slack_webhook(admin, url)
    assert not notifications.slack_webhook_set(admin)


def test_a_member_cannot_set_or_clear_the_webhook(admin, member):
    with pytest.raises(PermissionDeniedError):
        notifications.set_slack_webhook(member, REAL_LOOKING)
    notifications.set_slack_webhook(admin, REAL_LOOKING)
    with pytest.raises(PermissionDeniedError):
        notifications.clear_slack_webhook(member)
    # And the member may know that one is set, and it stays
    assert notifications.slack_webhook_set(member)


def test_clearing_the_webhook_drops_slack_from_the_default_channels(admin):
    notifications.set_slack_webhook(admin, REAL_LOOKING)
    assert notifications.clear_slack_webhook(admin) is True
    assert notifications.clear_slack_webhook(admin) is False
    with new_session() as session:
        assert {"kind": "slack"} not in outbox.default_channels(session, admin.workspace_id)


def test_a_test_to_slack_goes_through_the_outbox_and_shows_in_the_log(admin, sandbox_slack, worker):
    # Given the demo's webhook
    notifications.set_slack_webhook(admin, SANDBOX_WEBHOOK_URL)
    # When the admin sends a test to Slack and a worker runs
    delivery_id = notifications.send_test(admin, {"kind": "slack"})
    worker.work(burst=True)
    # Then the sandbox's Slack got a message naming the workspace
    [message] = sandbox_slack.messages
    assert "Acme" in message.text
    # And the log shows it sent
    [view] = notifications.recent_deliveries(admin)
    assert (view.id, view.source, view.status) == (delivery_id, "test", "sent")


def test_members_test_their_own_address_only_and_never_slack(admin, member, redis_conn):
    notifications.set_slack_webhook(admin, REAL_LOOKING)
    with pytest.raises(PermissionDeniedError):
        notifications.send_test(member, {"kind": "email", "to": "ada@acme.test"})
    with pytest.raises(PermissionDeniedError):
        notifications.send_test(member, {"kind": "slack"})
    assert notifications.send_test(member, {"kind": "email", "to": "Bob@acme.test"}) > 0


def test_a_test_to_slack_without_a_webhook_is_refused(admin, redis_conn):
    with pytest.raises(InvalidInputError, match="Slack webhook first"):
        notifications.send_test(admin, {"kind": "slack"})


def test_the_log_is_scoped_by_workspace_and_by_what_a_member_may_see(
    admin, member, other_workspace, redis_conn
):
    # Given deliveries here to the admin, the member and Slack, and one in another workspace
    notifications.set_slack_webhook(admin, REAL_LOOKING)
    to_admin = notifications.send_test(admin, {"kind": "email", "to": "ada@acme.test"})
    to_member = notifications.send_test(admin, {"kind": "email", "to": "bob@acme.test"})
    to_slack = notifications.send_test(admin, {"kind": "slack"})
    stranger = actor_for(add_user(other_workspace.id, "zed@globex.test", "pw globex", role="admin"))
    elsewhere = notifications.send_test(stranger, {"kind": "email", "to": "zed@globex.test"})
    # Then the admin sees the workspace's three, the member theirs and Slack's
    assert {v.id for v in notifications.recent_deliveries(admin)} == {to_admin, to_member, to_slack}
    assert {v.id for v in notifications.recent_deliveries(member)} == {to_member, to_slack}
    # And the other workspace's delivery is neither listed nor found
    assert elsewhere not in {v.id for v in notifications.recent_deliveries(admin)}
    with pytest.raises(NotFoundError):
        notifications.retry_delivery(admin, elsewhere)


def test_an_admin_retries_a_failed_delivery_and_it_is_sent(admin, member, sandbox_slack, worker):
    # Given a test to Slack that failed (the channel was archived)
    notifications.set_slack_webhook(admin, SANDBOX_WEBHOOK_URL)
    sandbox_slack.faults.add("slack", "archived")
    delivery_id = notifications.send_test(admin, {"kind": "slack"})
    worker.work(burst=True)
    [failed] = notifications.recent_deliveries(admin)
    assert failed.status == "failed" and "channel_is_archived" in (failed.last_error or "")
    # When a member tries to retry it, they may not; when the admin does, it is sent
    with pytest.raises(PermissionDeniedError):
        notifications.retry_delivery(member, delivery_id)
    notifications.retry_delivery(admin, delivery_id)
    worker.work(burst=True)
    [sent] = notifications.recent_deliveries(admin)
    assert sent.status == "sent" and len(sandbox_slack.messages) == 1
    # And a sent delivery is not retried again
    with pytest.raises(InvalidInputError, match="only a failed one"):
        notifications.retry_delivery(admin, delivery_id)


def test_rotating_keys_reseals_the_webhook_under_the_new_key(admin, setenv):
    # Given a webhook sealed under the current key (tests/conftest.py's "test" key)
    notifications.set_slack_webhook(admin, REAL_LOOKING)
    # When a new primary key is configured (the old one kept to read) and keys are rotated
    setenv(TOKEN_ENCRYPTION_KEY=f"new:{generate_key()},test:{TEST_KEY}")
    assert rotate_keys() >= 1
    # Then the webhook is under the new key, and still reads back
    with transaction() as session:
        assert session.get_one(SlackWebhook, admin.workspace_id).key_id == "new"
        assert outbox.slack_webhook_url(session, admin.workspace_id) == REAL_LOOKING


def test_the_local_mailbox_shows_each_workspace_its_own_mail(
    admin, member, other_workspace, local_mailbox, worker
):
    from metricx.delivery.mailbox import read_messages
    from metricx.models import Delivery

    # Given test emails from this workspace (to the admin and to the member) and another's
    stranger = actor_for(add_user(other_workspace.id, "zed@globex.test", "pw globex", role="admin"))
    to_admin = notifications.send_test(admin, {"kind": "email", "to": "ada@acme.test"})
    to_member = notifications.send_test(admin, {"kind": "email", "to": "bob@acme.test"})
    notifications.send_test(stranger, {"kind": "email", "to": "zed@globex.test"})
    worker.work(burst=True)
    # And all three in the one local mailbox of this machine
    mail = read_messages(local_mailbox.root)
    assert sorted(m.to for m in mail) == ["ada@acme.test", "bob@acme.test", "zed@globex.test"]
    # Then each workspace sees only its own, and a member only what was sent to them
    assert sorted(m.to for m in notifications.workspace_mail(admin, mail)) == [
        "ada@acme.test",
        "bob@acme.test",
    ]
    assert [m.to for m in notifications.workspace_mail(stranger, mail)] == ["zed@globex.test"]
    assert [m.to for m in notifications.workspace_mail(member, mail)] == ["bob@acme.test"]
    # And what they see is told by the deliveries' own Message-IDs, not by the address
    with new_session() as session:
        ours = {
            outbox.message_id(session.get_one(Delivery, delivery_id))
            for delivery_id in (to_admin, to_member)
        }
    assert {m.message_id for m in notifications.workspace_mail(admin, mail)} == ours
