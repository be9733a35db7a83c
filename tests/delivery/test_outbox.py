"""The delivery outbox on the real PostgreSQL and Redis: enqueued once per dedupe key, sent
once by RQ jobs with retries, and the one documented window where a crash resends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from queued import run_scheduled_retries
from rq.job import Job
from sqlalchemy import delete, func, select

from metricx.db import new_session, transaction
from metricx.delivery import outbox
from metricx.delivery.mailbox import read_messages
from metricx.delivery.slack import SANDBOX_WEBHOOK_URL
from metricx.models import AlertEvent, AlertMonitor, Delivery
from metricx.sandbox.fakes.slack import FakeSlackServer
from metricx.services import alerts, notifications
from metricx.services.users import add_user

NOW = datetime(2026, 12, 4, 14, 15, tzinfo=UTC)


class SimulatedCrash(Exception):
    """A worker dying mid-send: not a DeliveryError, so the transaction rolls back."""


def enqueue_test(workspace_id: int, key: str, *, channel: str = "slack", target: str = "slack"):
    with transaction() as session:
        return outbox.enqueue(
            session,
            workspace_id=workspace_id,
            dedupe_key=key,
            source="test",
            channel=channel,
            target=target,
            subject=f"[Metricx] {key}",
        )


def row(delivery_id: int) -> Delivery:
    with new_session() as session:
        return session.get_one(Delivery, delivery_id)


def subjects(fake: FakeSlackServer) -> list[str]:
    """Each Slack message's header (a test message's header is its subject)."""
    return [m.blocks[0]["text"]["text"] for m in fake.messages]


def fire_rule(admin, channels: list[dict], window: str = "2026-12-04T09:15-05:00") -> int:
    saved = alerts.add_rule(
        admin,
        {
            "name": "CPA watch",
            "metric": "cpa",
            "condition": "above",
            "threshold": 70,
            "channels": channels,
        },
    )
    with transaction() as session:
        event = AlertEvent(
            workspace_id=admin.workspace_id,
            rule_id=saved.id,
            window_key=window,
            value=Decimal("75.2"),
            message="CPA today so far: $75.20, above $70.00",
            fired_at=NOW,
        )
        session.add(event)
        session.flush()
        return event.id


# --- enqueue and channels ---------------------------------------------------------------------


def test_the_same_dedupe_key_enqueued_twice_is_one_row(workspace):
    first = enqueue_test(workspace.id, "test:a")
    again = enqueue_test(workspace.id, "test:a")
    assert first is not None and again is None
    with new_session() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1


def test_default_channels_are_every_admins_email_and_slack_once_set(
    workspace, admin, member, other_workspace, servers
):
    # Given a second admin here, and an admin of another workspace
    add_user(workspace.id, "cy@acme.test", "another secret", role="admin")
    add_user(other_workspace.id, "zed@globex.test", "globex secret", role="admin")
    with new_session() as session:
        # Then without a webhook: each admin of this workspace by email, no member
        assert outbox.default_channels(session, workspace.id) == [
            {"kind": "email", "to": "ada@acme.test"},
            {"kind": "email", "to": "cy@acme.test"},
        ]
    # And once the webhook is set, Slack too
    notifications.set_slack_webhook(admin, SANDBOX_WEBHOOK_URL)
    with new_session() as session:
        assert outbox.default_channels(session, workspace.id)[-1] == {"kind": "slack"}


def test_resolve_channels_defaults_empty_drops_slack_without_webhook_and_duplicates(
    workspace, admin
):
    stored = [
        {"kind": "email", "to": "x@acme.test"},
        {"kind": "slack"},
        {"kind": "email", "to": "X@acme.test"},
    ]
    with new_session() as session:
        assert outbox.resolve_channels(session, workspace.id, []) == [
            {"kind": "email", "to": "ada@acme.test"}
        ]
        assert outbox.resolve_channels(session, workspace.id, stored) == [
            {"kind": "email", "to": "x@acme.test"}
        ]


def test_events_fired_since_get_one_delivery_per_channel_once(workspace, admin, slack):
    # Given a rule to an address and Slack that fired, and a monitor (default channels) that did
    event_id = fire_rule(admin, [{"kind": "email", "to": "ops@acme.test"}, {"kind": "slack"}])
    with transaction() as session:
        monitor = AlertMonitor(workspace_id=workspace.id, kind="connection_broken", channels=[])
        session.add(monitor)
        session.flush()
        session.add(
            AlertEvent(
                workspace_id=workspace.id,
                monitor_id=monitor.id,
                window_key="2026-12-04T09:15-05:00",
                value=Decimal(1),
                message="Meta connection Acme Ads needs re-authorisation (last error: expired)",
                fired_at=NOW,
            )
        )
    # When the deliveries are enqueued, twice
    assert outbox.enqueue_event_deliveries(workspace.id, NOW - timedelta(minutes=15)) == 4
    assert outbox.enqueue_event_deliveries(workspace.id, NOW - timedelta(minutes=15)) == 0
    # Then the rule's event went to its channels, the monitor's to the admin and Slack
    with new_session() as session:
        keys = sorted(session.scalars(select(Delivery.dedupe_key)))
        subjects_ = set(session.scalars(select(Delivery.subject)))
    with new_session() as session:
        rule_id = session.get_one(AlertEvent, event_id).rule_id
        monitor_id = session.scalar(select(AlertMonitor.id))
    window = "2026-12-04T09:15-05:00"
    assert keys == sorted(
        [
            f"events:rule:{rule_id}:{window}:email:ops@acme.test",
            f"events:rule:{rule_id}:{window}:slack:slack",
            f"events:monitor:{monitor_id}:{window}:email:ada@acme.test",
            f"events:monitor:{monitor_id}:{window}:slack:slack",
        ]
    )
    assert subjects_ == {
        "[Metricx] CPA above $70.00 today so far",
        "[Metricx] Meta connection Acme Ads needs re-authorisation",
    }


def test_links_lead_to_the_page_under_the_apps_public_address(setenv):
    from metricx.delivery.links import page_url

    setenv(APP_PUBLIC_URL="https://metricx.example.com/")
    assert page_url("alerts") == "https://metricx.example.com/alerts"
    assert (
        page_url("dashboard", start="2026-12-01", end="2026-12-01")
        == "https://metricx.example.com/dashboard?start=2026-12-01&end=2026-12-01"
    )


# --- sending ----------------------------------------------------------------------------------


def test_an_alert_goes_to_slack_and_email_once_and_a_late_retry_sends_nothing(
    workspace, admin, slack, local_mailbox
):
    # Given an alert's deliveries
    fire_rule(admin, [{"kind": "email", "to": "ops@acme.test"}, {"kind": "slack"}])
    outbox.enqueue_event_deliveries(workspace.id, NOW - timedelta(hours=1))
    with new_session() as session:
        ids = {
            channel: id_ for channel, id_ in session.execute(select(Delivery.channel, Delivery.id))
        }
    # When each is delivered, then delivered again (a retry after success)
    assert [outbox.deliver(ids["slack"]), outbox.deliver(ids["email"])] == ["sent", "sent"]
    assert [outbox.deliver(ids["slack"]), outbox.deliver(ids["email"])] == ["sent", "sent"]
    # Then Slack got the alert once: header, section, context, a button to the Alerts page
    [message] = slack.messages
    assert message.text.startswith("CPA today so far: $75.20, above $70.00")
    assert [b["type"] for b in message.blocks] == ["header", "section", "context", "actions"]
    assert message.blocks[0]["text"]["text"] == "CPA above $70.00 today so far"
    assert "(EST)" in message.blocks[2]["elements"][0]["text"]  # the workspace's zone
    assert message.blocks[3]["elements"][0]["url"].endswith("/alerts")
    # And the mailbox got it once, under the delivery's own Message-ID
    [mail] = read_messages(local_mailbox.root)
    assert mail.to == "ops@acme.test"
    assert mail.subject == "[Metricx] CPA above $70.00 today so far"
    assert mail.message_id.startswith(f"<delivery-{ids['email']}.")
    # And the log says sent, after one attempt
    sent = row(ids["slack"])
    assert (sent.status, sent.attempts, sent.sent_at is not None) == ("sent", 1, True)


def test_a_rate_limited_delivery_is_retried_by_rq_and_then_sent(workspace, slack, worker):
    # Given a pending delivery and Slack about to rate-limit it
    delivery_id = enqueue_test(workspace.id, "test:rate")
    slack.faults.add("slack", "rate_limit", retry_after=1)
    # When it is dispatched (twice: the second finds the job already queued)
    assert outbox.dispatch_pending(workspace.id) == 1
    assert outbox.dispatch_pending(workspace.id) == 0
    worker.work(burst=True)
    # Then the first attempt is logged with its error, the job scheduled for a retry
    waiting = row(delivery_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "rate-limited" in (waiting.last_error or "")
    job = Job.fetch(outbox.job_id(delivery_id), connection=worker.connection)
    assert job.get_status() == "scheduled" and job.retries_left == 3
    # And the sweeper leaves a job that waits for its retry alone
    assert outbox.dispatch_pending(workspace.id) == 0
    # When the retry comes due and runs
    assert run_scheduled_retries(worker.connection) == 1
    worker.work(burst=True)
    # Then it was sent once, on the second attempt
    done = row(delivery_id)
    assert (done.status, done.attempts) == ("sent", 2)
    assert subjects(slack) == ["[Metricx] test:rate"]


def test_a_delivery_that_keeps_failing_transiently_fails_after_the_last_attempt(workspace, slack):
    delivery_id = enqueue_test(workspace.id, "test:down")
    slack.faults.add("slack", "server_error", times=outbox.MAX_ATTEMPTS)
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        with pytest.raises(Exception, match="Slack failed"):
            outbox.deliver(delivery_id)
    assert outbox.deliver(delivery_id) == "failed"
    failed = row(delivery_id)
    assert (failed.status, failed.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert slack.messages == []


def test_a_permanent_refusal_fails_at_once_with_slacks_reason(workspace, slack):
    delivery_id = enqueue_test(workspace.id, "test:archived")
    slack.faults.add("slack", "archived")
    assert outbox.deliver(delivery_id) == "failed"
    failed = row(delivery_id)
    assert failed.attempts == 1 and "channel_is_archived" in (failed.last_error or "")


def test_a_delivery_held_by_another_worker_is_busy_and_not_sent(workspace, slack):
    delivery_id = enqueue_test(workspace.id, "test:busy")
    with transaction() as holder:
        holder.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update())
        assert outbox.deliver(delivery_id) == "busy"
    assert slack.messages == [] and row(delivery_id).status == "pending"


def test_the_sweeper_queues_what_a_crash_left_pending_even_after_its_job_ended(
    workspace, slack, worker
):
    # Given a delivery committed but never queued (a crash between commit and queueing)
    delivery_id = enqueue_test(workspace.id, "test:swept")
    # And its job ran while another worker held the row, which then died (job: "busy")
    outbox.dispatch_pending()
    with transaction() as holder:
        holder.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update())
        worker.work(burst=True)
    assert Job.fetch(outbox.job_id(delivery_id), connection=worker.connection).is_finished
    # When the sweeper runs
    assert outbox.dispatch_pending() == 1
    worker.work(burst=True)
    # Then the delivery was sent once
    assert row(delivery_id).status == "sent"
    assert subjects(slack) == ["[Metricx] test:swept"]


# --- exactly once, under any interleaving -----------------------------------------------------

KEYS = ("test:k0", "test:k1", "test:k2")
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["enqueue", "deliver", "crash_before", "crash_after", "contended"]),
        st.sampled_from(KEYS),
    ),
    max_size=14,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
def test_any_interleaving_of_enqueues_deliveries_and_crashes_sends_each_key_once_but_the_window(
    workspace, slack, monkeypatch, steps
):
    # Given no deliveries yet, and a send that can crash before or after Slack accepted
    with transaction() as session:
        session.execute(delete(Delivery).where(Delivery.workspace_id == workspace.id))
    slack.reset()
    real_send = outbox.send
    crash: dict[str, str | None] = {"when": None}

    def send(session, delivery, message):
        if crash["when"] == "before":
            raise SimulatedCrash("the worker died before sending")
        real_send(session, delivery, message)
        if crash["when"] == "after":
            raise SimulatedCrash("the worker died after Slack said ok")

    monkeypatch.setattr(outbox, "send", send)
    accepted_then_crashed = dict.fromkeys(KEYS, 0)

    def delivery_id(key: str) -> int | None:
        with new_session() as session:
            return session.scalar(select(Delivery.id).where(Delivery.dedupe_key == key))

    # When enqueues, deliveries and crashes interleave
    for action, key in steps:
        if action == "enqueue":
            enqueue_test(workspace.id, key)
            continue
        found = delivery_id(key)
        if found is None:
            continue
        if action == "contended":  # another worker holds the row: this one sends nothing
            with transaction() as holder:
                holder.scalar(select(Delivery).where(Delivery.id == found).with_for_update())
                assert outbox.deliver(found) == "busy"
            continue
        crash["when"] = {"crash_before": "before", "crash_after": "after"}.get(action)
        was_pending = row(found).status == "pending"
        try:
            outbox.deliver(found)
        except SimulatedCrash:
            accepted_then_crashed[key] += crash["when"] == "after" and was_pending
        finally:
            crash["when"] = None
    # And every key still pending is retried until sent (RQ's retries, the sweeper)
    for key in KEYS:
        found = delivery_id(key)
        if found is not None:
            assert outbox.deliver(found) == "sent"

    # Then each key enqueued has exactly one row, sent
    with new_session() as session:
        rows = session.execute(
            select(Delivery.dedupe_key, Delivery.status).where(
                Delivery.workspace_id == workspace.id
            )
        ).all()
    enqueued = {key for action, key in steps if action == "enqueue"}
    assert sorted(rows) == sorted((key, "sent") for key in enqueued)
    # And Slack got each exactly once, plus one resend per crash after it accepted and
    # before the commit (the documented window), never more
    received = subjects(slack)
    for key in KEYS:
        expected = 1 + accepted_then_crashed[key] if key in enqueued else 0
        assert received.count(f"[Metricx] {key}") == expected
        assert accepted_then_crashed[key] <= sum(
            1 for action, k in steps if action == "crash_after" and k == key
        )


# --- long dedupe keys -------------------------------------------------------------------------

#: The longest address SMTP carries (RFC 5321 §4.5.3.1.3: 254 characters in a path), with a
#: 64-character local part and 63-character labels (RFC 1035 §2.3.4).
LONGEST_ADDRESS = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 56 + ".test"


def test_a_key_past_the_column_is_stored_hashed_and_enqueued_once(workspace, admin):
    import hashlib

    assert len(LONGEST_ADDRESS) == 254
    # Given a rule to the longest address that fired
    event_id = fire_rule(admin, [{"kind": "email", "to": LONGEST_ADDRESS}])
    with new_session() as session:
        fired = session.get_one(AlertEvent, event_id)
        key = outbox.group_dedupe_key(
            fired.rule_id, None, fired.window_key, "email", LONGEST_ADDRESS
        )
    assert len(key) > outbox.MAX_KEY_LENGTH
    # When its deliveries are enqueued twice
    assert outbox.enqueue_event_deliveries(workspace.id, NOW - timedelta(hours=1)) == 1
    assert outbox.enqueue_event_deliveries(workspace.id, NOW - timedelta(hours=1)) == 0
    # And the same key is enqueued once more by hand
    assert enqueue_test(workspace.id, key, channel="email", target=LONGEST_ADDRESS) is None
    # Then one row holds it: the column's 200 characters, ending in the key's SHA-256, and
    # the address whole
    with new_session() as session:
        [(stored, target)] = session.execute(select(Delivery.dedupe_key, Delivery.target)).all()
    assert stored == outbox.stored_key(key) and len(stored) == outbox.MAX_KEY_LENGTH
    assert stored.startswith(key[:100])
    assert stored.endswith("#" + hashlib.sha256(key.encode()).hexdigest())
    assert target == LONGEST_ADDRESS


@given(
    first=st.text(min_size=1, max_size=400),
    second=st.text(min_size=1, max_size=400),
)
def test_stored_keys_fit_the_column_and_two_keys_stay_two(first, second):
    # A key that fits is kept whole; any key fits the column once stored
    for key in (first, second):
        stored = outbox.stored_key(key)
        assert len(stored) <= outbox.MAX_KEY_LENGTH
        assert (stored == key) == (len(key) <= outbox.MAX_KEY_LENGTH)
    # And two different keys on the same side of the limit never share a row (a hashed key
    # ends in "#" and 64 hex digits: a short key written that way is not one the app builds)
    if (len(first) > outbox.MAX_KEY_LENGTH) == (len(second) > outbox.MAX_KEY_LENGTH):
        assert (outbox.stored_key(first) == outbox.stored_key(second)) == (first == second)
    # Even when they differ only past the part of them the column keeps
    long = "events:rule:1:2026-12-04T09:15-05:00:email:" + "x" * outbox.MAX_KEY_LENGTH
    assert outbox.stored_key(long + first) != outbox.stored_key(long + first + second)
