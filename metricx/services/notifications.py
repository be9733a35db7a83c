"""Where a workspace's alerts and digests go, and what was sent (docs/design.md "Alerts").

The Slack incoming webhook is the admins': set (sealed like a token: the URL is the secret),
cleared, or only said to be set, never shown. A test message goes through the same outbox as
any alert: members may test their own email address, admins any address or Slack. The
delivery log is scoped by the workspace (another workspace's delivery is "not found"):
admins see every delivery, members those to their own address and the workspace's Slack.
Every change is audited.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import or_, select

from metricx import validation
from metricx.actor import Actor
from metricx.db import new_session, transaction
from metricx.delivery import outbox
from metricx.delivery.mailbox import StoredMail
from metricx.delivery.outbox import SLACK_WEBHOOK_KIND, DeliveryView
from metricx.delivery.slack import SLACK_HOST, WEBHOOK_PATH_PREFIX, is_sandbox_webhook
from metricx.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from metricx.models import Delivery, SlackWebhook, Workspace
from metricx.services import audit
from metricx.vault import get_vault

__all__ = [
    "DeliveryView",
    "clear_slack_webhook",
    "recent_deliveries",
    "retry_delivery",
    "send_test",
    "set_slack_webhook",
    "slack_webhook_set",
    "workspace_mail",
]

MAX_LISTED = 500
log = logging.getLogger(__name__)


def check_webhook_url(raw: object) -> str:
    """A Slack incoming-webhook URL (https://hooks.slack.com/services/T…/B…/…), or the
    sandbox's (team TSANDBOX); anything else is refused in one line."""
    url = validation.plain_text(raw, "the Slack webhook URL", 500)
    parts = urlsplit(url)
    segments = parts.path.removeprefix(WEBHOOK_PATH_PREFIX).split("/")
    if (
        parts.scheme != "https"
        or parts.hostname != SLACK_HOST
        or parts.port is not None
        or parts.username is not None
        or not parts.path.startswith(WEBHOOK_PATH_PREFIX)
        or len(segments) != 3
        or not all(s.isascii() and s.isalnum() for s in segments)
        or parts.query
        or parts.fragment
    ):
        raise InvalidInputError(
            "a Slack webhook URL looks like https://hooks.slack.com/services/T000/B000/XXXX "
            "(Slack: Apps > Incoming Webhooks > Add New Webhook)"
        )
    return url


def set_slack_webhook(actor: Actor, url: object) -> None:
    """Save (or replace) the workspace's Slack webhook; admins only."""
    actor.require_admin("set the Slack webhook")
    checked = check_webhook_url(url)
    sealed = get_vault().seal(checked, connection_id=actor.workspace_id, kind=SLACK_WEBHOOK_KIND)
    with transaction() as session:
        row = session.get(SlackWebhook, actor.workspace_id, with_for_update=True)
        if row is None:
            row = SlackWebhook(workspace_id=actor.workspace_id)
            session.add(row)
        row.ciphertext, row.nonce, row.key_id = sealed.ciphertext, sealed.nonce, sealed.key_id
        # the URL is a secret: the audit says which team only
        team = urlsplit(checked).path.split("/")[2]
        audit.record(
            session, actor, "slack_webhook.set", team=team, sandbox=is_sandbox_webhook(checked)
        )


def clear_slack_webhook(actor: Actor) -> bool:
    """Remove the workspace's Slack webhook; whether there was one. Admins only."""
    actor.require_admin("remove the Slack webhook")
    with transaction() as session:
        row = session.get(SlackWebhook, actor.workspace_id, with_for_update=True)
        if row is None:
            return False
        session.delete(row)
        audit.record(session, actor, "slack_webhook.clear")
        return True


def slack_webhook_set(actor: Actor) -> bool:
    """Whether the workspace has a Slack webhook (anyone of it may know; nobody sees it)."""
    with new_session() as session:
        return outbox.has_slack_webhook(session, actor.workspace_id)


def _test_channel(actor: Actor, channel: Mapping[str, Any]) -> tuple[str, str]:
    if not isinstance(channel, Mapping):
        raise InvalidInputError('a channel is {"kind": "email", "to": ...} or {"kind": "slack"}')
    kind = channel.get("kind")
    if kind == "slack":
        actor.require_admin("send a test to Slack")
        return "slack", "slack"
    if kind != "email":
        raise InvalidInputError(f"a channel is email or slack, not {validation.quoted(str(kind))}")
    address = validation.email(channel.get("to") or "")
    if not actor.is_admin and address != actor.label.lower():
        raise PermissionDeniedError("a member can send a test to their own email address only")
    return "email", address


def send_test(actor: Actor, channel: Mapping[str, Any]) -> int:
    """Enqueue a test message to one channel and queue its job; the delivery id (its
    outcome shows in `recent_deliveries`)."""
    kind, target = _test_channel(actor, channel)
    with transaction() as session:
        if kind == "slack" and not outbox.has_slack_webhook(session, actor.workspace_id):
            raise InvalidInputError("set the workspace's Slack webhook first")
        name = session.get_one(Workspace, actor.workspace_id).name
        delivery_id = outbox.enqueue(
            session,
            workspace_id=actor.workspace_id,
            dedupe_key=f"test:{uuid.uuid4()}",
            source="test",
            channel=kind,
            target=target,
            subject=f"[Metricx] Test message for {name}",
            payload={"requested_by": actor.label},
        )
        assert delivery_id is not None  # a fresh uuid never collides
        audit.record(session, actor, "delivery.test", str(delivery_id), channel=kind)
    outbox.dispatch_soon(actor.workspace_id)
    return delivery_id


def _visible(actor: Actor) -> Any:
    """The deliveries `actor` may see: all of the workspace's for admins; members those to
    their own address and to the workspace's Slack."""
    in_workspace = Delivery.workspace_id == actor.workspace_id
    if actor.is_admin:
        return in_workspace
    return in_workspace & or_(
        Delivery.channel == "slack",
        (Delivery.channel == "email") & (Delivery.target == actor.label.lower()),
    )


def recent_deliveries(actor: Actor, limit: int = 50) -> list[DeliveryView]:
    """The latest deliveries `actor` may see, newest first."""
    limit = max(1, min(int(limit), MAX_LISTED))
    with new_session() as session:
        rows = session.scalars(
            select(Delivery)
            .where(_visible(actor))
            .order_by(Delivery.created_at.desc(), Delivery.id.desc())
            .limit(limit)
        )
        return [DeliveryView.of(row) for row in rows]


def retry_delivery(actor: Actor, delivery_id: object) -> DeliveryView:
    """Send a failed delivery again (admins): back to pending, its job queued."""
    actor.require_admin("retry a delivery")
    number = validation.record_id(delivery_id, "the delivery id")
    with transaction() as session:
        row = session.scalar(
            select(Delivery)
            .where(Delivery.id == number, Delivery.workspace_id == actor.workspace_id)
            .with_for_update()
        )
        if row is None:
            raise NotFoundError(f"no delivery {number} in this workspace")
        if row.status != "failed":
            raise InvalidInputError(
                f"delivery {number} is {row.status}; only a failed one is retried"
            )
        # A fresh run of attempts; the last error stays until one succeeds.
        row.status, row.attempts = "pending", 0
        audit.record(session, actor, "delivery.retry", str(number))
        view = DeliveryView.of(row)
    outbox.dispatch_soon(actor.workspace_id)
    return view


def workspace_mail(actor: Actor, mail: Iterable[StoredMail]) -> list[StoredMail]:
    """Of the local mailbox's `mail` (shared by every workspace of this machine), the messages
    of `actor`'s visible deliveries, told by their Message-ID."""
    with new_session() as session:
        ours = {
            outbox.message_id(row)
            for row in session.scalars(
                select(Delivery)
                .where(_visible(actor), Delivery.channel == "email")
                .order_by(Delivery.id.desc())
                .limit(MAX_LISTED)
            )
        }
    return [message for message in mail if message.message_id in ours]
