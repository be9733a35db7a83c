"""TimeRange.until (a range stopping at a local clock time on its last day): its JSON, its
validation, comparison ranges that carry it, and the UTC instant it ends at."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from design_query import DESIGN_QUERY
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from metricx.semantic.dates import compare_range_for, utc_bounds
from metricx.semantic.query import QueryValidationError, SemanticQuery, TimeRange

TODAY = date(2026, 11, 10)
TODAY_SO_FAR = TimeRange(start=TODAY, end=TODAY, until=time(14))


def query(time_range: dict, **more) -> dict:
    return {"metrics": ["spend"], "time_range": time_range, **more}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_until_is_written_as_a_clock_time_and_read_back():
    # Given today so far, until 14:00, written as "HH:MM"
    parsed = SemanticQuery.parse(
        query({"start": "2026-11-10", "end": "2026-11-10", "until": "14:00"})
    )
    # When it is written as JSON and parsed again
    written = json.loads(parsed.to_json())
    # Then until is "HH:MM:SS" and nothing changes on the way back
    assert parsed.time_range == TODAY_SO_FAR
    assert written["time_range"] == {
        "start": "2026-11-10",
        "end": "2026-11-10",
        "until": "14:00:00",
    }
    assert TODAY_SO_FAR.model_dump(mode="json")["until"] == "14:00:00"
    assert SemanticQuery.parse(parsed.to_json()) == parsed


def test_whole_days_keep_the_design_shape_without_an_until_key():
    parsed = SemanticQuery.parse(DESIGN_QUERY)
    assert parsed.time_range.until is None
    assert json.loads(parsed.to_json()) == DESIGN_QUERY


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("00:00", "until 00:00:00 leaves nothing of the last day; end the range a day earlier"),
        (
            "14:00+02:00",
            "time_range.until: until is a clock time in the workspace time zone; "
            "give it without an offset",
        ),
        ("25:00", "time_range.until: '25:00' is not a clock time; use HH:MM or HH:MM:SS"),
    ],
)
def test_an_until_that_cannot_be_a_cut_is_refused_in_one_line(until, message):
    with pytest.raises(QueryValidationError, match=re.escape(message)):
        SemanticQuery.parse(query({"start": "2026-11-10", "end": "2026-11-10", "until": until}))


def test_the_time_range_still_refuses_unknown_keys():
    with pytest.raises(QueryValidationError, match=re.escape("unknown field 'time_range.hour'")):
        SemanticQuery.parse(query({"start": "2026-11-10", "end": "2026-11-10", "hour": "14"}))


def test_a_cut_range_split_by_dimensions_is_capped_like_hourly_rows():
    # Given 40 days until 14:00, split by ad (read from the snapshot rows, like hours)
    long = {"start": "2026-10-02", "end": "2026-11-10", "until": "14:00"}
    # Then it is refused with what to do; as one total it is fine
    with pytest.raises(QueryValidationError, match="at most 31 days, not 40; drop until"):
        SemanticQuery.parse(query(long, dimensions=["ad"]))
    assert SemanticQuery.parse(query(long)).time_range.days == 40


def test_the_copilot_schema_offers_until_as_an_optional_clock_time():
    # Given the JSON schema the copilot's tool is built from
    schema = SemanticQuery.json_schema()
    time_range = schema["$defs"]["TimeRange"]
    # Then until is an optional time (or null) and no other key is allowed
    assert time_range["required"] == ["start", "end"]
    assert {"format": "time", "type": "string"} in time_range["properties"]["until"]["anyOf"]
    assert time_range["additionalProperties"] is False
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(DESIGN_QUERY, schema)
    jsonschema.validate(
        json.loads(SemanticQuery.parse(query(TODAY_SO_FAR.model_dump(mode="json"))).to_json()),
        schema,
    )


# --- comparison ranges -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "previous_period",
            TimeRange(start=date(2026, 11, 9), end=date(2026, 11, 9), until=time(14)),
        ),
        (
            "previous_year",
            TimeRange(start=date(2025, 11, 10), end=date(2025, 11, 10), until=time(14)),
        ),
        # a named period is taken whole
        ("previous_week", TimeRange(start=date(2026, 11, 2), end=date(2026, 11, 8))),
    ],
)
def test_the_comparison_of_today_so_far_stops_at_the_same_clock_time(kind, expected):
    assert compare_range_for(kind, TODAY_SO_FAR) == expected


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(date(2001, 1, 1), date(2100, 10, 31)),
    length=st.integers(0, 60),
    until=st.none() | st.times().filter(lambda t: t != time(0)),
)
def test_previous_period_and_year_carry_until_and_the_length(start, length, until):
    current = TimeRange(start=start, end=start + timedelta(days=length), until=until)
    for kind in ("previous_period", "previous_year"):
        earlier = compare_range_for(kind, current)
        assert earlier.until == until
        assert earlier.end < current.start
    assert compare_range_for("previous_period", current).days == current.days


# --- the instant a cut range ends at -----------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "day", "until", "end"),
    [
        # New York: an ordinary day, the 25-hour day (01:00 twice) and the 23-hour one
        ("America/New_York", "2026-11-10", time(14), utc(2026, 11, 10, 19)),
        ("America/New_York", "2026-11-01", time(14), utc(2026, 11, 1, 19)),
        ("America/New_York", "2026-03-08", time(14), utc(2026, 3, 8, 18)),
        # Berlin skips 02:00-03:00 on 2026-03-29: 02:30 is the switch, the first instant after it
        ("Europe/Berlin", "2026-03-29", time(2, 30), utc(2026, 3, 29, 1)),
        # Berlin passes 02:00-03:00 twice on 2026-10-25: 02:30 is the first pass
        ("Europe/Berlin", "2026-10-25", time(2, 30), utc(2026, 10, 25, 0, 30)),
        # Lord Howe skips half an hour (02:00-02:30) on 2026-10-04
        ("Australia/Lord_Howe", "2026-10-04", time(2, 15), utc(2026, 10, 3, 15, 30)),
        ("Asia/Kolkata", "2026-11-10", time(9, 45), utc(2026, 11, 10, 4, 15)),
    ],
)
def test_a_cut_range_ends_at_the_local_clock_time_of_its_last_day(tz, day, until, end):
    first = date.fromisoformat(day) - timedelta(days=1)
    span = TimeRange(start=first, end=date.fromisoformat(day), until=until)
    start, stop = utc_bounds(span, tz)
    assert stop == end and stop.tzinfo is UTC
    assert start == utc_bounds(span.whole_days(), tz)[0]


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(date(2000, 1, 1), date(2100, 12, 31)),
    tz=st.sampled_from(
        [
            "Europe/Berlin",
            "America/New_York",
            "America/Santiago",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
        ]
    ),
    earlier=st.times(),
    later=st.times(),
)
def test_a_later_cut_never_ends_earlier_and_stays_inside_the_day(day, tz, earlier, later):
    earlier, later = sorted((earlier, later))
    assume(earlier != time(0))  # not a cut: refused
    start, day_end = utc_bounds(TimeRange(start=day, end=day), tz)
    first = utc_bounds(TimeRange(start=day, end=day, until=earlier), tz)[1]
    second = utc_bounds(TimeRange(start=day, end=day, until=later), tz)[1]
    assert start <= first <= second <= day_end


def test_a_clock_time_is_its_first_pass_whatever_fold_it_is_given():
    # Given 01:30 on New York's fall-back day, once marked as the second pass (fold 1)
    second_pass = TimeRange(
        start=date(2026, 11, 1), end=date(2026, 11, 1), until=time(1, 30, fold=1)
    )
    # Then it is the first pass, as its JSON (which has no fold) reads back
    assert second_pass.until.fold == 0
    assert utc_bounds(second_pass, "America/New_York")[1] == utc(2026, 11, 1, 5, 30)
    assert TimeRange.model_validate(second_pass.model_dump(mode="json")) == second_pass
