"""A workspace's digests as people manage them: listed, changed (admins), previewed, sent now,
and subscribed to or left by any user (docs/design.md "Alerts", digests).

A digest's `channels` [] means the workspace's default channels (every admin's email, plus
Slack when set: metricx.delivery.outbox.default_channels). Every change is audited; every
read and write is scoped by the workspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from metricx.actor import Actor
from metricx.alerts.rules import MAX_CHANNELS, Channel
from metricx.db import new_session, transaction
from metricx.delivery import outbox
from metricx.delivery.message import Message
from metricx.digests import due
from metricx.digests.content import CADENCES, window_for
from metricx.digests.render import digest_message
from metricx.errors import InvalidInputError
from metricx.models import Digest, User, Workspace
from metricx.semantic.dates import today_in
from metricx.services import audit
from metricx.validation import quoted

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class DigestSettingsError(InvalidInputError, ValueError):
    """A digest setting that cannot be saved."""


@dataclass(frozen=True)
class SavedDigest:
    """A stored digest as pages and the CLI show it; `delivers_to` is what its channels mean
    now (the defaults resolved when `channels` is [])."""

    id: int
    cadence: str
    local_hour: int
    weekday: int | None
    channels: list[dict[str, Any]]
    delivers_to: list[dict[str, str]]
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None

    @property
    def when(self) -> str:
        """ "daily at 08:00", "every Monday at 08:00"."""
        clock = f"{self.local_hour:02d}:00"
        if self.weekday is None:
            return f"daily at {clock}"
        return f"every {WEEKDAYS[self.weekday]} at {clock}"


def _saved(session: Session, row: Digest) -> SavedDigest:
    return SavedDigest(
        id=row.id,
        cadence=row.cadence,
        local_hour=row.local_hour,
        weekday=row.weekday,
        channels=list(row.channels or []),
        delivers_to=outbox.resolve_channels(session, row.workspace_id, row.channels),
        enabled=row.enabled,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
    )


def _cadence(cadence: object) -> str:
    if cadence not in CADENCES:
        raise DigestSettingsError(f"a digest is {' or '.join(CADENCES)}, got {quoted(cadence)}")
    return str(cadence)


def _channels(channels: list[Any]) -> list[dict[str, Any]]:
    if not isinstance(channels, list):
        raise DigestSettingsError("channels are a list of {kind, to}")
    if len(channels) > MAX_CHANNELS:
        raise DigestSettingsError(f"a digest has at most {MAX_CHANNELS} channels")
    checked = []
    for given in channels:
        try:
            channel = given if isinstance(given, Channel) else Channel.model_validate(given)
        except ValidationError as problem:
            reason = problem.errors()[0]["msg"].removeprefix("Value error, ")
            raise DigestSettingsError(f"channel {quoted(given)}: {reason}") from None
        stored = channel.model_dump(mode="json")
        if stored not in checked:
            checked.append(stored)
    return checked


def _row(session: Session, workspace_id: int, cadence: str) -> Digest | None:
    return session.scalar(
        select(Digest)
        .where(Digest.workspace_id == workspace_id, Digest.cadence == cadence)
        .with_for_update()
    )


def _row_or_default(session: Session, workspace_id: int, cadence: str, now: datetime) -> Digest:
    """The digest of `cadence`, created with the defaults when the workspace has none yet."""
    row = _row(session, workspace_id, cadence)
    if row is None:
        due.ensure_default_digests(session, workspace_id, now)
        row = _row(session, workspace_id, cadence)
    assert row is not None  # ensure_default_digests made it
    return row


def _own_email(session: Session, actor: Actor) -> str:
    email = (
        session.scalar(
            select(User.email).where(
                User.id == actor.user_id, User.workspace_id == actor.workspace_id
            )
        )
        if actor.user_id is not None
        else None
    )
    if email is None:
        raise DigestSettingsError("a subscription is for your own email; sign in as a user")
    return email


def _is_address(channel: dict[str, str], email: str) -> bool:
    return channel["kind"] == "email" and channel["to"].lower() == email.lower()


def list_digests(actor: Actor) -> list[SavedDigest]:
    """The workspace's digests, daily first (any user may see them); a workspace without
    them gets its defaults first."""
    with transaction() as session:
        due.ensure_default_digests(session, actor.workspace_id)
    with new_session() as session:
        rows = session.scalars(
            select(Digest)
            .where(Digest.workspace_id == actor.workspace_id)
            .order_by(Digest.cadence, Digest.id)
        )
        return [_saved(session, row) for row in rows]


def save_digest(
    actor: Actor,
    cadence: str,
    *,
    local_hour: int = due.DEFAULT_HOUR,
    weekday: int | None = None,
    channels: list[dict[str, Any]] | None = None,
    enabled: bool = True,
    now: datetime | None = None,
) -> SavedDigest:
    """Set a digest's hour (0-23, local), weekday (weekly only: 0 Monday; default Monday),
    channels (None or []: the defaults) and whether it is sent (admins); its next run is
    recomputed."""
    actor.require_admin("change the digests")
    cadence = _cadence(cadence)
    if isinstance(local_hour, bool) or not isinstance(local_hour, int) or not 0 <= local_hour <= 23:
        raise DigestSettingsError(f"the hour is 0 to 23 (local time), got {quoted(local_hour)}")
    if cadence == "daily" and weekday is not None:
        raise DigestSettingsError("a daily digest takes no weekday; it is sent every day")
    if cadence == "weekly":
        weekday = due.DEFAULT_WEEKDAY if weekday is None else weekday
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise DigestSettingsError(
                f"the weekday is 0 (Monday) to 6 (Sunday), got {quoted(weekday)}"
            )
    stored = _channels(channels or [])
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with transaction() as session:
        row = _row_or_default(session, actor.workspace_id, cadence, moment)
        tz = session.get_one(Workspace, actor.workspace_id).timezone
        row.local_hour, row.weekday, row.channels = local_hour, weekday, stored
        row.enabled = bool(enabled)
        row.next_run_at = due.next_run_after(local_hour, weekday, tz, moment)
        audit.record(
            session,
            actor,
            "digest.save",
            cadence,
            local_hour=local_hour,
            weekday=weekday,
            channels=stored,
            enabled=row.enabled,
        )
        session.flush()
        return _saved(session, row)


@contextmanager
def _own_subscription(
    actor: Actor, cadence: str, now: datetime | None
) -> Iterator[tuple[Session, str, Digest, list[dict[str, str]]]]:
    """In one transaction: the actor's address, their workspace's digest of `cadence` (made
    with the defaults if missing) and whom it goes to now (its defaults resolved)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with transaction() as session:
        email = _own_email(session, actor)
        row = _row_or_default(session, actor.workspace_id, _cadence(cadence), moment)
        yield (
            session,
            email,
            row,
            outbox.resolve_channels(session, actor.workspace_id, row.channels),
        )


def subscribe_digest(actor: Actor, cadence: str, now: datetime | None = None) -> SavedDigest:
    """Add the actor's own email to a digest's channels (any user). A digest sent to the
    defaults keeps sending to them: they are stored resolved, with the new address. Already
    receiving it: nothing changes."""
    with _own_subscription(actor, cadence, now) as (session, email, row, receiving):
        if any(_is_address(c, email) for c in receiving):
            return _saved(session, row)
        if len(receiving) >= MAX_CHANNELS:
            raise DigestSettingsError(
                f"the {row.cadence} digest already goes to {MAX_CHANNELS} channels; ask an admin"
            )
        row.channels = [*receiving, {"kind": "email", "to": email}]
        audit.record(session, actor, "digest.subscribe", row.cadence, email=email)
        session.flush()
        return _saved(session, row)


def unsubscribe_digest(actor: Actor, cadence: str, now: datetime | None = None) -> SavedDigest:
    """Take the actor's own email off a digest (any user); a digest sent to the defaults keeps
    sending to everyone else in them. Not receiving it: nothing changes."""
    with _own_subscription(actor, cadence, now) as (session, email, row, receiving):
        kept = [c for c in receiving if not _is_address(c, email)]
        if len(kept) == len(receiving):
            return _saved(session, row)
        row.channels = kept
        if not kept:  # [] would mean the defaults again
            row.enabled = False
        audit.record(session, actor, "digest.unsubscribe", row.cadence, email=email)
        session.flush()
        return _saved(session, row)


def _today(workspace_id: int, today: date | None) -> date:
    if today is not None:
        return today
    with new_session() as session:
        return today_in(session.get_one(Workspace, workspace_id).timezone)


def preview_digest(actor: Actor, cadence: str, today: date | None = None) -> Message:
    """The digest that would be sent today (default: the workspace's today): the latest
    complete window."""
    window = window_for(_cadence(cadence), _today(actor.workspace_id, today))
    return digest_message(
        actor.workspace_id,
        {"cadence": cadence, "start": window.start.isoformat(), "end": window.end.isoformat()},
    )


def send_digest_now(
    actor: Actor, cadence: str, today: date | None = None, now: datetime | None = None
) -> list[int]:
    """Send the digest of the latest complete window to its channels now (admins): its
    deliveries enqueued and queued; their ids. The scheduled run's dedupe key
    is used, so pressing twice (or after the scheduled run) sends that window once."""
    actor.require_admin("send a digest")
    cadence = _cadence(cadence)
    window = window_for(cadence, _today(actor.workspace_id, today))
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with transaction() as session:
        row = _row_or_default(session, actor.workspace_id, cadence, moment)
        added = due.enqueue_window(
            session, actor.workspace_id, row.id, cadence, row.channels, window
        )
        audit.record(
            session, actor, "digest.send", cadence, start=window.start.isoformat(), sent=len(added)
        )
    outbox.dispatch_soon(actor.workspace_id)
    return added
