"""An ASGI app served for real (uvicorn on a free loopback port, in a thread), as browsers and
Shopify reach our pixel collector and webhook receiver."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp


@dataclass
class Served:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: ASGIApp, what: str) -> tuple[str, uvicorn.Server, threading.Thread]:
    """Start `app` and wait until it answers; (url, server, thread) for a Served subclass."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.01)
    return f"http://127.0.0.1:{listener.getsockname()[1]}", server, thread
