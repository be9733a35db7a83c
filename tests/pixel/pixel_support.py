"""What the pixel tests share: a running collector's handle, a valid event, the stored rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from served import Served
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metricx.db import get_engine
from metricx.pixel.app import EVENTS_PATH


class Collector(Served):
    @property
    def events_url(self) -> str:
        return self.url + EVENTS_PATH

    def post(self, body: Any = None, **kwargs: Any) -> httpx.Response:
        """POST `body` as JSON (or raw `content=`) to the events endpoint."""
        if body is not None:
            kwargs["json"] = body
        return httpx.post(self.events_url, timeout=10, **kwargs)


def pixel_event(key: str, **fields: Any) -> dict[str, Any]:
    """A valid page view (a purchase with event="purchase", order_id=...), fresh event_id."""
    return {
        "workspace_key": key,
        "event_id": str(uuid.uuid4()),
        "anonymous_id": "anon-1",
        "event": "page_view",
        "url": "https://shop.test/products/boots",
        "referrer": "https://www.google.com/",
        "timestamp": datetime.now(UTC).isoformat(),
        **fields,
    }


def stored_events(workspace_id: int | None = None) -> list[dict[str, Any]]:
    """pixel_events rows (of one workspace, or all), oldest id first."""
    where = "" if workspace_id is None else "WHERE workspace_id = :w"
    with get_engine().connect() as conn:
        rows = conn.execute(
            text(f"SELECT * FROM pixel_events {where} ORDER BY id"), {"w": workspace_id}
        )
        return [dict(row._mapping) for row in rows]


@dataclass
class SeenRequest:
    """A request as it reached the collector: its headers (lower-case names) and answer."""

    method: str
    path: str
    headers: dict[str, str]
    status: int | None = None


@dataclass
class RequestLog:
    """start_collector(wrap=log.wrap) records every HTTP request the collector answers."""

    requests: list[SeenRequest] = field(default_factory=list)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def logged(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            seen = SeenRequest(
                scope["method"],
                scope["path"],
                {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            )
            self.requests.append(seen)

            async def answer(message: Message) -> None:
                if message["type"] == "http.response.start":
                    seen.status = message["status"]
                await send(message)

            await app(scope, receive, answer)

        return logged

    def posts(self) -> list[SeenRequest]:
        return [r for r in self.requests if r.method == "POST"]
