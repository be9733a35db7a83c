"""GoogleAdsClient's GAQL against the official protos, google-ads 34.0.0.

Every query the client sends while its public reads run against the sandbox is parsed (GAQL
grammar) and each field it selects, filters or orders on is resolved in the protos of the
configured version (resources.types.*, common.types.segments.Segments,
common.types.metrics.Metrics, enums for literals), then checked to be selectable with its
FROM resource (own fields, segments, metrics, attributed resources: gaql.ATTRIBUTED).
"""

from __future__ import annotations

import importlib
import re

import pytest
from google.ads.googleads import client as sdk_client

from contracts.drive import Traffic, report
from contracts.gaql import ATTRIBUTED, Protos, check, parse
from contracts.inputs import TODAY
from metricx.connectors.versions import DEFAULT_VERSIONS, version_status

VERSION = DEFAULT_VERSIONS["google"]
ENDPOINT = re.compile(rf"^/{VERSION}/customers/(\d+)/googleAds:(search|searchStream)$")
# REST method -> (the SDK's GoogleAdsService method, its request message)
RPCS = {
    "search": ("search", "SearchGoogleAdsRequest"),
    "searchStream": ("search_stream", "SearchGoogleAdsStreamRequest"),
}


@pytest.fixture(scope="module")
def protos() -> Protos:
    return Protos(VERSION)


def _queries(traffic: Traffic) -> list[tuple[str, str]]:
    return [
        (call.label, request.body["query"])
        for call, request in traffic.sent()
        if ENDPOINT.match(request.path)
        and isinstance(request.body, dict)
        and "query" in request.body
    ]


def test_every_public_read_of_the_client_was_driven(google_traffic: Traffic) -> None:
    # given the client's public reads, called with every flag both ways against the sandbox
    # then none was left out for want of an argument, and each one completed
    assert not google_traffic.undriven, report(google_traffic.undriven)
    assert google_traffic.calls, "no public read of GoogleAdsClient was called"
    failed = {c.label: repr(c.error) for c in google_traffic.calls if c.error is not None}
    assert not failed, report(failed)


def test_the_configured_version_is_one_the_sdk_ships_and_is_live() -> None:
    # given the version the connector uses by default
    # then google-ads 34.0.0 ships it (its client accepts it and has its protos) and the
    # connector's end-of-life table says it is live today
    assert VERSION in sdk_client._VALID_API_VERSIONS
    assert importlib.import_module(f"google.ads.googleads.{VERSION}.resources.types.campaign")
    assert version_status("google", VERSION, TODAY).state == "live"


def test_every_api_request_is_a_googleadsservice_search_of_the_configured_version(
    google_traffic: Traffic,
) -> None:
    # given every request the client sent to the Ads API (the OAuth token endpoint aside)
    module = importlib.import_module(
        f"google.ads.googleads.{VERSION}.services.types.google_ads_service"
    )
    service = importlib.import_module(
        f"google.ads.googleads.{VERSION}.services.services.google_ads_service"
    ).GoogleAdsServiceClient
    problems = []
    for call, request in google_traffic.sent():
        if request.path.endswith("/token"):
            continue
        match = ENDPOINT.match(request.path)
        if match is None:
            problems.append(
                f"{call.label}: {request.method} {request.path} is not "
                f"/{VERSION}/customers/<id>/googleAds:search|searchStream"
            )
            continue
        method, message = RPCS[match.group(2)]
        fields = {f.json_name for f in getattr(module, message).pb().DESCRIPTOR.fields}
        unknown = set(request.body or {}) - fields
        if request.method != "POST" or unknown or not hasattr(service, method):
            problems.append(
                f"{call.label}: {request.method} {request.path} body keys "
                f"{sorted(unknown)} are not fields of {message}"
            )
    # then each is a POST to GoogleAdsService.Search/SearchStream with a body of that
    # request message's fields
    assert not problems, report(problems)


def test_every_gaql_field_exists_and_is_selectable_from_its_resource(
    google_traffic: Traffic, protos: Protos
) -> None:
    # given every GAQL query the client sent
    queries = _queries(google_traffic)
    assert queries
    problems = sorted(
        {
            f"{label}: {query}\n    -> {problem}"
            for label, query in queries
            for problem in check(query, protos)
        }
    )
    # then every field resolves in the protos, is selectable with the FROM resource, and
    # every enum literal is a value of its enum
    assert not problems, report(problems)


def test_the_checked_queries_read_metrics_daily_and_hourly(google_traffic: Traffic) -> None:
    # given the parsed queries
    parsed = [parse(query) for _, query in _queries(google_traffic)]
    facts = [q for q in parsed if any(f.startswith("metrics.") for f in q.select)]
    # then metrics were read per day and per hour (docs/design.md: 15-minute sync, daily re-fetch)
    assert any("segments.date" in q.select and "segments.hour" not in q.select for q in facts)
    assert any("segments.hour" in q.select for q in facts)


def test_the_attributed_table_names_only_resources_of_the_version(protos: Protos) -> None:
    # given the attributed-resources table copied from the reference pages
    # then every resource in it, on either side, exists in the configured version's protos
    names = set(ATTRIBUTED) | {r for rs in ATTRIBUTED.values() for r in rs}
    assert {n for n in names if protos.resource(n) is None} == set()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT metrics.cost FROM campaign", "no field 'cost'"),
        ("SELECT ad_group_ad.ad FROM ad_group_ad", "is a message"),
        ("SELECT ad_group.id FROM campaign", "not selectable with FROM campaign"),
        ("SELECT campaign.id FROM campaign WHERE campaign.status = 'DELETED'", "'DELETED'"),
        ("SELECT campaign.id FROM campaigns", "no such resource"),
        ("SELECT asset_group.id FROM asset_group", "add its attributed resources"),
        ("SELECT campaign.id FROM campaign WHERE", "not GAQL"),
        ("SELECT segments.date, metrics.clicks FROM campaign", "finite date range"),
        (
            "SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_9_DAYS",
            "not a date range literal",
        ),
        ("SELECT campaign.id FROM campaign WHERE segments.date >= '2026-13-01'", "YYYY-MM-DD"),
    ],
)
def test_the_check_catches_what_the_protos_do_not_allow(
    query: str, expected: str, protos: Protos
) -> None:
    # given a query with one thing the protos, the grammar or the reference do not allow
    problems = check(query, protos)
    # then exactly that one is reported
    assert len(problems) == 1 and expected in problems[0], problems


def test_the_check_passes_documented_queries(protos: Protos) -> None:
    # given queries of the shapes the Google Ads docs show for reporting
    queries = [
        "SELECT customer.id, customer.currency_code, customer.time_zone FROM customer",
        "SELECT campaign.id, campaign_budget.amount_micros, segments.date, segments.hour, "
        "metrics.cost_micros FROM campaign WHERE segments.date BETWEEN '2026-11-01' AND "
        "'2026-11-30' AND campaign.status IN ('ENABLED', 'PAUSED') ORDER BY metrics.cost_micros"
        " DESC LIMIT 10",
        "SELECT ad_group_ad.ad.id, ad_group.id, campaign.id, metrics.conversions_value "
        "FROM ad_group_ad WHERE segments.date DURING LAST_7_DAYS AND ad_group_ad.status != "
        "'REMOVED'",
        "SELECT conversion_action.id, conversion_action.click_through_lookback_window_days "
        "FROM conversion_action WHERE conversion_action.status = 'ENABLED'",
    ]
    # then nothing is reported
    assert {q: check(q, protos) for q in queries} == {q: [] for q in queries}
