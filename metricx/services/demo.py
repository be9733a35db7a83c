"""The demo workspace: a sandbox merchant connected through the real connectors.

Its connections carry {"sandbox": true, "seed", "anchor"} so any process can reach fakes that
serve exactly this merchant (see metricx.sandbox.runtime).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from metricx.actor import Actor
from metricx.db import new_session, transaction
from metricx.models import FxRate, Workspace
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.runtime import DEFAULT_SEED
from metricx.services.connections import ConnectionView, add_connection, list_connections
from metricx.services.workspaces import create_workspace

DEMO_WORKSPACE = "demo"
DEMO_TIMEZONE = "America/New_York"
DEMO_CURRENCY = "USD"
HISTORY_DAYS = 180
FX_DAYS_AHEAD = 400  # rates are synthetic here; a real workspace imports them


@dataclass(frozen=True)
class Demo:
    workspace: Workspace
    connections: list[ConnectionView]
    start: date
    end: date


def _fx_rates(workspace_id: int, currencies: set[str], start: date, end: date) -> None:
    """Deterministic daily rates to the reporting currency for the sandbox's currencies."""
    base = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27"), "CAD": Decimal("0.73")}
    rows = []
    for currency in sorted(currencies - {DEMO_CURRENCY}):
        anchor = base.get(currency, Decimal(1))
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            wobble = Decimal((offset * 7919) % 41 - 20) / Decimal(2000)  # within ±1 %
            rows.append({"workspace_id": workspace_id, "day": day, "from_currency": currency,
                         "to_currency": DEMO_CURRENCY,
                         "rate": (anchor * (1 + wobble)).quantize(Decimal("0.000001"))})
    if rows:
        with transaction() as session:
            session.execute(insert(FxRate).values(rows).on_conflict_do_nothing())


def create_demo(today: date | None = None, seed: int = DEFAULT_SEED) -> Demo:
    """The demo workspace and its four sandbox connections (no data yet: sync them next)."""
    today = today or date.today()
    merchant = Merchant(seed, today=today, days=HISTORY_DAYS)
    with new_session() as session:
        workspace = session.scalar(select(Workspace).where(Workspace.name == DEMO_WORKSPACE))
    if workspace is None:
        workspace = create_workspace(DEMO_WORKSPACE, DEMO_TIMEZONE, DEMO_CURRENCY)
    actor = Actor.system(workspace.id, label="demo")
    existing = {(c.provider, c.external_account_id) for c in list_connections(workspace.id)}
    credentials = SandboxCredentials()
    settings = {"sandbox": True, "seed": seed, "anchor": today.isoformat()}
    wanted = [(a.provider, a.external_id, a.name) for a in merchant.accounts]
    wanted.append(("shopify", credentials.shopify_shop, "Northwind Outfitters (Shopify)"))
    tokens = {"meta": credentials.meta_access_token, "google": credentials.google_refresh_token,
              "shopify": credentials.shopify_access_token}
    for provider, account_id, name in wanted:
        if (provider, account_id) in existing:
            continue
        extra = {"login_customer_id": credentials.google_login_customer_id} \
            if provider == "google" else {}
        add_connection(actor, provider, account_id, tokens[provider], name=name,
                       settings={**settings, **extra})
    _fx_rates(workspace.id, {a.currency for a in merchant.accounts},
              merchant.start_day - timedelta(days=1), today + timedelta(days=FX_DAYS_AHEAD))
    return Demo(workspace, list_connections(workspace.id), merchant.start_day, today)


def sync_demo(demo: Demo, progress: Callable[[str, int, int], None]) -> int:
    """Backfill every demo connection in this process, through the real connectors."""
    from metricx.attribution.compute import attribute_workspace
    from metricx.sync.pipeline import sync_connection

    rows = 0
    for connection in demo.connections:
        label = connection.name

        def report(done: int, total: int, stage: str, label: str = label) -> None:
            progress(label, done, total)

        kind = "shop" if connection.provider == "shopify" else "range"
        outcome = sync_connection(demo.workspace.id, connection.id, kind, start=demo.start,
                                  end=demo.end - timedelta(days=1), progress=report)
        rows += outcome.rows
        if connection.provider != "shopify":
            rows += sync_connection(demo.workspace.id, connection.id, "intraday").rows
    attribute_workspace(demo.workspace.id, lambda done, total: progress("Attribution", done,
                                                                         total))
    return rows


def sandbox_merchants() -> set[tuple[int, date]]:
    """(seed, anchor) of every sandbox merchant some connection syncs from."""
    from metricx.models import Connection

    with new_session() as session:
        settings = session.scalars(select(Connection.settings)).all()
    return {(int(s.get("seed", DEFAULT_SEED)), date.fromisoformat(s["anchor"]))
            for s in settings if s.get("sandbox") and s.get("anchor")}


def enqueue_backfill(demo: Demo) -> list[str]:
    """Queue the demo's history for the workers: every day before today, then today so far."""
    from metricx.sync.scheduling import enqueue_sync

    queued = []
    for connection in demo.connections:
        if connection.provider == "shopify":
            jobs = [enqueue_sync(demo.workspace.id, connection.id, "shop")]
        else:
            jobs = [enqueue_sync(demo.workspace.id, connection.id, "range", start=demo.start,
                                 end=demo.end - timedelta(days=1)),
                    enqueue_sync(demo.workspace.id, connection.id, "intraday")]
        queued += [job.job_id for job in jobs if job.job_id]
    return queued
