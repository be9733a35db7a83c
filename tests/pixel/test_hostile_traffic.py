"""Hostile and careless requests among real shoppers' (hypothesis, over HTTP): whatever one
request carries, it is stored as sent or refused with a clear 4xx, the shoppers' requests
batched with it are all stored, and no answer is a server error or shows SQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pixel_support import Collector, pixel_event, stored_events

from metricx.pixel.events import FIELDS

NOW = datetime.now(UTC)
SQL_WORDS = ("INSERT", "SELECT", "[SQL", "pixel_events", "unnest", "Traceback")
CLEAR_REFUSALS = {400, 401, 403, 413, 415, 422}
SHOPPERS = 5  # good requests sent at the same moment as each hostile one

# Every offset Python reads: under 24 hours, to the microsecond. PostgreSQL reads whole
# seconds up to ±15:59:59 only.
OFFSETS = st.timedeltas(
    min_value=timedelta(microseconds=1 - 24 * 3600 * 10**6),
    max_value=timedelta(microseconds=24 * 3600 * 10**6 - 1),
).map(timezone)
RECENT = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=29))
ANY_MOMENT = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999_999)
)
TIMESTAMPS = st.one_of(
    st.builds(lambda age, offset: (NOW - age).astimezone(offset).isoformat(), RECENT, OFFSETS),
    st.builds(
        lambda moment, offset: moment.replace(tzinfo=offset).isoformat(), ANY_MOMENT, OFFSETS
    ),
    ANY_MOMENT.map(datetime.isoformat),  # no offset at all
)
# Any code point, NUL, control characters and lone surrogates included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=80)
# What one field of an event may be, as raw JSON text (or what Python's json reads beyond it).
TOKENS = st.one_of(
    TIMESTAMPS.map(json.dumps),
    ANY_TEXT.map(json.dumps),  # escapes NUL and lone surrogates as \uXXXX, as JSON allows
    st.integers(min_value=-(10**70), max_value=10**70).map(str),
    st.integers(min_value=4290, max_value=6000).map(lambda digits: "9" * digits),
    st.floats().map(json.dumps),  # NaN and Infinity included
    st.sampled_from(["NaN", "-Infinity", "1e999", "null", "true", "[]", "{}"]),
    st.integers(min_value=1, max_value=10_000).map(lambda depth: "[" * depth + "]" * depth),
)


@st.composite
def hostile_bodies(draw: st.DrawFn, key: str) -> tuple[str, bytes]:
    """(the field made hostile, the body): a valid event with one field replaced by a token,
    alone or batched after a valid event; or bytes that need not be JSON at all."""
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        return "", draw(st.binary(max_size=200))
    field = draw(st.sampled_from([*FIELDS, "events", "x"]))
    rest = json.dumps({name: value for name, value in pixel_event(key).items() if name != field})
    event = f"{rest[:-1]}, {json.dumps(field)}: {draw(TOKENS)}}}"
    if draw(st.booleans()):
        event = f'{{"events": [{json.dumps(pixel_event(key))}, {event}]}}'
    return field, event.encode()


async def send_together(url: str, bodies: list[bytes]) -> list[httpx.Response]:
    async with httpx.AsyncClient(
        limits=httpx.Limits(max_connections=len(bodies)), timeout=30
    ) as client:
        return await asyncio.gather(*(client.post(url, content=body) for body in bodies))


@pytest.fixture
def batching_collector(start_collector) -> Collector:
    """A collector that gathers requests for 20 ms, so the ones sent together share a write."""
    return start_collector(flush_interval_ms=20)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_hostile_request_among_shoppers_costs_them_nothing(batching_collector, workspace, data):
    # Given shoppers' requests and one hostile request, sent at the same moment
    field, hostile = data.draw(hostile_bodies(workspace.pixel_key), label="hostile")
    shoppers = [pixel_event(workspace.pixel_key) for _ in range(SHOPPERS)]
    answers = asyncio.run(
        send_together(
            batching_collector.events_url, [hostile, *(json.dumps(e).encode() for e in shoppers)]
        )
    )
    answer, shopper_answers = answers[0], answers[1:]
    event(f"hostile answered {answer.status_code}")
    # Then no answer is a server error or shows SQL
    for each in answers:
        assert not any(word in each.text for word in SQL_WORDS), each.text
    # And every shopper's event is stored
    assert [a.status_code for a in shopper_answers] == [202] * SHOPPERS
    stored = {row["event_id"]: row for row in stored_events(workspace.id)}
    assert {event["event_id"] for event in shoppers} <= stored.keys()
    # And the hostile request is refused, saying why, or stored as sent (its instant exactly)
    if answer.status_code != 202:
        assert answer.status_code in CLEAR_REFUSALS and answer.json()["error"], answer.text
        return
    sent = json.loads(hostile)
    for one in sent.get("events", [sent]):
        row = stored[one["event_id"]]
        if field == "timestamp":
            assert row["occurred_at"] == datetime.fromisoformat(one["timestamp"])
