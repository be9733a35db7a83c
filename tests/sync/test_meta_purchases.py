"""Meta purchases survive the nightly re-fetch: Meta's hourly rows carry none, so each day's
conversions come from its daily rows (S1 per metric family), on every past day."""

from __future__ import annotations

from datetime import timedelta

from sandbox_fixtures import NOW, platform_day_totals, stored_day_totals

from metricx.semantic.dates import today_in
from metricx.sync.pipeline import sync_connection
from metricx.totals import Totals


def test_every_past_day_keeps_its_purchases_after_the_nightly_refetch(fakes, connections):
    # given a Meta account whose days were first filled by 15-minute syncs
    connection = connections["meta"]
    account = fakes.merchant.account(connection.external_account_id)
    for quarter in range(4):
        at = NOW + timedelta(minutes=15 * quarter)
        fakes.now = at
        sync_connection(connection.workspace_id, connection.id, "intraday", now=at)
    # when the nightly re-fetch replaces its restatement window from the hourly breakdown
    outcome = sync_connection(connection.workspace_id, connection.id, "range", now=NOW)
    assert outcome.status == "success", outcome.error
    # then every past day holds the purchases, values and leads Meta reports for it
    today = today_in(account.timezone, NOW)
    days = [
        today - timedelta(days=d)
        for d in range(28, 0, -1)
        if today - timedelta(days=d) >= fakes.merchant.start_day
    ]
    stored = stored_day_totals(connection.id, account.timezone, days)
    reported = platform_day_totals(fakes.merchant, account.external_id, days, NOW)
    assert stored == reported
    purchases = {
        day: sum((t.conversions for (_, d), t in stored.items() if d == day), Totals().conversions)
        for day in days
    }
    assert len(days) >= 14 and all(purchases[day] > 0 for day in days), purchases
