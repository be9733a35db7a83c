"""What the pixel collector and the webhook receiver (our two small Starlette services) share:
a refusal with a status and a one-line reason, and reading a body no bigger than a limit."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class Rejected(Exception):
    """Refuse the request: `status` is the HTTP answer, the message its one-line reason, and
    `field` the part of the input at fault, if one is."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.status = status
        self.message = message
        self.field = field

    def to_json(self) -> dict[str, str]:
        body = {"error": str(self)}
        if self.field:
            body["field"] = self.field
        return body


def refuse_oversize(size: int, limit: int) -> None:
    """413 for a body of `size` bytes over `limit`."""
    if size > limit:
        raise Rejected(413, f"the body has {size:,} bytes; the limit is {limit:,}")


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to be too big: by its declared
    Content-Length, or while it streams in (chunked bodies, or a length that lies)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        refuse_oversize(int(declared), limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Rejected(413, f"the body is over the limit of {limit:,} bytes")
    return bytes(body)


async def rejected_response(request: Request, error: Exception) -> Response:
    """Starlette exception handler for Rejected."""
    assert isinstance(error, Rejected)
    return JSONResponse(error.to_json(), status_code=error.status)


async def client_gone(request: Request, error: Exception) -> Response:
    """Starlette exception handler for ClientDisconnect."""
    return Response(status_code=400)  # nobody is left to read it
