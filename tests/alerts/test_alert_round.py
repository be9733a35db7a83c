"""The alerts round end to end, on the real PostgreSQL, Redis (an RQ burst worker), the local
SMTP mailbox and the sandbox's Slack fake: a rule that fires reaches its email and Slack once
however often the round and the worker run; a broken connection reaches the admins by the
default channels; a due digest goes out with its charts; a send that fails transiently is
retried and sent once; another workspace's round touches nothing of this one.

The round's clock reads Friday Nov 20, 2026, 10:07 in New York (the synced sandbox merchant's
now: Nov 8 - 19 synced), so "today" and "yesterday" have data; the worker runs at real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from queued import run_scheduled_retries
from sqlalchemy import func, select, update

from metricx import jobs
from metricx.alerts import round as alerts_round
from metricx.db import new_session, transaction
from metricx.delivery import outbox
from metricx.delivery.alert_message import MAX_LISTED, without_details
from metricx.delivery.mailbox import StoredMail, read_messages
from metricx.models import MONITOR_KINDS, AlertEvent, AlertRule, Connection, Delivery, Digest
from metricx.services import alerts, digests, monitors, notifications
from metricx.services.users import actor_for, add_user

#: Friday Nov 20, 2026, 10:07 in New York.
NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
PUBLIC_URL = "https://metricx.example.com"


class RoundClock(datetime):
    """`datetime` as the round module sees it: now is NOW."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> RoundClock:
        moment = NOW if tz is None else NOW.astimezone(tz)
        return cls.fromtimestamp(moment.timestamp(), tz)


@pytest.fixture
def round_at_now(monkeypatch: pytest.MonkeyPatch, setenv) -> None:
    """`jobs.evaluate_alerts_all()` runs its rounds at NOW; links go to PUBLIC_URL."""
    monkeypatch.setattr(alerts_round, "datetime", RoundClock)
    setenv(APP_PUBLIC_URL=PUBLIC_URL)


def monitors_off(admin, *, but: tuple[str, ...] = ()) -> None:
    """Switch the built-in monitors off (but those named), so a story hears only its own."""
    for kind in MONITOR_KINDS:
        monitors.update_monitor(admin, kind, enabled=kind in but)


def spend_rule(admin) -> int:
    """A rule on any spend today (due since an hour before NOW) to ops@ and Slack."""
    saved = alerts.add_rule(
        admin,
        {
            "name": "Spend is flowing",
            "metric": "spend",
            "condition": "above",
            "threshold": 0,
            "period": "today",
            "channels": [{"kind": "email", "to": "ops@acme.test"}, {"kind": "slack"}],
        },
        now=NOW - timedelta(hours=1),
    )
    return saved.id


def deliveries(workspace_id: int) -> list[tuple[str, str, str, int]]:
    """(source, channel, status, attempts) of the workspace's deliveries, in order."""
    with new_session() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(Delivery.source, Delivery.channel, Delivery.status, Delivery.attempts)
                .where(Delivery.workspace_id == workspace_id)
                .order_by(Delivery.id)
            )
        ]


def mail_to(mailbox_root, address: str) -> list[StoredMail]:
    return [mail for mail in read_messages(mailbox_root) if mail.to == address]


def test_a_firing_rule_reaches_its_email_and_slack_once_however_often_the_round_runs(
    synced, admin, other_workspace, slack, local_mailbox, worker, round_at_now
):
    workspace_id, _ = synced
    # Given a rule on today's spend to an address and Slack, and the monitors quiet
    rule_id = spend_rule(admin)
    monitors_off(admin)
    # And another workspace, with an admin of its own
    stranger = actor_for(add_user(other_workspace.id, "zed@globex.test", "pw globex", role="admin"))
    # When only the other workspace's round runs, and a worker after it
    alerts_round.run_round(other_workspace.id, NOW)
    outbox.dispatch_pending(other_workspace.id)
    worker.work(burst=True)
    # Then nothing of this workspace fired or went anywhere, and its rule is still due
    assert deliveries(workspace_id) == []
    assert read_messages(local_mailbox.root) == [] and slack.messages == []
    with new_session() as session:
        assert session.scalar(select(func.count()).select_from(AlertEvent)) == 0
        assert session.get_one(AlertRule, rule_id).next_run_at <= NOW

    # When the scheduled job runs every workspace's round, then a worker
    assert jobs.evaluate_alerts_all() == 1
    worker.work(burst=True)
    # Then one email reached the rule's address, saying what crossed what, linking to Alerts
    [mail] = read_messages(local_mailbox.root)
    assert mail.to == "ops@acme.test"
    assert mail.subject == "[Metricx] Ad spend above $0.00 today so far"
    assert "Rule: Spend is flowing" in (mail.text or "")
    assert f"See it in Metricx: {PUBLIC_URL}/alerts" in (mail.text or "")
    assert f'href="{PUBLIC_URL}/alerts"' in (mail.html or "")
    # And one Slack message with the rule's words and a button to the Alerts page
    [message] = slack.messages
    assert message.blocks[0]["text"]["text"] == "Ad spend above $0.00 today so far"
    assert message.text.startswith("Ad spend today so far: $")
    assert "Rule: Spend is flowing" in message.blocks[2]["elements"][0]["text"]
    assert message.blocks[3]["elements"][0]["url"] == f"{PUBLIC_URL}/alerts"
    assert deliveries(workspace_id) == [
        ("alert", "email", "sent", 1),
        ("alert", "slack", "sent", 1),
    ]

    # When the round and the worker run again (a second scheduler, a retried job)
    assert jobs.evaluate_alerts_all() == 0
    outbox.dispatch_pending()
    worker.work(burst=True)
    # Then still one of each: the window's firing is recorded once, its deliveries sent once
    assert len(read_messages(local_mailbox.root)) == 1 and len(slack.messages) == 1
    assert len(deliveries(workspace_id)) == 2
    # And the other workspace saw none of it
    assert notifications.recent_deliveries(stranger) == []
    assert monitors.recent_events(stranger) == []


def test_a_broken_connection_reaches_every_admin_by_the_default_channels(
    connections, admin, member, slack, local_mailbox, worker, round_at_now
):
    workspace_id = admin.workspace_id
    # Given a second admin, and only the connection_broken monitor on (default channels)
    add_user(workspace_id, "cy@acme.test", "another secret", role="admin")
    monitors_off(admin, but=("connection_broken",))
    # And the Meta connection (its account's name holds a parenthesis, as many do) refused
    # its token, as a sync marks it
    meta = connections["meta"]
    with transaction() as session:
        session.execute(
            update(Connection)
            .where(Connection.workspace_id == workspace_id, Connection.id == meta.id)
            .values(
                name="Acme Ads (US)",
                status="needs_reauth",
                last_error="Error validating access token",
            )
        )
    # When the scheduled round runs, then a worker
    assert jobs.evaluate_alerts_all() == 1
    worker.work(burst=True)
    # Then each admin got the monitor's message by email, the member none
    received = read_messages(local_mailbox.root)
    assert sorted(mail.to for mail in received) == ["ada@acme.test", "cy@acme.test"]
    for mail in received:
        assert mail.subject == (
            "[Metricx] Meta connection 'Acme Ads (US)' needs re-authorisation: reconnect it on "
            "the Connections page"
        )
        assert "(last error: Error validating access token)" in (mail.text or "")
        assert "Monitor: " in (mail.text or "")
    # And Slack (a default channel once its webhook is set) got it once
    [message] = slack.messages
    assert "needs re-authorisation" in message.text
    # And running the round again sends nothing more (the cool-down and the window)
    assert jobs.evaluate_alerts_all() == 0
    worker.work(burst=True)
    assert len(read_messages(local_mailbox.root)) == 2 and len(slack.messages) == 1


def test_a_due_daily_digest_goes_out_once_with_its_charts(
    synced, admin, slack, local_mailbox, worker, round_at_now
):
    workspace_id, _ = synced
    # Given the daily digest due since 08:00 (it covers Thursday Nov 19), the monitors quiet
    monitors_off(admin)
    digests.list_digests(admin)  # the workspace's default digests
    with transaction() as session:
        session.execute(
            update(Digest)
            .where(Digest.workspace_id == workspace_id, Digest.cadence == "daily")
            .values(next_run_at=NOW - timedelta(hours=2, minutes=7))
        )
    # When the round runs twice, then a worker
    jobs.evaluate_alerts_all()
    jobs.evaluate_alerts_all()
    worker.work(burst=True)
    # Then the admin got one email with the trend and movers charts inline, for Nov 19
    [mail] = read_messages(local_mailbox.root)
    assert mail.to == "ada@acme.test"
    assert mail.subject.startswith("Metricx daily digest") and "19 Nov" in mail.subject
    assert mail.image_count == 2
    assert mail.html is not None and mail.html.count('src="cid:') == 2
    # And Slack one message, linking to the Dashboard under the public address
    [message] = slack.messages
    assert any(
        element.get("url", "").startswith(f"{PUBLIC_URL}/dashboard")
        for block in message.blocks
        for element in block.get("elements", [])
    )
    assert deliveries(workspace_id) == [
        ("digest", "email", "sent", 1),
        ("digest", "slack", "sent", 1),
    ]
    # And its next run is tomorrow at 08:00 New York
    with new_session() as session:
        daily = session.scalar(
            select(Digest).where(Digest.workspace_id == workspace_id, Digest.cadence == "daily")
        )
        assert daily is not None and daily.next_run_at == datetime(2026, 11, 21, 13, tzinfo=UTC)


def test_a_send_that_fails_transiently_is_retried_by_rq_and_sent_once(
    synced, admin, slack, local_mailbox, worker, round_at_now
):
    workspace_id, _ = synced
    # Given a firing rule, and Slack about to fail once with a server error
    spend_rule(admin)
    monitors_off(admin)
    slack.faults.add("slack", "server_error")
    # When the round runs and a worker takes the deliveries
    jobs.evaluate_alerts_all()
    worker.work(burst=True)
    # Then the email went, and the Slack delivery waits for its retry with the error logged
    assert len(read_messages(local_mailbox.root)) == 1
    with new_session() as session:
        waiting = session.scalar(
            select(Delivery).where(
                Delivery.workspace_id == workspace_id, Delivery.channel == "slack"
            )
        )
        assert waiting is not None
        assert (waiting.status, waiting.attempts) == ("pending", 1)
        assert "Slack" in (waiting.last_error or "")
    assert slack.messages == []
    # When RQ's retry comes due and runs (and the round runs again meanwhile)
    jobs.evaluate_alerts_all()
    assert run_scheduled_retries(worker.connection) == 1
    worker.work(burst=True)
    # Then Slack got the alert once, on the second attempt
    assert len(slack.messages) == 1
    assert deliveries(workspace_id) == [
        ("alert", "email", "sent", 1),
        ("alert", "slack", "sent", 2),
    ]


@given(name=st.text(max_size=40))
def test_a_monitors_headline_keeps_a_name_whole_whatever_it_holds(name):
    # Given a finding naming a connection, with a detail in parentheses after it
    finding = f"Meta connection {name!r} needs re-authorisation (last error: expired)"
    # Then the headline is the finding without the detail, the name whole
    assert without_details(finding) == f"Meta connection {name!r} needs re-authorisation"


def test_a_split_rules_findings_of_one_round_reach_each_channel_as_one_message(
    synced, admin, slack, local_mailbox, worker, round_at_now
):
    workspace_id, _ = synced
    # Given a rule on today's spend split by ad (every ad that spent fires), to an
    # address and Slack, and the monitors quiet
    alerts.add_rule(
        admin,
        {
            "name": "Ads spending",
            "metric": "spend",
            "condition": "above",
            "threshold": 0,
            "period": "today",
            "split": "ad",
            "channels": [{"kind": "email", "to": "ops@acme.test"}, {"kind": "slack"}],
        },
        now=NOW - timedelta(hours=1),
    )
    monitors_off(admin)
    # When the round runs twice, then a worker
    jobs.evaluate_alerts_all()
    jobs.evaluate_alerts_all()
    worker.work(burst=True)
    # Then several ads fired in the one window
    with new_session() as session:
        fired = session.scalars(
            select(AlertEvent.message)
            .where(AlertEvent.workspace_id == workspace_id)
            .order_by(AlertEvent.id)
        ).all()
    assert len(fired) > 1
    # And the address got one email counting and listing them all
    [mail] = read_messages(local_mailbox.root)
    assert mail.subject == (
        f"[Metricx] Ad spend above $0.00 today so far, by ad: {len(fired)} findings"
    )
    assert all(message in (mail.text or "") for message in fired[:MAX_LISTED])
    # And Slack one message, a section per ad
    [message] = slack.messages
    sections = [b for b in message.blocks if b["type"] == "section"]
    assert len(sections) == min(len(fired), MAX_LISTED)
    assert deliveries(workspace_id) == [
        ("alert", "email", "sent", 1),
        ("alert", "slack", "sent", 1),
    ]
