"""POST /v1/pixel-events over HTTP on loopback: what is stored, what is refused and why."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from pixel_support import pixel_event, stored_events

from metricx.pixel.writer import BatchWriter

NOW = datetime.now(UTC)
PARIS = timezone(timedelta(hours=1))


def test_a_page_view_is_stored_with_the_utms_of_its_url(collector, workspace):
    # Given a page view whose URL carries UTMs, and one explicit utm_content
    sent = pixel_event(
        workspace.pixel_key,
        utm_content="hero-video",
        timestamp=(NOW - timedelta(hours=1)).astimezone(PARIS).isoformat(),
        url="https://shop.test/p/1?utm_source=meta&utm_medium=paid"
        "&utm_campaign=BFCM%20Boots&utm_content=ignored",
    )
    # When the store sends it
    answer = collector.post(sent)
    # Then it is acknowledged, and stored by the time the answer arrives
    assert (answer.status_code, answer.json()) == (202, {"accepted": 1})
    [row] = stored_events(workspace.id)
    assert row["event_id"] == sent["event_id"] and row["event"] == "page_view"
    assert (
        row["utm_source"],
        row["utm_medium"],
        row["utm_campaign"],
        row["utm_content"],
        row["utm_term"],
    ) == ("meta", "paid", "BFCM Boots", "hero-video", None)
    assert sent["timestamp"].endswith("+01:00")
    assert row["occurred_at"] == NOW - timedelta(hours=1)
    assert row["referrer"] == "https://www.google.com/" and row["order_external_id"] is None


def test_a_purchase_keeps_its_order_id_and_a_number_is_taken_as_text(collector, workspace):
    answer = collector.post(
        {
            "events": [
                pixel_event(workspace.pixel_key, event="purchase", order_id=5432109876),
                pixel_event(workspace.pixel_key, event="purchase", order_id="#1001", referrer=""),
            ]
        }
    )
    assert answer.json() == {"accepted": 2}
    rows = stored_events(workspace.id)
    assert [r["order_external_id"] for r in rows] == ["5432109876", "#1001"]
    assert rows[1]["referrer"] is None


def test_malformed_json_is_400_and_stores_nothing(collector, workspace):
    answer = collector.post(content=b'{"events": [{"event": "page_view",')
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("malformed JSON")
    assert stored_events() == []


@pytest.mark.parametrize("how", ["declared length", "chunked stream"])
def test_a_body_over_the_cap_is_413_and_stores_nothing(start_collector, workspace, how):
    # Given a collector taking bodies up to 2,000 bytes, and a valid batch bigger than that
    collector = start_collector(max_body_bytes=2000)
    body = httpx.Request(
        "POST", "/", json={"events": [pixel_event(workspace.pixel_key) for _ in range(20)]}
    ).content
    assert len(body) > 2000
    # When it is sent with its Content-Length, or streamed without one
    if how == "declared length":
        answer = collector.post(content=body)
    else:
        answer = collector.post(content=iter([body[:1500], body[1500:]]))
    # Then it is refused whole
    assert answer.status_code == 413
    assert "limit" in answer.json()["error"] and "2,000" in answer.json()["error"]
    assert stored_events() == []


def test_a_missing_key_is_401_an_unknown_one_403_and_a_batch_is_refused_whole(collector, workspace):
    missing = collector.post(pixel_event(""))
    assert (missing.status_code, missing.json()["field"]) == (401, "workspace_key")
    # Given a batch whose second event carries a key no workspace has
    answer = collector.post(
        {"events": [pixel_event(workspace.pixel_key), pixel_event("made-up-key")]}
    )
    # Then the request is refused, naming that event, and not even the first is stored
    assert answer.status_code == 403
    assert answer.json()["field"] == "events[1].workspace_key"
    assert "unknown key" in answer.json()["error"]
    assert stored_events() == []


BAD_FIELDS = [  # (change to a valid event, the field named, words of the message)
    ({"event": "checkout_started"}, "event", "must be one of page_view, add_to_cart, purchase"),
    ({"event_id": ""}, "event_id", "required"),
    ({"event_id": "x" * 65}, "event_id", "longer than 64"),
    ({"anonymous_id": 42}, "anonymous_id", "must be a string"),
    ({"url": "javascript:alert(1)"}, "url", "absolute http(s) URL"),
    ({"timestamp": "2026-11-20T10:07:00"}, "timestamp", "needs a UTC offset"),
    ({"timestamp": "yesterday"}, "timestamp", "not an ISO 8601 time"),
    ({"timestamp": (NOW + timedelta(days=2)).isoformat()}, "timestamp", "in the future"),
    ({"timestamp": "1999-01-01T00:00:00Z"}, "timestamp", "more than 30 days old"),
    ({"event": "purchase"}, "order_id", "required on a purchase"),
    ({"order_id": "1001"}, "order_id", "only a purchase"),
    ({"event": "add_to_cart", "order_id": "1001"}, "order_id", "only a purchase"),
    ({"utm_source": "x" * 201}, "utm_source", "longer than 200"),
    ({"anonymous_id": "a\x00b"}, "anonymous_id", "NUL"),
    ({"workspace_id": 1}, "workspace_id", "unknown field"),
]


def test_an_invalid_field_is_422_naming_it_and_stores_nothing(collector, workspace):
    for change, field, message in BAD_FIELDS:
        # Given a batch of one valid event and one with a bad field
        bad = {**pixel_event(workspace.pixel_key), **change}
        answer = collector.post({"events": [pixel_event(workspace.pixel_key), bad]})
        # Then the answer is 422, names the field and says what is wrong
        assert answer.status_code == 422, change
        assert answer.json()["field"] == f"events[1].{field}", change
        assert message in answer.json()["error"], change
    # And nothing of those requests is stored
    assert stored_events() == []


@pytest.mark.parametrize(
    "body, message",
    [
        ([], "must be a JSON object"),
        ({"events": []}, "1 to 100 events"),
        ({"events": "many"}, "1 to 100 events"),
    ],
)
def test_a_body_of_the_wrong_shape_is_422(collector, workspace, body, message):
    answer = collector.post(body)
    assert answer.status_code == 422 and message in answer.json()["error"]


def test_more_events_than_the_batch_cap_are_refused(start_collector, workspace):
    collector = start_collector(max_batch_events=10)
    answer = collector.post({"events": [pixel_event(workspace.pixel_key) for _ in range(11)]})
    assert answer.status_code == 422 and answer.json()["field"] == "events"
    assert stored_events() == []


def test_a_burst_over_the_rate_limit_is_429_with_retry_after_and_stores_nothing_more(
    start_collector, workspace
):
    # Given a client allowed 3 requests at once, then 1 a minute
    collector = start_collector(rate_per_minute=1, rate_burst=3)
    # When it sends 6 requests in a row
    answers = [collector.post(pixel_event(workspace.pixel_key)) for _ in range(6)]
    # Then the first 3 are stored and the rest told when to come back
    assert [a.status_code for a in answers] == [202, 202, 202, 429, 429, 429]
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert "too many requests" in answers[3].json()["error"]
    assert len(stored_events()) == 3


async def _send_all(url: str, bodies: list[dict], concurrency: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        return await asyncio.gather(*(client.post(url, json=body) for body in bodies))


def test_a_burst_of_10000_events_is_stored_once_even_when_every_batch_is_resent(
    collector, workspace
):
    # Given 100 batches of 100 events, sent 20 at a time
    batches = [
        {"events": [pixel_event(workspace.pixel_key, anonymous_id=f"anon-{b}") for _ in range(100)]}
        for b in range(100)
    ]
    first = asyncio.run(_send_all(collector.events_url, batches, concurrency=20))
    assert {a.status_code for a in first} == {202}
    assert sum(a.json()["accepted"] for a in first) == 10_000
    # When batches are sent again (clients that never saw their answers), some twice at once
    again = asyncio.run(
        _send_all(collector.events_url, batches[:20] + batches[:20], concurrency=20)
    )
    assert {a.status_code for a in again} == {202}
    # Then every event is stored exactly once
    rows = stored_events(workspace.id)
    assert len(rows) == 10_000
    assert {r["event_id"] for r in rows} == {e["event_id"] for b in batches for e in b["events"]}


def test_a_key_writes_into_its_own_workspace_only(collector, workspace, other_workspace):
    # Given two workspaces whose stores happen to send the same event ids
    shared_ids = [f"evt-{i}" for i in range(5)]
    for key in (workspace.pixel_key, other_workspace.pixel_key):
        answer = collector.post(
            {"events": [pixel_event(key, event_id=i, anonymous_id=key[:8]) for i in shared_ids]}
        )
        assert answer.status_code == 202
    # Then each workspace holds its own five, untouched by the other's
    for ws in (workspace, other_workspace):
        rows = stored_events(ws.id)
        assert [r["event_id"] for r in rows] == shared_ids
        assert {r["anonymous_id"] for r in rows} == {ws.pixel_key[:8]}
    # And an event cannot name a workspace itself
    crossing = collector.post(pixel_event(workspace.pixel_key, workspace_id=other_workspace.id))
    assert crossing.status_code == 422 and len(stored_events(other_workspace.id)) == 5


def test_browsers_may_post_cross_origin_as_text_plain_like_sendbeacon(collector, workspace):
    # Given a browser on the store's domain asking first (fetch with a JSON content type)
    preflight = httpx.options(
        collector.events_url,
        headers={
            "Origin": "https://shop.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    # When it posts the way sendBeacon does (a string body: text/plain)
    answer = collector.post(
        content=httpx.Request("POST", "/", json=pixel_event(workspace.pixel_key)).content,
        headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://shop.test"},
    )
    # Then the event is taken and the browser may read the answer
    assert answer.status_code == 202 and answer.headers["access-control-allow-origin"] == "*"
    assert len(stored_events(workspace.id)) == 1


SHOPIFY_PIXEL_ORIGINS = [
    # browser.sendBeacon runs in the top frame: the store's own origin
    "https://acme-boots.myshopify.com",
    # fetch from the custom pixel's iframe: "null" when it is sandboxed without
    # allow-same-origin (https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Origin)
    "null",
]


@pytest.mark.parametrize("origin", SHOPIFY_PIXEL_ORIGINS)
def test_the_shopify_custom_pixel_may_post_from_the_store_or_its_null_origin_sandbox(
    collector, workspace, origin
):
    # Given the custom pixel's request: a string body (text/plain), from either origin
    body = httpx.Request(
        "POST", "/", json=pixel_event(workspace.pixel_key, event="add_to_cart")
    ).content
    # When it is sent, and a preflight asked (only a non-safelisted type would need one)
    answer = collector.post(
        content=body, headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": origin}
    )
    preflight = httpx.options(
        collector.events_url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    # Then it is stored, and the browser may read both answers
    assert answer.status_code == 202 and answer.headers["access-control-allow-origin"] == "*"
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    [row] = stored_events(workspace.id)
    assert (row["event"], row["order_external_id"]) == ("add_to_cart", None)


JSON_TEXT = "the body must be JSON sent as application/json or text/plain, not "


@pytest.mark.parametrize(
    "content_type, error",
    [
        ("application/x-www-form-urlencoded", JSON_TEXT + "application/x-www-form-urlencoded"),
        ("multipart/form-data; boundary=xyz", JSON_TEXT + "multipart/form-data"),
        ("text/plain;charset=ISO-8859-1", "the body must be UTF-8, not iso-8859-1"),
    ],
)
def test_a_body_declared_as_a_form_or_another_charset_is_415_and_stores_nothing(
    collector, workspace, content_type, error
):
    # Given a valid event, sent with a content type that is not JSON text in UTF-8 (a form is
    # what sendBeacon sends for FormData or URLSearchParams)
    body = httpx.Request("POST", "/", json=pixel_event(workspace.pixel_key)).content
    answer = collector.post(
        content=body, headers={"Content-Type": content_type, "Origin": "https://shop.test"}
    )
    # Then it is refused, saying what to send, in an answer the browser may read
    assert (answer.status_code, answer.json()) == (415, {"error": error})
    assert answer.headers["access-control-allow-origin"] == "*"
    assert stored_events() == []


def test_healthz_answers(collector):
    answer = httpx.get(collector.url + "/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_a_failed_write_is_503_so_the_client_sends_again_and_nothing_is_acknowledged(
    start_collector, workspace
):
    # Given a collector whose database write fails
    def broken(rows):
        raise ConnectionError("database is down")

    collector = start_collector(sink=BatchWriter(max_events=100, interval_s=0, write=broken))
    # When an event arrives, then it is not acknowledged: the client is told to retry
    answer = collector.post(pixel_event(workspace.pixel_key))
    assert answer.status_code == 503 and "send them again" in answer.json()["error"]
    assert answer.headers["Retry-After"] == "1"


def test_an_offset_with_seconds_and_microseconds_is_stored_as_the_instant_it_names(
    collector, workspace
):
    # Given an event stamped with an offset Python reads and PostgreSQL does not
    offset = timezone(timedelta(hours=5, minutes=30, seconds=15, microseconds=123456))
    moment = (NOW - timedelta(hours=1)).astimezone(offset)
    sent = pixel_event(workspace.pixel_key, timestamp=moment.isoformat())
    assert sent["timestamp"].endswith("+05:30:15.123456")
    # When it is sent, then it is stored, at that very instant
    answer = collector.post(sent)
    assert (answer.status_code, answer.json()) == (202, {"accepted": 1})
    [row] = stored_events(workspace.id)
    assert row["occurred_at"] == moment == NOW - timedelta(hours=1)


@pytest.mark.parametrize(
    "token, error",
    [
        ("9" * 5000, "a number of 5,000 digits (at most 64 are read)"),
        ("-" + "9" * 4301, "a number of 4,301 digits (at most 64 are read)"),
        ("NaN", "NaN is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
    ],
)
def test_a_number_json_does_not_have_or_python_cannot_read_is_400(
    collector, workspace, token, error
):
    # Given a purchase whose order id is a number that is not JSON, or too long to read
    event = json.dumps(pixel_event(workspace.pixel_key, event="purchase", order_id=0))
    body = event.replace('"order_id": 0', f'"order_id": {token}')
    # When it is sent, then it is refused as malformed, saying why, and nothing is stored
    answer = collector.post(content=body.encode())
    assert (answer.status_code, answer.json()) == (400, {"error": "malformed JSON: " + error})
    assert stored_events() == []


async def _send_at_once(url: str, bodies: list[bytes]) -> list[httpx.Response]:
    async with httpx.AsyncClient(
        limits=httpx.Limits(max_connections=len(bodies)), timeout=30
    ) as client:
        return await asyncio.gather(*(client.post(url, content=body) for body in bodies))


def test_a_request_postgresql_refuses_costs_only_itself_among_40_concurrent_ones(
    start_collector, workspace, monkeypatch, caplog
):
    # Given a gap in the collector's checks (a NUL passes them, as an offset with seconds once
    # did), and a writer gathering requests for 300 ms so concurrent ones share a batch
    monkeypatch.setattr("metricx.pixel.events._storable", lambda value, field: value)
    collector = start_collector(flush_interval_ms=300)
    good = [pixel_event(workspace.pixel_key) for _ in range(40)]
    poisoned = pixel_event(workspace.pixel_key, anonymous_id="anon\x00")
    bodies = [json.dumps(body).encode() for body in [*good[:20], poisoned, *good[20:]]]
    # When the 41 requests arrive at once
    answers = asyncio.run(_send_at_once(collector.events_url, bodies))
    # Then they were written as one batch, which PostgreSQL refused
    assert "PostgreSQL refused a batch of 41 pixel requests" in caplog.text
    # And the poisoned request alone is refused, saying why without SQL; the others are stored
    refused = answers.pop(20)
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "the events could not be stored: PostgreSQL text fields "
        "cannot contain NUL (0x00) bytes"
    }
    assert [a.status_code for a in answers] == [202] * 40
    assert {row["event_id"] for row in stored_events(workspace.id)} == {
        event["event_id"] for event in good
    }


def test_a_failed_key_lookup_is_503_too(collector, workspace, monkeypatch):
    async def database_down(self, keys):
        raise ConnectionError("database is down")

    monkeypatch.setattr("metricx.pixel.keys.WorkspaceKeys.resolve", database_down)
    answer = collector.post(pixel_event(workspace.pixel_key))
    assert answer.status_code == 503 and "send them again" in answer.json()["error"]
    assert stored_events() == []
