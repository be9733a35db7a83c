"""Google Ads: an account's facts add up to its campaign rows, Performance Max included.

Performance Max campaigns have no ad groups or ads, so `FROM ad_group_ad` never shows their
spend (developers.google.com/google-ads/api/performance-max/reporting); the client puts what
each campaign reports beyond its ads on a synthetic campaign-level leaf.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metricx.connectors.google_ads import GoogleAdsClient, campaign_leaf_id
from metricx.totals import Totals

TODAY = date(2025, 11, 25)
HISTORY_DAYS = 60  # the shared sandbox's history (tests/connectors/conftest.py)
PMAX = "PERFORMANCE_MAX"
CAMPAIGN_FACTS = (
    "SELECT campaign.id, segments.date{hour}, metrics.cost_micros, "
    "metrics.impressions, metrics.clicks, metrics.conversions, "
    "metrics.conversions_value FROM campaign "
    "WHERE segments.date BETWEEN '{since}' AND '{until}'"
)


@pytest.fixture
def customer(merchant):
    return merchant.accounts_of("google")[0]


@pytest.fixture
def pmax(merchant, customer):
    [campaign] = [c for c in merchant.campaigns_of(customer.external_id) if c.objective == PMAX]
    return campaign


def _by_bucket(records) -> dict:
    sums: dict = defaultdict(Totals)
    for r in records:
        sums[(r.day, r.hour)] += Totals.of(r)
    return dict(sums)


def _campaign_totals(
    client: GoogleAdsClient, customer_id: str, since: date, until: date, hourly: bool
) -> dict:
    """The platform's own campaign rows, summed per (day, hour) straight from the JSON."""
    query = CAMPAIGN_FACTS.format(
        hour=", segments.hour" if hourly else "", since=since, until=until
    )
    sums: dict = defaultdict(Totals)
    for row in client.search_stream(customer_id, query):
        m, seg = row.get("metrics", {}), row["segments"]
        key = (date.fromisoformat(seg["date"]), seg.get("hour", 0) if hourly else None)
        sums[key] += Totals(
            Decimal(int(m.get("costMicros", "0"))) / 1_000_000,
            int(m.get("impressions", "0")),
            int(m.get("clicks", "0")),
            Decimal(str(m.get("conversions", 0))),
            Decimal(str(m.get("conversionsValue", 0))),
        )
    return {k: v for k, v in sums.items() if not v.is_zero}


def _merchant_totals(
    merchant, customer_id: str, since: date, until: date, as_of, hourly: bool
) -> dict:
    """Every ad of the account as the merchant delivered it (Performance Max ads included)."""
    sums: dict = defaultdict(Totals)
    for ad in merchant.ads_of(customer_id):
        day = since
        while day <= until:
            if hourly:
                for hour, t in merchant.ad_hourly(ad.external_id, day, as_of).items():
                    sums[(day, hour)] += t
            else:
                sums[(day, None)] += merchant.ad_totals(ad.external_id, day, as_of)
            day += timedelta(days=1)
    return {k: v for k, v in sums.items() if not v.is_zero}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    end_back=st.integers(0, HISTORY_DAYS - 8),
    length=st.integers(1, 7),
    hourly=st.booleans(),
    hours_later=st.integers(0, 40),
)
def test_every_account_day_and_hour_sums_to_the_campaign_rows(
    make_google, sandbox, merchant, now, end_back, length, hourly, hours_later
) -> None:
    # given the platform at some moment (today's running totals, restating conversions)
    sandbox.now = now.replace(hour=0) + timedelta(hours=hours_later)
    as_of = sandbox.now
    client = make_google()
    until = TODAY - timedelta(days=end_back)
    since = until - timedelta(days=length - 1 if not hourly else min(length, 3) - 1)
    for account in merchant.accounts_of("google"):
        # when the client reads the account's facts for the window
        records = client.metrics(account.external_id, since, until, hourly=hourly)
        # then every day (hour) sums exactly to what the campaign rows say
        facts = {k: v for k, v in _by_bucket(records).items() if not v.is_zero}
        campaigns = _campaign_totals(client, account.external_id, since, until, hourly)
        assert facts == campaigns
        # and the campaign rows are the merchant's whole delivery, Performance Max included
        assert campaigns == _merchant_totals(
            merchant, account.external_id, since, until, as_of, hourly
        )


def test_performance_max_spend_arrives_on_its_campaign_leaf(
    make_google, merchant, customer, pmax, now
) -> None:
    # given a Performance Max campaign whose delivery Google shows only per campaign
    day = TODAY - timedelta(days=2)
    pmax_ads = [
        a for a in merchant.ads_of(customer.external_id) if a.campaign_id == pmax.external_id
    ]
    expected = sum((merchant.ad_totals(a.external_id, day, now) for a in pmax_ads), Totals())
    assert expected.spend > 0
    # when a day is read
    records = make_google().metrics(customer.external_id, day, day)
    # then none of its (invisible) ads shows up, and its leaf carries the campaign's totals
    ids = {r.ad_external_id for r in records}
    assert not ids & {a.external_id for a in pmax_ads}
    [leaf] = [r for r in records if r.ad_external_id == campaign_leaf_id(pmax.external_id)]
    assert Totals.of(leaf) == expected
    # and campaigns whose ads cover their totals get no leaf row at all
    assert {i for i in ids if i.startswith("c")} == {campaign_leaf_id(pmax.external_id)}


def test_every_campaign_gets_a_campaign_level_ad_set_and_ad(
    make_google, merchant, customer, pmax
) -> None:
    records = make_google().entities(customer.external_id)
    by_key = {(r.level, r.external_id): r for r in records}
    for campaign in merchant.campaigns_of(customer.external_id):
        leaf = campaign_leaf_id(campaign.external_id)
        adset, ad = by_key[("adset", leaf)], by_key[("ad", leaf)]
        assert (adset.parent_external_id, ad.parent_external_id) == (campaign.external_id, leaf)
        assert adset.status == ad.status == by_key[("campaign", campaign.external_id)].status
        if campaign is pmax:
            assert ad.name == "Performance Max (all asset groups)"
        else:
            assert ad.name == f"{campaign.name} · campaign level"


def _canned(answers: dict[str, list]) -> httpx.MockTransport:
    """A Google Ads stand-in answering each searchStream by the resource it reads."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3599})
        query = json.loads(request.content)["query"]
        resource = query.split(" FROM ")[1].split()[0]
        return httpx.Response(200, json=[{"results": answers[resource]}])

    return httpx.MockTransport(handle)


def _row(campaign: str, day: str, cost: str, ad: str | None = None) -> dict:
    row = {
        "campaign": {"id": campaign},
        "segments": {"date": day},
        "metrics": {"costMicros": cost, "impressions": "10", "conversions": 0.5},
    }
    if ad is not None:
        row["adGroupAd"] = {"ad": {"id": ad}}
    return row


def test_removed_campaigns_and_unconfirmed_ad_rows_keep_the_campaign_totals(sleeps) -> None:
    # given a campaign (since removed) that spent with no ad rows, a campaign whose ads
    # report more than its row (the campaign row was read later and restated), and ad
    # detail for a day the campaign rows say was empty
    answers = {
        "ad_group_ad": [
            _row("1", "2026-11-01", "3000000", ad="11"),
            _row("1", "2026-11-02", "2000000", ad="11"),
        ],
        "campaign": [_row("1", "2026-11-01", "2500000"), _row("9", "2026-11-01", "700000")],
    }
    client = GoogleAdsClient(
        refresh_token="r",
        client_id="c",
        client_secret="s",
        developer_token="d",
        sleep=sleeps.append,
        transport=_canned(answers),
    )
    # when the days are read
    records = client.metrics("123", date(2026, 11, 1), date(2026, 11, 2))
    # then each day sums to the campaign rows, the leaves taking the difference
    assert {k: v.spend for k, v in _by_bucket(records).items()} == {
        (date(2026, 11, 1), None): Decimal("3.2"),
        (date(2026, 11, 2), None): Decimal(0),
    }
    leaves = {
        (r.ad_external_id, r.day): (r.spend, r.impressions, r.conversions)
        for r in records
        if r.ad_external_id.startswith("c")
    }
    assert leaves == {
        ("c1", date(2026, 11, 1)): (Decimal("-0.5"), 0, Decimal(0)),
        ("c9", date(2026, 11, 1)): (Decimal("0.7"), 10, Decimal("0.5")),
        ("c1", date(2026, 11, 2)): (Decimal("-2"), -10, Decimal("-0.5")),
    }
    client.close()


def test_requests_made_counts_api_calls_but_not_token_refreshes(
    make_google, sandbox, customer
) -> None:
    # given a fresh client
    client = make_google()
    # when it reads the tree (customer, campaigns, ad groups, ads, their assets) and a day of
    # facts
    client.entities(customer.external_id)
    client.metrics(customer.external_id, TODAY, TODAY)
    # then seven Ads API requests were counted, and the token request was not
    assert client.requests_made == 7
    assert len(sandbox.requests.of("google", path="googleAds")) == 7
    assert len(sandbox.requests.of("google", path="/token")) == 1
    # and a retried request counts each time it is sent
    sandbox.faults.add("google", "server_error", status=503)
    client.account_info(customer.external_id)
    assert client.requests_made == 9
