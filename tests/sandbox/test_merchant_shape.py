"""The sandbox merchant looks like a real advertiser and is the same for the same seed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from metricx.sandbox.merchant import Merchant


def test_same_seed_gives_the_same_merchant(
    merchant: Merchant, knobs: dict, now: datetime, today: date
) -> None:
    # given a second merchant built from the same knobs
    twin = Merchant(**knobs)
    # then entities, ad numbers and orders are identical
    assert twin.tree == merchant.tree
    ad = merchant.tree.ads[5]
    day = today - timedelta(days=3)
    assert twin.ad_totals(ad.external_id, day, now) == merchant.ad_totals(ad.external_id, day, now)
    assert twin.ad_hourly(ad.external_id, today, now) == merchant.ad_hourly(
        ad.external_id, today, now
    )
    early = now - timedelta(days=20)
    assert [o.external_id for o in twin.shop.orders_until(early)] == [
        o.external_id for o in merchant.shop.orders_until(early)
    ]


def test_another_seed_gives_another_merchant(merchant: Merchant, knobs: dict) -> None:
    other = Merchant(**{**knobs, "seed": 8})
    assert {a.external_id for a in other.tree.ads}.isdisjoint(
        {a.external_id for a in merchant.tree.ads}
    )


def test_accounts_have_their_own_currency_and_time_zone(merchant: Merchant) -> None:
    meta = merchant.accounts_of("meta")
    google = merchant.accounts_of("google")
    assert [(a.currency, a.timezone) for a in meta] == [
        ("EUR", "Europe/Berlin"),
        ("USD", "America/New_York"),
    ]
    assert [(a.currency, a.timezone) for a in google] == [("USD", "America/Los_Angeles")]
    assert all(a.external_id.isdigit() for a in merchant.accounts)
    assert len(google[0].external_id) == 10


def test_campaign_tree_is_complete_and_believable(merchant: Merchant) -> None:
    tree = merchant.tree
    assert len(tree.campaigns) == 12
    assert len(tree.ads) == 36
    # every ad hangs under an ad set of its own campaign and account
    for ad in tree.ads:
        adset = tree.adset(ad.adset_id)
        assert adset.campaign_id == ad.campaign_id
        assert tree.campaign(ad.campaign_id).account_id == ad.account_id
    assert {a.adset_id for a in tree.ads} == {s.external_id for s in tree.adsets}
    names = {c.name for c in tree.campaigns}
    assert "Brand Search" in names and "Prospecting | Broad | US" in names
    assert all(c.external_id.isdigit() for c in tree.campaigns)
    # some entities get paused, with the date it happened
    paused = [c for c in tree.campaigns if c.paused_at is not None]
    assert paused
    for camp in paused:
        assert camp.status_at(camp.paused_at) == "PAUSED"
        assert camp.status_at(camp.paused_at - timedelta(seconds=1)) in ("ACTIVE", "ENABLED")


def test_paused_campaigns_stop_spending(merchant: Merchant, now: datetime) -> None:
    camp = next(c for c in merchant.tree.campaigns if c.paused_at is not None)
    tz = merchant.account(camp.account_id).timezone
    pause_day = camp.paused_at.astimezone(ZoneInfo(tz)).date()
    ads = [a for a in merchant.tree.ads if a.campaign_id == camp.external_id]
    after = sum(
        (merchant.ad_totals(a.external_id, pause_day + timedelta(days=1), now).spend for a in ads),
        Decimal(0),
    )
    before = sum(
        (merchant.ad_totals(a.external_id, pause_day - timedelta(days=2), now).spend for a in ads),
        Decimal(0),
    )
    assert after == 0
    assert before > 0


def test_some_ads_never_get_a_click(merchant: Merchant, now: datetime, today: date) -> None:
    week = [today - timedelta(days=d) for d in range(1, 8)]
    zero_click = [
        ad
        for ad in merchant.tree.ads
        if sum(merchant.ad_totals(ad.external_id, d, now).impressions for d in week)
        and not sum(merchant.ad_totals(ad.external_id, d, now).clicks for d in week)
    ]
    assert zero_click


def test_campaigns_differ_in_efficiency(merchant: Merchant, now: datetime, today: date) -> None:
    # given ten days of final numbers per campaign
    days = [today - timedelta(days=d) for d in range(30, 40)]
    roas = {}
    for camp in merchant.tree.campaigns:
        spend = value = Decimal(0)
        for ad in (a for a in merchant.tree.ads if a.campaign_id == camp.external_id):
            for day in days:
                t = merchant.ad_totals(ad.external_id, day, now)
                spend, value = spend + t.spend, value + t.conversion_value
        if spend:
            roas[camp.kind] = value / spend
    # then brand search returns much more per dollar than awareness
    assert roas["brand"] > 2 * roas.get("awareness", Decimal("0.5"))


def test_black_friday_raises_spend(today: date) -> None:
    big = Merchant(seed=3, ads=60, days=70, orders_per_day=10, today=today)
    as_of = datetime(2026, 1, 1, tzinfo=UTC)

    def spend(day):
        return sum(
            (big.ad_totals(a.external_id, day, as_of).spend for a in big.tree.ads), Decimal(0)
        )

    black_friday = today + timedelta(days=3)  # 2025-11-28
    assert spend(black_friday) > Decimal("1.3") * spend(black_friday - timedelta(days=21))


def test_money_has_two_decimals_and_conversions_are_whole_on_meta(
    merchant: Merchant, now: datetime, today: date
) -> None:
    day = today - timedelta(days=10)
    for ad in merchant.tree.ads:
        t = merchant.ad_totals(ad.external_id, day, now)
        assert t.spend == t.spend.quantize(Decimal("0.01"))
        assert t.conversion_value == t.conversion_value.quantize(Decimal("0.01"))
        if ad.provider == "meta":
            assert t.conversions == t.conversions.to_integral_value()
    google = [
        merchant.ad_totals(a.external_id, day, now).conversions
        for a in merchant.tree.ads
        if a.provider == "google"
    ]
    assert any(c != c.to_integral_value() for c in google)  # data-driven fractions


def test_mondays_spend_more_than_saturdays(merchant: Merchant, now: datetime, today: date) -> None:
    days = [today - timedelta(days=d) for d in range(7, 43)]

    def total(weekday: int) -> Decimal:
        return sum(
            (
                merchant.ad_totals(a.external_id, d, now).spend
                for d in days
                if d.weekday() == weekday
                for a in merchant.tree.ads
            ),
            Decimal(0),
        )

    assert total(0) > total(5)
