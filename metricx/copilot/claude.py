"""Claude behind the copilot: understand a question with a forced tool, stream the answer.

ClaudeUnderstander turns a question into an Understanding through one forced tool call
(answer_question: SemanticQuery's schema plus clarify/refuse), validates the tool input with
SemanticQuery.parse and, when it does not validate, sends the error back once as an is_error
tool_result before settling for a clarify. ClaudeWriter streams a short answer written only
from the facts it is given (the caller checks it with metricx.copilot.grounding).

Any failure to get an answer out of the API (rate limit, overload, timeout, no connection,
5xx, rejected key) raises CopilotUnavailableError with a sentence a merchant can read, so the
caller can fall back to the offline parser and the deterministic answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import anthropic
from anthropic.types import Message, MessageParam, ToolUseBlock

from metricx.config import get_config
from metricx.copilot import prompts
from metricx.copilot.creative_questions import creatives_named, named_note
from metricx.copilot.names import Entity
from metricx.copilot.understanding import Clarify, Conversation, Understanding
from metricx.errors import MetricxError
from metricx.semantic.custom import Definitions
from metricx.semantic.query import DIMENSIONS, QueryValidationError, SemanticQuery

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_RETRIES = 2


class CopilotUnavailableError(MetricxError):
    """Claude could not answer; `reason` says why (for logs), the message says it in words."""

    def __init__(self, message: str, *, reason: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


# --- the client and its errors -----------------------------------------------------------------

_PROBLEMS = {
    "rate_limit_error": "too many requests are being sent to Claude right now; try again in "
    "a minute",
    "overloaded_error": "Anthropic's servers are overloaded right now; try again in a few minutes",
    "api_error": "the Anthropic API had an internal error; try again shortly",
    "timeout": "the Anthropic API took too long to answer; try again shortly",
    "connection": "the Anthropic API could not be reached; check the network or ANTHROPIC_BASE_URL",
    "authentication_error": "the Anthropic API key was rejected; an admin should check "
    "ANTHROPIC_API_KEY",
    "permission_error": "the Anthropic API key may not use this model; an admin should check "
    "ANTHROPIC_API_KEY and ANTHROPIC_MODEL",
    "not_found_error": "the Claude model or API address was not found; an admin should check "
    "ANTHROPIC_MODEL and ANTHROPIC_BASE_URL",
    "invalid_request_error": "the Anthropic API rejected the request",
    "request_too_large": "the question and its context were too large for Claude",
    "not_configured": "no Anthropic API key is configured (set ANTHROPIC_API_KEY)",
}
_KIND_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _unavailable(reason: str, status: int | None = None) -> CopilotUnavailableError:
    return CopilotUnavailableError(
        f"Claude is unavailable: {_PROBLEMS[reason]}.", reason=reason, status=status
    )


def _reason(exc: anthropic.AnthropicError) -> tuple[str, int | None]:
    """What went wrong, as a key of _PROBLEMS, and the HTTP status when there was one."""
    if isinstance(exc, anthropic.APITimeoutError):
        return "timeout", None
    if isinstance(exc, anthropic.APIConnectionError):
        return "connection", None
    if isinstance(exc, anthropic.APIStatusError):
        # A mid-stream `event: error` arrives on an HTTP 200: its body names the error type.
        status = exc.status_code if exc.status_code >= 400 else None
        if exc.type in _PROBLEMS:
            return exc.type, status
        return _KIND_BY_STATUS.get(exc.status_code, "api_error"), status
    return "api_error", None


@contextmanager
def claude_errors() -> Iterator[None]:
    """Turn any SDK error raised inside into CopilotUnavailableError."""
    try:
        yield
    except anthropic.AnthropicError as exc:
        reason, status = _reason(exc)
        raise _unavailable(reason, status) from exc


def model_name() -> str:
    """The Claude model (setting ANTHROPIC_MODEL)."""
    return get_config().anthropic_model


def make_client(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> anthropic.Anthropic:
    """An SDK client from the settings (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL) unless given."""
    config = get_config()
    key = api_key or config.anthropic_api_key
    if not key:
        raise _unavailable("not_configured")
    return anthropic.Anthropic(
        api_key=key,
        base_url=base_url or config.anthropic_base_url,
        max_retries=max_retries,
        timeout=timeout,
    )


@dataclass(frozen=True)
class Usage:
    """Which model answered and the tokens it took (summed over every round of one turn)."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0

    def plus(self, message: Message) -> Usage:
        return Usage(
            message.model or self.model,
            self.input_tokens + message.usage.input_tokens,
            self.output_tokens + message.usage.output_tokens,
        )

    def stamp(self, understanding: Understanding) -> Understanding:
        return replace(
            understanding,
            model=self.model,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
        )


# --- understanding -----------------------------------------------------------------------------


def _check_dates(query: SemanticQuery, today: date) -> None:
    for name, span in (("time_range", query.time_range), ("compare_range", query.compare_range)):
        if span is not None and span.end > today:
            raise QueryValidationError(
                f"{name} ends on {span.end}, after today ({today}); there is no data yet "
                "for future days"
            )


def understanding_from_tool_input(
    tool_input: Any,
    today: date,
    definitions: Definitions | None = None,
    entities: Sequence[Entity] = (),
) -> Understanding:
    """Validate the answer_question input against the catalogue and the workspace's custom
    `definitions`; any problem raises QueryValidationError (one line). A creative name is
    checked against the workspace's creatives (among `entities`) and kept as their ids; one
    that matches none is asked about."""
    if not isinstance(tool_input, Mapping):
        raise QueryValidationError("the tool input must be a JSON object")
    status = tool_input.get("status")
    if status not in prompts.STATUSES:
        raise QueryValidationError(
            f"status must be one of {', '.join(prompts.STATUSES)}, got {status!r}"
        )
    if status == "answer":
        if tool_input.get("query") is None:
            raise QueryValidationError("status is answer but query is null")
        query = SemanticQuery.parse(_without_custom(tool_input["query"]), definitions)
        _check_dates(query, today)
        explain = tool_input.get("explain")
        if explain is not None and (explain not in DIMENSIONS or query.compare_range is None):
            raise QueryValidationError("explain must be a dimension, with a compare_range")
        message = ""
        name = tool_input.get("creative_name")
        if isinstance(name, str) and name.strip():
            try:
                ids, names = creatives_named(name.strip(), entities)
            except Clarify as unknown:
                return Understanding("clarify", message=unknown.message, choices=unknown.choices)
            filters = query.filters.model_copy(update={"creative_ids": ids})
            query = SemanticQuery.parse(
                {**query.model_dump(mode="json"), "filters": filters.model_dump(mode="json")},
                definitions,
            )
            message = named_note(name.strip(), names, ids)
        fatigue = tool_input.get("fatigue") is True and "creative" in query.dimensions
        return Understanding(
            "answer", query=query, message=message, explain=explain, fatigue=fatigue
        )
    message = str(tool_input.get("message") or "").strip()
    if not message:
        raise QueryValidationError(f"status {status} needs a message for the merchant")
    choices = tool_input.get("choices") or []
    if not isinstance(choices, list):
        raise QueryValidationError("choices must be a list of strings")
    kept = tuple(str(c).strip() for c in choices if str(c).strip()) if status == "clarify" else ()
    return Understanding(status, message=message, choices=kept)


def _without_custom(query: Any) -> Any:
    """The model's query without definitions of its own: only the workspace's count."""
    if isinstance(query, Mapping):
        return {key: value for key, value in query.items() if key != "custom"}
    return query


_LOCATION = re.compile(r"^[a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*: ")


def plain_problem(problem: str) -> str:
    """A validation error without its "invalid query:" prefix and field paths."""
    parts = problem.removeprefix("invalid query: ").split("; ")
    return "; ".join(_LOCATION.sub("", part) for part in parts)


def _gave_up(problem: str) -> Understanding:
    return Understanding(
        "clarify",
        message=(
            f"I couldn't turn that into a query I can run: {plain_problem(problem)}. Could you "
            "rephrase it, naming the metric and the period?"
        ),
    )


def _tool_call(message: Message) -> ToolUseBlock | None:
    return next(
        (b for b in message.content if isinstance(b, ToolUseBlock) and b.name == prompts.TOOL_NAME),
        None,
    )


class ClaudeUnderstander:
    """The Understander backed by Claude (tool use with a forced tool)."""

    name = "claude"

    def __init__(
        self,
        client: anthropic.Anthropic | None = None,
        *,
        model: str | None = None,
        max_tokens: int = 1024,
    ) -> None:
        self.client = client if client is not None else make_client()
        self.model = model or model_name()
        self.max_tokens = max_tokens

    def _ask(self, today: date, messages: list[MessageParam], definitions: Definitions) -> Message:
        with claude_errors():
            return self.client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=prompts.understander_system(today, definitions),
                tools=[prompts.answer_tool(definitions)],
                tool_choice=prompts.forced_tool_choice(),
                messages=messages,
            )

    def understand(
        self,
        question: str,
        conversation: Conversation,
        today: date,
    ) -> Understanding:
        """One question -> an Understanding; at most two API calls (one repair round)."""
        messages: list[MessageParam] = [
            {"role": "user", "content": prompts.question_message(question, conversation)}
        ]
        usage = Usage(self.model)
        problem = ""
        for _round in range(2):
            reply = self._ask(today, messages, conversation.definitions)
            usage = usage.plus(reply)
            call = _tool_call(reply)
            if call is None:
                return usage.stamp(self._without_tool_call(reply))
            try:
                return usage.stamp(
                    understanding_from_tool_input(
                        call.input, today, conversation.definitions, conversation.entities
                    )
                )
            except QueryValidationError as exc:
                problem = str(exc)
            messages += [
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": call.id,
                            "is_error": True,
                            "content": prompts.repair_message(problem),
                        }
                    ],
                },
            ]
        return usage.stamp(_gave_up(problem))

    @staticmethod
    def _without_tool_call(reply: Message) -> Understanding:
        """The model declined the forced tool: a safety refusal, or something unreadable."""
        if reply.stop_reason == "refusal":
            return Understanding(
                "refuse",
                message=(
                    "I can't help with that. Ask me about your ad and store metrics, for example "
                    '"ROAS by campaign last week".'
                ),
            )
        return _gave_up("the model did not return a query")


# --- writing the answer ------------------------------------------------------------------------


class ClaudeWriter:
    """Streams a short answer written only from the facts (check it with grounding)."""

    def __init__(
        self,
        client: anthropic.Anthropic | None = None,
        *,
        model: str | None = None,
        max_tokens: int = 400,
    ) -> None:
        self.client = client if client is not None else make_client()
        self.model = model or model_name()
        self.max_tokens = max_tokens
        self.last_usage: Usage | None = None  # of the last answer streamed to the end

    def stream_answer(self, question: str, facts: dict[str, Any]) -> Iterator[str]:
        """Text chunks in order; an API failure (even mid-stream) raises
        CopilotUnavailableError, so the caller can switch to the deterministic answer."""
        self.last_usage = None
        with (
            claude_errors(),
            self.client.messages.stream(
                model=self.model,
                max_tokens=self.max_tokens,
                system=prompts.WRITER_SYSTEM,
                messages=[{"role": "user", "content": prompts.facts_message(question, facts)}],
            ) as stream,
        ):
            yield from stream.text_stream
            self.last_usage = Usage(self.model).plus(stream.get_final_message())
