"""The batching writer (metricx.pixel.writer): concurrent requests share one write, and a
request PostgreSQL refuses is refused alone."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pixel_support import pixel_event, stored_events

from metricx.asgi import Rejected
from metricx.pixel.events import parse_payload
from metricx.pixel.writer import BatchWriter, insert_requests


class Writes(list):
    """A fake `write` that records each batch's requests and stores them all."""

    def __call__(self, requests: list[list[dict]]) -> list[None]:
        self.append(requests)
        return [None] * len(requests)

    def events_per_write(self) -> list[int]:
        return [sum(len(rows) for rows in requests) for requests in self]


def run_with_writer(write, requests: list[list[dict]], **settings) -> list[object]:
    """Submit every request at once through a started writer; each one's outcome."""

    async def scenario():
        writer = BatchWriter(write=write, **settings)
        await writer.start()
        try:
            return await asyncio.gather(
                *(writer.submit(rows) for rows in requests), return_exceptions=True
            )
        finally:
            await writer.stop()

    return asyncio.run(scenario())


def test_concurrent_requests_are_written_together_and_all_answered_after_the_write():
    writes = Writes()
    # Given 50 requests of 2 events arriving together
    requests = [[{"n": 2 * i}, {"n": 2 * i + 1}] for i in range(50)]
    # When the writer gathers up to 40 events per write
    outcomes = run_with_writer(writes, requests, max_events=40, interval_s=0.01)
    # Then every request is answered, in 3 writes (40 + 40 + 20) instead of 50
    assert outcomes == [None] * 50
    assert writes.events_per_write() == [40, 40, 20]
    assert sorted(row["n"] for w in writes for rows in w for row in rows) == list(range(100))


def test_a_request_larger_than_a_batch_is_written_whole():
    writes = Writes()
    run_with_writer(writes, [[{"n": i} for i in range(25)]], max_events=10, interval_s=0)
    assert writes.events_per_write() == [25]


def test_a_failed_write_fails_every_request_of_its_batch_and_no_other():
    calls = []

    def flaky(requests):
        calls.append(len(requests))
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        return [None] * len(requests)

    outcomes = run_with_writer(flaky, [[{"n": i}] for i in range(6)], max_events=3, interval_s=0.01)
    assert calls == [3, 3]
    assert [type(o).__name__ for o in outcomes] == ["ConnectionError"] * 3 + ["NoneType"] * 3


def test_a_refused_request_is_answered_with_its_refusal_and_the_others_as_stored():
    refusal = Rejected(422, "the events could not be stored: a value")

    def refuse_the_second(requests):
        return [refusal if rows[0]["n"] == 1 else None for rows in requests]

    outcomes = run_with_writer(
        refuse_the_second, [[{"n": i}] for i in range(3)], max_events=10, interval_s=0.01
    )
    assert outcomes == [None, refusal, None]


def test_stop_writes_what_is_queued_and_a_stopped_writer_takes_nothing():
    writes = Writes()

    async def scenario():
        writer = BatchWriter(write=writes, max_events=100, interval_s=0.05)
        await writer.start()
        pending = asyncio.ensure_future(writer.submit([{"n": 1}]))
        await asyncio.sleep(0)
        await writer.stop()
        await pending
        with pytest.raises(RuntimeError, match="not running"):
            await writer.submit([{"n": 2}])

    asyncio.run(scenario())
    assert writes == [[[{"n": 1}]]]


NOW = datetime.now(UTC)
# Rows the collector's checks no longer let through (they refuse or normalise these values);
# each stands for a gap in them, as an offset with seconds and microseconds once was.
POISONS = {
    "a NUL": ({"anonymous_id": "anon\x00"}, "cannot contain NUL"),
    "a lone surrogate": ({"anonymous_id": "anon\ud800"}, "not valid Unicode"),
    "an offset PostgreSQL cannot read": (
        {
            "occurred_at": NOW.astimezone(
                timezone(timedelta(hours=5, minutes=30, seconds=15, microseconds=123456))
            )
        },
        "invalid input syntax for type timestamp with time zone",
    ),
    "a deleted workspace": ({"workspace_id": 10**9}, "was the key's workspace deleted?"),
}


def good_request(workspace) -> list[dict]:
    """The rows of a checked request of 2 page views."""
    body = {"events": [pixel_event(workspace.pixel_key) for _ in range(2)]}
    payload = parse_payload(json.dumps(body).encode(), max_events=100, now=NOW)
    return [event.row(workspace.id) for event in payload.events]


@pytest.mark.parametrize("poison", POISONS)
def test_a_value_postgresql_refuses_costs_its_own_request_only(workspace, poison):
    # Given 40 good requests of 2 events, and one whose second event carries the poison
    change, reason = POISONS[poison]
    good = [good_request(workspace) for _ in range(40)]
    poisoned = good_request(workspace)
    poisoned[1] = {**poisoned[1], **change}
    requests = [*good[:20], poisoned, *good[20:]]
    # When they are written as one batch
    outcomes = insert_requests(requests)
    # Then the poisoned request alone is refused, saying why without any SQL
    refusal = outcomes.pop(20)
    assert isinstance(refusal, Rejected) and refusal.status == 422
    assert reason in str(refusal) and "INSERT" not in str(refusal)
    assert outcomes == [None] * 40
    # And all 80 good events are stored, none of the poisoned request's (not even its first)
    stored = {row["event_id"] for row in stored_events(workspace.id)}
    assert stored == {row["event_id"] for rows in good for row in rows}
