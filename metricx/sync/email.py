"""An email account's sync (Klaviyo): its campaigns and flows, and whole days of sends.

Klaviyo reports per send day, and a day's attributed orders keep arriving for its attribution
window after it (metricx.connectors.klaviyo). So a sync never adds to what is stored: it
replaces the connection's days of a window whole, in one transaction under the connection's
write lock (S1: retries, overlapping syncs and re-fetches leave each day as the platform
last reported it, never counted twice).

Kinds, as for the ad platforms (metricx.sync.pipeline): "intraday" replaces yesterday and
today, at most every EMAIL_SYNC_MINUTES (two reporting calls each, against Klaviyo's 225 a
day); "range" replaces start..end, by default the attribution window up to yesterday (the
nightly re-fetch).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from metricx.config import get_config
from metricx.connection_store import ConnectionView, merge_settings, remember_account
from metricx.connectors.errors import AuthError
from metricx.connectors.records import EmailMessageRecord, EmailMetricRecord
from metricx.models import EmailDaily, EmailMessage
from metricx.semantic.dates import today_in
from metricx.sync.runs import Progress, RunRecorder, connection_writes
from metricx.sync.sources import email_client
from metricx.sync.window import check_window

#: connections.settings key: when an intraday sync last read the account.
INTRADAY_READ_AT = "intraday_read_at"


def sync_email(
    connection: ConnectionView,
    kind: str,
    start: date | None,
    end: date | None,
    now: datetime,
    progress: Progress,
    recorder: RunRecorder,
) -> int:
    """Replace the email account's days of this sync; returns the daily rows written."""
    if kind == "intraday" and _read_recently(connection, now):
        return 0
    with email_client(connection) as client:
        progress(0, 3, "reading the account")
        account = client.account_info()
        if account.external_id != connection.external_account_id:
            # The key opens another account: its numbers must not land under this one.
            raise AuthError(
                connection.provider,
                f"the private API key belongs to account {account.external_id}, not "
                f"{connection.external_account_id}: reconnect with a key of this account",
            )
        remember_account(connection, account.currency, account.timezone)
        today = today_in(account.timezone, now)
        if kind == "intraday":
            start, end = today - timedelta(days=1), today
        else:
            start = start or today - timedelta(days=client.restatement_days())
            end = end or today - timedelta(days=1)
            check_window(start, end, today)
            recorder.window_start, recorder.window_end = start, end
        progress(1, 3, "campaigns and flows")
        messages = client.messages()
        progress(2, 3, f"sends {start} to {end}")
        records = client.daily_metrics(start, end)
        with connection_writes(connection.id) as session:
            rows = replace_days(
                session, connection, account.currency, start, end, messages, records, now
            )
            if kind == "intraday":
                _mark_intraday_read(session, connection, now)
        progress(3, 3, "done")
        return rows


def _read_recently(connection: ConnectionView, now: datetime) -> bool:
    """Whether an intraday sync read the account (today included) less than
    EMAIL_SYNC_MINUTES ago."""
    every = timedelta(minutes=get_config().email_sync_minutes)
    last = connection.settings.get(INTRADAY_READ_AT)
    return bool(every) and last is not None and now - datetime.fromisoformat(last) < every


def _mark_intraday_read(session: Session, connection: ConnectionView, now: datetime) -> None:
    """Remember when today was read, in the transaction that wrote it."""
    merge_settings(session, connection, {INTRADAY_READ_AT: now.isoformat()})


def replace_days(
    session: Session,
    connection: ConnectionView,
    currency: str,
    start: date,
    end: date,
    messages: list[EmailMessageRecord],
    records: list[EmailMetricRecord],
    now: datetime,
) -> int:
    """Write the messages, then make the days start..end hold exactly `records`. A record of
    a message the lists no longer return (deleted since its sends) gets a bare message row,
    so its revenue is never dropped."""
    listed = {(m.kind, m.external_id) for m in messages}
    orphans = [
        EmailMessageRecord(
            r.message_external_id,
            r.kind,
            f"Deleted {r.kind} {r.message_external_id}",
            None,
            None,
            None,
            None,
        )
        for r in {(r.kind, r.message_external_id): r for r in records}.values()
        if (r.kind, r.message_external_id) not in listed
    ]
    _write_messages(session, connection, messages, now)
    _write_messages(session, connection, orphans, now, bare=True)
    ids = {
        (kind, external_id): ident
        for ident, kind, external_id in session.execute(
            select(EmailMessage.id, EmailMessage.kind, EmailMessage.external_id).where(
                EmailMessage.connection_id == connection.id,
                EmailMessage.workspace_id == connection.workspace_id,
            )
        )
    }
    session.execute(
        delete(EmailDaily).where(
            EmailDaily.connection_id == connection.id,
            EmailDaily.workspace_id == connection.workspace_id,
            EmailDaily.day.between(start, end),
        )
    )
    rows = [
        {
            "message_id": ids[(r.kind, r.message_external_id)],
            "day": r.day,
            "channel": r.channel,
            "workspace_id": connection.workspace_id,
            "connection_id": connection.id,
            "currency": currency,
            "recipients": r.recipients,
            "delivered": r.delivered,
            "opens": r.opens,
            "clicks": r.clicks,
            "conversions": r.conversions,
            "conversion_value": r.conversion_value,
        }
        for r in records
        if start <= r.day <= end
    ]
    if rows:
        session.execute(insert(EmailDaily).values(rows))
    return len(rows)


def _write_messages(
    session: Session,
    connection: ConnectionView,
    messages: list[EmailMessageRecord],
    now: datetime,
    *,
    bare: bool = False,
) -> None:
    """Insert or update the messages on (connection, kind, external id). A `bare` row (a
    deleted message's stand-in) never overwrites what the lists said of it before."""
    rows = [
        {
            "workspace_id": connection.workspace_id,
            "connection_id": connection.id,
            "kind": message.kind,
            "external_id": message.external_id,
            "name": message.name[:400],
            "channel": message.channel,
            "status": message.status,
            "platform_created_at": message.created_at,
            "send_time": message.send_time,
            "updated_at": now,
        }
        for message in {(m.kind, m.external_id): m for m in messages}.values()
    ]
    if not rows:
        return
    statement = insert(EmailMessage).values(rows)
    updated = (
        ("updated_at",)
        if bare
        else ("name", "channel", "status", "platform_created_at", "send_time", "updated_at")
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["connection_id", "kind", "external_id"],
            set_={column: statement.excluded[column] for column in updated},
        )
    )
