"""The receiver's HTTP surface: `POST /webhooks/shopify` (every topic; X-Shopify-Topic says
which) and `GET /healthz`. Run by `metricx webhooks` and by `metricx up`.

Answers, all JSON: 200 {"status": "accepted" | "duplicate" | "ignored", ...}; 400 a delivery
we cannot read (headers, JSON, the topic's payload); 401 a missing or wrong signature; 413 a
body over the limit; 503 the database or Redis failed (Shopify sends it again: nothing was
acknowledged). A refused request stores nothing.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from metricx.asgi import Rejected, client_gone, read_limited_body, rejected_response
from metricx.webhooks.intake import accept

log = logging.getLogger("metricx.webhooks")
WEBHOOK_PATH = "/webhooks/shopify"
# Shopify's biggest payloads are orders with hundreds of line items (a few hundred KB); far
# beyond that is not Shopify, and is refused before it is read whole.
MAX_BODY_BYTES = 5 * 1024 * 1024


def create_app(max_body_bytes: int = MAX_BODY_BYTES) -> Starlette:
    async def receive(request: Request) -> Response:
        body = await read_limited_body(request, max_body_bytes)
        try:
            # Database and Redis calls are blocking: off the event loop.
            outcome = await run_in_threadpool(accept, request.headers, body)
        except Rejected:
            raise
        except Exception:
            log.exception("a webhook could not be recorded or queued")
            return JSONResponse(
                {"error": "the webhook could not be recorded just now; Shopify will send it again"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return JSONResponse(outcome.to_json())

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        exception_handlers={Rejected: _rejected, ClientDisconnect: client_gone},
    )


async def _rejected(request: Request, error: Exception) -> Response:
    assert isinstance(error, Rejected)
    if error.status == 401:
        log.warning(
            "refused a webhook from %s: %s",
            request.client.host if request.client else "?",
            error.message,
        )
    return await rejected_response(request, error)


def run_server(host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(), host=host, port=port, log_level="warning", access_log=False)
