"""Alert deliveries grouped by window, on the real PostgreSQL: every finding of one rule's or
monitor's evaluation window goes out as one message per channel listing them all, however the
windows and sources mix, and within Slack's limits however many findings there are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from metricx.db import new_session, transaction
from metricx.delivery import outbox
from metricx.delivery.alert_message import group_message, group_subject
from metricx.delivery.mailbox import read_messages
from metricx.delivery.slack import MAX_BLOCKS, MAX_HEADER_TEXT, MAX_SECTION_TEXT, webhook_payload
from metricx.models import AlertEvent, AlertMonitor, AlertRule, Delivery, Workspace
from metricx.services import alerts

NOW = datetime(2026, 12, 4, 14, 15, tzinfo=UTC)
SINCE = NOW - timedelta(hours=1)
WINDOWS = ("2026-12-04T08:45-05:00", "2026-12-04T09:00-05:00", "2026-12-04T09:15-05:00")


def add_rule(admin, name: str, channels: list[dict]) -> int:
    saved = alerts.add_rule(
        admin,
        {
            "name": name,
            "metric": "cpa",
            "condition": "above",
            "threshold": 70,
            "split": "campaign",
            "channels": channels,
        },
    )
    return saved.id


def add_monitor(workspace_id: int, kind: str, channels: list[dict] | None = None) -> int:
    with transaction() as session:
        monitor = AlertMonitor(workspace_id=workspace_id, kind=kind, channels=channels or [])
        session.add(monitor)
        session.flush()
        return monitor.id


def fire(
    workspace_id: int,
    findings: list[tuple[str, str]],
    *,
    window: str = WINDOWS[-1],
    rule_id: int | None = None,
    monitor_id: int | None = None,
) -> list[int]:
    """Record one window's findings ((split value, message)) in one transaction, as
    metricx.alerts.firings does; their event ids."""
    with transaction() as session:
        events = [
            AlertEvent(
                workspace_id=workspace_id,
                rule_id=rule_id,
                monitor_id=monitor_id,
                window_key=window,
                split_value=split_value,
                value=Decimal("120.5"),
                reference=Decimal("100"),
                message=message,
                fired_at=NOW,
            )
            for split_value, message in findings
        ]
        session.add_all(events)
        session.flush()
        return [event.id for event in events]


def over_budget(count: int, name: str = "Campaign {n}") -> list[tuple[str, str]]:
    return [
        (
            str(n),
            f"Campaign {name.format(n=n)!r} is on pace to spend $1,200.00 today, 20% over its "
            "daily budget of $1,000.00 ($600.00 spent by 09:15)",
        )
        for n in range(1, count + 1)
    ]


def alert_deliveries(workspace_id: int) -> list[Delivery]:
    with new_session() as session:
        return list(
            session.scalars(
                select(Delivery)
                .where(Delivery.workspace_id == workspace_id, Delivery.source == "alert")
                .order_by(Delivery.id)
            )
        )


def test_a_monitors_five_findings_of_one_window_are_one_email_and_one_slack_message(
    workspace, admin, slack, local_mailbox
):
    # Given the pacing monitor (default channels: the admin and Slack) found five campaigns
    # over budget in one window
    monitor_id = add_monitor(workspace.id, "pacing_over_budget")
    event_ids = fire(workspace.id, over_budget(5), monitor_id=monitor_id)
    # When the deliveries are enqueued, twice
    assert outbox.enqueue_event_deliveries(workspace.id, SINCE) == 2
    assert outbox.enqueue_event_deliveries(workspace.id, SINCE) == 0
    # Then there is one delivery per channel, naming the whole window
    email, to_slack = alert_deliveries(workspace.id)
    assert [(d.channel, d.target) for d in (email, to_slack)] == [
        ("email", "ada@acme.test"),
        ("slack", "slack"),
    ]
    for delivery in (email, to_slack):
        assert delivery.event_id == event_ids[0]
        assert delivery.payload == {"event_ids": event_ids}
        assert delivery.subject == "[Metricx] Spend over budget: 5 findings"
        assert delivery.dedupe_key == (
            f"events:monitor:{monitor_id}:{WINDOWS[-1]}:{delivery.channel}:{delivery.target}"
        )
    # When both are delivered
    assert [outbox.deliver(email.id), outbox.deliver(to_slack.id)] == ["sent", "sent"]
    # Then the admin got one email listing every campaign
    [mail] = read_messages(local_mailbox.root)
    assert mail.subject == "[Metricx] Spend over budget: 5 findings"
    for n in range(1, 6):
        assert f"Campaign 'Campaign {n}' is on pace" in (mail.text or "")
        assert f"Campaign &#x27;Campaign {n}&#x27; is on pace" in (mail.html or "")
    assert "Monitor: Spend over budget" in (mail.text or "")
    # And Slack one message: the count as its header, a section per campaign, the link
    [message] = slack.messages
    assert message.blocks[0]["text"]["text"] == "Spend over budget: 5 findings"
    assert [b["type"] for b in message.blocks] == [
        "header",
        *["section"] * 5,
        "context",
        "actions",
    ]
    assert message.blocks[-1]["elements"][0]["url"].endswith("/alerts")


def test_a_single_finding_reads_exactly_as_one_event_did(workspace, admin, slack):
    # Given a rule that fired for one campaign only
    rule_id = add_rule(admin, "CPA watch", [{"kind": "slack"}])
    [event_id] = fire(workspace.id, [("7", "CPA of 'Spring sale' today: $75.20")], rule_id=rule_id)
    # When its delivery is enqueued and sent
    assert outbox.enqueue_event_deliveries(workspace.id, SINCE) == 1
    [delivery] = alert_deliveries(workspace.id)
    assert outbox.deliver(delivery.id) == "sent"
    # Then it names the one event, and reads as a single event's message always has
    assert (delivery.event_id, delivery.payload) == (event_id, {"event_ids": [event_id]})
    assert delivery.subject == "[Metricx] CPA above $70.00 today so far, by campaign"
    [message] = slack.messages
    assert [b["type"] for b in message.blocks] == ["header", "section", "context", "actions"]
    assert message.blocks[1]["text"]["text"] == "CPA of 'Spring sale' today: $75.20"


def test_an_event_delivered_alone_before_groups_is_not_delivered_again(workspace, admin, slack):
    # Given an event whose delivery was enqueued the old way: its own key, no event_ids
    rule_id = add_rule(admin, "CPA watch", [{"kind": "slack"}])
    [event_id] = fire(workspace.id, [("7", "CPA of 'Spring sale' today: $75.20")], rule_id=rule_id)
    with transaction() as session:
        old = outbox.enqueue(
            session,
            workspace_id=workspace.id,
            dedupe_key=f"event:{event_id}:slack:slack",
            source="alert",
            channel="slack",
            target="slack",
            subject="[Metricx] CPA above $70.00 today so far",
            event_id=event_id,
        )
    # When the deliveries are enqueued
    assert outbox.enqueue_event_deliveries(workspace.id, SINCE) == 0
    # Then the old delivery is the event's only one, and it still sends the event
    assert [d.id for d in alert_deliveries(workspace.id)] == [old]
    assert old is not None and outbox.deliver(old) == "sent"
    [message] = slack.messages
    assert message.blocks[1]["text"]["text"] == "CPA of 'Spring sale' today: $75.20"


def test_another_workspaces_deliveries_neither_cover_nor_lend_events(
    workspace, admin, other_workspace, slack
):
    # Given a delivery of another workspace that lists this workspace's event id
    rule_id = add_rule(admin, "CPA watch", [{"kind": "slack"}])
    [event_id] = fire(workspace.id, [("7", "CPA of 'Spring sale' today: $75.20")], rule_id=rule_id)
    with transaction() as session:
        foreign = outbox.enqueue(
            session,
            workspace_id=other_workspace.id,
            dedupe_key="events:rule:999:x:slack:slack",
            source="alert",
            channel="slack",
            target="slack",
            subject="[Metricx] elsewhere",
            payload={"event_ids": [event_id]},
        )
    # Then this workspace's event is still enqueued for its own channel
    assert outbox.enqueue_event_deliveries(workspace.id, SINCE) == 1
    # And the other workspace's delivery cannot read it: nothing of it is sent
    assert foreign is not None and outbox.deliver(foreign) == "failed"
    assert len(slack.messages) == 0


def test_twenty_five_findings_fit_slack_and_name_the_count(workspace, admin):
    # Given a monitor's window with 25 findings, names full of markup
    monitor_id = add_monitor(workspace.id, "pacing_over_budget")
    event_ids = fire(workspace.id, over_budget(25, "<!channel> & {n} <b>"), monitor_id=monitor_id)
    with new_session() as session:
        events = list(
            session.scalars(
                select(AlertEvent).where(AlertEvent.id.in_(event_ids)).order_by(AlertEvent.id)
            )
        )
        currency = session.get_one(Workspace, workspace.id).currency
        # When they are one message
        subject = group_subject(session, events, currency)
        message = group_message(session, events, currency)
    payload = webhook_payload(message)
    # Then the subject and the header name the count
    assert subject == message.subject == "[Metricx] Spend over budget: 25 findings"
    blocks = payload["blocks"]
    assert blocks[0]["text"]["text"] == "Spend over budget: 25 findings"
    # And Slack gets 20 findings, one section each, and how many more are on the Alerts page,
    # every part within Block Kit's limits and no markup left live
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) == 20 and len(blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in sections)
    assert len(blocks[0]["text"]["text"]) <= MAX_HEADER_TEXT
    assert "and 5 more on the Alerts page" in blocks[-2]["elements"][0]["text"]
    assert "<!channel>" not in str(blocks) and "&lt;!channel&gt; &amp; 1 &lt;b&gt;" in str(blocks)
    # And the email lists the same 20, escaped, and says how many more
    assert (message.html or "").count("<li>") == 20 and "<b>" not in (message.html or "")
    assert "and 5 more on the Alerts page" in message.text
    assert "Campaign '<!channel> & 20 <b>'" in message.text
    assert "'<!channel> & 21 <b>'" not in message.text


# --- any mix of sources and windows -----------------------------------------------------------

#: (rule or monitor, index of the window, split value)
FINDINGS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, len(WINDOWS) - 1), st.sampled_from("abcd")),
    unique=True,
    max_size=24,
)


def sources(workspace_id: int, admin) -> list[tuple[int | None, int | None]]:
    """Two rules (one to an address and Slack, one to Slack) and two monitors (default
    channels, and one address), made once per workspace: (rule id, monitor id) each."""
    with new_session() as session:
        rules = list(
            session.scalars(
                select(AlertRule.id)
                .where(AlertRule.workspace_id == workspace_id)
                .order_by(AlertRule.id)
            )
        )
        monitors = list(
            session.scalars(
                select(AlertMonitor.id)
                .where(AlertMonitor.workspace_id == workspace_id)
                .order_by(AlertMonitor.id)
            )
        )
    if not rules:
        rules = [
            add_rule(
                admin, "CPA watch", [{"kind": "email", "to": "ops@acme.test"}, {"kind": "slack"}]
            ),
            add_rule(admin, "CPA to Slack", [{"kind": "slack"}]),
        ]
        monitors = [
            add_monitor(workspace_id, "pacing_over_budget"),
            add_monitor(workspace_id, "data_stale", [{"kind": "email", "to": "ops@acme.test"}]),
        ]
    return [(rules[0], None), (rules[1], None), (None, monitors[0]), (None, monitors[1])]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(findings=FINDINGS, late=st.sets(st.tuples(st.integers(0, 3), st.integers(0, 2))))
def test_any_mix_of_windows_is_one_delivery_per_window_and_channel_covering_each_event_once(
    workspace, admin, slack, findings, late
):
    # Given no events yet, and rules and monitors with their channels
    with transaction() as session:
        session.execute(delete(Delivery).where(Delivery.workspace_id == workspace.id))
        session.execute(delete(AlertEvent).where(AlertEvent.workspace_id == workspace.id))
    where = sources(workspace.id, admin)
    channels = {
        0: {("email", "ops@acme.test"), ("slack", "slack")},
        1: {("slack", "slack")},
        2: {("email", "ada@acme.test"), ("slack", "slack")},
        3: {("email", "ops@acme.test")},
    }
    windows: dict[tuple[int, int], list[str]] = {}
    for source, window, split_value in findings:
        windows.setdefault((source, window), []).append(split_value)

    def record(groups) -> dict[tuple[int, int], list[int]]:
        fired = {}
        for source, window in groups:
            rule_id, monitor_id = where[source]
            fired[(source, window)] = fire(
                workspace.id,
                [(v, f"finding {v}") for v in windows[(source, window)]],
                window=WINDOWS[window],
                rule_id=rule_id,
                monitor_id=monitor_id,
            )
        return fired

    # When some windows fire and are enqueued, then the rest (the later rounds), then again
    fired = record(g for g in windows if g not in late)
    first = outbox.enqueue_event_deliveries(workspace.id, SINCE)
    fired |= record(g for g in windows if g in late)
    second = outbox.enqueue_event_deliveries(workspace.id, SINCE)
    assert outbox.enqueue_event_deliveries(workspace.id, SINCE) == 0

    # Then each window has exactly one delivery per channel of its source, listing its events
    expected = {
        (source, window, channel): ids
        for (source, window), ids in fired.items()
        for channel in channels[source]
    }
    assert first + second == len(expected)
    found = {}
    for delivery in alert_deliveries(workspace.id):
        [(source, window)] = [g for g, ids in fired.items() if ids[0] == delivery.event_id]
        key = (source, window, (delivery.channel, delivery.target))
        assert key not in found
        found[key] = delivery.payload["event_ids"]
    assert found == expected
    # And every event is in exactly one delivery per channel of its source
    for (source, _), ids in fired.items():
        for event_id in ids:
            for channel in channels[source]:
                holding = [
                    k for k, listed in found.items() if k[2] == channel and event_id in listed
                ]
                assert len(holding) == 1
