"""A tiny HTTP framework for the fakes: real sockets, one thread per connection, no magic.

Each fake is a FakeApp (route a FakeRequest to a FakeResponse); FakeServer runs it on a free
loopback port. The server records every request and consults the fault plan before routing.
"""

from __future__ import annotations

import json
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.fakes.faults import Fault, FaultPlan, RecordedRequest, RequestLog
from metricx.sandbox.merchant import Merchant


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    @property
    def params(self) -> dict[str, str]:
        """Query string merged with a form-encoded body (Graph API takes either)."""
        merged = dict(self.query)
        if "application/x-www-form-urlencoded" in self.headers.get("content-type", ""):
            merged.update(parse_qsl(self.body.decode(), keep_blank_values=True))
        return merged


@dataclass
class FakeResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(
    status: int,
    payload: Any,
    headers: dict[str, str] | None = None,
) -> FakeResponse:
    """A JSON answer (compact, like the real APIs)."""
    body = json.dumps(payload, separators=(",", ":"), default=_default).encode()
    return FakeResponse(
        status, body, {"content-type": "application/json; charset=UTF-8", **(headers or {})}
    )


def redirect_back(redirect_uri: str, params: dict[str, str]) -> FakeResponse:
    """A consent screen's answer: 302 to the app's redirect URI with `params` added."""
    parts = urlsplit(redirect_uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return FakeResponse(302, b"", {"location": urlunsplit(parts._replace(query=query))})


def truncated(response: FakeResponse) -> FakeResponse:
    """The same answer cut in the middle, as when a connection drops mid-body."""
    cut = max(1, len(response.body) // 2)
    return FakeResponse(200, response.body[:cut], response.headers)


class FakeApp(ABC):
    """Base for the three fakes: the merchant, the clock, the fault plan and routing."""

    provider = ""

    def __init__(self, merchant: Merchant, clock: SandboxClock, faults: FaultPlan) -> None:
        self.merchant = merchant
        self.clock = clock
        self.faults = faults
        self.base_url = ""  # set by FakeServer once the port is known

    @abstractmethod
    def fault_applies(self, kind: str, request: FakeRequest) -> bool:
        """Whether a request of this shape can suffer a fault of this kind."""

    @abstractmethod
    def render_fault(self, fault: Fault, request: FakeRequest) -> FakeResponse | None:
        """The provider's error for a fault, or None when `handle` applies it itself."""

    @abstractmethod
    def handle(self, request: FakeRequest, fault: Fault | None) -> FakeResponse:
        """Answer a request; `fault` is a kind the app applies itself (short page, ...)."""

    def dispatch(self, request: FakeRequest) -> tuple[FakeResponse, Fault | None]:
        if request.path == "/health":  # liveness probe for whoever runs the fakes
            return json_response(200, {"status": "ok", "provider": self.provider}), None
        fault = self.faults.take(
            self.provider, request.path, lambda kind: self.fault_applies(kind, request)
        )
        if fault is not None and fault.kind == "malformed":
            return truncated(self.handle(request, None)), fault
        if fault is not None:
            rendered = self.render_fault(fault, request)
            if rendered is not None:
                return rendered, fault
        return self.handle(request, fault), fault


def _handler_for(app: FakeApp, log: RequestLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as separate writes: without TCP_NODELAY the body waits
        # ~40 ms for the client's delayed ACK on every keep-alive request.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            request = FakeRequest(
                self.command,
                split.path,
                dict(parse_qsl(split.query, keep_blank_values=True)),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            try:
                response, fault = app.dispatch(request)
            except Exception as exc:  # a bug in a fake must not hang the client
                response, fault = json_response(500, {"error": f"fake crashed: {exc!r}"}), None
            log.add(
                RecordedRequest(
                    app.provider,
                    request.method,
                    request.path,
                    request.params,
                    request.headers,
                    request.json(),
                    fault.kind if fault else None,
                )
            )
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the request log is the record."""

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (a killed sync job) is normal here, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeServer:
    """Runs one FakeApp on 127.0.0.1 at a free port in a daemon thread."""

    def __init__(self, app: FakeApp, log: RequestLog) -> None:
        self.app = app
        self.httpd = _QuietServer(("127.0.0.1", 0), _handler_for(app, log))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        app.base_url = self.url
        self._thread = Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-{app.provider}",
            daemon=True,
        )

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=2)
