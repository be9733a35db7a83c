"""The sandbox merchant can advertise on TikTok too, without changing anything else about it."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.sandbox.calendar import day_bounds
from metricx.sandbox.entities import TIKTOK, TIKTOK_CAMPAIGNS, AdSet, Campaign, Tree
from metricx.sandbox.merchant import Merchant
from metricx.sandbox.orders import Order
from metricx.totals import CONVERSIONS, DELIVERY, Totals

TODAY = date(2025, 11, 25)
NOW = datetime(2025, 11, 25, 17, 42, 13, tzinfo=UTC)
SMALL: dict[str, Any] = {"days": 20, "ads": 30, "orders_per_day": 10, "today": TODAY}
# v1.3 objective_type values (business-api.tiktok.com/portal/docs, "Create a campaign")
OBJECTIVES = {"PRODUCT_SALES", "WEB_CONVERSIONS", "TRAFFIC", "REACH", "VIDEO_VIEWS"}


KNOBS = dict(
    seed=7, days=45, ads=36, orders_per_day=40, today=TODAY, tiktok_accounts=2, tiktok_campaigns=6
)


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    """A small merchant with two TikTok advertisers and six TikTok campaigns (this module's
    `merchant`, in place of the TikTok-less one of conftest.py)."""
    return Merchant(**KNOBS)


def _tiktok_ads(merchant: Merchant) -> list[str]:
    return [ad.external_id for ad in merchant.tree.ads if ad.provider == TIKTOK]


def _without_tiktok(tree: Tree) -> Tree:
    return Tree(
        tuple(a for a in tree.accounts if a.provider != TIKTOK),
        tuple(c for c in tree.campaigns if c.provider != TIKTOK),
        tuple(s for s in tree.adsets if s.provider != TIKTOK),
        tuple(ad for ad in tree.ads if ad.provider != TIKTOK),
    )


def _sum(hours: dict[int, Totals]) -> Totals:
    total = Totals(Decimal(0), 0, 0, Decimal(0), Decimal(0), Decimal(0))
    for value in hours.values():
        total = total + value
    return total


def _paid_visits(orders: list[Order]) -> list[dict[str, list[str]]]:
    """The query strings of every first and last visit of the orders."""
    return [
        parse_qs(urlsplit(visit.landing_page).query)
        for order in orders
        if order.journey is not None
        for visit in (order.journey.first_visit, order.journey.last_visit)
        if visit is not None
    ]


def test_tiktok_advertisers_look_like_tiktok_ones(merchant: Merchant) -> None:
    # when the merchant's TikTok advertisers are listed
    advertisers = merchant.accounts_of(TIKTOK)
    # then there are two, with 19-digit numeric ids, in USD, in their own time zones
    assert [a.name for a in advertisers] == [
        "Northwind Outfitters - TikTok",
        "Northwind Outfitters - TikTok 2",
    ]
    assert all(len(a.external_id) == 19 and a.external_id.startswith("7") for a in advertisers)
    assert all(a.external_id.isdigit() for a in advertisers)
    assert [(a.currency, a.timezone) for a in advertisers] == [
        ("USD", "America/New_York"),
        ("USD", "America/Los_Angeles"),
    ]


def test_tiktok_campaign_tree_is_complete(merchant: Merchant) -> None:
    # given the TikTok campaigns, ad groups and ads of both advertisers
    advertisers = merchant.accounts_of(TIKTOK)
    campaigns = [c for a in advertisers for c in merchant.campaigns_of(a.external_id)]
    adgroups = [s for a in advertisers for s in merchant.adsets_of(a.external_id)]
    ads = [ad for a in advertisers for ad in merchant.ads_of(a.external_id)]
    # then the six campaigns are named and aimed as TikTok campaigns are
    assert len(campaigns) == 6
    assert {c.name for c in campaigns} == {name for name, _, _ in TIKTOK_CAMPAIGNS[:6]}
    assert {c.objective for c in campaigns} <= OBJECTIVES
    assert all(len(x.external_id) == 19 for x in (*campaigns, *adgroups, *ads))
    # and every campaign has 2-3 ad groups with 1-3 ads each, all under the same advertiser
    for camp in campaigns:
        groups = [s for s in adgroups if s.campaign_id == camp.external_id]
        assert 2 <= len(groups) <= 3
        for group in groups:
            under = [ad for ad in ads if ad.adset_id == group.external_id]
            assert 1 <= len(under) <= 3
            assert {ad.account_id for ad in under} == {camp.account_id}
    assert sum(ad.share for ad in ads) == pytest.approx(len(campaigns))


def test_tiktok_budgets_are_daily_and_above_tiktoks_minimums(merchant: Merchant) -> None:
    for account in merchant.accounts_of(TIKTOK):
        for camp in merchant.campaigns_of(account.external_id):
            groups = [s for s in merchant.adsets_of(account.external_id)]
            groups = [s for s in groups if s.campaign_id == camp.external_id]
            if camp.budget is not None:
                # a campaign budget: at least $50 a day, its ad groups have none
                assert camp.budget_mode == "BUDGET_MODE_DAY"
                assert camp.budget >= 50
                assert all(s.budget is None for s in groups)
                assert {s.budget_mode for s in groups} == {"BUDGET_MODE_INFINITE"}
            else:
                # otherwise every ad group has at least $20 a day
                assert camp.budget_mode == "BUDGET_MODE_INFINITE"
                assert all(s.budget is not None and s.budget >= 20 for s in groups)
    kinds = {c.budget is None for c in merchant.tree.campaigns if c.provider == TIKTOK}
    assert kinds == {True, False}


def test_tiktok_never_spends_more_than_a_days_budget(merchant: Merchant) -> None:
    # given every TikTok budget (campaign or ad group) and every day of the history
    tree = merchant.tree
    holders: list[Campaign | AdSet] = [*tree.campaigns, *tree.adsets]
    for holder in holders:
        if holder.provider != TIKTOK or holder.budget is None:
            continue
        under = [
            ad
            for ad in tree.ads
            if holder.external_id in (ad.campaign_id, ad.adset_id) and ad.provider == TIKTOK
        ]
        for back in range(45):
            day = TODAY - timedelta(days=back)
            # then what its ads spent that day stays within the budget
            spent = sum(merchant.ad_totals(ad.external_id, day, NOW).spend for ad in under)
            assert spent <= holder.budget


def test_tiktok_statuses_are_enable_and_disable(merchant: Merchant) -> None:
    # given a TikTok campaign that is paused during the history
    paused = [c for c in merchant.tree.campaigns if c.provider == TIKTOK and c.paused_at]
    assert paused
    camp = paused[0]
    assert camp.paused_at is not None
    # then it reads ENABLE before, DISABLE from then on (TikTok's operation_status)
    assert camp.status_at(camp.paused_at - timedelta(seconds=1)) == "ENABLE"
    assert camp.status_at(camp.paused_at) == "DISABLE"
    # and it spends nothing once paused
    ad = next(a for a in merchant.tree.ads if a.campaign_id == camp.external_id)
    day_after = camp.paused_at.date() + timedelta(days=1)
    assert merchant.ad_totals(ad.external_id, day_after, NOW).spend == 0
    # while Meta and Google keep their own words
    meta = next(c for c in merchant.tree.campaigns if c.provider == "meta" and not c.paused_at)
    google = next(c for c in merchant.tree.campaigns if c.provider == "google" and not c.paused_at)
    assert (meta.status_at(NOW), google.status_at(NOW)) == ("ACTIVE", "ENABLED")


def test_tiktok_is_cheap_reach_spending_a_fraction_of_meta(merchant: Merchant) -> None:
    # given all delivery of the finished days of the history
    days = [TODAY - timedelta(days=back) for back in range(1, 45)]
    spend: dict[str, Decimal] = {}
    impressions = clicks = 0
    for ad in merchant.tree.ads:
        for day in days:
            totals = merchant.ad_totals(ad.external_id, day, NOW)
            spend[ad.provider] = spend.get(ad.provider, Decimal(0)) + totals.spend
            if ad.provider == TIKTOK:
                impressions += totals.impressions
                clicks += totals.clicks
    # then TikTok spends about a fifth of Meta, at a CPM of $6-10 and a CTR near 1%
    assert Decimal("0.10") <= spend[TIKTOK] / spend["meta"] <= Decimal("0.30")
    assert 6 <= spend[TIKTOK] / impressions * 1000 <= 10.5
    assert 0.005 <= clicks / impressions <= 0.015


def test_same_seed_gives_the_same_tiktok_merchant(merchant: Merchant) -> None:
    # given a second merchant built from the same knobs
    twin = Merchant(**KNOBS)
    # then its TikTok tree, numbers and orders are the same
    assert twin.tree == merchant.tree
    ad_id = _tiktok_ads(merchant)[3]
    day = TODAY - timedelta(days=2)
    assert twin.ad_totals(ad_id, day, NOW) == merchant.ad_totals(ad_id, day, NOW)
    assert twin.ad_hourly(ad_id, TODAY, NOW) == merchant.ad_hourly(ad_id, TODAY, NOW)
    assert twin.shop.orders_until(NOW) == merchant.shop.orders_until(NOW)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), offset=st.integers(0, 44), seconds=st.integers(-3 * 3600, 12 * 86400))
def test_tiktok_hours_sum_exactly_to_the_day(
    merchant: Merchant, data: st.DataObject, offset: int, seconds: int
) -> None:
    # given any TikTok ad, any day and any moment around or after it
    ad_id = data.draw(st.sampled_from(_tiktok_ads(merchant)))
    day = TODAY - timedelta(days=offset)
    tz = merchant.account(merchant.ad(ad_id).account_id).timezone
    as_of = day_bounds(day, tz)[0] + timedelta(seconds=seconds)
    # then its 24 hours add up to the day it reports, to the cent
    hours = merchant.ad_hourly(ad_id, day, as_of)
    assert sorted(hours) == list(range(24))
    assert _sum(hours) == merchant.ad_totals(ad_id, day, as_of)


def test_tiktok_conversions_restate_for_seven_days_then_freeze(merchant: Merchant) -> None:
    # given the TikTok ads on a day shortly before today, and when each closes for good
    day = TODAY - timedelta(days=3)
    assert merchant.policy(TIKTOK).window_days == 7
    ends = {ad_id: merchant.final_after(ad_id, day) for ad_id in _tiktok_ads(merchant)}

    def conversions(back: timedelta) -> Decimal:
        return sum(
            (merchant.ad_totals(ad_id, day, end + back).conversions for ad_id, end in ends.items()),
            Decimal(0),
        )

    final = conversions(timedelta(0))
    assert final > 0
    # when they are asked each day until their window closes
    seen = [conversions(-timedelta(days=k, hours=1)) for k in range(7)]
    # then their conversions moved while the window was open
    assert len(set(seen)) > 1
    assert not any(merchant.is_final(a, day, end - timedelta(hours=1)) for a, end in ends.items())
    # and from then on they never change, whenever asked
    assert all(merchant.is_final(a, day, end) for a, end in ends.items())
    assert conversions(timedelta(days=30)) == final
    for ad_id, end in ends.items():
        assert merchant.ad_totals(ad_id, day, end + timedelta(days=30)) == merchant.ad_totals(
            ad_id, day, end
        )


def test_orders_carry_tiktok_clicks_that_point_at_real_ads(merchant: Merchant) -> None:
    # when the orders of the history are read
    visits = _paid_visits(merchant.shop.orders_until(NOW))
    tiktok = [q for q in visits if q.get("utm_source") == ["tiktok"]]
    # then some came through TikTok: a ttclid, paid_social, and the ids of a real campaign
    assert tiktok
    assert all("ttclid" in q and q["utm_medium"] == ["paid_social"] for q in tiktok)
    tree = merchant.tree
    ids = {c.external_id for c in tree.campaigns if c.provider == TIKTOK}
    names = {c.name for c in tree.campaigns if c.provider == TIKTOK}
    assert all(q["utm_campaign"][0] in ids | names for q in tiktok)
    by_id = [q for q in tiktok if q["utm_campaign"][0] in ids]
    assert by_id
    for q in by_id:
        ad = tree.ad(q["utm_content"][0])
        assert (ad.provider, ad.campaign_id, ad.adset_id) == (
            TIKTOK,
            q["utm_campaign"][0],
            q["utm_term"][0],
        )
    # and the ground truth says TikTok too
    truth = [
        v
        for o in merchant.shop.orders_until(NOW)
        if o.journey is not None
        for v in (o.journey.first_visit, o.journey.last_visit)
        if v is not None and v.channel == TIKTOK
    ]
    assert truth and all(merchant.ad(v.ad_id or "").provider == TIKTOK for v in truth)


def test_no_tiktok_account_means_no_tiktok_visit() -> None:
    # given a merchant without TikTok
    plain = Merchant(seed=7, **SMALL)
    # then no order came through TikTok
    visits = _paid_visits(plain.shop.orders_until(NOW))
    assert visits
    assert not [q for q in visits if "ttclid" in q or q.get("utm_source") == ["tiktok"]]
    assert not plain.accounts_of(TIKTOK)


def six_facts(totals: Totals) -> str:
    """The repr Totals had before video facts joined it (the fingerprint was taken then)."""
    facts = ", ".join(f"{n}={getattr(totals, n)!r}" for n in (*DELIVERY, *CONVERSIONS))
    return f"Totals({facts})"


def test_without_tiktok_the_merchant_is_what_it_was() -> None:
    # given the merchant of seed 7 with no TikTok account
    plain = Merchant(seed=7, **SMALL)
    # when its tree and a sample of its ad numbers are fingerprinted
    digest = hashlib.sha256(repr(plain.tree).encode())
    for ad in plain.tree.ads:
        for back in (0, 3, 15):
            day = TODAY - timedelta(days=back)
            digest.update(six_facts(plain.ad_totals(ad.external_id, day, NOW)).encode())
    # then it is exactly the fingerprint taken from the sandbox before TikTok existed
    assert digest.hexdigest() == "2d27b2ff26fef384946eb99fa9b538029da25831e015267f8242cb41effb73ff"
    # and TikTok knobs without a TikTok account change nothing, orders included
    knobbed = Merchant(
        seed=7, tiktok_accounts=0, tiktok_campaigns=9, tiktok_restatement_days=3, **SMALL
    )
    assert knobbed.tree == plain.tree
    assert knobbed.shop.orders_until(NOW) == plain.shop.orders_until(NOW)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 100_000), tiktok_accounts=st.integers(1, 2))
def test_adding_tiktok_leaves_meta_and_google_untouched(seed: int, tiktok_accounts: int) -> None:
    # given the same merchant without and with TikTok
    plain = Merchant(seed=seed, **SMALL)
    with_tiktok = Merchant(seed=seed, tiktok_accounts=tiktok_accounts, **SMALL)
    # then Meta and Google have the same accounts, campaigns, ad sets and ads
    assert _without_tiktok(with_tiktok.tree) == plain.tree
    # and report the same numbers, day by day and hour by hour
    for ad in plain.tree.ads:
        for back in (0, 1, 6, 19):
            day = TODAY - timedelta(days=back)
            assert with_tiktok.ad_totals(ad.external_id, day, NOW) == plain.ad_totals(
                ad.external_id, day, NOW
            )
        assert with_tiktok.ad_hourly(ad.external_id, TODAY, NOW) == plain.ad_hourly(
            ad.external_id, TODAY, NOW
        )
    # and the shop keeps its products and its featured campaigns
    assert with_tiktok.shop.products == plain.shop.products
    assert with_tiktok.shop.featured == plain.shop.featured
