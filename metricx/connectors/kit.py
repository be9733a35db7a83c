"""What every ad platform's client offers the sync: the connector kit's one interface.

A new ad platform is a client module satisfying `AdPlatformClient` (built on
metricx.connectors.http.BaseClient for the session, retries and backoff, classified into
metricx.connectors.errors, with its versions in metricx.connectors.versions), a fake in
metricx.sandbox.fakes, and one registration: its entry in metricx.platforms and its factory
in metricx.sync.sources.AD_CLIENTS.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Protocol

from metricx.connectors.records import AccountInfo, EntityRecord, MetricRecord


class AdPlatformClient(Protocol):
    """An ad platform read through its API; records are in the account's currency and zone."""

    provider: str
    #: HTTP calls made so far (each platform budgets them: Google's daily operations,
    #: Meta's and TikTok's rate limits).
    requests_made: int

    @property
    def warnings(self) -> Collection[str]:
        """Version or deprecation warnings the platform sent with its answers."""
        ...

    def account_info(self, account_id: str) -> AccountInfo: ...

    def entities(
        self,
        account_id: str,
        *,
        updated_since: datetime | None = None,
        account: AccountInfo | None = None,
    ) -> list[EntityRecord]:
        """The account node and its campaign tree; with `updated_since`, what changed since
        then where the platform can say, else all of it."""
        ...

    def metrics(
        self, account_id: str, since: date, until: date, *, hourly: bool = False
    ) -> list[MetricRecord]:
        """Ad-level facts per account-local day (or hour), since..until inclusive."""
        ...

    def restatement_days(self, account_id: str) -> int:
        """Days back the platform may still change a day's numbers (the nightly re-fetch
        replaces them)."""
        ...

    def download(self, url: str, *, max_bytes: int) -> bytes | None:
        """A file from the platform's CDN (a creative's preview), or None
        (metricx.connectors.http.BaseClient.download)."""
        ...

    def close(self) -> None: ...


def date_windows(since: date, until: date, days: int) -> list[tuple[date, date]]:
    """since..until cut into consecutive inclusive windows of at most `days` days: every
    report API limits the range one request may ask for."""
    out = []
    start = since
    while start <= until:
        end = min(until, start + timedelta(days=days - 1))
        out.append((start, end))
        start = end + timedelta(days=1)
    return out
