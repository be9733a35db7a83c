"""One writer for every request: concurrent requests' events go in together, in one INSERT.

A request hands its rows over and waits for the commit of the batch they joined, so a 202
means the events are on disk. `ON CONFLICT (workspace_id, event_id) DO NOTHING` makes a
retried event (same event_id) a no-op: an event is stored once however often it is sent.

Should PostgreSQL refuse a value of the batch, its requests are written again in one
transaction, each under its own savepoint, so only the request that carries the value is
refused (422) and every other one is stored: a browser's sendBeacon never sends again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.sql.elements import KeyedColumnElement

from metricx.asgi import Rejected
from metricx.db import get_engine
from metricx.models import PixelEvent

log = logging.getLogger(__name__)
# What a request supplies; the id and received_at come from the database.
COLUMNS = [c for c in PixelEvent.__table__.c if c.name not in ("id", "received_at")]

Rows = list[dict[str, Any]]
# Failures the rows cause, not the database: a value PostgreSQL cannot read (DataError; psycopg
# refuses a NUL itself), text Python cannot encode (a lone surrogate), or a row a constraint
# refuses (IntegrityError: its workspace deleted while the collector still caches its key).
REFUSED_ROWS = (DataError, IntegrityError, UnicodeEncodeError)


class EventSink(Protocol):
    """Where the collector puts accepted events; `submit` returns once they are durable, or
    raises Rejected if the database refused a value of them (any other error: not stored,
    and sending them again is safe)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def submit(self, rows: Rows) -> None: ...


def _insert_statement(columns: list[KeyedColumnElement[Any]] = COLUMNS) -> Insert:
    """INSERT ... SELECT FROM unnest(one array per column): one statement and one round trip
    for any number of rows, compiled once (a VALUES list is compiled anew for every size)."""
    arrays = [cast(bindparam(c.name), ARRAY(c.type)) for c in columns]
    batch = func.unnest(*arrays).table_valued(*(c.name for c in columns)).render_derived("batch")
    return (
        insert(PixelEvent)
        .from_select([c.name for c in columns], select(batch))
        .on_conflict_do_nothing(index_elements=["workspace_id", "event_id"])
    )


INSERT_EVENTS = _insert_statement()

# A replay of a storefront's past (the sandbox demo's history) also says when each event
# reached the collector. Attribution looks again at orders whose pixel purchase arrived in
# the last PIXEL_LOOKBACK (metricx.attribution.compute): history stamped with the moment of
# the replay would make every replayed order look new to every incremental run for two days.
REPLAY_COLUMNS = [*COLUMNS, PixelEvent.__table__.c.received_at]
INSERT_REPLAYED_EVENTS = _insert_statement(REPLAY_COLUMNS)


def _arrays(rows: Rows, columns: list[KeyedColumnElement[Any]] = COLUMNS) -> dict[str, list[Any]]:
    return {c.name: [row[c.name] for row in rows] for c in columns}


def insert_events(rows: Rows) -> None:
    """Store rows in one transaction; rows whose (workspace_id, event_id) exists are skipped."""
    with get_engine().begin() as conn:
        conn.execute(INSERT_EVENTS, _arrays(rows))


def insert_requests(requests: list[Rows]) -> list[Rejected | None]:
    """Store the rows of many requests, all of a request or none of it: one INSERT for all;
    if PostgreSQL refuses a value, each request again under a savepoint of one transaction.
    Each request's outcome: None (stored) or why it was refused. Any other failure raises,
    and then nothing is stored."""
    try:
        insert_events([row for rows in requests for row in rows])
        return [None] * len(requests)
    except REFUSED_ROWS as error:
        if len(requests) == 1:
            return [_refusal(error)]
        log.warning(
            "PostgreSQL refused a batch of %d pixel requests (%s); writing them one by one",
            len(requests),
            _reason(error),
        )
    outcomes: list[Rejected | None] = []
    with get_engine().begin() as conn:
        for rows in requests:
            try:
                with conn.begin_nested():
                    conn.execute(INSERT_EVENTS, _arrays(rows))
            except REFUSED_ROWS as error:
                outcomes.append(_refusal(error))
            else:
                outcomes.append(None)
    return outcomes


def _refusal(error: Exception) -> Rejected:
    reason = _reason(error)
    log.warning("refused a pixel request: %s", reason)
    return Rejected(422, f"the events could not be stored: {reason}")


def _reason(error: Exception) -> str:
    """Why the rows were refused, in PostgreSQL's or psycopg's words about the value: never
    the statement or its parameters, which SQLAlchemy's own message carries."""
    if isinstance(error, UnicodeEncodeError):
        return "a text is not valid Unicode (a lone surrogate)"
    if isinstance(error, IntegrityError):
        return "the database refused them (was the key's workspace deleted?)"
    driver_error = getattr(error, "orig", None)
    diagnostic = getattr(driver_error, "diag", None)
    primary = diagnostic.message_primary if diagnostic is not None else None
    return (primary or str(driver_error).split("\n")[0])[:200]


def insert_replayed_events(rows: Rows) -> int:
    """`insert_events` for rows that also carry their `received_at`; returns how many rows
    were new (the others were stored before: same workspace and event_id)."""
    with get_engine().begin() as conn:
        # SQLAlchemy keeps the driver's row count of UPDATE and DELETE only, unless asked.
        result = conn.execute(
            INSERT_REPLAYED_EVENTS,
            _arrays(rows, REPLAY_COLUMNS),
            execution_options={"preserve_rowcount": True},
        )
        return result.rowcount


@dataclass
class _Pending:
    rows: Rows
    done: asyncio.Future[None]


class BatchWriter:
    """Gathers requests for `interval_s` (or until `max_events`), writes them in a worker
    thread while the next batch gathers, then answers every request of the batch.

    `write` takes the batch's requests and returns each one's outcome (None: stored)."""

    def __init__(
        self,
        *,
        max_events: int,
        interval_s: float,
        write: Callable[[list[Rows]], list[Rejected | None]] = insert_requests,
    ) -> None:
        self.max_events = max_events
        self.interval_s = interval_s
        self.write = write
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Write what is queued, then end."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None

    async def submit(self, rows: Rows) -> None:
        if self._task is None or self._task.done():
            raise RuntimeError("the pixel writer is not running")
        done = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(rows, done))
        await done

    async def _run(self) -> None:
        while (first := await self._queue.get()) is not None:
            batch, stopping = [first], False
            if len(first.rows) < self.max_events:
                await asyncio.sleep(self.interval_s)  # let concurrent requests join
            count = len(first.rows)
            while count < self.max_events and not self._queue.empty():
                pending = self._queue.get_nowait()
                if pending is None:
                    stopping = True
                    break
                batch.append(pending)
                count += len(pending.rows)
            await self._flush(batch)
            if stopping:
                return

    async def _flush(self, batch: list[_Pending]) -> None:
        outcomes: list[Exception | None]
        try:
            outcomes = list(
                await asyncio.to_thread(self.write, [pending.rows for pending in batch])
            )
        except Exception as error:  # every request of the batch hears of it; none is acked
            log.exception("writing %d pixel requests failed", len(batch))
            outcomes = [error] * len(batch)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.done.done():  # its client may have gone away meanwhile
                continue
            if outcome is None:
                pending.done.set_result(None)
            else:
                pending.done.set_exception(outcome)
