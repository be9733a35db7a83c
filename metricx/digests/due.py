"""The digests job: every enabled digest of a workspace whose time has come is enqueued once
per channel for its window, and its next run set.

A daily digest runs at `local_hour`:00 of the workspace's clock, a weekly one on `weekday`
(0 Monday) at that hour, DST-correct (metricx.alerts.schedule.daily_slot: a skipped hour runs
at the switch, a repeated one once). A run covers the whole local days before the date of the
latest slot (metricx.digests.content.window_for): a job that runs late sends the window it
missed, once, and moves on to the next slot after now.

Each digest is taken in its own transaction with its row locked (SKIP LOCKED), like the
alerts job; its deliveries are enqueued under `digest:{id}:{window start}:{channel}:{target}`
(ON CONFLICT DO NOTHING), so a retried or repeated run adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from metricx.alerts.due import each_due
from metricx.alerts.schedule import daily_slot, utc
from metricx.db import new_session
from metricx.delivery import outbox
from metricx.digests.content import window_for
from metricx.digests.render import title
from metricx.models import Digest, Workspace
from metricx.semantic.query import TimeRange

#: The digests every workspace starts with: daily and weekly (Monday) at 08:00, to the
#: default channels.
DEFAULT_HOUR = 8
DEFAULT_WEEKDAY = 0


def _runs_on(day: date, weekday: int | None) -> bool:
    return weekday is None or day.weekday() == weekday


def next_run_after(local_hour: int, weekday: int | None, tz: str, instant: datetime) -> datetime:
    """The first slot strictly after `instant`: the next day (or the next `weekday`) at
    `local_hour`:00 in `tz`."""
    moment = utc(instant)
    today = moment.astimezone(ZoneInfo(tz)).date()
    for ahead in range(8):
        day = today + timedelta(days=ahead)
        if _runs_on(day, weekday):
            slot = daily_slot(day, local_hour, tz)
            if slot > moment:
                return slot
    raise AssertionError("a weekday comes round within 8 days")  # pragma: no cover


def latest_run_at(local_hour: int, weekday: int | None, tz: str, instant: datetime) -> datetime:
    """The last slot at or before `instant`: the run a job at `instant` belongs to."""
    moment = utc(instant)
    today = moment.astimezone(ZoneInfo(tz)).date()
    for back in range(8):
        day = today - timedelta(days=back)
        if _runs_on(day, weekday):
            slot = daily_slot(day, local_hour, tz)
            if slot <= moment:
                return slot
    raise AssertionError("a weekday comes round within 8 days")  # pragma: no cover


def run_window(cadence: str, slot: datetime, tz: str) -> TimeRange:
    """The days a run at `slot` covers: those before the slot's local date."""
    return window_for(cadence, slot.astimezone(ZoneInfo(tz)).date())


def dedupe_key(digest_id: int, start: date, channel: str, target: str) -> str:
    return f"digest:{digest_id}:{start.isoformat()}:{channel}:{target}"


def enqueue_window(
    session: Session,
    workspace_id: int,
    digest_id: int,
    cadence: str,
    channels: Iterable[Mapping[str, Any]] | None,
    window: TimeRange,
) -> list[int]:
    """Enqueue the digest of `window` to each of its resolved channels in `session`'s
    transaction; the ids of the deliveries added now (none for those already enqueued)."""
    payload = {"cadence": cadence, "start": window.start.isoformat(), "end": window.end.isoformat()}
    added = []
    for resolved in outbox.resolve_channels(session, workspace_id, channels):
        channel, target = outbox.channel_target(resolved)
        delivery_id = outbox.enqueue(
            session,
            workspace_id=workspace_id,
            dedupe_key=dedupe_key(digest_id, window.start, channel, target),
            source="digest",
            channel=channel,
            target=target,
            subject=title(cadence, window.start, window.end),
            payload=payload,
            digest_id=digest_id,
        )
        if delivery_id is not None:
            added.append(delivery_id)
    return added


def ensure_default_digests(
    session: Session, workspace_id: int, now: datetime | None = None
) -> None:
    """Give the workspace its daily and weekly digests (08:00, Monday for the weekly, the
    default channels, enabled) unless it has them; idempotent (ON CONFLICT DO NOTHING), a
    digest someone changed or turned off stays as it is."""
    moment = utc(now or datetime.now(UTC))
    tz = session.get_one(Workspace, workspace_id).timezone
    rows: list[dict[str, Any]] = [
        {
            "workspace_id": workspace_id,
            "cadence": cadence,
            "local_hour": DEFAULT_HOUR,
            "weekday": weekday,
            "channels": [],
            "enabled": True,
            "next_run_at": next_run_after(DEFAULT_HOUR, weekday, tz, moment),
        }
        for cadence, weekday in (("daily", None), ("weekly", DEFAULT_WEEKDAY))
    ]
    session.execute(
        insert(Digest)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["workspace_id", "cadence"])
    )


def run_due_digests(workspace_id: int, now: datetime | None = None) -> int:
    """Enqueue the workspace's due digests at `now` (default: now): each for the window of
    its latest slot, once per channel; returns how many deliveries were added. The caller
    dispatches them (metricx.delivery.outbox) after this returns."""
    moment = utc(now or datetime.now(UTC))
    with new_session() as session:
        tz = session.get_one(Workspace, workspace_id).timezone
    added = 0
    for session, row in each_due(Digest, workspace_id, moment):
        slot = latest_run_at(row.local_hour, row.weekday, tz, moment)
        window = run_window(row.cadence, slot, tz)
        added += len(
            enqueue_window(session, workspace_id, row.id, row.cadence, row.channels, window)
        )
        row.last_run_at = moment
        row.next_run_at = next_run_after(row.local_hour, row.weekday, tz, moment)
    return added
