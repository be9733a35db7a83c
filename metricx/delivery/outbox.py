"""The delivery outbox: every alert, digest and test message is a `Delivery` row enqueued once
under its dedupe key, in the same transaction as what caused it, and sent later by an RQ job
(docs/design.md "Alerts").

enqueue            inserts a pending row (ON CONFLICT (dedupe_key) DO NOTHING): a repeated
                   evaluation or a retried job finds the row already there and adds nothing
default_channels   what an empty channel list means: every admin's email, plus Slack if set
resolve_channels   a stored channel list as deliveries: defaults when empty, Slack dropped
                   when the workspace has no webhook
enqueue_event_deliveries  the alert events fired since a moment that have no delivery yet,
                   one delivery per channel for each rule's or monitor's window of them
dispatch_pending   queues `metricx.jobs.deliver` for every pending row, under the job id
                   `deliver-{id}` (refused while that job is still waiting, scheduled or
                   running); also the sweeper for rows whose job never got queued (a crash
                   between the commit and the queueing) or was lost with its worker
deliver            the job body: sends one delivery and records the outcome

Exactly once, and the one window where it is not. `deliver` locks the row (FOR UPDATE SKIP
LOCKED) for the whole send, so two workers never send the same delivery: the second finds the
row locked and returns "busy", and once it is `sent` (or `failed`) every later run of the job
returns without sending. The outcome is committed in the same transaction that holds the lock.
What stays at-least-once is a crash after the remote side accepted the message (the mail
server said 250, Slack said `ok`) but before that commit: the transaction rolls back, the row
is still `pending`, and the retry (RQ's, or the sweeper's) sends it again. No protocol closes
that window (neither SMTP nor Slack webhooks take an idempotency key). For email the resend
carries the same Message-ID (`<delivery-{id}.{hash of the dedupe key}@metricx>`), which mail
clients and servers use to collapse duplicates (RFC 5322 §3.6.4: one Message-ID, one message);
a Slack channel may show the message twice. The window is the few milliseconds between the
remote's answer and the commit.
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job
from sqlalchemy import BigInteger, cast, exists, func, select, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from metricx.config import ConfigError
from metricx.db import new_session, transaction
from metricx.delivery import email, slack
from metricx.delivery.errors import DeliveryError
from metricx.delivery.message import Message
from metricx.models import (
    AlertEvent,
    AlertMonitor,
    AlertRule,
    Delivery,
    SlackWebhook,
    User,
    Workspace,
)
from metricx.queue import get_queue
from metricx.vault import Sealed, VaultError, get_vault

log = logging.getLogger(__name__)

#: The job function, by the name RQ records (the worker imports it; metricx.jobs owns it).
JOB_FUNCTION = "metricx.jobs.deliver"
#: A failed send is retried after 1, 5 and 15 minutes, then an hour: a mail server or Slack
#: that is down for a while still gets the message. (A 429's Retry-After, about a second
#: for a webhook, is always shorter than the first wait.)
RETRY_INTERVALS = [60, 300, 900, 3600]
#: The first try and one per retry interval.
MAX_ATTEMPTS = 1 + len(RETRY_INTERVALS)
#: Room kept in `last_error` (a person reads it on the Alerts page).
MAX_ERROR_LENGTH = 500
SLACK_WEBHOOK_KIND = "slack_webhook"
#: deliveries.dedupe_key's length
MAX_KEY_LENGTH = 200


def stored_key(dedupe_key: str) -> str:
    """The key as the column holds it: whole, or, past its 200 characters (an address may have
    254), a prefix and the key's SHA-256, still one key per key."""
    if len(dedupe_key) <= MAX_KEY_LENGTH:
        return dedupe_key
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()
    return f"{dedupe_key[: MAX_KEY_LENGTH - len(digest) - 1]}#{digest}"


def enqueue(
    session: Session,
    *,
    workspace_id: int,
    dedupe_key: str,
    source: str,
    channel: str,
    target: str,
    subject: str,
    payload: dict[str, Any] | None = None,
    event_id: int | None = None,
    digest_id: int | None = None,
) -> int | None:
    """Insert a pending delivery in the caller's transaction; its id, or None when a delivery
    with `dedupe_key` already exists. Sends nothing: `dispatch_pending()`, after the commit,
    queues the jobs."""
    return session.scalar(
        insert(Delivery)
        .values(
            workspace_id=workspace_id,
            dedupe_key=stored_key(dedupe_key),
            source=source,
            channel=channel,
            target=target,
            subject=subject,
            payload=payload or {},
            event_id=event_id,
            digest_id=digest_id,
            status="pending",
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=[Delivery.dedupe_key])
        .returning(Delivery.id)
    )


def has_slack_webhook(session: Session, workspace_id: int) -> bool:
    """Whether the workspace has set a Slack incoming webhook."""
    found = session.scalar(
        select(SlackWebhook.workspace_id).where(SlackWebhook.workspace_id == workspace_id)
    )
    return found is not None


def default_channels(session: Session, workspace_id: int) -> list[dict[str, str]]:
    """What `channels: []` means on a monitor or a digest: an email to each admin of the
    workspace, plus Slack when the workspace has a webhook."""
    admins = session.scalars(
        select(User.email)
        .where(User.workspace_id == workspace_id, User.role == "admin")
        .order_by(User.id)
    )
    channels = [{"kind": "email", "to": email} for email in admins]
    if has_slack_webhook(session, workspace_id):
        channels.append({"kind": "slack"})
    return channels


def resolve_channels(
    session: Session, workspace_id: int, channels: Iterable[Mapping[str, Any]] | None
) -> list[dict[str, str]]:
    """The deliveries a stored channel list asks for ([{"kind": "email", "to": ...},
    {"kind": "slack"}]): default_channels when empty; Slack dropped when the workspace has
    no webhook; duplicates and unknown kinds dropped."""
    stored = list(channels or [])
    if not stored:
        return default_channels(session, workspace_id)
    slack = None
    resolved: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for channel in stored:
        kind = channel.get("kind")
        if kind == "email" and isinstance(channel.get("to"), str) and channel["to"]:
            key = ("email", channel["to"].strip().lower())
            entry = {"kind": "email", "to": channel["to"].strip()}
        elif kind == "slack":
            if slack is None:
                slack = has_slack_webhook(session, workspace_id)
            if not slack:
                continue
            key, entry = ("slack", "slack"), {"kind": "slack"}
        else:
            continue
        if key not in seen:
            seen.add(key)
            resolved.append(entry)
    return resolved


def channel_target(channel: Mapping[str, str]) -> tuple[str, str]:
    """A resolved channel as a delivery's (channel, target): ("email", address) or
    ("slack", "slack")."""
    if channel["kind"] == "slack":
        return "slack", "slack"
    return "email", channel["to"]


# --- alert events -> deliveries -------------------------------------------------------------


def event_channels(session: Session, event: AlertEvent) -> list[dict[str, str]]:
    """Where an event's messages go: its rule's or monitor's channels, resolved. A personal
    rule (of one member) with no channels goes to its owner alone, not to the admins."""
    if event.rule_id is not None:
        rule = session.get(AlertRule, event.rule_id)
        if rule is None or rule.workspace_id != event.workspace_id:
            return []
        if not rule.channels and rule.owner_id is not None:
            owner = session.scalar(
                select(User.email).where(
                    User.id == rule.owner_id, User.workspace_id == event.workspace_id
                )
            )
            return [{"kind": "email", "to": owner}] if owner else []
        return resolve_channels(session, event.workspace_id, rule.channels)
    monitor = session.get(AlertMonitor, event.monitor_id)
    if monitor is None or monitor.workspace_id != event.workspace_id:
        return []
    return resolve_channels(session, event.workspace_id, monitor.channels)


def group_dedupe_key(
    rule_id: int | None, monitor_id: int | None, window_key: str, channel: str, target: str
) -> str:
    """The key of one rule's or monitor's window to one channel (stored through
    `stored_key`)."""
    source = f"rule:{rule_id}" if rule_id is not None else f"monitor:{monitor_id}"
    return f"events:{source}:{window_key}:{channel}:{target}"


def undelivered_events(session: Session, workspace_id: int, since: datetime) -> list[AlertEvent]:
    """The workspace's events fired at or after `since` that no delivery names: neither as
    its `event_id` (a single event, as every delivery was once) nor in its payload's
    `event_ids` (a group). The covered ids are read in one pass over the workspace's recent
    alert deliveries and anti-joined, not looked up per event. (The dedupe keys, not this
    read, are what keep a window from being enqueued twice.)"""
    recent = (AlertEvent.workspace_id == workspace_id, AlertEvent.fired_at >= since)
    # A delivery naming a recent event names its window's first event, itself recent (a
    # window is recorded at once): older deliveries need not be read.
    first_recent = select(func.min(AlertEvent.id)).where(*recent).scalar_subquery()
    of_workspace = (
        Delivery.workspace_id == workspace_id,
        Delivery.source == "alert",
        Delivery.event_id >= first_recent,
    )
    covered = union_all(
        select(Delivery.event_id.label("id")).where(*of_workspace),
        select(
            cast(func.jsonb_array_elements_text(Delivery.payload["event_ids"]), BigInteger)
        ).where(*of_workspace),
    ).cte("covered")
    return list(
        session.scalars(
            select(AlertEvent)
            .where(*recent, ~exists().where(covered.c.id == AlertEvent.id))
            .order_by(AlertEvent.id)
        )
    )


def group_events(events: Iterable[AlertEvent]) -> list[list[AlertEvent]]:
    """Events by (rule, monitor, window), each group in id order, the groups in the order of
    their first event. One window of a rule or monitor is recorded in one transaction
    (metricx.alerts.firings), so a group read after that commit is whole."""
    groups: dict[tuple[int | None, int | None, str], list[AlertEvent]] = {}
    for event in sorted(events, key=lambda e: e.id):
        groups.setdefault((event.rule_id, event.monitor_id, event.window_key), []).append(event)
    return list(groups.values())


def enqueue_event_deliveries(workspace_id: int, since: datetime) -> int:
    """One delivery per resolved channel for each rule's or monitor's window with events
    fired at or after `since` and no delivery yet, listing all of the window's events (five
    campaigns over budget are one message, not five); how many were enqueued. Call
    `dispatch_pending` after."""
    from metricx.delivery.alert_message import group_subject

    enqueued = 0
    with transaction() as session:
        workspace = session.get_one(Workspace, workspace_id)
        for group in group_events(undelivered_events(session, workspace_id, since)):
            first = group[0]
            channels = event_channels(session, first)
            if not channels:
                continue
            subject = group_subject(session, group, workspace.currency)
            payload = {"event_ids": [event.id for event in group]}
            for resolved in channels:
                channel, target = channel_target(resolved)
                delivery_id = enqueue(
                    session,
                    workspace_id=workspace_id,
                    dedupe_key=group_dedupe_key(
                        first.rule_id, first.monitor_id, first.window_key, channel, target
                    ),
                    source="alert",
                    channel=channel,
                    target=target,
                    subject=subject,
                    payload=payload,
                    event_id=first.id,
                )
                enqueued += delivery_id is not None
    return enqueued


# --- queueing ---------------------------------------------------------------------------------


def job_id(delivery_id: int) -> str:
    """Deterministic: the same delivery is never queued twice while its job is waiting."""
    return f"deliver-{delivery_id}"


def _queue_job(queue: Queue, delivery_id: int) -> bool:
    """Queue the delivery's job unless it is already waiting, scheduled or running."""

    def put() -> None:
        queue.enqueue(
            JOB_FUNCTION,
            delivery_id,
            job_id=job_id(delivery_id),
            unique=True,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=120,
            result_ttl=86400,
            failure_ttl=7 * 86400,
            description=f"delivery {delivery_id}",
        )

    try:
        put()
    except DuplicateJobError:
        try:
            previous = Job.fetch(job_id(delivery_id), connection=queue.connection)
        except NoSuchJobError:  # expired in between
            put()
            return True
        if not (
            previous.is_finished
            or previous.is_failed
            or previous.is_canceled
            or previous.is_stopped
        ):
            return False  # waiting, scheduled for a retry, or running
        # Done, yet the row is still pending: it lost its worker, or answered "busy" to a
        # worker that then crashed. Its id is free for a new run.
        previous.delete()
        put()
    return True


def dispatch_pending(workspace_id: int | None = None) -> int:
    """Queue a job for every pending delivery (of one workspace, or all); how many were
    queued. Also the sweeper, every 15 minutes: a row whose job is still waiting, scheduled
    or running is skipped, one whose job is gone or over (lost with its worker) is queued
    again."""
    scope = [Delivery.status == "pending"]
    if workspace_id is not None:
        scope.append(Delivery.workspace_id == workspace_id)
    with new_session() as session:
        pending = session.scalars(select(Delivery.id).where(*scope).order_by(Delivery.id)).all()
    if not pending:
        return 0
    queue = get_queue("default")
    return sum(_queue_job(queue, delivery_id) for delivery_id in pending)


def dispatch_soon(workspace_id: int) -> None:
    """Queue the workspace's pending deliveries now (a test, a digest sent by hand); when
    Redis is out of reach they stay pending and the sweeper (every 15 minutes) queues them."""
    try:
        dispatch_pending(workspace_id)
    except (RedisError, ConfigError) as error:
        log.warning("deliveries of workspace %s not queued yet: %s", workspace_id, error)


# --- the job ----------------------------------------------------------------------------------


def message_id(delivery: Delivery) -> str:
    """The email's Message-ID: the same for every attempt of one delivery, so a resend after
    the crash window is recognisably the same message."""
    digest = hashlib.sha256(delivery.dedupe_key.encode()).hexdigest()[:16]
    return f"<delivery-{delivery.id}.{digest}@metricx>"


def slack_webhook_url(session: Session, workspace_id: int) -> str | None:
    """The workspace's webhook URL, unsealed; None when it has none."""
    row = session.get(SlackWebhook, workspace_id)
    if row is None:
        return None
    sealed = Sealed(ciphertext=row.ciphertext, nonce=row.nonce, key_id=row.key_id)
    return get_vault().open(sealed, connection_id=workspace_id, kind=SLACK_WEBHOOK_KIND)


def message_for_test(session: Session, delivery: Delivery) -> Message:
    """A short message naming the workspace and the channel."""
    from metricx.delivery.links import page_url

    name = session.get_one(Workspace, delivery.workspace_id).name
    where = "Slack" if delivery.channel == "slack" else delivery.target
    text = (
        f"This is a test from Metricx for the workspace {name}: alerts and digests sent to "
        f"{where} will arrive like this."
    )
    link = page_url("alerts")
    subject = delivery.subject or f"[Metricx] Test message for {name}"
    return Message(
        subject=subject,
        text=text,
        html=f"<p>{html.escape(text)}</p>",
        blocks=(
            {"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": slack.escape_mrkdwn(text)}},
            slack.link_block(link, "Open Alerts"),
        ),
        link=link,
    )


def alert_events_of(session: Session, delivery: Delivery) -> list[AlertEvent]:
    """The events an alert delivery lists, of its own workspace, in id order: its payload's
    `event_ids`, or its one `event_id` (a delivery enqueued before groups). Events deleted
    since are left out."""
    listed = delivery.payload.get("event_ids") if delivery.payload else None
    ids = [int(i) for i in listed] if listed else []
    if not ids and delivery.event_id is not None:
        ids = [delivery.event_id]
    if not ids:
        return []
    return list(
        session.scalars(
            select(AlertEvent)
            .where(AlertEvent.workspace_id == delivery.workspace_id, AlertEvent.id.in_(ids))
            .order_by(AlertEvent.id)
        )
    )


def build_message(session: Session, delivery: Delivery) -> Message:
    """The message of a delivery, built at send time from what it names."""
    if delivery.source == "alert":
        from metricx.delivery.alert_message import group_message

        events = alert_events_of(session, delivery)
        if not events:
            raise DeliveryError("the alert was deleted before it was sent", transient=False)
        currency = session.get_one(Workspace, delivery.workspace_id).currency
        return group_message(session, events, currency)
    if delivery.source == "digest":
        from metricx.digests.render import digest_message  # charts: only where sent

        return digest_message(delivery.workspace_id, delivery.payload)
    return message_for_test(session, delivery)


def send(session: Session, delivery: Delivery, message: Message) -> None:
    """Hand the message to its channel; DeliveryError when it did not get through."""
    if delivery.channel == "email":
        email.send_email(message, delivery.target, message_id=message_id(delivery))
        return
    try:
        url = slack_webhook_url(session, delivery.workspace_id)
    except VaultError as exc:
        raise DeliveryError(f"the Slack webhook cannot be read: {exc}", transient=False) from None
    if url is None:
        raise DeliveryError(
            "the workspace has no Slack webhook any more (set one under Alerts)", transient=False
        )
    slack.post_webhook(url, message)


def deliver(delivery_id: int) -> str:
    """Send one delivery and record the outcome: "sent", "failed", "busy" (another worker
    holds it) or "missing". A transient failure is recorded and re-raised so RQ retries;
    after MAX_ATTEMPTS the delivery is "failed"."""
    retry: DeliveryError | None = None
    with transaction() as session:
        delivery = session.scalar(
            select(Delivery).where(Delivery.id == delivery_id).with_for_update(skip_locked=True)
        )
        if delivery is None:
            found = session.scalar(select(Delivery.id).where(Delivery.id == delivery_id))
            return "busy" if found is not None else "missing"
        if delivery.status != "pending":
            return delivery.status  # sent or failed already: a late retry does nothing
        try:
            message = build_message(session, delivery)
            send(session, delivery, message)
        except DeliveryError as error:
            delivery.attempts += 1
            delivery.last_error = str(error)[:MAX_ERROR_LENGTH]
            if error.transient and delivery.attempts < MAX_ATTEMPTS:
                log.info("delivery %s: will retry (%s)", delivery_id, error)
                retry = error
            else:
                log.warning("delivery %s failed: %s", delivery_id, error)
                delivery.status = "failed"
                return "failed"
        else:
            delivery.attempts += 1
            delivery.status = "sent"
            delivery.sent_at = datetime.now(UTC)
            return "sent"
    # committed: the attempt and its error are in the log; RQ retries after its interval
    assert retry is not None
    raise retry


@dataclass(frozen=True)
class DeliveryView:
    """One delivery as the Alerts page lists it."""

    id: int
    source: str
    channel: str
    target: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, row: Delivery) -> DeliveryView:
        return cls(
            row.id,
            row.source,
            row.channel,
            row.target,
            row.subject,
            row.status,
            row.attempts,
            row.last_error,
            row.created_at,
            row.sent_at,
        )


def pending_count(workspace_id: int) -> int:
    """How many deliveries of the workspace wait to be sent."""
    with new_session() as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    Delivery.workspace_id == workspace_id, Delivery.status == "pending"
                )
            )
            or 0
        )
