"""Pixel collector soak: shoppers' events among hostile requests; goal: no good event lost.

Over HTTP on loopback, against the collector as `metricx pixel` serves it (issue 13).

    .venv/bin/python bench/bench_pixel_soak.py                   # embedded PostgreSQL, ~1 min
    .venv/bin/python bench/bench_pixel_soak.py --seconds 60 --shopper-rate 100

Three phases of --seconds each, each with a fresh collector process and workspace:

1. shoppers alone: the baseline the other phases' latencies are compared with;
2. + hostile requests: --attackers addresses, each at --attacker-share of the per-address rate
   limit (half, in the issue), sending what the collector must refuse: numbers of 5,000
   digits, NaN, nesting 20,000 deep, NUL, lone surrogates, control characters, years 0001 and
   9999 across UTC, no offset, unknown keys, malformed JSON, not UTF-8, bodies over 64 KiB,
   forms, too many events;
3. + poison past the checks: a collector whose checks have a gap (a NUL passes them, as an
   offset with seconds and microseconds once did), the attackers sending only that poison, so
   PostgreSQL refuses a value in most batches and the writer writes their requests one by one.

Shoppers send 1 to 3 events a request at a steady --shopper-rate from --addresses addresses, a
tenth of them stamped with offsets PostgreSQL cannot read as written (+05:30:15.123456,
+23:59:59.999999, -16:00), and never send again, as sendBeacon does not. Each client's address
goes in X-Forwarded-For, which uvicorn believes from a loopback peer only, so the rate limit
tells shoppers and attackers apart. Afterwards the stored rows are compared with what was sent:
a good event is lost when it is not stored, whatever its answer, and wrong when its occurred_at
is not the instant sent. Any lost or wrong event, 5xx, or answer showing SQL fails the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_query, beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # metricx, from a checkout

import httpx
from bench_pixel import start_collector
from bench_query import configure, setup_database, teardown_database
from sqlalchemy import text

EVENTS_PATH = "/v1/pixel-events"
SQL_WORDS = ("INSERT", "SELECT", "[SQL", "pixel_events", "unnest", "Traceback")
ODD_OFFSETS = [
    timezone(timedelta(hours=5, minutes=30, seconds=15, microseconds=123_456)),
    timezone(timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999)),
    timezone(timedelta(hours=-16)),
]
POISON = "NUL past the checks"


@dataclass(frozen=True)
class Phase:
    name: str
    collector: str  # "shipped", or "gap": a NUL passes the checks
    hostile: tuple[str, ...]  # kinds the attackers send, in turn


@dataclass
class Planned:
    """One request of a phase: when it leaves (seconds from the start), from which address,
    and what it is."""

    at: float
    address: str
    body: bytes
    content_type: str
    kind: str  # "shopper", or the hostile kind
    instants: dict[str, datetime] = field(default_factory=dict)  # a shopper's events


@dataclass
class Answer:
    status: int | None  # None: no answer (a transport error)
    text: str
    ms: float


# --- what is sent -------------------------------------------------------------------------


def page_event(key: str, **fields: object) -> dict:
    return {
        "workspace_key": key,
        "event_id": str(uuid.uuid4()),
        "anonymous_id": "anon-x",
        "event": "page_view",
        "url": "https://shop.test/p/1?utm_source=meta",
        "referrer": "https://www.google.com/",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        **fields,
    }


def with_raw(event: dict, name: str, token: str) -> bytes:
    """The event's JSON with field `name` set to `token`, raw JSON text (or what is not)."""
    rest = json.dumps({k: v for k, v in event.items() if k != name})
    return f"{rest[:-1]}, {json.dumps(name)}: {token}}}".encode()


def hostile_kinds(key: str) -> dict[str, Callable[[], tuple[bytes, str]]]:
    """Each hostile kind: a function giving a fresh (body, content type)."""
    as_json = "application/json"

    def event(**fields: object) -> bytes:
        return json.dumps(page_event(key, **fields)).encode()

    def purchase_with(token: str) -> bytes:
        return with_raw(page_event(key, event="purchase"), "order_id", token)

    return {
        "number of 5,000 digits": lambda: (purchase_with("9" * 5000), as_json),
        "NaN": lambda: (purchase_with("NaN"), as_json),
        "nested 20,000 deep": lambda: (
            with_raw(page_event(key), "referrer", "[" * 20_000 + "]" * 20_000),
            as_json,
        ),
        "NUL": lambda: (event(anonymous_id="anon\x00"), as_json),
        "lone surrogate": lambda: (event(anonymous_id="anon\ud800"), as_json),
        "control character": lambda: (event(url="https://shop.test/\x1b[2J"), as_json),
        "year 9999 west of UTC": lambda: (event(timestamp="9999-12-31T23:59:59-05:00"), as_json),
        "year 0001 east of UTC": lambda: (event(timestamp="0001-01-01T00:00:00+05:00"), as_json),
        "no offset": lambda: (event(timestamp=datetime.now().isoformat()), as_json),
        "unknown key": lambda: (json.dumps(page_event(uuid.uuid4().hex)).encode(), as_json),
        "malformed JSON": lambda: (b'{"events": [{"event": "page_view",', as_json),
        "not UTF-8": lambda: (b'{"event": "\xff\xfe"}', as_json),
        "body over 64 KiB": lambda: (event(referrer="https://x.test/" + "a" * 70_000), as_json),
        "a form": lambda: (
            b"event=page_view&workspace_key=" + key.encode(),
            "application/x-www-form-urlencoded",
        ),
        "101 events": lambda: (
            json.dumps({"events": [page_event(key) for _ in range(101)]}).encode(),
            as_json,
        ),
        POISON: lambda: (event(anonymous_id="anon\x00"), as_json),
    }


def shopper_request(key: str, rng: random.Random) -> tuple[bytes, dict[str, datetime]]:
    """A storefront's request of 1 to 3 events: (body, {event_id: the instant sent})."""
    events, instants = [], {}
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        moment = datetime.now(UTC) - timedelta(seconds=rng.uniform(0, 5))
        if rng.random() < 0.1:  # an offset PostgreSQL cannot read as written
            stamp = moment.astimezone(rng.choice(ODD_OFFSETS)).isoformat()
        else:  # as a browser's toISOString() writes it: milliseconds, "Z"
            moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
            stamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        kind = rng.choice(("page_view", "page_view", "add_to_cart", "purchase"))
        order = {"order_id": rng.randrange(10**12)} if kind == "purchase" else {}
        event = page_event(
            key,
            event=kind,
            timestamp=stamp,
            anonymous_id=f"anon-{rng.random()}",
            url=f"https://shop.test/p/{rng.randrange(50)}?utm_source=meta"
            f"&utm_campaign=c{rng.randrange(7)}",
            **order,
        )
        events.append(event)
        instants[event["event_id"]] = moment
    body = events[0] if len(events) == 1 else {"events": events}
    return json.dumps(body).encode(), instants


def plan(
    phase: Phase, key: str, args: argparse.Namespace, limit_per_minute: int, rng: random.Random
) -> list[Planned]:
    """Every request of the phase, built before it starts (so building costs no latency)."""
    planned = []
    for i in range(int(args.seconds * args.shopper_rate)):
        body, instants = shopper_request(key, rng)
        planned.append(
            Planned(
                i / args.shopper_rate,
                f"10.1.{i % args.addresses // 250}.{i % args.addresses % 250}",
                body,
                "text/plain;charset=UTF-8",
                "shopper",
                instants,
            )
        )
    if phase.hostile:
        kinds = hostile_kinds(key)
        each = limit_per_minute / 60 * args.attacker_share  # requests/s of one attacker
        for attacker in range(args.attackers):
            for j in range(int(args.seconds * each)):
                kind = phase.hostile[(attacker + j) % len(phase.hostile)]
                body, content_type = kinds[kind]()
                planned.append(
                    Planned(
                        (j + attacker / args.attackers) / each,
                        f"10.66.0.{attacker}",
                        body,
                        content_type,
                        kind,
                    )
                )
    return sorted(planned, key=lambda p: p.at)


# --- sending ------------------------------------------------------------------------------


async def send_all(url: str, planned: list[Planned]) -> tuple[list[Answer], float]:
    """Each request at its time, whether or not earlier ones were answered (open loop):
    (answers in the order planned, the largest delay of a request behind its time, in s)."""
    loop = asyncio.get_running_loop()
    behind = 0.0

    async def one(client: httpx.AsyncClient, request: Planned) -> Answer:
        started = time.perf_counter()
        try:
            answer = await client.post(
                url + EVENTS_PATH,
                content=request.body,
                headers={"Content-Type": request.content_type, "X-Forwarded-For": request.address},
            )
        except httpx.TransportError as error:
            return Answer(None, repr(error), (time.perf_counter() - started) * 1000)
        return Answer(answer.status_code, answer.text, (time.perf_counter() - started) * 1000)

    # Shoppers and each attacker have connections of their own, as browsers apart do: an
    # attacker's connection that the collector closes (after a 413) is not a shopper's.
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with AsyncExitStack() as clients:
        by_address: dict[str, httpx.AsyncClient] = {}
        start, tasks = loop.time(), []
        for request in planned:
            sender = "shoppers" if request.kind == "shopper" else request.address
            if sender not in by_address:
                by_address[sender] = await clients.enter_async_context(
                    httpx.AsyncClient(limits=limits, timeout=30)
                )
            delay = start + request.at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            behind = max(behind, -delay)
            tasks.append(asyncio.create_task(one(by_address[sender], request)))
        return list(await asyncio.gather(*tasks)), behind


# --- the collector ------------------------------------------------------------------------


def serve(mode: str, port: int) -> None:
    """Run one collector until terminated (the child process of a phase)."""
    import uvicorn

    from metricx.config import get_config
    from metricx.pixel import events
    from metricx.pixel.app import CollectorSettings, create_app

    if mode == "gap":
        checked = events._storable
        events._storable = lambda value, name: value if "\x00" in value else checked(value, name)
    # A warning per refused batch: the phase counts its refusals instead.
    logging.getLogger("metricx.pixel").setLevel(logging.ERROR)
    # As run_collector serves it, and trusting X-Forwarded-For from loopback (uvicorn's
    # default, spelled out): how each simulated client has an address of its own.
    uvicorn.run(
        create_app(CollectorSettings.from_config(get_config())),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        forwarded_allow_ips="127.0.0.1",
    )


# --- a phase ------------------------------------------------------------------------------


@dataclass
class Figures:
    good_requests: int
    good_events: int
    stored: int
    lost: int
    wrong: int
    p50: float
    p95: float
    hostile: int
    hostile_answers: Counter[str]
    hostile_stored: int
    written_apart: int  # requests refused by PostgreSQL, not by the checks
    server_errors: int
    sql_shown: int
    behind_s: float
    lost_answers: Counter[str]


def stored_instants(workspace_id: int) -> dict[str, datetime]:
    from metricx.db import get_engine

    with get_engine().connect() as conn:
        return dict(
            conn.execute(
                text("SELECT event_id, occurred_at FROM pixel_events WHERE workspace_id = :w"),
                {"w": workspace_id},
            ).all()
        )


def run_phase(phase: Phase, args: argparse.Namespace, rng: random.Random) -> Figures:
    from metricx.config import get_config
    from metricx.services.workspaces import create_workspace

    workspace = create_workspace(f"soak {phase.name} {time.time_ns()}")
    planned = plan(phase, workspace.pixel_key, args, get_config().pixel_rate_per_minute, rng)
    process, url = start_collector(phase.collector, __file__)
    try:
        answers, behind = asyncio.run(send_all(url, planned))
    finally:
        process.terminate()
        process.wait(timeout=30)
    stored = stored_instants(workspace.id)
    sent = {
        event_id: moment for request in planned for event_id, moment in request.instants.items()
    }
    shoppers = [
        (request, answer)
        for request, answer in zip(planned, answers, strict=True)
        if request.kind == "shopper"
    ]
    hostile = [
        (request, answer)
        for request, answer in zip(planned, answers, strict=True)
        if request.kind != "shopper"
    ]
    latencies = [answer.ms for _, answer in shoppers]
    cuts = statistics.quantiles(latencies, n=100)
    lost_answers = Counter(
        str(answer.status)
        for request, answer in shoppers
        if any(event_id not in stored for event_id in request.instants)
    )
    return Figures(
        good_requests=len(shoppers),
        good_events=len(sent),
        stored=sum(event_id in stored for event_id in sent),
        lost=sum(event_id not in stored for event_id in sent),
        wrong=sum(
            event_id in stored and stored[event_id] != moment for event_id, moment in sent.items()
        ),
        p50=statistics.median(latencies),
        p95=cuts[94],
        hostile=len(hostile),
        hostile_answers=Counter(str(answer.status) for _, answer in hostile),
        hostile_stored=len(stored.keys() - sent.keys()),
        written_apart=sum("could not be stored" in answer.text for _, answer in hostile),
        server_errors=sum(answer.status is None or answer.status >= 500 for answer in answers),
        sql_shown=sum(any(word in answer.text for word in SQL_WORDS) for answer in answers),
        behind_s=behind,
        lost_answers=lost_answers,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument(
        "--shopper-rate",
        type=float,
        default=50,
        help="shoppers' requests per second (1 to 3 events each)",
    )
    parser.add_argument("--addresses", type=int, default=500, help="shoppers' addresses")
    parser.add_argument("--attackers", type=int, default=10, help="attackers' addresses")
    parser.add_argument(
        "--attacker-share",
        type=float,
        default=0.5,
        help="each attacker's rate, as a share of the per-address rate limit",
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--serve", choices=("shipped", "gap"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    server, url, scratch = setup_database(None)  # a temp dir, deleted at the end
    data_dir = Path(tempfile.mkdtemp(prefix="metricx-bench-soak-"))
    try:
        configure(url, data_dir)  # its settings (DATABASE_URL ...) reach the collectors too
        kinds = tuple(kind for kind in hostile_kinds("k") if kind != POISON)
        phases = [
            Phase("shoppers alone", "shipped", ()),
            Phase("+ hostile requests", "shipped", kinds),
            Phase("+ poison past the checks", "gap", (POISON,)),
        ]
        print(
            f"{args.seconds:g} s a phase; shoppers: {args.shopper_rate:g} requests/s from "
            f"{args.addresses} addresses; attackers: {args.attackers} addresses at "
            f"{args.attacker_share:.0%} of the rate limit each; on loopback\n"
        )
        print(
            f"{'phase':<27}{'good events':>12}{'stored':>8}{'lost':>6}{'wrong':>6}"
            f"{'p50 ms':>8}{'p95 ms':>8}{'hostile':>9}{'refused':>9}{'5xx':>5}"
        )
        rng = random.Random(args.seed)
        results = {}
        for phase in phases:
            results[phase.name] = f = run_phase(phase, args, rng)
            refused = sum(n for status, n in f.hostile_answers.items() if status.startswith("4"))
            print(
                f"{phase.name:<27}{f.good_events:>12,}{f.stored:>8,}{f.lost:>6}{f.wrong:>6}"
                f"{f.p50:>8.1f}{f.p95:>8.1f}{f.hostile:>9,}{refused:>9,}"
                f"{f.server_errors:>5}"
            )
        print()
        baseline = results[phases[0].name]
        for phase in phases[1:]:
            f = results[phase.name]
            answers = ", ".join(f"{status} x{n}" for status, n in sorted(f.hostile_answers.items()))
            print(
                f"{phase.name}: p50 {f.p50 / baseline.p50:.2f}x, p95 "
                f"{f.p95 / baseline.p95:.2f}x shoppers alone; hostile answers {answers}; "
                f"{f.written_apart:,} refused by PostgreSQL (their batches written request "
                f"by request); hostile events stored: {f.hostile_stored}"
            )
        figures = list(results.values())
        lost = sum(f.lost for f in figures)
        sent = sum(f.good_events for f in figures)
        behind = max(f.behind_s for f in figures)
        if behind > 1:
            print(f"(the sender fell up to {behind:.1f} s behind its schedule: a busy machine)")
        for name, f in results.items():
            if f.lost_answers:
                print(f"!!! {name}: requests that lost events were answered {dict(f.lost_answers)}")
        failed = lost or sum(f.wrong + f.server_errors + f.sql_shown for f in figures)
        print(
            f"\ngoal: 0 good events lost -> {lost} of {sent:,} lost, "
            f"{sum(f.wrong for f in figures)} stored at a wrong instant, "
            f"{sum(f.server_errors for f in figures)} 5xx or unanswered, "
            f"{sum(f.sql_shown for f in figures)} answers showing SQL: "
            f"{'MISSED' if failed else 'met'}"
        )
        if failed:
            raise SystemExit(1)
    finally:
        teardown_database(server, scratch)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
