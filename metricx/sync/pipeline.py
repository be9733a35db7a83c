"""One sync of one connection, start to finish: lock, connector, rows, sync_runs record.

Kinds:
- "intraday": today's (and yesterday's) running totals per ad, as 15-minute deltas (S1).
- "range": whole days start..end replaced from the platform's hourly breakdown (manual
  resync, backfill, and the nightly re-fetch of the last 7 days that picks up restatements).
- "shop": Shopify products, customers and orders updated since the last sync.
An email account (Klaviyo) takes "intraday" and "range" too: metricx.sync.email.

Failures: an expired or revoked token, or a stored one the vault cannot decrypt, marks the
connection `needs_reauth` and the job ends (retrying cannot help); throttling and server errors
are recorded and re-raised so RQ retries with backoff; a window of days that cannot be synced
is refused before the run starts, the connection untouched; anything else marks the connection
`error`. The data is left as it was.

Every transaction that writes the connection's facts holds its write lock
(`runs.connection_writes`), so S1 holds even if two syncs of one connection ever overlap.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from metricx.config import get_config
from metricx.connection_store import (
    API_WARNINGS,
    ConnectionView,
    get_connection,
    merge_settings,
    remember_account,
)
from metricx.connectors.errors import ConnectorError, RateLimitedError, TransientError
from metricx.connectors.records import AccountInfo, EntityRecord, MetricRecord
from metricx.db import transaction
from metricx.errors import InvalidInputError
from metricx.models import HALTED_STATUSES, Entity
from metricx.semantic.dates import today_in
from metricx.sync import product_rollup, rollup, snapshots
from metricx.sync import shopify as shop_writer
from metricx.sync.creatives import sync_creatives
from metricx.sync.email import sync_email
from metricx.sync.entities import stored_ids, upsert_entities
from metricx.sync.runs import (
    Progress,
    RunRecorder,
    connection_lock,
    connection_writes,
    new_run_id,
    run_holder,
)
from metricx.sync.sources import AdSource, ad_source, shop_client
from metricx.sync.window import WindowError, check_window, refuse_bad_window
from metricx.totals import METRIC_COLUMNS, PER_DAY, Totals
from metricx.vault import UnreadableTokenError, VaultError
from metricx.vocabulary import AD_PROVIDERS, EMAIL_PROVIDERS

KINDS = ("intraday", "range", "shop")
# The nightly re-fetch re-reads the hours of this many recent days (delivery settles within a
# day or two; later restatements are conversions), and older days per day only.
HOURLY_REFETCH_DAYS = 3
# Incremental tree reads look a little further back than the last read: a node edited while
# that read was in flight must not be missed.
TREE_READ_OVERLAP = timedelta(minutes=5)
CHUNK_DAYS = 7  # days per platform request and per transaction in a range sync


@dataclass(frozen=True)
class SyncOutcome:
    connection_id: int
    kind: str
    status: str  # success | failed | skipped
    rows: int
    error: str | None = None


def _no_progress(done: int, total: int, stage: str) -> None:
    """Default progress sink."""


def sync_connection(
    workspace_id: int,
    connection_id: int,
    kind: str,
    *,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    job_id: str | None = None,
    progress: Progress = _no_progress,
) -> SyncOutcome:
    connection = get_connection(workspace_id, connection_id)
    if kind not in KINDS:
        raise InvalidInputError(f"sync kind must be one of {', '.join(KINDS)}")
    if connection.provider == "shopify":
        kind = "shop"  # a shop has one kind of sync: everything updated since the last one
    elif kind == "shop":
        raise InvalidInputError(f"connection {connection_id} is not a shop")
    if connection.status in HALTED_STATUSES:
        return SyncOutcome(connection_id, kind, "skipped", 0, f"connection is {connection.status}")
    now = now or datetime.now(UTC)
    refuse_bad_window(connection, kind, start, end, now)
    run_id = new_run_id()  # the lease names its run: the reaper tells live runs from dead ones
    recorder = RunRecorder(workspace_id, connection_id, kind, start, end, job_id, run_id)
    with connection_lock(connection_id, holder=run_holder(run_id)):
        recorder.start()
        try:
            if connection.provider in AD_PROVIDERS:
                recorder.rows_written = _sync_ads(
                    connection, kind, start, end, now, progress, recorder
                )
            elif connection.provider in EMAIL_PROVIDERS:
                recorder.rows_written = sync_email(
                    connection, kind, start, end, now, progress, recorder
                )
            else:
                recorder.rows_written = _sync_shop(connection, now, progress)
        except ConnectorError as error:
            if isinstance(error, RateLimitedError | TransientError):
                recorder.finish(error=f"{error} (will retry)")
                raise
            recorder.finish(error=str(error), connection_status=error.connection_status or "error")
            return SyncOutcome(connection_id, kind, "failed", recorder.rows_written, str(error))
        except VaultError as error:
            # A token no key opens (altered, damaged) only a new one replaces; a key missing
            # from TOKEN_ENCRYPTION_KEY is the operator's to put back.
            unreadable = isinstance(error, UnreadableTokenError)
            message = (
                f"{error}: replace the token or reconnect the account" if unreadable else str(error)
            )
            recorder.finish(
                error=message, connection_status="needs_reauth" if unreadable else "error"
            )
            return SyncOutcome(connection_id, kind, "failed", recorder.rows_written, message)
        except InvalidInputError as error:
            # A window found bad only once the account's zone was read is not the account's
            # fault: the run fails, the connection keeps its status.
            recorder.finish(
                error=str(error),
                connection_status=None if isinstance(error, WindowError) else "error",
            )
            return SyncOutcome(connection_id, kind, "failed", recorder.rows_written, str(error))
        except Exception as error:
            recorder.finish(
                error=f"internal error: {type(error).__name__}: {error}", connection_status="error"
            )
            raise
        recorder.finish()
    return SyncOutcome(connection_id, kind, "success", recorder.rows_written)


# --- ad platforms ------------------------------------------------------------------------------


def _ad_ids(
    connection: ConnectionView,
    entities: list[EntityRecord],
    metrics: list[MetricRecord],
    read_at: datetime | None = None,
) -> dict[str, int]:
    """Entity ids of every ad of the connection, after writing `entities` (all of the tree, or
    only what changed since the last read). Ads that report metrics but are neither stored nor
    in `entities` (deleted since) get a bare row so their spend is never dropped."""
    with connection_writes(connection.id) as session:
        stored = stored_ids(session, connection.id, "ad")
        listed = {e.external_id for e in entities if e.level == "ad"}
        orphans = [
            EntityRecord(
                "ad", m.ad_external_id, None, f"Ad {m.ad_external_id}", "DELETED", None, None
            )
            for m in {m.ad_external_id: m for m in metrics}.values()
            if m.ad_external_id not in listed and m.ad_external_id not in stored
        ]
        if entities or orphans:
            campaigns = rollup.campaigns_of_ads(session, connection.id)
            upsert_entities(
                session, connection.workspace_id, connection.id, [*entities, *orphans], read_at
            )
            # An ad that moved to another campaign takes its sums along in the campaign rollup,
            # and its credits in the product rollup (keyed by campaign: rebuilt, it is rare).
            if rollup.reattach(session, connection.workspace_id, connection.id, campaigns):
                product_rollup.rebuild(session, connection.workspace_id)
            stored = stored_ids(session, connection.id, "ad")
    return stored


def _unknown_ads(connection: ConnectionView, records: list[MetricRecord]) -> bool:
    with transaction() as session:
        stored = stored_ids(session, connection.id, "ad")
    return any(r.ad_external_id not in stored for r in records)


def _last_tree_read(connection: ConnectionView) -> tuple[datetime, str] | None:
    """When the campaign tree was last read, and the account's name: every read rewrites the
    account's own node."""
    with transaction() as session:
        row = session.execute(
            select(Entity.updated_at, Entity.name).where(
                Entity.connection_id == connection.id, Entity.level == "account"
            )
        ).first()
    return None if row is None else (row[0], row[1])


def _read_tree(
    connection: ConnectionView, source: AdSource, kind: str, now: datetime, *, force: bool = False
) -> tuple[str, list[EntityRecord]]:
    """The account's time zone and the tree nodes to write.

    Ad facts are synced every 15 minutes, but the tree only changes when someone edits a
    campaign: an intraday sync reads it at most every ENTITY_REFRESH_MINUTES (at once when a
    new ad spends), and then only what changed since the last read where the platform can
    say (Meta's updated_time), with the account's zone and currency as stored. Range syncs
    (the nightly re-fetch, backfills, a manual resync) and ENTITY_REFRESH_MINUTES=0 read the
    account and the whole tree, which also catches statuses inherited from a paused parent
    without an updated_time of their own."""
    last = _last_tree_read(connection)
    every = timedelta(minutes=get_config().entity_refresh_minutes)
    if (
        kind == "intraday"
        and last is not None
        and every
        and connection.timezone
        and connection.currency
    ):
        read_at, name = last
        if now - read_at < every and not force:
            return connection.timezone, []
        account = AccountInfo(
            connection.external_account_id, name, connection.currency, connection.timezone
        )
        return account.timezone, source.entities(account, updated_since=read_at - TREE_READ_OVERLAP)
    account = source.account_info()
    remember_account(connection, account.currency, account.timezone)
    return account.timezone, source.entities(account)


def _sync_ads(
    connection: ConnectionView,
    kind: str,
    start: date | None,
    end: date | None,
    now: datetime,
    progress: Progress,
    recorder: RunRecorder,
) -> int:
    with ad_source(connection) as source:
        try:
            return _sync_ad_source(connection, source, kind, start, end, now, progress, recorder)
        finally:
            _remember_warnings(connection, source.warnings)


def _remember_warnings(connection: ConnectionView, warnings: list[str]) -> None:
    """Keep the platform's latest version warnings for the admin (platform_notices)."""
    if warnings == connection.settings.get(API_WARNINGS, []):
        return
    with transaction() as session:
        merge_settings(session, connection, {API_WARNINGS: warnings})


def _sync_ad_source(
    connection: ConnectionView,
    source: AdSource,
    kind: str,
    start: date | None,
    end: date | None,
    now: datetime,
    progress: Progress,
    recorder: RunRecorder,
) -> int:
    progress(0, 1, "reading the account")
    tz, entities = _read_tree(connection, source, kind, now)
    today = today_in(tz, now)
    if kind == "intraday":
        rows = _intraday(connection, source, entities, tz, today, now)
    else:
        rows = _replace_days(
            connection, source, entities, tz, today, start, end, now, progress, recorder
        )
    # The ads are stored now: link them to their creatives (a tree read carries them).
    sync_creatives(connection, entities, source.download)
    return rows


def _replace_days(
    connection: ConnectionView,
    source: AdSource,
    entities: list[EntityRecord],
    tz: str,
    today: date,
    start: date | None,
    end: date | None,
    now: datetime,
    progress: Progress,
    recorder: RunRecorder,
) -> int:
    """A range sync's days: asked, or the restatement window up to yesterday."""
    nightly = start is None
    start = start or today - timedelta(days=source.restatement_days())
    end = end or today - timedelta(days=1)
    check_window(start, end, today)  # again, now in the account's own zone
    recorder.window_start, recorder.window_end = start, end
    # The nightly re-fetch (no dates given) re-reads hours only for the days whose delivery
    # may still move; a manual resync or backfill reads every day's hours.
    settled = today - timedelta(days=HOURLY_REFETCH_DAYS) if nightly else None
    return _replace_range(
        connection, source, entities, tz, start, end, now, progress, settled_before=settled
    )


def _intraday(
    connection: ConnectionView,
    source: AdSource,
    entities: list[EntityRecord],
    tz: str,
    today: date,
    now: datetime,
) -> int:
    # Yesterday too: what accrued between the last sync and local midnight belongs to it.
    yesterday = today - timedelta(days=1)
    records = source.metrics(yesterday, today, hourly=False)
    if not entities and _unknown_ads(connection, records):
        # A new ad is spending: read what changed now, so it arrives with its name and parent.
        entities = _read_tree(connection, source, "intraday", now, force=True)[1]
    ids = _ad_ids(connection, entities, records, now)
    by_day: dict[date, dict[int, Totals]] = {yesterday: {}, today: {}}
    for record in records:
        day_totals = by_day.setdefault(record.day, {})
        entity_id = ids[record.ad_external_id]
        day_totals[entity_id] = day_totals.get(entity_id, Totals()) + Totals.of(record)
    rows = 0
    with connection_writes(connection.id) as session:
        for day, totals in by_day.items():
            # An ad the platform no longer reports for the day is at zero.
            held = snapshots.sums_for_day(
                session, connection.workspace_id, list(ids.values()), day, tz
            )
            for entity_id in held:
                totals.setdefault(entity_id, Totals())
            rows += snapshots.apply_running_totals(
                session, connection.workspace_id, day, tz, totals, now
            )
    return rows


def _replace_range(
    connection: ConnectionView,
    source: AdSource,
    entities: list[EntityRecord],
    tz: str,
    start: date,
    end: date,
    now: datetime,
    progress: Progress,
    *,
    settled_before: date | None = None,
) -> int:
    """Replace the days start..end, a chunk at a time. Days before `settled_before` (the
    nightly re-fetch's older days, whose hours the rows already hold) are re-read per day
    only: their restated totals keep the stored hours, and the change goes into the day's
    last hour. That costs Meta a fraction of the requests of hourly rows (which page)."""
    total_days = (end - start).days + 1
    rows = 0
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(end, chunk_start + timedelta(days=CHUNK_DAYS - 1))
        settled = settled_before is not None and chunk_start < settled_before
        if settled_before is not None and settled:
            chunk_end = min(chunk_end, settled_before - timedelta(days=1))
        rows += _replace_chunk(
            connection, source, entities, tz, chunk_start, chunk_end, now, settled
        )
        progress((chunk_end - start).days + 1, total_days, f"synced up to {chunk_end}")
        chunk_start = chunk_end + timedelta(days=1)
    return rows


def _replace_chunk(
    connection: ConnectionView,
    source: AdSource,
    entities: list[EntityRecord],
    tz: str,
    start: date,
    end: date,
    now: datetime,
    settled: bool,
) -> int:
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    records = [] if settled else source.metrics(start, end, hourly=True)
    # Meta withholds purchases and leads from hourly rows: they come from the daily report
    # of the same days, and never from the hourly rows (S1 per metric family).
    daily = (
        source.metrics(start, end, hourly=False)
        if settled or not source.hourly_conversions
        else None
    )
    ids = _ad_ids(connection, entities, [*records, *(daily or ())], now)
    hourly: dict[tuple[int, date], dict[int, Totals]] = defaultdict(dict)
    for record in records:
        hours = hourly[(ids[record.ad_external_id], record.day)]
        hour = record.hour if record.hour is not None else 0
        hours[hour] = hours.get(hour, Totals()) + Totals.of(record)
    day_totals = None if daily is None else _day_totals(ids, daily)
    with connection_writes(connection.id) as session:
        return snapshots.replace_days(
            session,
            connection.workspace_id,
            tz,
            list(ids.values()),
            days,
            hourly,
            day_totals,
            METRIC_COLUMNS if settled else PER_DAY,
        )


def _day_totals(ids: dict[str, int], records: list[MetricRecord]) -> dict[tuple[int, date], Totals]:
    """Daily records summed per (ad entity, day)."""
    out: dict[tuple[int, date], Totals] = defaultdict(Totals)
    for record in records:
        out[(ids[record.ad_external_id], record.day)] += Totals.of(record)
    return out


def compact_connection(connection: ConnectionView, now: datetime | None = None) -> int:
    """Fold the 15-minute rows of the connection's past local days into hourly rows."""
    tz = connection.timezone or "UTC"
    today = today_in(tz, now or datetime.now(UTC))
    with connection_writes(connection.id) as session:
        ids = list(
            session.scalars(
                select(Entity.id).where(Entity.connection_id == connection.id, Entity.level == "ad")
            )
        )
        if not ids:
            return 0
        return snapshots.compact(
            session, connection.workspace_id, ids, tz, snapshots.day_span(today, tz)[0]
        )


# --- Shopify -----------------------------------------------------------------------------------


def _sync_shop(connection: ConnectionView, now: datetime, progress: Progress) -> int:
    """Orders on every sync; the shop, its products and customers (which change slowly, and
    whose new customers arrive with their orders anyway) at most every
    ENTITY_REFRESH_MINUTES."""
    with shop_client(connection, now) as client:
        shop = shop_writer.stored_shop(connection.id)
        every = timedelta(minutes=get_config().entity_refresh_minutes)
        rows = 0
        if shop is None or shop.lists_read_at is None or now - shop.lists_read_at >= every:
            progress(0, 3, "reading the shop")
            shop = shop_writer.upsert_shop(
                connection.workspace_id, connection.id, client.shop_info()
            )
            remember_account(connection, shop.currency, shop.timezone)
            rows += shop_writer.write_products(
                shop, client.products(shop_writer.since(shop.products_synced_until))
            )
            progress(1, 3, "products")
            rows += shop_writer.write_customers(
                shop, client.customers(shop_writer.since(shop.customers_synced_until))
            )
            shop_writer.mark_lists_read(shop, now)
        progress(2, 3, "orders")
        rows += shop_writer.write_orders(
            shop,
            client.orders(shop_writer.since(shop.orders_synced_until)),
            lambda stage, count: progress(2, 3, f"{count:,} orders"),
        )
        progress(3, 3, "done")
        return rows
