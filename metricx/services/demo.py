"""The demo workspace: a sandbox merchant connected through the real connectors.

Its connections carry {"sandbox": true, "seed", "anchor"} so any process can reach fakes that
serve exactly this merchant (see metricx.sandbox.runtime). Its storefront's pixel events
(metricx.sandbox.storefront) go through the pixel collector's own checks and writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from metricx.actor import Actor
from metricx.alerts.anomaly_defaults import ensure_default_anomaly_rules
from metricx.asgi import refuse_oversize
from metricx.config import get_config
from metricx.db import new_session, transaction
from metricx.delivery.slack import SANDBOX_WEBHOOK_URL
from metricx.models import FxRate, Workspace
from metricx.pixel.events import check_content_type, parse_payload
from metricx.pixel.writer import insert_replayed_events
from metricx.sandbox.calendar import local_date
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.email_program import EmailProgram
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.runtime import DEFAULT_SEED, DEMO_TIMEZONE, demo_today
from metricx.sandbox.storefront import Storefront
from metricx.services import custom_definitions
from metricx.services.connections import ConnectionView, add_connection, list_connections
from metricx.services.notifications import set_slack_webhook
from metricx.services.pixel_keys import pixel_key, workspaces_for_keys
from metricx.services.workspaces import create_workspace

DEMO_WORKSPACE = "demo"
DEMO_CURRENCY = "USD"
FX_DAYS_AHEAD = 400  # rates are synthetic here; a real workspace imports them
# How sendBeacon (and fetch with a string body) declares the custom pixel's requests.
PIXEL_CONTENT_TYPE = "text/plain;charset=UTF-8"
# Rows per INSERT of the collector's writer statement. One statement takes any number of
# rows; chunks bound a transaction and the arrays in memory (3 for the demo's month).
PIXEL_CHUNK = 12_000
# The storefront's pixel events are replayed for the orders of the last 30 days (each
# buyer's whole journey, which starts up to three weeks earlier): what the Attribution page
# shows by default ("last 30 days"), in ~4 s. All 180 days are ~170,000 events and ~13 s
# on a 2-core machine, plus the attribution of every pixel journey; older orders keep
# their Shopify journeys, as if the store had added the pixel a month ago.
PIXEL_DAYS = 30


#: The demo's custom dimension and metrics (issue 17): a funnel stage read from campaign
#: names, and metrics built on it and on the platforms, so every surface has one to show.
DEMO_DIMENSIONS: dict[str, dict[str, Any]] = {
    "funnel_stage": {
        "label": "Funnel stage",
        "rules": [
            {"field": "campaign", "op": "contains", "value": "Retargeting", "then": "BOFU"},
            {"field": "campaign", "op": "contains", "value": "Remarketing", "then": "BOFU"},
            {"field": "campaign", "op": "equals", "value": "Brand Search", "then": "BOFU"},
            {"field": "campaign", "op": "contains", "value": "Shopping", "then": "MOFU"},
            {"field": "campaign", "op": "contains", "value": "Performance Max", "then": "MOFU"},
        ],
        "otherwise": "TOFU",
        "description": "Where a campaign sits in the funnel, from its name.",
    }
}
DEMO_METRICS: dict[str, dict[str, Any]] = {
    "meta_share": {
        "label": "Meta share of spend",
        "formula": "spend[provider=meta] / spend",
        "unit": "percent",
        "higher_is_better": None,
        "description": "The part of ad spend that went to Meta.",
    },
    "bofu_roas": {
        "label": "Retargeting ROAS",
        "formula": "roas[funnel_stage=BOFU]",
        "unit": "ratio",
        "higher_is_better": True,
        "description": "Platform-reported ROAS of bottom-of-funnel campaigns.",
    },
    "profit_after_ads_per_order": {
        "label": "Profit after ads per order",
        "formula": "(profit_before_ad_spend - spend) / orders",
        "unit": "currency",
        "higher_is_better": True,
        "description": "What an order leaves once costs and ad spend are paid.",
    },
}


@dataclass(frozen=True)
class Demo:
    workspace: Workspace
    connections: list[ConnectionView]
    start: date
    end: date
    seed: int = DEFAULT_SEED


@dataclass(frozen=True)
class PixelReplay:
    """What a storefront replay did: requests the pixel sent, events newly stored (a replay
    of what is already stored stores nothing)."""

    requests: int
    stored: int


def _fx_rates(workspace_id: int, currencies: set[str], start: date, end: date) -> None:
    """Deterministic daily rates to the reporting currency for the sandbox's currencies."""
    base = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27"), "CAD": Decimal("0.73")}
    rows = []
    for currency in sorted(currencies - {DEMO_CURRENCY}):
        anchor = base.get(currency, Decimal(1))
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            wobble = Decimal((offset * 7919) % 41 - 20) / Decimal(2000)  # within ±1 %
            rows.append(
                {
                    "workspace_id": workspace_id,
                    "day": day,
                    "from_currency": currency,
                    "to_currency": DEMO_CURRENCY,
                    "rate": (anchor * (1 + wobble)).quantize(Decimal("0.000001")),
                }
            )
    if rows:
        with transaction() as session:
            session.execute(insert(FxRate).values(rows).on_conflict_do_nothing())


def create_demo(today: date | None = None, seed: int = DEFAULT_SEED) -> Demo:
    """The demo workspace and its sandbox connections (no data yet: sync them next)."""
    today = today or demo_today()
    merchant = Merchant.demo(seed, today)
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
    wanted.append(("klaviyo", EmailProgram(merchant).account_id, "Northwind Outfitters (Klaviyo)"))
    tokens = {
        "meta": credentials.meta_access_token,
        "google": credentials.google_refresh_token,
        "shopify": credentials.shopify_access_token,
        "tiktok": credentials.tiktok_access_token,
        "klaviyo": credentials.klaviyo_private_key,
    }
    for provider, account_id, name in wanted:
        if (provider, account_id) in existing:
            continue
        extra = (
            {"login_customer_id": credentials.google_login_customer_id}
            if provider == "google"
            else {}
        )
        add_connection(
            actor, provider, account_id, tokens[provider], name=name, settings={**settings, **extra}
        )
    _example_definitions(actor)
    # Alerts and digests reach the sandbox's fake Slack (and, by default, the admins' email).
    set_slack_webhook(actor, SANDBOX_WEBHOOK_URL)
    ensure_default_anomaly_rules(workspace.id)
    _fx_rates(
        workspace.id,
        {a.currency for a in merchant.accounts},
        merchant.start_day - timedelta(days=1),
        today + timedelta(days=FX_DAYS_AHEAD),
    )
    return Demo(workspace, list_connections(workspace.id), merchant.start_day, today, seed)


def _example_definitions(actor: Actor) -> None:
    """The demo's custom dimension and metrics, where the workspace has none of that id."""
    saved = custom_definitions.definitions(actor.workspace_id)
    for key, dimension in DEMO_DIMENSIONS.items():
        if key not in saved.dimensions:
            custom_definitions.save_dimension(actor, key, dimension)
    for key, metric in DEMO_METRICS.items():
        if key not in saved.metrics:
            custom_definitions.save_metric(actor, key, metric)


def demo_merchant(demo: Demo) -> Merchant:
    """The merchant the demo's connections sync from, built as metricx.sandbox.runtime builds
    the one its fakes serve (a pure function of seed and anchor day)."""
    return Merchant.demo(demo.seed, demo.end)


def replay_storefront(
    workspace_id: int,
    merchant: Merchant,
    *,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PixelReplay:
    """Send what the Shopify custom pixel of `merchant`'s storefront sent (local days
    start..end, default: the whole history up to `now`) into the workspace, the way the
    collector takes a request (metricx.pixel.app): the content type and body size checks,
    parse_payload's checks of every field, the key looked up as the collector looks it up,
    then the rows written by the collector's writer statement (ON CONFLICT (workspace_id,
    event_id) DO NOTHING), many requests per INSERT as its batch writer gathers them.

    Each request is checked as of the moment it reached the collector, as it was when live
    (the collector refuses events older than 30 days by its clock, and a history reaches
    further back), and stored with that moment as received_at, so attribution's "purchases
    that arrived recently" are those of the last days, not the whole replay."""
    from metricx.pixel.app import CollectorSettings  # Starlette: only when replaying

    key = pixel_key(Actor.system(workspace_id, label="demo"))
    owner = workspaces_for_keys([key]).get(key)  # how the collector finds the workspace
    if owner != workspace_id:
        raise RuntimeError(f"workspace {workspace_id}'s pixel key does not lead back to it")
    settings = CollectorSettings.from_config(get_config())
    check_content_type(PIXEL_CONTENT_TYPE)
    storefront = Storefront(merchant)
    start = start or merchant.start_day
    end = end or local_date(now, storefront.timezone)
    total_days = (end - start).days + 1
    requests = stored = 0
    rows: list[dict[str, Any]] = []
    for done, (_, browsers) in enumerate(storefront.days(start, end, now), start=1):
        for browser in browsers:
            for request in storefront.requests(key, browser, now):
                raw = request.body.encode()
                refuse_oversize(len(raw), settings.max_body_bytes)
                payload = parse_payload(
                    raw, max_events=settings.max_batch_events, now=request.received_at
                )
                rows += [
                    {**event.row(owner), "received_at": request.received_at}
                    for event in payload.events
                ]
                requests += 1
            if len(rows) >= PIXEL_CHUNK:
                stored += insert_replayed_events(rows)
                rows = []
        if progress:
            progress(done, total_days)
    if rows:
        stored += insert_replayed_events(rows)
    return PixelReplay(requests, stored)


def ads_first(connections: list[ConnectionView]) -> list[ConnectionView]:
    """The ad accounts, then the shop: the shop's webhooks queue syncs ahead of the backfill
    (metricx.webhooks.freshness), so an ad account queued after the shop would wait for the
    storefront to pause."""
    return sorted(connections, key=lambda c: c.provider == "shopify")


def sync_demo(demo: Demo, progress: Callable[[str, int, int], None]) -> int:
    """Backfill every demo connection in this process, through the real connectors."""
    from metricx.attribution.compute import attribute_workspace
    from metricx.sync.pipeline import sync_connection

    rows = 0
    for connection in ads_first(demo.connections):
        label = connection.name

        def report(done: int, total: int, stage: str, label: str = label) -> None:
            progress(label, done, total)

        kind = "shop" if connection.provider == "shopify" else "range"
        outcome = sync_connection(
            demo.workspace.id,
            connection.id,
            kind,
            start=demo.start,
            end=demo.end - timedelta(days=1),
            progress=report,
        )
        rows += outcome.rows
        if connection.provider != "shopify":
            rows += sync_connection(demo.workspace.id, connection.id, "intraday").rows
    # The storefront's pixel events before attribution, which joins their purchases to the
    # orders just synced (so the shop's orders up to now come first).
    merchant = demo_merchant(demo)
    rows += replay_storefront(
        demo.workspace.id,
        merchant,
        now=datetime.now(UTC),
        start=max(merchant.start_day, demo.end - timedelta(days=PIXEL_DAYS - 1)),
        progress=lambda done, total: progress("Pixel events", done, total),
    ).stored
    attribute_workspace(demo.workspace.id, lambda done, total: progress("Attribution", done, total))
    return rows


def sandbox_merchants() -> set[tuple[int, date]]:
    """(seed, anchor) of every sandbox merchant some connection syncs from."""
    from metricx.models import Connection

    with new_session() as session:
        settings = session.scalars(select(Connection.settings)).all()
    return {
        (int(s.get("seed", DEFAULT_SEED)), date.fromisoformat(s["anchor"]))
        for s in settings
        if s.get("sandbox") and s.get("anchor")
    }


def enqueue_backfill(demo: Demo) -> list[str]:
    """Queue the demo's history for the workers: every day before today, then today so far."""
    from rq.job import Dependency

    from metricx.jobs import enqueue_sync, send_digest
    from metricx.queue import get_queue

    # The storefront's pixel history first, so the shop sync's attribution finds it.
    replay_storefront(
        demo.workspace.id,
        demo_merchant(demo),
        now=datetime.now(UTC),
        start=max(demo.start, demo.end - timedelta(days=PIXEL_DAYS - 1)),
    )
    queued = []
    for connection in ads_first(demo.connections):
        if connection.provider == "shopify":
            jobs = [enqueue_sync(demo.workspace.id, connection.id, "shop")]
        else:
            jobs = [
                enqueue_sync(
                    demo.workspace.id,
                    connection.id,
                    "range",
                    start=demo.start,
                    end=demo.end - timedelta(days=1),
                ),
                enqueue_sync(demo.workspace.id, connection.id, "intraday"),
            ]
        queued += [job.job_id for job in jobs if job.job_id]
    # Yesterday's digest once the history is in (whether or not every sync succeeded): the
    # demo's first email and Slack message.
    get_queue("default").enqueue(
        send_digest,
        demo.workspace.id,
        "daily",
        depends_on=Dependency(jobs=queued, allow_failure=True) if queued else None,
        description="the demo's first daily digest",
    )
    return queued
