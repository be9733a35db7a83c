"""Fake Slack incoming webhooks: POST /services/T…/B…/<secret> over real HTTP.

It checks a message as Slack does and answers as Slack does (200 `ok`, or an HTTP error whose
body is the error code: "Handling errors" of https://api.slack.com/messaging/webhooks), and
records every accepted message: in memory (`messages`) and, when given a directory, as one
JSON file per message (the demo writes them to METRICX_DATA_DIR/slack/, so a person can see
what "Slack" received).

Failures on demand go through the shared FaultPlan, provider "slack":

    faults.add("slack", "rate_limit", retry_after=2)   # 429 + Retry-After: 2
    faults.add("slack", "server_error")                # 500 rollup_error
    faults.add("slack", "archived")                    # 410 channel_is_archived

and `remove_hook(path)` makes a webhook unknown (404 no_service), as when it is revoked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from threading import Lock
from typing import Any
from urllib.parse import parse_qsl

from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.fakes.base import FakeApp, FakeRequest, FakeResponse, FakeServer
from metricx.sandbox.fakes.faults import Fault, FaultPlan, RequestLog

#: FaultPlan kinds of this fake -> (HTTP status, error code), each as Slack documents it
#: (https://api.slack.com/messaging/webhooks#handling_errors): 429 is the rate limit with a
#: Retry-After header (https://api.slack.com/docs/rate-limits), 410 an archived channel,
#: 500 `rollup_error` a failure on Slack's side.
FAULT_KINDS: dict[str, tuple[int, str]] = {
    "rate_limit": (429, "rate_limited"),
    "server_error": (500, "rollup_error"),
    "archived": (410, "channel_is_archived"),
}

#: A webhook's path: team id, bot/app id, secret (https://api.slack.com/messaging/webhooks:
#: "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX").
HOOK_PATH = re.compile(r"/services/(T[A-Z0-9]+)/(B[A-Z0-9]+)/([A-Za-z0-9]+)")

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks): at most 50 blocks in
# a message; a header's plain_text ≤ 150 characters; a section's text ≤ 3000 and it has a
# text or fields (≤ 10 of ≤ 2000); a context's elements ≤ 10; an actions block's ≤ 25; a
# button's text ≤ 75 (https://api.slack.com/reference/block-kit/block-elements#button).
MAX_BLOCKS = 50
BLOCK_TYPES = {"header", "section", "context", "actions", "divider", "image", "rich_text"}
TEXT_TYPES = {"plain_text", "mrkdwn"}


@dataclass(frozen=True)
class SlackMessage:
    """One message the fake accepted: which webhook, and the JSON payload as posted."""

    hook: str  # the path, /services/T…/B…/secret
    payload: dict[str, Any]
    received_at: datetime

    @property
    def text(self) -> str:
        return str(self.payload.get("text") or "")

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return list(self.payload.get("blocks") or [])


class InvalidMessage(Exception):
    """A message Slack would refuse; `code` is the error body Slack sends."""

    def __init__(self, code: str, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


def _text_object(obj: Any, limit: int, *, plain_only: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        raise InvalidMessage("invalid_blocks")
    if plain_only and obj["type"] != "plain_text":
        raise InvalidMessage("invalid_blocks")
    text = obj.get("text")
    if not isinstance(text, str) or not text or len(text) > limit:
        raise InvalidMessage("invalid_blocks")


def check_blocks(blocks: Any) -> None:
    """Refuse blocks as Slack does (400 invalid_blocks): not a list, too many, a block of no
    or an unknown type, a text over its type's limit."""
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        raise InvalidMessage("invalid_blocks")
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            raise InvalidMessage("invalid_blocks")
        kind = block["type"]
        if kind == "header":
            _text_object(block.get("text"), 150, plain_only=True)
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                raise InvalidMessage("invalid_blocks")
            if "text" in block:
                _text_object(block["text"], 3000)
            fields = block.get("fields", [])
            if not isinstance(fields, list) or len(fields) > 10:
                raise InvalidMessage("invalid_blocks")
            for field in fields:
                _text_object(field, 2000)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                raise InvalidMessage("invalid_blocks")
            for element in elements:
                if isinstance(element, dict) and element.get("type") == "image":
                    continue
                _text_object(element, 2000)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                raise InvalidMessage("invalid_blocks")
            for element in elements:
                if not isinstance(element, dict) or "type" not in element:
                    raise InvalidMessage("invalid_blocks")
                if element["type"] == "button":
                    _text_object(element.get("text"), 75, plain_only=True)
                    url = element.get("url")
                    if url is not None and (not isinstance(url, str) or len(url) > 3000):
                        raise InvalidMessage("invalid_blocks")


def check_payload(payload: Any) -> dict[str, Any]:
    """The message as Slack checks it, or InvalidMessage: a JSON object (else 400
    invalid_payload), with `text` or `blocks` (else 400 no_text), blocks within Block Kit."""
    if not isinstance(payload, dict):
        raise InvalidMessage("invalid_payload")
    text, blocks = payload.get("text"), payload.get("blocks")
    if text is not None and not isinstance(text, str):
        raise InvalidMessage("invalid_payload")
    if not text and not blocks:
        raise InvalidMessage("no_text")
    if blocks is not None:
        check_blocks(blocks)
    return payload


class SlackFake(FakeApp):
    """Incoming webhooks: every well-formed /services/T…/B…/secret path is a webhook unless
    `hooks` lists the only ones there are, or it was removed."""

    provider = "slack"

    def __init__(
        self,
        faults: FaultPlan | None = None,
        *,
        record_dir: Path | None = None,
        hooks: Iterable[str] | None = None,
    ) -> None:
        # Slack serves no merchant; the base class only needs the clock and the faults.
        super().__init__(None, SandboxClock(), faults or FaultPlan())  # type: ignore[arg-type]
        self.record_dir = record_dir
        self._hooks = set(hooks) if hooks is not None else None
        self._removed: set[str] = set()
        self._lock = Lock()
        self._messages: list[SlackMessage] = []
        self._numbers = count(1)

    @property
    def messages(self) -> list[SlackMessage]:
        """Every accepted message, oldest first."""
        with self._lock:
            return list(self._messages)

    def remove_hook(self, path: str) -> None:
        """The webhook is revoked (or its app removed): Slack answers 404 no_service."""
        with self._lock:
            self._removed.add(path)

    def clear(self) -> None:
        """Forget messages and removed hooks (files already written stay)."""
        with self._lock:
            self._messages.clear()
            self._removed.clear()

    def _known(self, path: str) -> bool:
        if not HOOK_PATH.fullmatch(path):
            return False
        with self._lock:
            if path in self._removed:
                return False
        return self._hooks is None or path in self._hooks

    def _record(self, path: str, payload: dict[str, Any]) -> None:
        message = SlackMessage(path, payload, datetime.now(UTC))
        with self._lock:
            self._messages.append(message)
            number = next(self._numbers)
        if self.record_dir is not None:
            self.record_dir.mkdir(parents=True, exist_ok=True)
            team, bot = path.split("/")[2:4]
            name = f"{message.received_at:%Y%m%dT%H%M%S}-{number:05d}-{team}-{bot}.json"
            record = {"hook": path, "received_at": message.received_at.isoformat(), **payload}
            (self.record_dir / name).write_text(json.dumps(record, indent=2, ensure_ascii=False))

    @staticmethod
    def _error(status: int, code: str, headers: dict[str, str] | None = None) -> FakeResponse:
        # Webhook errors are a plain-text body holding the code
        # (https://api.slack.com/messaging/webhooks#handling_errors).
        return FakeResponse(
            status, code.encode(), {"content-type": "text/plain; charset=utf-8", **(headers or {})}
        )

    # FakeApp hooks -----------------------------------------------------------------------------

    def fault_applies(self, kind: str, request: FakeRequest) -> bool:
        return kind in FAULT_KINDS and request.method == "POST" and self._known(request.path)

    def render_fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        status, code = FAULT_KINDS[fault.kind]
        if fault.kind == "rate_limit":
            # 429 with Retry-After in seconds (https://api.slack.com/docs/rate-limits).
            wait = str(fault.params.get("retry_after", 1))
            return self._error(status, code, {"retry-after": wait})
        return self._error(status, code)

    def handle(self, request: FakeRequest, fault: Fault | None) -> FakeResponse:
        if request.method != "POST" or not self._known(request.path):
            return self._error(404, "no_service")  # the docs: the webhook does not exist
        # A JSON body, or a form-encoded `payload=<json>` (both are accepted by Slack,
        # https://api.slack.com/messaging/webhooks#advanced_message_formatting).
        raw: Any = request.json()
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
            form = dict(parse_qsl(request.body.decode(errors="replace")))
            try:
                raw = json.loads(form.get("payload", ""))
            except ValueError:
                raw = None
        try:
            payload = check_payload(raw)
        except InvalidMessage as refused:
            return self._error(refused.status, refused.code)
        self._record(request.path, payload)
        return FakeResponse(200, b"ok", {"content-type": "text/html"})  # the docs: 200 `ok`


class FakeSlackServer:
    """The fake on a free loopback port; `webhook_url()` names a hook on it."""

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        requests: RequestLog | None = None,
        record_dir: Path | None = None,
    ) -> None:
        self.faults = faults or FaultPlan()
        self.app = SlackFake(self.faults, record_dir=record_dir)
        self.requests = requests if requests is not None else RequestLog()
        self._server = FakeServer(self.app, self.requests).start()
        self.url = self._server.url

    def webhook_url(self, team: str = "TTEST", bot: str = "BTEST", secret: str = "secret") -> str:
        return f"{self.url}/services/{team}/{bot}/{secret}"

    @property
    def messages(self) -> list[SlackMessage]:
        return self.app.messages

    def reset(self) -> None:
        """Forget messages, removed hooks, faults and requests (between tests)."""
        self.app.clear()
        self.faults.clear()
        self.requests.clear()

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeSlackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
