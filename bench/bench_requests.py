"""Platform requests per connection per day: a simulated day of the production schedule (a sync
of every connection every 15 minutes, the nightly re-fetch at 03:00 UTC) against the sandbox's
fake Meta, Google Ads, TikTok, Shopify and Klaviyo APIs, counted from the fakes' request logs.

    .venv/bin/python bench/bench_requests.py            # embedded PostgreSQL and Redis
    .venv/bin/python bench/bench_requests.py --hours 6  # a shorter simulation, scaled to a day

Baseline, measured in the same run on the next simulated day: ENTITY_REFRESH_MINUTES=0, which
reads the account and the whole campaign tree on every 15-minute sync, as Metricx did before
the tree was read at most hourly (and EMAIL_SYNC_MINUTES=0: an email account read every 15
minutes). Goal (issue 12): a third of the baseline's requests with the same freshness of
facts, Google within Basic access's 15,000 operations a day, and Klaviyo within its
reporting API's 225 calls a day (issue 18).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_query, beside this file
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from bench_query import setup_database, teardown_database

GOOGLE_BASIC_DAILY_OPERATIONS = 15_000  # developers.google.com/google-ads/api/docs/access-levels
KLAVIYO_DAILY_REPORTS = 225  # x-klaviyo-ratelimit of the Reporting API endpoints
QUARTER = timedelta(minutes=15)
NIGHTLY_AT = timedelta(hours=3)


def simulate_day(servers, connections, start: datetime, hours: int) -> Counter:
    """Requests per provider in a day from `start`: `hours` of 15-minute syncs scaled to 24,
    plus one nightly re-fetch of every ad account (at 03:00 UTC)."""
    from metricx.sync.pipeline import sync_connection

    servers.requests.clear()
    moment = start
    while moment < start + timedelta(hours=hours):
        servers.now = moment
        for connection in connections:
            kind = "shop" if connection.provider == "shopify" else "intraday"
            sync_connection(connection.workspace_id, connection.id, kind, now=moment)
        moment += QUARTER
    day = Counter(
        {
            provider: count * 24 / hours
            for provider, count in Counter(_counted(servers.requests.of())).items()
        }
    )
    servers.requests.clear()
    servers.now = start + NIGHTLY_AT
    for connection in connections:
        if connection.provider != "shopify":
            sync_connection(connection.workspace_id, connection.id, "range", now=servers.now)
    day.update(Counter(_counted(servers.requests.of())))
    return day


#: Where the fakes serve creatives' preview images: their CDNs, not the platforms' APIs, so
#: a download is counted as "<provider> previews" and not among the API's requests.
PREVIEW_PATHS = ("/thumbnails/", "/simgad/", "/covers/")


def _counted(requests) -> list[str]:
    """Each API request's provider (a preview download as "<provider> previews"), and
    "klaviyo reports" once more for each reporting call (the calls Klaviyo limits to 225 a
    day)."""
    out = [
        f"{r.provider} previews" if r.path.startswith(PREVIEW_PATHS) else r.provider
        for r in requests
    ]
    out += ["klaviyo reports" for r in requests if r.provider == "klaviyo" and "-reports" in r.path]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--hours",
        type=int,
        default=24,
        help="hours of schedule to simulate per policy (scaled to 24)",
    )
    parser.add_argument("--ads", type=int, default=120, help="ads in the sandbox merchant")
    args = parser.parse_args()
    if not 1 <= args.hours <= 24:
        parser.error("--hours must be between 1 and 24")

    work = Path(tempfile.mkdtemp(prefix="metricx-bench-requests-"))
    server, url, _ = setup_database(work)
    from metricx.embedded import EmbeddedRedis

    redis_server = EmbeddedRedis(work)
    os.environ.update(
        REDIS_URL=redis_server.start(),
        DATABASE_URL=url,
        METRICX_ENV="test",
        METRICX_DATA_DIR=str(work),
        BCRYPT_ROUNDS="4",
    )
    try:
        run(args.hours, args.ads)
    finally:
        redis_server.stop()
        teardown_database(server, work)


def run(hours: int, ads: int) -> None:
    from metricx import migrate
    from metricx.actor import Actor
    from metricx.config import get_config
    from metricx.sandbox.servers import SandboxServers
    from metricx.services.connections import add_connection
    from metricx.services.workspaces import create_workspace
    from metricx.sync.pipeline import sync_connection

    today = date(2026, 11, 20)
    first_day = datetime(2026, 11, 21, tzinfo=UTC)
    with SandboxServers(
        now=first_day,
        seed=42,
        ads=ads,
        campaigns=12,
        days=100,
        orders_per_day=150,
        today=today,
        tiktok_accounts=1,
    ) as servers:
        c = servers.credentials
        os.environ.update(
            servers.env,
            GOOGLE_CLIENT_ID=c.google_client_id,
            GOOGLE_CLIENT_SECRET=c.google_client_secret,
            GOOGLE_DEVELOPER_TOKEN=c.google_developer_token,
        )
        get_config.cache_clear()
        migrate.upgrade()
        actor = Actor.system(create_workspace("bench-requests", "America/New_York", "USD").id)
        merchant = servers.merchant
        connections = [
            add_connection(actor, "meta", a.external_id, c.meta_access_token)
            for a in merchant.accounts_of("meta")
        ]
        connections += [
            add_connection(
                actor,
                "google",
                a.external_id,
                c.google_refresh_token,
                settings={"login_customer_id": c.google_login_customer_id},
            )
            for a in merchant.accounts_of("google")
        ]
        connections += [
            add_connection(actor, "tiktok", a.external_id, c.tiktok_access_token)
            for a in merchant.accounts_of("tiktok")
        ]
        connections.append(add_connection(actor, "shopify", c.shopify_shop, c.shopify_access_token))
        connections.append(
            add_connection(
                actor, "klaviyo", servers.klaviyo.program.account_id, c.klaviyo_private_key
            )
        )
        # The simulated clock jumps 15 minutes between syncs; the fake's rate limiter runs on
        # the wall clock, so its windows are lifted (the client still paces its calls).
        servers.klaviyo.limits = dict.fromkeys(servers.klaviyo.limits)
        # Steady state first: history backfilled, trees read, the shop's orders in.
        print("backfilling the sandbox merchant ...", flush=True)
        for connection in connections:
            kind = "shop" if connection.provider == "shopify" else "range"
            servers.now = first_day - timedelta(minutes=20)
            sync_connection(
                connection.workspace_id, connection.id, kind, now=first_day - timedelta(minutes=20)
            )

        per_provider = Counter(c.provider for c in connections)
        results = {}
        for label, minutes, day in (
            ("baseline: whole tree every sync", "0", 0),
            ("now: tree at most hourly", "60", 1),
        ):
            os.environ["ENTITY_REFRESH_MINUTES"] = minutes
            os.environ["EMAIL_SYNC_MINUTES"] = minutes
            get_config.cache_clear()
            start = first_day + timedelta(days=day)
            print(f"simulating {hours} h from {start:%Y-%m-%d %H:%M} UTC ({label}) ...", flush=True)
            counted = simulate_day(servers, connections, start, hours)
            results[label] = {p: counted[p] / per_provider[p] for p in per_provider}
            results[label]["klaviyo reports"] = counted["klaviyo reports"]
            results[label]["previews"] = sum(counted[f"{p} previews"] for p in per_provider)

    print()
    print(f"{'requests per connection per day':<34}" + "".join(f"{p:>10}" for p in per_provider))
    for label, figures in results.items():
        print(f"{label:<34}" + "".join(f"{figures[p]:>10.0f}" for p in per_provider))
    base, now = results.values()
    print(
        f"{'ratio now / baseline':<34}"
        + "".join(f"{now[p] / base[p]:>10.2f}" for p in per_provider)
    )
    for label, figures in results.items():
        reports = figures["klaviyo reports"]
        print(
            f"\nKlaviyo ({label}): {reports:.0f} reporting calls a day, "
            f"{reports / KLAVIYO_DAILY_REPORTS:.0%} of the {KLAVIYO_DAILY_REPORTS} allowed"
        )
    print(
        f"\nPreview downloads (from the platforms' CDNs, not their APIs): "
        f"{now['previews']:.0f} a day (once per new creative)"
    )
    google = now.get("google", 0)
    print(
        f"\nGoogle Ads: {google:.0f} requests a day per account, "
        f"{google / GOOGLE_BASIC_DAILY_OPERATIONS:.1%} of Basic access's "
        f"{GOOGLE_BASIC_DAILY_OPERATIONS:,} operations "
        f"({GOOGLE_BASIC_DAILY_OPERATIONS // max(google, 1):.0f} accounts per developer token)"
    )


if __name__ == "__main__":
    main()
