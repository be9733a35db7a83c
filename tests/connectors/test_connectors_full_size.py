"""A default-size merchant (120 ads, 180 days) is served and read back in seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from metricx.connectors.google_ads import GoogleAdsClient
from metricx.connectors.meta import MetaClient
from metricx.sandbox.servers import SandboxServers

NOW = datetime(2025, 11, 25, 17, 42, 13, tzinfo=UTC)


def test_six_months_of_daily_metrics_for_every_account_in_seconds() -> None:
    started = time.monotonic()
    with SandboxServers(now=NOW, seed=5, today=NOW.date()) as sandbox:
        merchant, c = sandbox.merchant, sandbox.credentials
        assert len(merchant.tree.ads) == 120
        meta = MetaClient(
            c.meta_access_token,
            base_url=sandbox.env["META_GRAPH_URL"],
            sleep=lambda s: None,
            poll_interval=0,
        )
        google = GoogleAdsClient(
            refresh_token=c.google_refresh_token,
            client_id=c.google_client_id,
            client_secret=c.google_client_secret,
            developer_token=c.google_developer_token,
            base_url=sandbox.env["GOOGLE_ADS_URL"],
            token_url=sandbox.env["GOOGLE_OAUTH_TOKEN_URL"],
            sleep=lambda s: None,
        )
        since, until = merchant.start_day, NOW.date()
        records = []
        for account in merchant.accounts:
            read = meta.insights if account.provider == "meta" else google.metrics
            records.extend(read(account.external_id, since, until))
        # every ad that delivered shows up, across the whole history up to today
        assert len({r.ad_external_id for r in records}) > 100
        assert len(records) > 12_000
        assert {r.day for r in records} == {since + timedelta(days=i) for i in range(180)}
    assert time.monotonic() - started < 15
