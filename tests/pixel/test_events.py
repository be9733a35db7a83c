"""What a request may carry (metricx.pixel.events), without HTTP in between."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pixel_support import pixel_event, stored_events
from sqlalchemy import text

from metricx.db import get_engine
from metricx.pixel.events import FIELDS, Rejected, check_content_type, parse_payload
from metricx.pixel.writer import insert_events

NOW = datetime.now(UTC)


def parse(body: object, max_events: int = 100):
    return parse_payload(json.dumps(body).encode(), max_events=max_events, now=NOW)


def test_sent_utms_win_and_missing_ones_come_from_the_url():
    [event] = parse(
        pixel_event(
            "k", utm_source="newsletter", url="https://shop.test/?utm_source=meta&utm_term=boots"
        )
    ).events
    assert event.utm == {
        "utm_source": "newsletter",
        "utm_medium": None,
        "utm_campaign": None,
        "utm_content": None,
        "utm_term": "boots",
    }


def test_a_utm_from_the_url_is_cut_to_fit_but_a_sent_one_must_fit():
    long = "c" * 500
    [event] = parse(pixel_event("k", url=f"https://shop.test/?utm_campaign={long}")).events
    assert event.utm["utm_campaign"] == "c" * 400
    with pytest.raises(Rejected, match="longer than 400") as refused:
        parse(pixel_event("k", utm_campaign=long))
    assert refused.value.status == 422


def test_control_characters_hidden_in_the_url_query_become_spaces_the_event_is_kept():
    # Given an ad link whose UTMs decode to a NUL and a line break (the store did not write it)
    [event] = parse(
        pixel_event("k", url="https://shop.test/?utm_source=a%00b&utm_campaign=Summer%0ASale%0A")
    ).events
    # Then the event is taken, its UTMs made storable
    assert (event.utm["utm_source"], event.utm["utm_campaign"]) == ("a b", "Summer Sale")


@pytest.mark.parametrize(
    "value, error",
    [
        ("anon\x00", "contains a NUL character"),
        ("anon\x01", "contains a control character (U+0001)"),
        ("anon\n", "contains a control character (U+000A)"),
        ("anon\x9b", "contains a control character (U+009B)"),
        ("anon\ud800", "is not valid Unicode (a lone surrogate)"),
    ],
)
def test_a_sent_text_with_a_control_character_or_a_lone_surrogate_is_422(value, error):
    with pytest.raises(Rejected) as refused:
        parse(pixel_event("k", anonymous_id=value))
    assert (refused.value.status, refused.value.message, refused.value.field) == (
        422,
        error,
        "anonymous_id",
    )


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"", "malformed JSON"),
        (b'{"x": ' + b"1" * 5000 + b"}", "a number of 5,000 digits"),
        (b'{"x": Infinity}', "Infinity is not a JSON number"),
    ],
)
def test_bodies_that_are_not_json_are_400(raw, message):
    with pytest.raises(Rejected, match=message) as refused:
        parse_payload(raw, max_events=100, now=NOW)
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "header",
    [
        "text/plain;charset=UTF-8",  # a string body from sendBeacon or fetch
        "application/json",
        "application/json; charset=utf-8",
        'text/plain; charset="utf-8"',
        "application/ld+json",
        "",
        None,
    ],
)
def test_json_text_is_taken_whatever_the_browser_called_it(header):
    check_content_type(header)  # no Rejected


@pytest.mark.parametrize(
    "header, error",
    [
        (
            "application/x-www-form-urlencoded;charset=UTF-8",
            "the body must be JSON sent as application/json or text/plain, "
            "not application/x-www-form-urlencoded",
        ),
        (
            "text/html",
            "the body must be JSON sent as application/json or text/plain, not text/html",
        ),
        ("text/plain; charset=utf-16", "the body must be UTF-8, not utf-16"),
        ("application/json; charset=", "the body must be UTF-8, not an empty charset"),
    ],
)
def test_other_content_types_are_415_naming_what_to_send(header, error):
    with pytest.raises(Rejected) as refused:
        check_content_type(header)
    assert (refused.value.status, str(refused.value)) == (415, error)


def test_a_batch_takes_nothing_beside_its_events():
    with pytest.raises(Rejected, match="unknown field beside events") as refused:
        parse({"events": [pixel_event("k")], "workspace_key": "k"})
    assert refused.value.field == "workspace_key"


def test_a_zulu_timestamp_as_browsers_write_it_is_taken():
    stamp = NOW.strftime("%Y-%m-%dT%H:%M:%S.") + f"{NOW.microsecond // 1000:03d}Z"
    [event] = parse(pixel_event("k", timestamp=stamp)).events
    assert event.occurred_at == NOW.replace(microsecond=NOW.microsecond // 1000 * 1000)


@pytest.mark.parametrize("offset", ["+05:30:15.123456", "+23:59:59.999999", "-16:00"])
def test_any_offset_python_reads_is_taken_as_the_instant_in_utc(offset):
    # Given an instant written with an offset PostgreSQL cannot read (beyond ±15:59:59, or
    # with seconds and their fractions)
    stamp = NOW.astimezone(
        timezone(datetime.fromisoformat("2026-01-01T00:00" + offset).utcoffset())
    )
    assert stamp.isoformat().endswith(offset)
    # Then it is taken as that instant, in UTC as timestamptz stores it
    [event] = parse(pixel_event("k", timestamp=stamp.isoformat())).events
    assert event.occurred_at == NOW and event.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "stamp, error",
    [
        ("0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00+05:00 is more than 30 days old"),
        (
            "9999-12-31T23:59:59.999999-14:00",
            "9999-12-31T23:59:59.999999-14:00 is in the future (is the client's clock right?)",
        ),
    ],
)
def test_times_whose_utc_falls_outside_the_calendar_are_422_not_an_overflow(stamp, error):
    with pytest.raises(Rejected) as refused:
        parse(pixel_event("k", timestamp=stamp))
    assert (refused.value.status, refused.value.message) == (422, error)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from([*FIELDS, "events", "x"]) | st.text(), inner, max_size=6)
    ),
    max_leaves=20,
)


@given(JSON)
def test_any_json_body_is_either_events_or_a_clear_4xx(body):
    try:
        payload = parse_payload(json.dumps(body).encode(), max_events=100, now=NOW)
    except Rejected as refused:
        assert 400 <= refused.status < 500 and str(refused)
    else:
        assert payload.events


# Any code point, lone surrogates and NUL included: what a JSON string can carry.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=80)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.fixed_dictionaries({}, optional={name: ANY_TEXT for name in FIELDS}))
def test_whatever_is_accepted_postgresql_stores(workspace, fields):
    # Given a fully valid event with any of its fields replaced by arbitrary text
    sent = {**pixel_event(workspace.pixel_key), **fields}
    raw = json.dumps(sent).encode()  # escapes lone surrogates, as a browser may send them
    try:
        payload = parse_payload(raw, max_events=100, now=NOW)
    except Rejected as refused:
        assert 400 <= refused.status < 500
        return
    # Then the row it becomes goes into PostgreSQL and comes back as it was
    [row] = [event.row(workspace.id) for event in payload.events]
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM pixel_events"))
    insert_events([row])
    [stored] = stored_events(workspace.id)
    assert {name: stored[name] for name in row} == row
