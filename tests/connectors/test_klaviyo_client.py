"""KlaviyoClient against the fake Klaviyo API: what it reads equals what the sandbox's email
program holds, it stays inside the Reporting API's limits, and it classifies failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from klaviyo_fixtures import NOW, KlaviyoSandbox, start_klaviyo

from metricx.connectors.errors import (
    AuthError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitedError,
    VersionExpiredError,
)
from metricx.connectors.http import RetryPolicy
from metricx.connectors.records import EmailMetricRecord
from metricx.sandbox.email_program import Stats
from metricx.sandbox.fakes.klaviyo import Limit

TODAY = NOW.date()


@pytest.fixture(scope="module")
def klaviyo() -> Iterator[KlaviyoSandbox]:
    yield from start_klaviyo()


@pytest.fixture(autouse=True)
def _fresh(klaviyo: KlaviyoSandbox) -> Iterator[None]:
    klaviyo.reset()
    yield
    klaviyo.reset()


def truth(klaviyo: KlaviyoSandbox, since: date, until: date) -> dict[tuple, Stats]:
    return {
        (ident, channel, day): stats
        for (ident, channel, day), stats in klaviyo.program.daily(since, until, NOW).items()
    }


def as_stats(records: list[EmailMetricRecord]) -> dict[tuple, Stats]:
    out = {}
    for r in records:
        assert (r.message_external_id, r.channel, r.day) not in out
        out[(r.message_external_id, r.channel, r.day)] = Stats(
            r.recipients,
            r.delivered,
            r.opens,
            r.clicks,
            r.conversions,
            int(r.conversion_value * 100),
        )
        assert r.conversion_value * 100 == int(r.conversion_value * 100)  # exact cents
    return out


def test_account_is_the_keys_account_in_the_shops_zone_and_currency(klaviyo: KlaviyoSandbox):
    account = klaviyo.client().account_info()

    program = klaviyo.program
    assert (account.external_id, account.name) == (program.account_id, program.name)
    assert (account.currency, account.timezone) == ("USD", "America/New_York")


def test_messages_are_every_campaign_of_both_channels_and_every_flow(klaviyo: KlaviyoSandbox):
    messages = klaviyo.client().messages()

    campaigns = klaviyo.program.campaigns_until(NOW)
    got = {(m.external_id, m.kind, m.channel) for m in messages}
    assert got == {(c.external_id, "campaign", c.channel) for c in campaigns} | {
        (f.external_id, "flow", None) for f in klaviyo.program.flows
    }
    filters = [r.params.get("filter") for r in klaviyo.log.of(path="/api/campaigns")]
    assert filters == ["equals(messages.channel,'email')", "equals(messages.channel,'sms')"]
    sent = next(m for m in messages if m.kind == "campaign" and m.status == "Sent")
    assert sent.send_time is not None and sent.send_time <= NOW


def test_small_pages_are_followed_to_the_end(klaviyo: KlaviyoSandbox):
    whole = klaviyo.client().messages()
    klaviyo.log.clear()

    paged = klaviyo.client(page_size=4).messages()

    assert paged == whole
    assert len(klaviyo.log.of(path="/api/campaigns")) > 2
    assert len(klaviyo.log.of(path="/api/flows")) == 2  # six flows, four a page


def test_conversion_metric_is_shopifys_placed_order(klaviyo: KlaviyoSandbox):
    assert klaviyo.client().conversion_metric_id() == klaviyo.program.placed_order_metric_id


def test_daily_metrics_equal_the_email_programs_truth_in_two_report_calls(
    klaviyo: KlaviyoSandbox,
):
    # given a 30-day window ending yesterday
    since, until = TODAY - timedelta(days=30), TODAY - timedelta(days=1)
    client = klaviyo.client()

    records = client.daily_metrics(since, until)

    assert as_stats(records) == truth(klaviyo, since, until)
    assert {r.kind for r in records} == {"campaign", "flow"}
    assert {r.channel for r in records} == {"email", "sms"}
    # one campaign values report and one daily flow series, a burst second apart
    assert client.report_calls == 2
    assert klaviyo.sleeps == [pytest.approx(1.0)]
    series = klaviyo.log.of(path="/api/flow-series-reports")[0].body["data"]["attributes"]
    assert series["interval"] == "daily"
    assert series["timeframe"] == {
        "start": f"{since.isoformat()}T00:00:00",
        "end": f"{TODAY.isoformat()}T00:00:00",
    }


def test_a_long_window_reads_the_series_sixty_days_at_a_time(klaviyo: KlaviyoSandbox):
    since, until = TODAY - timedelta(days=74), TODAY
    client = klaviyo.client()

    records = client.daily_metrics(since, until)

    assert as_stats(records) == truth(klaviyo, since, until)
    assert len(klaviyo.log.of(path="/api/flow-series-reports")) == 2
    assert len(klaviyo.log.of(path="/api/campaign-values-reports")) == 1
    assert client.report_calls == 3
    # the third call waited out the steady window (2 a minute) instead of being refused
    assert len(klaviyo.log.of(path="-reports")) == 3
    assert sum(klaviyo.sleeps) == pytest.approx(60.0)


def test_without_spacing_the_client_waits_what_klaviyo_asks(klaviyo: KlaviyoSandbox):
    # given a client that does not space its report calls (three of them in a row)
    client = klaviyo.client(report_spacing=0.0, report_window=0.0)

    records = client.daily_metrics(TODAY - timedelta(days=74), TODAY)

    # then the burst window (1/s) and the steady window (2/min) answered 429 with Retry-After,
    # the client waited exactly that and the numbers are whole
    throttled = [r for r in klaviyo.log.of(path="-reports") if r.fault is None]
    assert len(throttled) > client.report_calls
    assert klaviyo.sleeps and all(s >= 1.0 for s in klaviyo.sleeps)
    assert sum(klaviyo.sleeps) <= 62.0  # two burst seconds and at most one minute window
    assert as_stats(records) == truth(klaviyo, TODAY - timedelta(days=74), TODAY)


def test_a_throttled_report_is_retried_after_the_requested_wait(klaviyo: KlaviyoSandbox):
    klaviyo.faults.add("klaviyo", "throttle", retry_after=7, match="/api/flow-series-reports")
    since, until = TODAY - timedelta(days=10), TODAY - timedelta(days=1)

    records = klaviyo.client().daily_metrics(since, until)

    assert 7.0 in klaviyo.sleeps
    assert as_stats(records) == truth(klaviyo, since, until)


def test_the_daily_report_quota_gives_up_with_the_wait(klaviyo: KlaviyoSandbox):
    # given the reporting quota of the day is spent (225 calls)
    klaviyo.fake.limits["flow-series-reports"] = Limit(burst=1, steady=2, daily=0)

    with pytest.raises(RateLimitedError) as caught:
        klaviyo.client().daily_metrics(TODAY - timedelta(days=3), TODAY - timedelta(days=1))

    # the wait runs to the end of the day window: longer than a worker should sleep
    assert caught.value.retry_after > RetryPolicy().max_wait


def test_server_errors_are_retried_with_backoff(klaviyo: KlaviyoSandbox):
    klaviyo.faults.add("klaviyo", "server_error", times=2, match="/api/accounts")

    account = klaviyo.client().account_info()

    assert account.external_id == klaviyo.program.account_id
    assert klaviyo.sleeps == [2.0, 4.0]


def test_a_refused_key_is_an_auth_error(klaviyo: KlaviyoSandbox):
    with pytest.raises(AuthError) as caught:
        klaviyo.client(private_key="pk_not_the_sandbox_key").account_info()

    assert caught.value.status == 401
    assert klaviyo.sleeps == []


def test_a_key_without_a_read_scope_asks_for_a_new_key(klaviyo: KlaviyoSandbox):
    klaviyo.fake.scopes.discard("flows:read")

    with pytest.raises(AuthError) as caught:
        klaviyo.client().messages()

    assert caught.value.status == 403
    assert "flows:read" in str(caught.value)


def test_a_retired_revision_is_version_expired(klaviyo: KlaviyoSandbox):
    with pytest.raises(VersionExpiredError):
        klaviyo.client(revision="2024-07-15").account_info()


def test_a_rejected_request_is_not_retried(klaviyo: KlaviyoSandbox):
    klaviyo.faults.add("klaviyo", "bad_request", match="/api/metrics")

    with pytest.raises(InvalidRequestError):
        klaviyo.client().conversion_metric_id()

    assert klaviyo.sleeps == []


def test_a_truncated_body_is_malformed(klaviyo: KlaviyoSandbox):
    klaviyo.faults.add("klaviyo", "malformed", match="/api/accounts")

    with pytest.raises(MalformedResponseError):
        klaviyo.client().account_info()


def test_days_older_than_the_attribution_window_no_longer_change(klaviyo: KlaviyoSandbox):
    client = klaviyo.client()
    settled = TODAY - timedelta(days=client.restatement_days() + 1)
    since = settled - timedelta(days=6)
    before = as_stats(client.daily_metrics(since, TODAY - timedelta(days=1)))

    # when three more days have passed
    klaviyo.fake.clock.set(NOW + timedelta(days=3))
    after = as_stats(klaviyo.client().daily_metrics(since, TODAY - timedelta(days=1)))

    old = {k: v for k, v in before.items() if k[2] <= settled}
    assert old and old == {k: v for k, v in after.items() if k[2] <= settled}
    # while the last days still gained orders
    recent = [k for k in before if k[2] > settled]
    assert sum(after[k].conversions for k in recent) > sum(before[k].conversions for k in recent)


def test_klaviyo_claims_more_revenue_than_its_last_clicks(klaviyo: KlaviyoSandbox):
    # given four settled weeks
    until = TODAY - timedelta(days=6)
    since = until - timedelta(days=27)

    records = klaviyo.client().daily_metrics(since, until)

    claimed = sum((r.conversion_value for r in records), Decimal(0))
    last_touch = Decimal(klaviyo.program.last_touch_cents(since, until, NOW)) / 100
    # then Klaviyo's own attribution (opens count, 5-day windows) is well above the revenue
    # of the orders whose last visit came from a Klaviyo link, the story Metricx tells
    assert last_touch > 0
    assert claimed >= last_touch
    assert claimed > Decimal("1.5") * last_touch


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.integers(min_value=1, max_value=70),
    length=st.integers(min_value=2, max_value=65),
    cut=st.floats(min_value=0.0, max_value=1.0),
)
def test_a_window_read_in_two_parts_adds_up_to_the_whole(
    klaviyo: KlaviyoSandbox, start: int, length: int, cut: float
):
    since = TODAY - timedelta(days=start)
    until = min(TODAY, since + timedelta(days=length - 1))
    middle = since + timedelta(days=int(cut * ((until - since).days - 1)))  # < until
    client = klaviyo.client()

    whole = as_stats(client.daily_metrics(since, until))
    parts = as_stats(client.daily_metrics(since, middle)) | as_stats(
        client.daily_metrics(middle + timedelta(days=1), until)
    )

    assert whole == parts
    assert all(since <= day <= until for _, _, day in whole)
