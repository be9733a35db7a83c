"""The fake Anthropic Messages API speaks the real protocol: the real SDK and raw HTTP agree."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import httpx
import pytest

from metricx.sandbox.fakes import faults
from metricx.sandbox.fakes.anthropic import (
    DEFAULT_TEXT,
    ERROR_STATUS,
    FAULT_KINDS,
    FakeAnthropicServer,
    Reply,
    default_responder,
)
from metricx.sandbox.fakes.faults import FaultPlan

MODEL = "claude-sonnet-4-6"
TOOL = {
    "name": "lookup",
    "description": "Look something up.",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
}
FORCED = {"type": "tool", "name": "lookup", "disable_parallel_tool_use": True}
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def fake(server: FakeAnthropicServer) -> Iterator[FakeAnthropicServer]:
    server.reset()
    server.app.default = default_responder
    yield server
    assert server.app.pending == 0, "the test left scripted replies unused"


@pytest.fixture
def client(server: FakeAnthropicServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=server.api_key, base_url=server.url, max_retries=0, timeout=5
    )


def _post(fake: FakeAnthropicServer, body: dict[str, object], **headers: str) -> httpx.Response:
    sent = {"x-api-key": fake.api_key, "anthropic-version": "2023-06-01", **headers}
    return httpx.post(f"{fake.url}/v1/messages", json=body, headers=sent, timeout=5)


def _events(raw: str) -> list[tuple[str, dict[str, object]]]:
    """(event, data) pairs of an SSE body; every event must carry both lines."""
    pairs = []
    for chunk in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        assert set(lines) == {"event", "data"}, chunk
        data = json.loads(lines["data"])
        assert data["type"] == lines["event"]
        pairs.append((lines["event"], data))
    return pairs


def test_a_scripted_tool_call_comes_back_as_a_message_the_sdk_parses(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # Given a scripted tool call
    fake.script(Reply.tool({"q": "spend"}, input_tokens=120, output_tokens=17))
    # When the SDK forces that tool
    message = client.messages.create(
        model=MODEL, max_tokens=100, messages=HELLO, tools=[TOOL], tool_choice=FORCED
    )
    # Then it gets a tool_use block, the model it asked for, the stop reason and the usage
    (block,) = message.content
    assert isinstance(block, anthropic.types.ToolUseBlock)
    assert (block.name, block.input) == ("lookup", {"q": "spend"})
    assert block.id.startswith("toolu_")
    assert (message.model, message.stop_reason, message.role) == (MODEL, "tool_use", "assistant")
    assert (message.usage.input_tokens, message.usage.output_tokens) == (120, 17)


def test_the_raw_message_json_has_every_field_of_the_api(fake: FakeAnthropicServer) -> None:
    fake.script(Reply.say("Hi."))
    response = _post(fake, {"model": MODEL, "max_tokens": 10, "messages": HELLO})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["request-id"].startswith("req_")
    body = response.json()
    assert set(body) == {
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "stop_sequence",
        "usage",
    }
    assert body["type"] == "message" and body["id"].startswith("msg_")
    assert body["content"] == [{"type": "text", "text": "Hi."}]
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    assert set(body["usage"]) == {"input_tokens", "output_tokens"}


def test_streamed_text_is_sse_in_the_api_order(fake: FakeAnthropicServer) -> None:
    # Given a scripted text answer
    fake.script(Reply.say("Spend was $1,234.", delta_size=5))
    # When it is requested with stream: true over raw HTTP
    response = _post(fake, {"model": MODEL, "max_tokens": 50, "messages": HELLO, "stream": True})
    # Then the body is an event stream with event: and data: lines, in the documented order
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    names = [name for name, _data in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert all(d["type"] == "text_delta" for d in deltas)
    assert "".join(d["text"] for d in deltas) == "Spend was $1,234."
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert events[-2][1]["usage"]["output_tokens"] >= 1


def test_a_streamed_tool_call_arrives_as_input_json_deltas(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script(Reply.tool({"q": "cpc by ad"}, delta_size=4))
    with client.messages.stream(
        model=MODEL, max_tokens=50, messages=HELLO, tools=[TOOL], tool_choice=FORCED
    ) as stream:
        kinds = [event.type for event in stream]
        message = stream.get_final_message()
    assert message.content[0].type == "tool_use"
    assert message.content[0].input == {"q": "cpc by ad"}
    assert message.stop_reason == "tool_use"
    raw = _post(
        fake,
        {
            "model": MODEL,
            "max_tokens": 50,
            "messages": HELLO,
            "stream": True,
            "tools": [TOOL],
            "tool_choice": FORCED,
        },
    ).text
    assert "input_json_delta" in raw and "content_block_delta" in kinds


@pytest.mark.parametrize(
    ("error", "sdk_error"),
    [
        ("rate_limit_error", anthropic.RateLimitError),
        ("overloaded_error", anthropic.OverloadedError),
        ("api_error", anthropic.InternalServerError),
        ("authentication_error", anthropic.AuthenticationError),
        ("invalid_request_error", anthropic.BadRequestError),
    ],
)
def test_scripted_errors_have_the_api_status_and_shape(
    fake: FakeAnthropicServer,
    client: anthropic.Anthropic,
    error: str,
    sdk_error: type[anthropic.APIStatusError],
) -> None:
    # Given the next two requests fail with this error
    fake.script(Reply.fail(error, "scripted"), Reply.fail(error))
    # Then raw HTTP sees the API's status and error JSON
    response = _post(fake, {"model": MODEL, "max_tokens": 10, "messages": HELLO})
    assert response.status_code == ERROR_STATUS[error]
    assert response.json() == {"type": "error", "error": {"type": error, "message": "scripted"}}
    # And the SDK raises its class for that status
    with pytest.raises(sdk_error) as raised:
        client.messages.create(model=MODEL, max_tokens=10, messages=HELLO)
    assert raised.value.status_code == ERROR_STATUS[error]
    assert raised.value.type == error


def test_an_error_mid_stream_is_an_error_event_after_the_first_deltas(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script(
        Reply.fail_mid_stream("one two three four", after=2, delta_size=4),
        Reply.fail_mid_stream("one two three four", after=2, delta_size=4),
    )
    events = _events(
        _post(fake, {"model": MODEL, "max_tokens": 50, "messages": HELLO, "stream": True}).text
    )
    assert [n for n, _d in events][-3:] == ["content_block_delta", "content_block_delta", "error"]
    assert events[-1][1]["error"]["type"] == "overloaded_error"
    received: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        client.messages.stream(model=MODEL, max_tokens=50, messages=HELLO) as stream,
    ):
        received.extend(stream.text_stream)
    assert received == ["one ", "two "]
    assert raised.value.type == "overloaded_error"


def test_the_api_key_and_version_headers_are_checked(fake: FakeAnthropicServer) -> None:
    body = {"model": MODEL, "max_tokens": 10, "messages": HELLO}
    wrong_key = _post(fake, body, **{"x-api-key": "sk-wrong"})
    assert wrong_key.status_code == 401
    assert wrong_key.json()["error"]["type"] == "authentication_error"
    no_version = httpx.post(
        f"{fake.url}/v1/messages", json=body, timeout=5, headers={"x-api-key": fake.api_key}
    )
    assert no_version.status_code == 400
    assert "anthropic-version" in no_version.json()["error"]["message"]
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(api_key="sk-wrong", base_url=fake.url, max_retries=0).messages.create(
            model=MODEL, max_tokens=10, messages=HELLO
        )


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"max_tokens": 10, "messages": HELLO}, "model"),
        ({"model": MODEL, "messages": HELLO}, "max_tokens"),
        ({"model": MODEL, "max_tokens": 10, "messages": []}, "messages"),
        (
            {
                "model": MODEL,
                "max_tokens": 10,
                "messages": HELLO,
                "tools": [TOOL],
                "tool_choice": {"type": "tool", "name": "missing"},
            },
            "missing",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 10,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": "toolu_x", "content": "?"}
                        ],
                    }
                ],
            },
            "tool_use_id",
        ),
        (
            {
                "model": MODEL,
                "max_tokens": 10,
                "messages": [
                    *HELLO,
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}
                        ],
                    },
                    {"role": "user", "content": "no result"},
                ],
            },
            "without `tool_result`",
        ),
    ],
)
def test_requests_the_real_api_rejects_are_invalid_request_errors(
    fake: FakeAnthropicServer, body: dict[str, object], complaint: str
) -> None:
    response = _post(fake, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and complaint in error["message"]


def test_replies_are_used_in_order_then_the_default_answers(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    # Given two scripted replies
    fake.script(Reply.say("first"), Reply.say("second"))
    texts = [
        client.messages.create(model=MODEL, max_tokens=10, messages=HELLO).content[0].text
        for _ in range(3)
    ]
    # Then they come in order, and the built-in default answers once the script is used up
    assert texts == ["first", "second", DEFAULT_TEXT]
    forced = client.messages.create(
        model=MODEL, max_tokens=10, messages=HELLO, tools=[TOOL], tool_choice=FORCED
    )
    assert forced.content[0].type == "tool_use" and forced.content[0].input == {}
    # And a test can install its own default (a Reply or a function of the request body)
    fake.app.default = lambda body: Reply.say(f"echo {body['messages'][-1]['content']}")
    assert (
        client.messages.create(model=MODEL, max_tokens=10, messages=HELLO).content[0].text
        == "echo hello"
    )


def test_every_request_is_recorded_with_headers_and_body(
    fake: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    fake.script(Reply.tool({"q": "x"}))
    client.messages.create(
        model=MODEL,
        max_tokens=10,
        system="You look things up.",
        messages=HELLO,
        tools=[TOOL],
        tool_choice=FORCED,
    )
    (request,) = fake.requests.of("anthropic")
    assert request.method == "POST" and request.path == "/v1/messages"
    assert request.headers["anthropic-version"]
    assert fake.api_key in (
        request.headers.get("x-api-key"),
        request.headers.get("authorization", "").removeprefix("Bearer "),
    )
    assert fake.bodies() == [request.body]
    assert request.body["system"] == "You look things up."
    assert request.body["tool_choice"] == FORCED and request.body["tools"] == [TOOL]


def test_the_shared_fault_plan_can_fail_anthropic_requests() -> None:
    # Given the shared fault plan knows every kind the fake renders
    assert faults.KINDS["anthropic"] == set(FAULT_KINDS)
    plan = FaultPlan()
    with FakeAnthropicServer(faults=plan) as fake:
        sdk = anthropic.Anthropic(api_key=fake.api_key, base_url=fake.url, max_retries=0)
        plan.add("anthropic", "throttle")
        plan.add("anthropic", "stream_error")
        fake.script(Reply.say("this stream breaks"), Reply.say("back to normal"))
        # Then the first request is throttled (no reply used), the next stream breaks after
        # its first delta, and the script carries on
        with pytest.raises(anthropic.RateLimitError):
            sdk.messages.create(model=MODEL, max_tokens=10, messages=HELLO)
        received: list[str] = []
        with (
            pytest.raises(anthropic.APIStatusError),
            sdk.messages.stream(model=MODEL, max_tokens=10, messages=HELLO) as stream,
        ):
            received.extend(stream.text_stream)
        assert received == ["this str"]
        text = sdk.messages.create(model=MODEL, max_tokens=10, messages=HELLO).content[0].text
        assert text == "back to normal"
        assert [r.fault for r in fake.requests] == ["throttle", "stream_error", None]


def test_an_unknown_error_type_is_refused_when_scripting() -> None:
    with pytest.raises(ValueError, match="unknown API error type"):
        Reply.fail("teapot_error")
