"""The collector's HTTP surface: `POST /v1/pixel-events`, `GET /healthz`, CORS for browsers.

Checks run cheapest first (rate limit, content type, body size, JSON and fields, workspace
keys) and a request is refused whole before anything is queued, so a 4xx stores nothing; a
value the checks let through and PostgreSQL refuses costs its own request a 422, and no other
request anything (metricx.pixel.writer).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from metricx.asgi import Rejected, client_gone, read_limited_body, rejected_response
from metricx.config import Config, ConfigError
from metricx.pixel.events import check_content_type, parse_payload
from metricx.pixel.keys import WorkspaceKeys
from metricx.pixel.ratelimit import TokenBuckets
from metricx.pixel.writer import BatchWriter, EventSink

log = logging.getLogger(__name__)
EVENTS_PATH = "/v1/pixel-events"


@dataclass(frozen=True)
class CollectorSettings:
    """The PIXEL_* settings the collector runs with (see metricx.config)."""

    max_body_bytes: int
    max_batch_events: int
    rate_per_minute: int
    rate_burst: int
    flush_max_events: int
    flush_interval_ms: int

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            least = 0 if name == "flush_interval_ms" else 1  # 0 ms: write without waiting
            if value < least:
                raise ConfigError(f"PIXEL_{name.upper()} must be at least {least}, got {value}")

    @classmethod
    def from_config(cls, config: Config) -> CollectorSettings:
        return cls(**{f.name: getattr(config, f"pixel_{f.name}") for f in fields(cls)})

    def batch_writer(self) -> BatchWriter:
        return BatchWriter(
            max_events=self.flush_max_events, interval_s=self.flush_interval_ms / 1000
        )


def create_app(settings: CollectorSettings, sink: EventSink | None = None) -> Starlette:
    """The collector; `sink` defaults to the batching writer (the benchmark swaps in others)."""
    sink = sink or settings.batch_writer()
    keys = WorkspaceKeys()
    limiter = TokenBuckets(settings.rate_per_minute, settings.rate_burst)

    async def collect(request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        wait = limiter.take(client)
        if wait:
            return JSONResponse(
                {"error": f"too many requests from {client}: retry in {math.ceil(wait)} s"},
                status_code=429,
                headers={"Retry-After": str(math.ceil(wait))},
            )
        check_content_type(request.headers.get("content-type"))
        raw = await read_limited_body(request, settings.max_body_bytes)
        payload = parse_payload(raw, max_events=settings.max_batch_events, now=datetime.now(UTC))
        try:
            workspaces = await keys.resolve({e.workspace_key for e in payload.events})
        except Exception:
            log.exception("looking up pixel keys failed")
            return _unavailable()
        rows = []
        for index, event in enumerate(payload.events):
            workspace_id = workspaces[event.workspace_key]
            if workspace_id is None:
                raise Rejected(
                    403,
                    "unknown key: copy it from Settings → Pixel",
                    payload.field(index, "workspace_key"),
                )
            rows.append(event.row(workspace_id))
        try:
            await sink.submit(rows)
        except Rejected:  # the database refused a value of this request alone
            raise
        except Exception:  # a failed write (the writer logged it), or shutting down
            return _unavailable()
        return JSONResponse({"accepted": len(rows)}, status_code=202)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await sink.start()
        try:
            yield
        finally:
            await sink.stop()

    return Starlette(
        routes=[
            Route(EVENTS_PATH, collect, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        # Any origin, since no cookies are involved: the theme snippet posts from the store's
        # domain; the Shopify custom pixel's browser.sendBeacon runs in the top frame (the
        # store's domain, https://shopify.dev/docs/api/web-pixels-api/standard-api/browser)
        # and its fetch fallback runs in the pixel's sandboxed iframe, whose origin is the
        # shop's, or "null" when the iframe is sandboxed without allow-same-origin
        # (https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Origin). Both send
        # text/plain, which needs no preflight; a preflight is answered all the same.
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["POST"],
                allow_headers=["Content-Type"],
                max_age=86400,
            )
        ],
        exception_handlers={Rejected: rejected_response, ClientDisconnect: client_gone},
        lifespan=lifespan,
    )


def _unavailable() -> Response:
    """The database failed: nothing was acknowledged, and sending again is safe."""
    return JSONResponse(
        {
            "error": "the events could not be stored just now; send them again "
            "(a resent event is stored once)"
        },
        status_code=503,
        headers={"Retry-After": "1"},
    )


def run_collector(host: str, port: int, settings: CollectorSettings) -> None:
    """Serve until SIGINT/SIGTERM; queued events are written before it exits."""
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False)
