"""Fake Anthropic Messages API: POST /v1/messages over real HTTP, scripted by tests.

The real SDK talks to it through `base_url=` exactly as it talks to api.anthropic.com, so the
copilot's Claude code runs unchanged against it. It checks what the real API checks first
(the key, in x-api-key or as SDK 2.x sends it in `Authorization: Bearer`; anthropic-version;
the body's model / max_tokens / messages; that a forced tool exists; that tool_use blocks and
tool_result blocks pair up across consecutive turns) and answers with either a Message JSON
or, when the body says `"stream": true`, Server-Sent Events with `event:` and `data:` lines in
the API's order. Errors use the API's JSON shape and HTTP status.

Tests decide what "Claude" says with a queue of `Reply` objects, consumed one per request:

    with FakeAnthropicServer() as fake:
        fake.script(Reply.fail("rate_limit_error"), Reply.tool({"status": "refuse", ...}))
        ...                            # fake.bodies() are the JSON bodies the SDK sent

When the queue is empty the `default` responder answers (a callable from the request body to a
Reply; built in: a forced tool gets `{}` as input, anything else a short fixed text). The shared
FaultPlan also works for provider "anthropic" once `faults.KINDS` lists FAULT_KINDS below.
The SSE body is sent whole (with content-length) rather than chunked: the SDK parses it event
by event either way, which is what the tests observe.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import count
from threading import Lock
from typing import Any

from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.fakes.base import (
    FakeApp,
    FakeRequest,
    FakeResponse,
    FakeServer,
    json_response,
)
from metricx.sandbox.fakes.faults import Fault, FaultPlan, RequestLog

MESSAGES_PATH = "/v1/messages"
FAKE_API_KEY = "sk-ant-fake-key"
DEFAULT_TEXT = "Fake Claude has no scripted reply for this request."

#: The API's error types and the HTTP status each comes with.
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}
_DEFAULT_ERROR_TEXT = {
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "overloaded_error": "Overloaded",
    "api_error": "Internal server error",
    "authentication_error": "invalid x-api-key",
    "invalid_request_error": "Invalid request",
}
#: FaultPlan kinds this fake understands (for `faults.KINDS["anthropic"]`) -> the API error.
FAULT_KINDS: dict[str, str | None] = {
    "throttle": "rate_limit_error",
    "overloaded": "overloaded_error",
    "server_error": "api_error",
    "auth": "authentication_error",
    "bad_request": "invalid_request_error",
    "stream_error": "overloaded_error",  # streaming: an `event: error` after the first deltas
    "malformed": None,  # the base server truncates the body itself
}


class FakeRequestError(Exception):
    """A request the real API would reject; rendered as that API error."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass(frozen=True)
class Reply:
    """What the fake answers to one request.

    A text block (`text`), a tool_use block (`tool_input`, any JSON value; None for no tool
    call), or an API error (`error`, one of ERROR_STATUS). In a streamed request an error with
    `error_after` set arrives as an `event: error` after that many deltas instead of as an HTTP
    status. Token counts default to a size-based estimate; `delay` holds the answer back.
    """

    text: str = ""
    tool_input: Any = None
    tool_name: str | None = None  # default: the tool the request forces, else its first tool
    stop_reason: str | None = None  # default: tool_use with a tool call, else end_turn
    error: str | None = None
    error_message: str | None = None
    error_after: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    delta_size: int = 8  # characters per text_delta / input_json_delta when streaming
    delay: float = 0.0  # seconds to wait before answering (client timeouts)

    def __post_init__(self) -> None:
        if self.error is not None and self.error not in ERROR_STATUS:
            raise ValueError(
                f"unknown API error type {self.error!r}; known: {sorted(ERROR_STATUS)}"
            )

    @classmethod
    def tool(cls, tool_input: Any, **options: Any) -> Reply:
        """Call the tool with this input (valid, invalid or oddly shaped: tests decide)."""
        return cls(tool_input=tool_input, **options)

    @classmethod
    def say(cls, text: str, **options: Any) -> Reply:
        """Answer with text (streamed as text_delta chunks when the request streams)."""
        return cls(text=text, **options)

    @classmethod
    def fail(cls, error: str = "rate_limit_error", message: str | None = None) -> Reply:
        """Fail before any byte of the answer, with the error's HTTP status."""
        return cls(error=error, error_message=message)

    @classmethod
    def fail_mid_stream(
        cls,
        text: str,
        error: str = "overloaded_error",
        *,
        after: int = 2,
        message: str | None = None,
        **options: Any,
    ) -> Reply:
        """Start streaming `text`, then send `event: error` after `after` deltas."""
        return cls(text=text, error=error, error_message=message, error_after=after, **options)


Responder = Callable[[dict[str, Any]], Reply]


def default_responder(body: dict[str, Any]) -> Reply:
    """Without a script: a forced tool gets an empty input, anything else a fixed sentence."""
    if (body.get("tool_choice") or {}).get("type") in ("tool", "any"):
        return Reply.tool({})
    return Reply.say(DEFAULT_TEXT)


def error_body(error_type: str, message: str) -> dict[str, Any]:
    """The API's error JSON."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


def _estimate_tokens(value: Any) -> int:
    """About four characters a token: enough for tests to see usage add up."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return max(1, len(text) // 4)


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), max(1, size))]


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


# --- request checks (what the real API rejects with invalid_request_error) ---------------------


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise FakeRequestError("invalid_request_error", message)


def _check_tools(body: dict[str, Any]) -> list[str]:
    tools = body.get("tools") or []
    _require(isinstance(tools, list), "tools: Input should be a valid list")
    names = []
    for i, tool in enumerate(tools):
        _require(
            isinstance(tool, dict) and isinstance(tool.get("name"), str),
            f"tools.{i}.name: Field required",
        )
        schema = tool.get("input_schema")
        _require(
            isinstance(schema, dict) and schema.get("type") == "object",
            f"tools.{i}.custom.input_schema.type: Input should be 'object'",
        )
        names.append(tool["name"])
    choice = body.get("tool_choice")
    if choice is not None:
        _require(isinstance(choice, dict), "tool_choice: Input should be an object")
        _require(
            choice.get("type") in ("auto", "any", "tool", "none"),
            "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'",
        )
        if choice["type"] == "tool":
            _require(
                choice.get("name") in names,
                f"tool_choice.name: Tool '{choice.get('name')}' not found in tools",
            )
    return names


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _ids(blocks: list[dict[str, Any]], kind: str, key: str) -> set[Any]:
    return {b.get(key) for b in blocks if b.get("type") == kind}


def _check_messages(messages: Any) -> None:
    """Roles, and the tool_use / tool_result pairing the API enforces between turns."""
    _require(
        isinstance(messages, list)
        and bool(messages)
        and all(isinstance(m, dict) for m in messages),
        "messages: at least one message is required",
    )
    contents = [_blocks(m.get("content")) for m in messages]
    for i, message in enumerate(messages):
        _require(
            message.get("role") in ("user", "assistant"),
            f"messages.{i}.role: Input should be 'user' or 'assistant'",
        )
        asked = _ids(contents[i - 1], "tool_use", "id") if i else set()
        answered = _ids(contents[i], "tool_result", "tool_use_id")
        _require(
            answered <= asked,
            f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` "
            "blocks: each tool_result block must have a corresponding tool_use block in "
            "the previous message",
        )
        _require(
            not asked or asked <= answered,
            f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks "
            "immediately after",
        )


def _check_request(request: FakeRequest, api_key: str) -> dict[str, Any]:
    if request.path != MESSAGES_PATH or request.method != "POST":
        raise FakeRequestError("not_found_error", f"Not found: {request.method} {request.path}")
    bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
    if api_key not in (request.headers.get("x-api-key"), bearer):
        raise FakeRequestError("authentication_error", "invalid x-api-key")
    _require(
        bool(request.headers.get("anthropic-version")), "anthropic-version: header is required"
    )
    body = request.json()
    _require(isinstance(body, dict), "The request body is not valid JSON.")
    _require(isinstance(body.get("model"), str) and bool(body["model"]), "model: Field required")
    _require(
        isinstance(body.get("max_tokens"), int) and body["max_tokens"] >= 1,
        "max_tokens: Field required",
    )
    _check_messages(body.get("messages"))
    _check_tools(body)
    return body


# --- the app -----------------------------------------------------------------------------------


class AnthropicFake(FakeApp):
    """Answers POST /v1/messages from a queue of scripted replies, then from `default`."""

    provider = "anthropic"

    def __init__(
        self,
        faults: FaultPlan | None = None,
        *,
        api_key: str = FAKE_API_KEY,
        default: Responder | Reply | None = None,
    ) -> None:
        # The Messages API serves no merchant; the base class only needs the clock and faults.
        super().__init__(None, SandboxClock(), faults or FaultPlan())  # type: ignore[arg-type]
        self.api_key = api_key
        self.default: Responder | Reply = default or default_responder
        self._lock = Lock()
        self._queue: deque[Reply] = deque()
        self._ids = count(1)

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request takes the next one."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not yet used (a test can assert its script was consumed)."""
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.default if isinstance(self.default, Reply) else self.default(body)

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}_fake{next(self._ids):06d}"

    # FakeApp hooks -----------------------------------------------------------------------------

    def fault_applies(self, kind: str, request: FakeRequest) -> bool:
        return kind in FAULT_KINDS and request.path == MESSAGES_PATH

    def render_fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        error = FAULT_KINDS[fault.kind]
        if error is None or fault.kind == "stream_error":
            return None  # handle() applies it: a stream broken after its first delta
        return self._error(error, fault.params.get("message"))

    def handle(self, request: FakeRequest, fault: Fault | None) -> FakeResponse:
        try:
            body = _check_request(request, self.api_key)
        except FakeRequestError as exc:
            return self._error(exc.error_type, str(exc))
        reply = self._next_reply(body)
        if reply.delay:
            time.sleep(reply.delay)
        streaming = body.get("stream") is True
        if fault is not None and fault.kind == "stream_error":
            reply = replace(
                reply, error=FAULT_KINDS["stream_error"], error_after=fault.params.get("after", 1)
            )
        if reply.error is not None and not (streaming and reply.error_after is not None):
            return self._error(reply.error, reply.error_message)
        message = self._message(body, reply)
        if not streaming:
            return json_response(200, message, self._headers())
        return FakeResponse(
            200,
            b"".join(self._events(message, reply)),
            {
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                **self._headers(),
            },
        )

    # rendering ---------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"request-id": self._next_id("req")}

    def _error(self, error_type: str, message: str | None) -> FakeResponse:
        headers = self._headers()
        if error_type in ("rate_limit_error", "overloaded_error"):
            headers["retry-after"] = "0"
        text = message or _DEFAULT_ERROR_TEXT.get(error_type, error_type)
        return json_response(ERROR_STATUS[error_type], error_body(error_type, text), headers)

    def _message(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        if reply.tool_input is not None:
            choice = body.get("tool_choice") or {}
            names = [t["name"] for t in body.get("tools") or []]
            name = reply.tool_name or choice.get("name") or (names[0] if names else "tool")
            content.append(
                {
                    "type": "tool_use",
                    "id": self._next_id("toolu"),
                    "name": name,
                    "input": reply.tool_input,
                }
            )
        output = reply.output_tokens or _estimate_tokens(
            [b.get("text") or b.get("input") for b in content]
        )
        return {
            "id": self._next_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": reply.stop_reason
            or ("tool_use" if reply.tool_input is not None else "end_turn"),
            "stop_sequence": None,
            "usage": {
                "input_tokens": reply.input_tokens or _estimate_tokens(body),
                "output_tokens": output,
            },
        }

    def _events(self, message: dict[str, Any], reply: Reply) -> Iterator[bytes]:
        """The message as SSE, in the API's order; a scripted error cuts it short."""
        start = {
            **message,
            "content": [],
            "stop_reason": None,
            "usage": {**message["usage"], "output_tokens": 1},
        }
        yield _sse("message_start", {"type": "message_start", "message": start})
        deltas = 0
        for index, block in enumerate(message["content"]):
            empty = (
                {"type": "text", "text": ""} if block["type"] == "text" else {**block, "input": {}}
            )
            yield _sse(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": empty},
            )
            if index == 0:
                yield _sse("ping", {"type": "ping"})
            if block["type"] == "text":
                pieces = [
                    {"type": "text_delta", "text": c}
                    for c in _chunks(block["text"], reply.delta_size)
                ]
            else:
                raw = json.dumps(block["input"], separators=(",", ":"))
                pieces = [
                    {"type": "input_json_delta", "partial_json": c}
                    for c in _chunks(raw, reply.delta_size)
                ]
            for delta in pieces:
                if reply.error is not None and deltas == reply.error_after:
                    yield self._stream_error(reply)
                    return
                yield _sse(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
                deltas += 1
            yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
        if reply.error is not None:  # fewer deltas than `error_after`: fail at the end
            yield self._stream_error(reply)
            return
        yield _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": message["usage"]["output_tokens"]},
            },
        )
        yield _sse("message_stop", {"type": "message_stop"})

    @staticmethod
    def _stream_error(reply: Reply) -> bytes:
        error = reply.error or "overloaded_error"
        text = reply.error_message or _DEFAULT_ERROR_TEXT.get(error, error)
        return _sse("error", error_body(error, text))


class FakeAnthropicServer:
    """The fake on a free loopback port; `env` points a client (or the app) at it."""

    def __init__(
        self,
        *,
        api_key: str = FAKE_API_KEY,
        default: Responder | Reply | None = None,
        faults: FaultPlan | None = None,
        requests: RequestLog | None = None,
    ) -> None:
        self.app = AnthropicFake(faults, api_key=api_key, default=default)
        self.requests = requests if requests is not None else RequestLog()
        self._server = FakeServer(self.app, self.requests).start()
        self.url = self._server.url
        self.api_key = api_key
        self.env: dict[str, str] = {"ANTHROPIC_BASE_URL": self.url, "ANTHROPIC_API_KEY": api_key}

    def script(self, *replies: Reply) -> None:
        """Queue replies (see AnthropicFake.script)."""
        self.app.script(*replies)

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies of every POST /v1/messages so far, oldest first."""
        return [r.body for r in self.requests.of("anthropic", path=MESSAGES_PATH)]

    def reset(self) -> None:
        """Forget the script and the recorded requests (between tests sharing one server)."""
        self.app.clear()
        self.requests.clear()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeAnthropicServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
