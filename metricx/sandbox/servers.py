"""Start the fake APIs on loopback and hand out what a client needs to reach them.

with SandboxServers(seed=7, now=datetime(2025, 11, 25, 15, tzinfo=UTC)) as sandbox:
    os.environ.update(sandbox.env)        # META_GRAPH_URL, GOOGLE_ADS_URL, ...
    sandbox.slack.messages                # what the fake Slack webhooks received
    sandbox.faults.add("meta", "throttle", times=2)
    ...                                   # sandbox.requests records what was sent
    sandbox.send_webhooks(url, since, until)  # the shop's signed order webhooks
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.fakes.base import FakeServer
from metricx.sandbox.fakes.faults import FaultPlan, RequestLog
from metricx.sandbox.fakes.google_ads import GoogleAdsFake
from metricx.sandbox.fakes.klaviyo import KlaviyoFake
from metricx.sandbox.fakes.meta import MetaFake
from metricx.sandbox.fakes.shopify import ShopifyFake
from metricx.sandbox.fakes.shopify_webhooks import ShopifyWebhooks
from metricx.sandbox.fakes.slack import SlackFake
from metricx.sandbox.fakes.tiktok import TikTokFake
from metricx.sandbox.merchant import Merchant


class SandboxServers:
    """The fake Meta, Google Ads, Shopify, TikTok and Klaviyo APIs serving one merchant, and Slack's
    incoming webhooks, on free ports.

    `now` pins the clock (tests); without it the sandbox follows real time and the merchant's
    history ends today, so a long-running demo keeps getting fresh data. `slack_dir`: where
    the fake Slack writes each message it accepts (a JSON file each; None: memory only).
    """

    def __init__(
        self,
        merchant: Merchant | None = None,
        *,
        now: datetime | None = None,
        credentials: SandboxCredentials | None = None,
        slack_dir: Path | None = None,
        **merchant_knobs: Any,
    ) -> None:
        self.clock = SandboxClock(now)
        if merchant is None:
            merchant_knobs.setdefault("today", self.clock.now().date())
            merchant = Merchant(**merchant_knobs)
        self.merchant = merchant
        self.credentials = credentials or SandboxCredentials()
        self.faults = FaultPlan()
        self.requests = RequestLog()
        self.meta = MetaFake(merchant, self.clock, self.faults, self.credentials)
        self.google = GoogleAdsFake(merchant, self.clock, self.faults, self.credentials)
        self.shopify = ShopifyFake(merchant, self.clock, self.faults, self.credentials)
        self.tiktok = TikTokFake(merchant, self.clock, self.faults, self.credentials)
        self.klaviyo = KlaviyoFake(merchant, self.clock, self.faults, self.credentials)
        self.webhooks = ShopifyWebhooks(merchant.shop, self.credentials)
        self.slack = SlackFake(self.faults, record_dir=slack_dir)
        self._servers = [
            FakeServer(app, self.requests).start()
            for app in (self.meta, self.google, self.shopify, self.slack, self.tiktok, self.klaviyo)
        ]
        meta, google, shopify, slack, tiktok, klaviyo = (s.url for s in self._servers)
        self.env: dict[str, str] = {
            "META_GRAPH_URL": meta,
            "GOOGLE_ADS_URL": google,
            "GOOGLE_OAUTH_TOKEN_URL": f"{google}/token",
            "GOOGLE_OAUTH_AUTHORIZE_URL": f"{google}/o/oauth2/v2/auth",
            "META_OAUTH_DIALOG_URL": meta,
            "SHOPIFY_URL_TEMPLATE": f"{shopify}/{{shop}}/admin/api/{{version}}/graphql.json",
            # Not a setting: where metricx.delivery.slack posts the sandbox's webhooks
            # (hooks.slack.com/services/TSANDBOX/...; see metricx.sandbox.runtime).
            "SANDBOX_SLACK_URL": slack,
            # The client appends /open_api/v1.3/...; the portal page hands out auth codes.
            "TIKTOK_API_URL": tiktok,
            "TIKTOK_AUTH_URL": f"{tiktok}/portal/auth",
            "KLAVIYO_API_URL": klaviyo,
        }

    @property
    def now(self) -> datetime:
        """The sandbox's current moment (what every fake answers "as of")."""
        return self.clock.now()

    @now.setter
    def now(self, moment: datetime | None) -> None:
        self.clock.set(moment)

    def send_webhooks(self, url: str, since: datetime, until: datetime) -> list[int]:
        """POST the shop's signed webhooks for the orders created or changed in (since,
        until] to `url` (a Metricx receiver's /webhooks/shopify); returns the status codes."""
        return self.webhooks.send(url, self.webhooks.order_events(since, until))

    def reset(self) -> None:
        """Forget scripted faults, recorded requests and Slack messages (between tests
        sharing the servers)."""
        self.faults.clear()
        self.requests.clear()
        self.slack.clear()

    def stop(self) -> None:
        for server in self._servers:
            server.stop()

    def __enter__(self) -> SandboxServers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
