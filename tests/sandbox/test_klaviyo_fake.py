"""The fake Klaviyo API over raw HTTP: JSON:API shapes, paging, refusals and rate limits as
Klaviyo documents them, and numbers that are the sandbox email program's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.sandbox.clock import SandboxClock
from metricx.sandbox.credentials import SandboxCredentials
from metricx.sandbox.email_program import EmailProgram
from metricx.sandbox.fakes.base import FakeServer
from metricx.sandbox.fakes.faults import FaultPlan, RequestLog
from metricx.sandbox.fakes.klaviyo import LIMITS, KlaviyoFake, Ticker
from metricx.sandbox.merchant import Merchant

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
TODAY = NOW.date()
CREDENTIALS = SandboxCredentials()
HEADERS = {
    "Authorization": f"Klaviyo-API-Key {CREDENTIALS.klaviyo_private_key}",
    "revision": "2026-10-15",
    "accept": "application/vnd.api+json",
}


class Served:
    def __init__(self) -> None:
        self.merchant = Merchant(
            seed=3, ads=12, campaigns=4, days=40, orders_per_day=25, today=TODAY
        )
        self.faults = FaultPlan()
        self.ticker = Ticker(5_000_000.0)
        self.fake = KlaviyoFake(
            self.merchant, SandboxClock(NOW), self.faults, CREDENTIALS, ticker=self.ticker
        )
        self.server = FakeServer(self.fake, RequestLog()).start()
        self.http = httpx.Client(base_url=self.server.url, headers=HEADERS, timeout=10)

    @property
    def program(self) -> EmailProgram:
        return self.fake.program

    def report(self, route: str, attributes: dict[str, Any], **headers: str) -> httpx.Response:
        body = {"data": {"type": route.removesuffix("s"), "attributes": attributes}}
        return self.http.post(
            f"/api/{route}/",
            json=body,
            headers={"content-type": "application/vnd.api+json", **headers},
        )


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    served = Served()
    yield served
    served.http.close()
    served.server.stop()


@pytest.fixture(autouse=True)
def _fresh(served: Served) -> Iterator[None]:
    served.faults.clear()
    served.fake.limits = dict(LIMITS)
    served.ticker.advance(86_400)  # fresh rate-limit windows
    yield


def first_error(response: httpx.Response) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert isinstance(errors, list) and len(errors) == 1
    assert {"id", "status", "code", "title", "detail", "source"} <= set(errors[0])
    assert errors[0]["status"] == response.status_code
    return errors[0]


def flow_series(served: Served, start: str, end: str, **extra: Any) -> httpx.Response:
    return served.report(
        "flow-series-reports",
        {
            "statistics": ["recipients", "conversions", "conversion_value", "open_rate"],
            "timeframe": {"start": start, "end": end},
            "interval": "daily",
            "conversion_metric_id": served.program.placed_order_metric_id,
            **extra,
        },
    )


def test_the_account_is_a_jsonapi_resource_with_zone_and_currency(served: Served):
    response = served.http.get("/api/accounts/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert response.headers["ratelimit-limit"] == "15"
    (account,) = response.json()["data"]
    assert account["type"] == "account" and account["id"] == served.program.account_id
    attributes = account["attributes"]
    assert attributes["timezone"] == "America/New_York"
    assert attributes["preferred_currency"] == "USD"
    assert attributes["contact_information"]["organization_name"] == "Northwind Outfitters"


def test_campaigns_need_a_channel_filter(served: Served):
    response = served.http.get("/api/campaigns/")

    assert response.status_code == 400
    error = first_error(response)
    assert error["code"] == "invalid" and error["source"] == {"parameter": "filter"}
    assert "channel filter is required" in error["detail"]


def test_campaign_pages_follow_links_next_to_every_campaign_of_the_channel(served: Served):
    url: str | None = "/api/campaigns/?filter=equals(messages.channel,'email')&page[size]=3"
    seen, pages = [], 0
    while url:
        body = served.http.get(url).json()
        assert len(body["data"]) <= 3
        seen += body["data"]
        pages += 1
        url = body["links"].get("next")

    expected = [c for c in served.program.campaigns_until(NOW) if c.channel == "email"]
    assert [c["id"] for c in seen] == [c.external_id for c in expected]
    assert pages == -(-len(expected) // 3)
    newsletter = seen[0]["attributes"]
    assert newsletter["name"] == "Weekly Newsletter" and newsletter["status"] == "Sent"
    assert seen[0]["relationships"]["campaign-messages"]["data"][0]["type"] == "campaign-message"


def test_flows_page_at_most_fifty(served: Served):
    assert served.http.get("/api/flows/", params={"page[size]": "51"}).status_code == 400

    flows = served.http.get("/api/flows/").json()["data"]

    assert [f["attributes"]["name"] for f in flows] == [f.name for f in served.program.flows]
    assert {f["attributes"]["status"] for f in flows} == {"live"}


def test_metrics_filter_on_the_integration(served: Served):
    response = served.http.get(
        "/api/metrics/", params={"filter": "equals(integration.name,'Shopify')"}
    )

    names = {m["attributes"]["name"]: m["id"] for m in response.json()["data"]}
    assert names["Placed Order"] == served.program.placed_order_metric_id
    assert "Opened Email" not in names


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Authorization": "Bearer pk_whatever"}, 401, "not_authenticated"),
        ({"Authorization": "Klaviyo-API-Key pk_wrong"}, 401, "authentication_failed"),
        ({"revision": ""}, 400, "invalid"),
        ({"revision": "2024-06-15"}, 410, "gone"),
    ],
)
def test_requests_without_valid_key_or_revision_are_refused(
    served: Served, headers: dict[str, str], status: int, code: str
):
    response = served.http.get("/api/flows/", headers=headers)

    assert response.status_code == status
    assert first_error(response)["code"] == code


def test_a_key_without_the_scope_is_forbidden(served: Served):
    served.fake.scopes.discard("metrics:read")
    try:
        response = served.http.get("/api/metrics/")
    finally:
        served.fake.scopes.add("metrics:read")

    assert response.status_code == 403
    assert first_error(response)["code"] == "permission_denied"


def test_flow_series_are_the_programs_daily_sends_of_each_flow_message(served: Served):
    response = flow_series(served, "2026-11-01T00:00:00", "2026-11-08T00:00:00")

    assert response.status_code == 200
    report = response.json()["data"]
    assert report["type"] == "flow-series-report"
    days = [datetime.fromisoformat(t).date() for t in report["attributes"]["date_times"]]
    assert days == [TODAY.replace(day=d) for d in range(1, 8)]
    assert report["attributes"]["date_times"][0] == "2026-11-01T00:00:00-04:00"  # local midnight
    for result in report["attributes"]["results"]:
        message = served.program.message(result["groupings"]["flow_message_id"])
        assert message is not None and result["groupings"]["send_channel"] == message.channel
        truth = [served.program.flow_message_day(message, day, NOW) for day in days]
        assert result["statistics"]["recipients"] == [t.recipients for t in truth]
        assert result["statistics"]["conversions"] == [t.conversions for t in truth]
        assert result["statistics"]["conversion_value"] == [t.conversion_cents / 100 for t in truth]


def test_campaign_values_put_a_campaign_on_its_send_day(served: Served):
    response = served.report(
        "campaign-values-reports",
        {
            "statistics": ["recipients", "conversions", "conversion_value"],
            "timeframe": {"start": "2026-11-02T00:00:00", "end": "2026-11-09T00:00:00"},
            "conversion_metric_id": served.program.placed_order_metric_id,
        },
    )

    results = response.json()["data"]["attributes"]["results"]
    sent = [
        c
        for c in served.program.campaigns
        if TODAY.replace(day=2) <= served.program.local_day(c.send_time) < TODAY.replace(day=9)
    ]
    assert {r["groupings"]["campaign_id"] for r in results} == {c.external_id for c in sent}
    assert {r["groupings"]["send_channel"] for r in results} == {"email", "sms"}
    for result in results:
        campaign = next(c for c in sent if c.external_id == result["groupings"]["campaign_id"])
        stats = served.program.campaign_stats(campaign, NOW)
        assert result["statistics"]["recipients"] == stats.recipients
        assert result["statistics"]["conversions"] == stats.conversions


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (
            {
                "interval": "daily",
                "timeframe": {"start": "2026-08-01T00:00", "end": "2026-11-01T00:00"},
            },
            "timeframe",
        ),
        ({"conversion_metric_id": "NOPE42"}, "conversion_metric_id"),
        ({"group_by": ["flow_id", "send_channel"]}, "group_by"),
        ({"statistics": ["revenue"]}, "statistics"),
        ({"filter": "equals(tag_name,'x')"}, "filter"),
    ],
)
def test_invalid_reports_are_refused_pointing_at_the_attribute(
    served: Served, change: dict[str, Any], pointer: str
):
    attributes = {
        "statistics": ["recipients"],
        "timeframe": {"key": "last_30_days"},
        "interval": "daily",
        "conversion_metric_id": served.program.placed_order_metric_id,
        **change,
    }

    response = served.report("flow-series-reports", attributes)

    assert response.status_code == 400
    assert first_error(response)["source"] == {"pointer": f"/data/attributes/{pointer}"}


def test_reports_are_limited_to_one_a_second_and_two_a_minute(served: Served):
    ok = flow_series(served, "2026-11-01T00:00:00", "2026-11-02T00:00:00")
    burst = flow_series(served, "2026-11-01T00:00:00", "2026-11-02T00:00:00")
    served.ticker.advance(1)
    second = flow_series(served, "2026-11-01T00:00:00", "2026-11-02T00:00:00")
    served.ticker.advance(1)
    steady = flow_series(served, "2026-11-01T00:00:00", "2026-11-02T00:00:00")

    assert (ok.status_code, burst.status_code, second.status_code) == (200, 429, 200)
    assert burst.headers["retry-after"] == "1"
    assert steady.status_code == 429 and first_error(steady)["code"] == "throttled"
    wait = int(steady.headers["retry-after"])
    assert 1 <= wait <= 60 and "ratelimit-limit" not in steady.headers
    served.ticker.advance(wait)
    assert flow_series(served, "2026-11-01T00:00:00", "2026-11-02T00:00:00").status_code == 200


def test_report_endpoints_may_share_one_quota(served: Served):
    values = {
        "statistics": ["recipients"],
        "timeframe": {"key": "last_7_days"},
        "conversion_metric_id": served.program.placed_order_metric_id,
    }
    assert flow_series(served, "2026-11-01T00:00:00", "2026-11-02T00:00:00").status_code == 200
    assert served.report("flow-values-reports", values).status_code == 200  # own quota

    served.fake.shared_report_quota = True
    try:
        served.ticker.advance(120)
        assert served.report("flow-values-reports", values).status_code == 200
        shared = flow_series(served, "2026-11-01T00:00:00", "2026-11-02T00:00:00")
    finally:
        served.fake.shared_report_quota = False

    assert shared.status_code == 429


def test_a_short_page_still_leads_to_the_rest(served: Served):
    served.faults.add("klaviyo", "short_page", rows=2)

    first = served.http.get("/api/flows/").json()
    rest = served.http.get(first["links"]["next"]).json()

    assert len(first["data"]) == 2
    ids = [f["id"] for f in first["data"] + rest["data"]]
    assert ids == [f.external_id for f in served.program.flows]


def test_scripted_faults_answer_as_klaviyo_does(served: Served):
    served.faults.add("klaviyo", "throttle", retry_after=9)
    served.faults.add("klaviyo", "server_error", status=503)

    throttled = served.http.get("/api/flows/")
    failed = served.http.get("/api/flows/")

    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "9"
    assert failed.status_code == 503 and first_error(failed)["status"] == 503
    assert served.http.get("/api/flows/").status_code == 200


@settings(max_examples=25, deadline=None)
@given(
    day_offset=st.integers(min_value=1, max_value=35),
    hours=st.lists(st.integers(min_value=0, max_value=24 * 9), min_size=2, max_size=4),
)
def test_conversions_only_grow_and_stop_after_the_window(
    served: Served, day_offset: int, hours: list[int]
):
    program = served.program
    day = TODAY - timedelta(days=day_offset)
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    moments = sorted(start + timedelta(hours=h) for h in hours)
    for flow in program.flows:
        for message in flow.messages:
            seen = [program.credited(message.external_id, day, m) for m in moments]
            assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in pairwise(seen))
            late = [s for s, m in zip(seen, moments, strict=True) if m > start + timedelta(days=7)]
            assert len(set(late)) <= 1
