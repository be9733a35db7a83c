"""MetaClient's requests against the official SDK, facebook-business 26.0.3.

Every Graph request the client sends while its public reads run against the sandbox is
rebuilt with the SDK (`AdAccount.get_insights(pending=True)`, `get_campaigns`, `get_ad_sets`,
`get_ads`, `AdReportRun.api_get`, ...); each requested field must be in the SDK's `Field` list
of the object it targets (AdsInsights.Field, Campaign.Field, AdSet.Field, Ad.Field,
AdAccount.Field, AdReportRun.Field), each parameter in the SDK's parameter types for that
call, and each enum value (breakdowns, level, action_breakdowns, ...) in the SDK's enum.
"""

from __future__ import annotations

import pytest
from facebook_business import apiconfig
from facebook_business.adobjects.adsinsights import AdsInsights

from contracts.drive import Traffic, report
from contracts.inputs import TODAY
from contracts.meta_sdk import check_request, enum_values, sdk_request
from metricx.connectors.versions import DEFAULT_VERSIONS, META_END_OF_LIFE, version_status

VERSION = DEFAULT_VERSIONS["meta"]
SDK_VERSION = apiconfig.ads_api_config["API_VERSION"]
HOURLY_BREAKDOWNS = {
    "hourly_stats_aggregated_by_advertiser_time_zone",
    "hourly_stats_aggregated_by_audience_time_zone",
}


def test_every_public_read_of_the_client_was_driven(meta_traffic: Traffic) -> None:
    # given the client's public reads, called with every flag both ways against the sandbox
    # then none was left out for want of an argument, and each one completed
    assert not meta_traffic.undriven, report(meta_traffic.undriven)
    assert meta_traffic.calls, "no public read of MetaClient was called"
    failed = {c.label: repr(c.error) for c in meta_traffic.calls if c.error is not None}
    assert not failed, report(failed)


def test_the_default_version_is_the_sdks_or_documented_live() -> None:
    # given the version the connector uses by default and the one the SDK targets
    # then they are equal, or the connector's end-of-life table says the default is live today
    if VERSION != SDK_VERSION:
        status = version_status("meta", VERSION, TODAY)
        assert VERSION in META_END_OF_LIFE and status.state == "live", (
            f"Meta default {VERSION} differs from facebook-business's {SDK_VERSION} and is "
            f"not documented live on {TODAY}: {status.message}"
        )
    assert version_status("meta", SDK_VERSION, TODAY).state == "live"


def test_every_request_goes_to_the_default_version(meta_traffic: Traffic) -> None:
    # when the client talks to the Graph API without being told a version
    paths = {r.path for _, r in meta_traffic.sent()}
    # then every path starts with the default version
    assert paths
    assert {p for p in paths if not p.startswith(f"/{VERSION}/")} == set()


def test_every_field_parameter_and_enum_value_is_in_the_sdk(meta_traffic: Traffic) -> None:
    # given every request the client sent
    problems = [
        f"{call.label}: {problem}"
        for call, request in meta_traffic.sent()
        for problem in check_request(request.method, request.path, request.params, VERSION)
    ]
    # then the SDK knows each field, parameter and enum value in it
    assert not problems, report(problems)


def test_the_checked_traffic_covers_insights_daily_and_hourly_and_the_campaign_tree(
    meta_traffic: Traffic,
) -> None:
    # given the SDK objects the client's requests were checked against
    targets: set[str] = set()
    breakdowns: list[set[str]] = []
    for _, request in meta_traffic.sent():
        built = sdk_request(request.method, request.path, VERSION)
        if built is None or isinstance(built, str):
            continue
        targets.add(built._target_class.__name__)
        if built._endpoint.strip("/") == "insights" and "fields" in request.params:
            breakdowns.append(set(request.params.get("breakdowns", "").split(",")) - {""})
    # then insights, campaigns, ad sets and ads were all among them (docs/design.md: the campaign
    # tree and ad-level facts), with hourly rows and rows without an hourly breakdown
    assert {"AdsInsights", "Campaign", "AdSet", "Ad"} <= targets
    assert any(b & HOURLY_BREAKDOWNS for b in breakdowns), "no hourly insights request"
    assert any(not b & HOURLY_BREAKDOWNS for b in breakdowns), "no daily insights request"


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("act_1/insights", {"fields": "spend,inline_link_click"}, "'inline_link_click'"),
        ("act_1/insights", {"breakdowns": "hourly_stats"}, "'hourly_stats'"),
        ("act_1/insights", {"level": "creative"}, "'creative'"),
        ("act_1/insights", {"time_increment": "91"}, "time_increment"),
        ("act_1/insights", {"rows": "5"}, "'rows'"),
        (
            "act_1/insights",
            {"filtering": '[{"field":"ad.status_x","operator":"IN","value":[]}]'},
            "status_x",
        ),
        ("act_1/adsets", {"fields": "id,objective_x"}, "AdSet.Field"),
        ("act_1", {"fields": "currency,time_zone"}, "'time_zone'"),
        ("act_1/adcampaigns", {}, "not mapped"),
    ],
)
def test_the_check_catches_what_the_sdk_does_not_know(
    path: str, params: dict[str, str], expected: str
) -> None:
    # given a request with one field, parameter or value the SDK does not know
    problems = check_request("GET", f"/{VERSION}/{path}", params, VERSION)
    # then exactly that one is reported
    assert len(problems) == 1 and expected in str(problems[0])


def test_the_check_passes_a_request_built_from_the_sdks_own_lists() -> None:
    # given a daily and an hourly insights request made of SDK constants only
    fields = ",".join(
        (
            AdsInsights.Field.ad_id,
            AdsInsights.Field.spend,
            AdsInsights.Field.inline_link_clicks,
            AdsInsights.Field.actions,
        )
    )
    base = {
        "fields": fields,
        "level": AdsInsights.Level.ad,
        "time_increment": "1",
        "time_range": '{"since":"2026-11-30","until":"2026-12-01"}',
        "limit": "500",
        "action_attribution_windows": "7d_click,1d_view",
    }
    hourly = {
        **base,
        "breakdowns": AdsInsights.Breakdowns.hourly_stats_aggregated_by_advertiser_time_zone,
        "after": "MjQZD",
    }
    # then nothing is reported for either, synchronous or as an async report run
    for params in (base, hourly):
        assert check_request("GET", f"/{VERSION}/act_1/insights", params, VERSION) == []
        assert check_request("POST", f"/{VERSION}/act_1/insights", params, VERSION) == []
    assert enum_values(AdsInsights.Breakdowns) >= HOURLY_BREAKDOWNS
