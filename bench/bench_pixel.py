"""Pixel collector load test: events/s and request latency over HTTP on loopback, for the
batching writer against a baseline that writes one INSERT (and commit) per event.

    .venv/bin/python bench/bench_pixel.py                     # embedded PostgreSQL, ~1 min
    .venv/bin/python bench/bench_pixel.py --requests 500 --concurrency 16

Each method runs in its own collector process (uvicorn, as `metricx pixel` runs it) while
--clients load processes send --requests POSTs of --events-per-request events in all,
--concurrency at a time, with httpx AsyncClient (one client process tops out well below the
collector). Both methods write with the same INSERT ... ON CONFLICT DO NOTHING statement;
only the batching differs. Afterwards every event must be stored exactly once, or the run
fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_ingest, beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # metricx, from a checkout

import httpx
from bench_ingest import setup_database
from sqlalchemy import text

METHODS = ("one INSERT per event", "batched writer")


class PerEventWriter:
    """The baseline: each event of a request in its own INSERT and commit, as a collector
    without a writer would do it."""

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def submit(self, rows: list[dict]) -> None:
        from metricx.pixel.writer import insert_events

        for row in rows:
            await asyncio.to_thread(insert_events, [row])


def serve(method: str, port: int) -> None:
    """Run one collector until terminated (the child process of a measurement)."""
    import uvicorn

    from metricx.config import get_config
    from metricx.pixel.app import CollectorSettings, create_app

    settings = replace(
        CollectorSettings.from_config(get_config()), rate_per_minute=10**9, rate_burst=10**9
    )  # one client sends everything here
    sink = PerEventWriter() if method == METHODS[0] else None
    uvicorn.run(
        create_app(settings, sink),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_collector(method: str, script: str = __file__) -> tuple[subprocess.Popen[bytes], str]:
    """`script --serve METHOD --port P` in a process of its own; (process, URL) once healthy."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, script, "--serve", method, "--port", str(port)], env=dict(os.environ)
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the {method} collector did not start")


def bodies(key: str, requests: int, per_request: int) -> list[dict]:
    stamp = datetime.now(UTC).isoformat()
    return [
        {
            "events": [
                {
                    "workspace_key": key,
                    "event_id": str(uuid.uuid4()),
                    "anonymous_id": f"anon-{r}",
                    "event": "page_view",
                    "url": f"https://shop.test/p/{e}?utm_source=meta&utm_campaign=c{r % 7}",
                    "referrer": "https://www.google.com/",
                    "timestamp": stamp,
                }
                for e in range(per_request)
            ]
        }
        for r in range(requests)
    ]


async def _client(
    url: str, payloads: list[dict], in_flight: int, start_together: Any
) -> tuple[float, float, list[float]]:
    """One load process: warm up, wait for the others, then send; (start, end, latencies)."""
    gate = asyncio.Semaphore(in_flight)
    latencies: list[float] = []

    async def one(client: httpx.AsyncClient, body: dict) -> None:
        async with gate:
            started = time.perf_counter()
            answer = await client.post(url + "/v1/pixel-events", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 202:
            raise RuntimeError(f"unexpected answer {answer.status_code}: {answer.text}")

    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        await asyncio.gather(*(one(client, body) for body in payloads[:in_flight]))
        latencies.clear()
        start_together.wait()
        started = time.monotonic()
        await asyncio.gather(*(one(client, body) for body in payloads[in_flight:]))
        return started, time.monotonic(), latencies


def _client_process(job: tuple[str, list[dict], int, Any]) -> tuple[float, float, list[float]]:
    return asyncio.run(_client(*job))


def send(url: str, shares: list[list[dict]], in_flight: int) -> tuple[float, list[float]]:
    """Each share sent from its own process: (wall seconds from the first start to the last
    end, every timed request's ms)."""
    spawn = get_context("spawn")  # a forked child would share this process's DB connections
    with spawn.Manager() as manager, ProcessPoolExecutor(len(shares), spawn) as pool:
        barrier = manager.Barrier(len(shares))
        runs = list(
            pool.map(_client_process, [(url, share, in_flight, barrier) for share in shares])
        )
    wall = max(end for _, end, _ in runs) - min(start for start, _, _ in runs)
    return wall, [ms for _, _, latencies in runs for ms in latencies]


def stored_count(workspace_id: int) -> int:
    from metricx.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM pixel_events WHERE workspace_id = :w"), {"w": workspace_id}
        ).scalar_one()


def measure(method: str, args: argparse.Namespace) -> dict[str, float]:
    from metricx.services.workspaces import create_workspace

    workspace = create_workspace(f"bench-pixel-{time.time_ns()}")
    in_flight = max(1, args.concurrency // args.clients)
    per_client = args.requests // args.clients + in_flight  # + the warm-up
    payloads = bodies(workspace.pixel_key, per_client * args.clients, args.events_per_request)
    shares = [payloads[i * per_client : (i + 1) * per_client] for i in range(args.clients)]
    process, url = start_collector(method)
    try:
        seconds, latencies = send(url, shares, in_flight)
    finally:
        process.terminate()
        process.wait(timeout=30)
    expected = len(payloads) * args.events_per_request
    if stored_count(workspace.id) != expected:
        raise SystemExit(
            f"!!! {method}: {stored_count(workspace.id)} events stored, {expected} sent"
        )
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "events/s": len(latencies) * args.events_per_request / seconds,
        "p50": statistics.median(latencies),
        "p99": cuts[98],
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per method")
    parser.add_argument("--events-per-request", type=int, default=5)
    parser.add_argument(
        "--concurrency", type=int, default=32, help="requests in flight, over all load processes"
    )
    parser.add_argument("--clients", type=int, default=4, help="load processes")
    parser.add_argument("--serve", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    server, url = setup_database()
    scratch = Path(tempfile.mkdtemp(prefix="metricx-bench-pixel-"))
    try:
        import bench_query

        # The settings it exports (DATABASE_URL ...) reach the collector processes too.
        bench_query.configure(url, scratch)
        print(
            f"{args.requests:,} requests x {args.events_per_request} events, "
            f"{args.concurrency} in flight from {args.clients} processes, on loopback\n"
        )
        print(f"{'method':<24}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'seconds':>9}")
        results = {}
        for method in METHODS:
            results[method] = figures = measure(method, args)
            print(
                f"{method:<24}{figures['events/s']:>10,.0f}{figures['p50']:>9.1f}"
                f"{figures['p99']:>9.1f}{figures['seconds']:>9.2f}"
            )
        baseline, batched = results[METHODS[0]], results[METHODS[1]]
        print(
            f"\nbatched writer: {batched['events/s'] / baseline['events/s']:.1f}x the "
            f"events/s of one INSERT per event; p50 {batched['p50'] / baseline['p50']:.2f}x, "
            f"p99 {batched['p99'] / baseline['p99']:.2f}x its latency. Every event was stored "
            "exactly once by both."
        )
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.pgdata.parent)  # its temp dir: nothing here is worth keeping
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
