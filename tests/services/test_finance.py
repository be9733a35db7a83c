"""The P&L on a small merchant whose every number is worked out by hand below.

Workspace Acme: USD, days in America/New_York. Four days, Fri Jan 30 – Mon Feb 2, 2026: they
cross a week boundary (Mon Feb 2) and a month boundary (Feb 1).

Cost settings: shipping 5 per order + 10 % of revenue, handling 1 per order, payment fees
2 % of the charged amount + 0.30 per order.

Orders (processed, local time):
- O1 Jan 30 noon, USD: gross 100, discount 10, shipping 5, tax 8, COGS 30
- O2 Jan 30 noon, EUR at 1.5: gross 200 (300), shipping 10 (15), COGS 80 (120)
- O3 Feb 1 23:30 (already Feb 2 in UTC), USD: gross 50, tax 4, COGS 20
- O4 Feb 2 noon, USD: gross 120, COGS 40
- a refund of 20 on O1, made Feb 2
Ad spend: Meta (USD) 40 on Jan 30, 60 on Feb 2; Google (EUR at 1.5) 20 = 30 USD on Jan 31.
Expenses:
- Rent, monthly 310 USD, Jan 1 – Jan 31: 310 / 31 days = 10 a day in January
- Photo shoot, one-off 100 EUR on Feb 1, at 1.2 = 120 USD
- Agency fee, 10 % of revenue, from Jan 1
- Influencer, monthly 280 USD from Feb 1, counts as ad spend: 280 / 28 days = 10 a day

Per day (revenue = net sales + shipping charged):
Jan 30: gross 400, discounts 10, net 390, shipping 20, taxes 8, revenue 410, COGS 150,
  shipping costs 2×5 + 41 = 51, handling 2, fees 2 % of 418 + 0.60 = 8.96,
  profit before ad spend 410 − 150 − 51 − 2 − 8.96 = 198.04, ad spend 40,
  contribution 158.04, other expenses 10 rent + 41 agency = 51, net profit 107.04
Jan 31: nothing sold; Google 30; rent 10; net profit −40; margins null (no revenue)
Feb 1: gross 50, taxes 4, revenue 50, COGS 20, shipping costs 10, handling 1,
  fees 2 % of 54 + 0.30 = 1.38, before ad spend 17.62, ad spend 10 (influencer),
  contribution 7.62, other 120 photo shoot + 5 agency = 125, net profit −117.38
Feb 2: gross 120, refunds 20, net 100, revenue 100, COGS 40, shipping costs 15, handling 1,
  fees 2.70, before ad spend 41.30, ad spend 60 Meta + 10 influencer = 70,
  contribution −28.70, other 10 agency, net profit −38.70
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import delete

from metricx.db import transaction
from metricx.models import (
    Connection,
    Entity,
    FxRate,
    MetricSnapshot,
    ShopifyOrder,
    ShopifyRefund,
    ShopifyShop,
)
from metricx.semantic.engine import MissingFxRateError
from metricx.services import expenses, settings
from metricx.services.finance import LINE_IDS, profit_and_loss
from metricx.sync import rollup

START, END = date(2026, 1, 30), date(2026, 2, 2)
FIELDS = (
    "gross_sales",
    "discounts",
    "refunds",
    "net_sales",
    "shipping_charged",
    "taxes",
    "store_revenue",
    "cogs",
    "gross_profit",
    "shipping_costs",
    "handling",
    "payment_fees",
    "profit_before_ad_spend",
    "ad_spend_meta",
    "ad_spend_google",
    "ad_spend_tiktok",
    "ad_spend_expenses",
    "ad_spend",
    "contribution_margin",
    "other_expenses",
    "net_profit",
)
N = None  # a margin over no revenue
DAYS = {  # every money line of FIELDS, then the four margins (profit line ÷ revenue)
    date(2026, 1, 30): (
        400,
        10,
        0,
        390,
        20,
        8,
        410,
        150,
        240,
        51,
        2,
        8.96,
        198.04,
        40,
        0,
        0,  # TikTok: no spend in this workspace
        0,
        40,
        158.04,
        51,
        107.04,
        240 / 410,
        198.04 / 410,
        158.04 / 410,
        107.04 / 410,
    ),
    date(2026, 1, 31): (
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        30,
        0,  # TikTok: no spend in this workspace
        0,
        30,
        -30,
        10,
        -40,
        N,
        N,
        N,
        N,
    ),
    date(2026, 2, 1): (
        50,
        0,
        0,
        50,
        0,
        4,
        50,
        20,
        30,
        10,
        1,
        1.38,
        17.62,
        0,
        0,
        0,  # TikTok: no spend in this workspace
        10,
        10,
        7.62,
        125,
        -117.38,
        30 / 50,
        17.62 / 50,
        7.62 / 50,
        -117.38 / 50,
    ),
    date(2026, 2, 2): (
        120,
        0,
        20,
        100,
        0,
        0,
        100,
        40,
        60,
        15,
        1,
        2.70,
        41.30,
        60,
        0,
        0,  # TikTok: no spend in this workspace
        10,
        70,
        -28.70,
        10,
        -38.70,
        60 / 100,
        41.30 / 100,
        -28.70 / 100,
        -38.70 / 100,
    ),
}


def ordered_at(day: int, month: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time in January/February (UTC−5) as a UTC instant."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) + timedelta(hours=5)


def add_order(
    session,
    workspace_id: int,
    shop_id: int,
    name: str,
    at: datetime,
    currency: str = "USD",
    **money: int,
) -> ShopifyOrder:
    order = ShopifyOrder(
        workspace_id=workspace_id,
        shop_id=shop_id,
        external_id=name,
        name=name,
        created_at=at,
        processed_at=at,
        updated_at=at,
        currency=currency,
        **{k: Decimal(v) for k, v in money.items()},
    )
    session.add(order)
    session.flush()
    return order


def add_shop(session, workspace_id: int, currency: str) -> int:
    connection = Connection(
        workspace_id=workspace_id,
        provider="shopify",
        external_account_id=f"shop-{workspace_id}.myshopify.com",
        name="Shop",
        currency=currency,
    )
    session.add(connection)
    session.flush()
    shop = ShopifyShop(
        workspace_id=workspace_id,
        connection_id=connection.id,
        domain=connection.external_account_id,
        name="Shop",
        currency=currency,
        timezone="America/New_York",
    )
    session.add(shop)
    session.flush()
    return shop.id


def add_spend(
    session, workspace_id: int, provider: str, currency: str, spend: dict[date, int]
) -> None:
    """One ad of a new connection, spending `spend` at noon of each day (hourly rows)."""
    connection = Connection(
        workspace_id=workspace_id,
        provider=provider,
        external_account_id=f"{provider}-{workspace_id}",
        name=provider,
        currency=currency,
    )
    session.add(connection)
    session.flush()
    ad = Entity(
        workspace_id=workspace_id,
        connection_id=connection.id,
        level="ad",
        external_id="ad-1",
        name="Ad 1",
    )
    session.add(ad)
    session.flush()
    for day, amount in spend.items():
        session.add(
            MetricSnapshot(
                workspace_id=workspace_id,
                entity_id=ad.id,
                bucket_start=ordered_at(day.day, day.month, 12),
                granularity="1h",
                spend=Decimal(amount),
                impressions=0,
                clicks=0,
                conversions=0,
                conversion_value=0,
                leads=0,
            )
        )


@pytest.fixture
def merchant(admin):
    """The merchant of the module docstring, written into Acme."""
    ws = admin.workspace_id
    settings.update_costs(
        admin,
        shipping_cost_per_order="5",
        shipping_cost_pct="0.1",
        handling_per_order="1",
        payment_fee_pct="0.02",
        payment_fee_fixed="0.30",
    )
    with transaction() as session:
        shop = add_shop(session, ws, "USD")
        o1 = add_order(
            session,
            ws,
            shop,
            "#1",
            ordered_at(30, 1, 12),
            gross_sales=100,
            discounts=10,
            shipping=5,
            taxes=8,
            cogs=30,
        )
        add_order(
            session,
            ws,
            shop,
            "#2",
            ordered_at(30, 1, 12),
            "EUR",
            gross_sales=200,
            shipping=10,
            cogs=80,
        )
        add_order(
            session, ws, shop, "#3", ordered_at(1, 2, 23, 30), gross_sales=50, taxes=4, cogs=20
        )
        add_order(session, ws, shop, "#4", ordered_at(2, 2, 12), gross_sales=120, cogs=40)
        session.add(
            ShopifyRefund(
                workspace_id=ws,
                order_id=o1.id,
                external_id="r1",
                created_at=ordered_at(2, 2, 9),
                amount=Decimal(20),
                sales=Decimal(20),
            )
        )
        add_spend(session, ws, "meta", "USD", {date(2026, 1, 30): 40, date(2026, 2, 2): 60})
        add_spend(session, ws, "google", "EUR", {date(2026, 1, 31): 20})
        for day, rate in ((30, "1.5"), (31, "1.5")):
            session.add(
                FxRate(
                    workspace_id=ws,
                    day=date(2026, 1, day),
                    from_currency="EUR",
                    to_currency="USD",
                    rate=Decimal(rate),
                )
            )
        session.add(
            FxRate(
                workspace_id=ws,
                day=date(2026, 2, 1),
                from_currency="EUR",
                to_currency="USD",
                rate=Decimal("1.2"),
            )
        )
        session.flush()
        rollup.rebuild(session, ws)  # the daily rollups the query engine reads
    expenses.add_expense(
        admin,
        name="Rent",
        kind="monthly",
        amount="310",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 1, 31),
    )
    expenses.add_expense(
        admin,
        name="Photo shoot",
        kind="one_off",
        amount="100",
        currency="EUR",
        start_date=date(2026, 2, 1),
    )
    expenses.add_expense(
        admin,
        name="Agency fee",
        kind="percent_of_revenue",
        percent="0.1",
        start_date=date(2026, 1, 1),
    )
    expenses.add_expense(
        admin,
        name="Influencer",
        kind="monthly",
        amount="280",
        start_date=date(2026, 2, 1),
        counts_as_ad_spend=True,
    )
    return ws


def expected(*days: date) -> dict[str, float | None]:
    """The lines of several days together, margins recomputed from the summed lines."""
    money = {f: sum(DAYS[d][i] for d in days) for i, f in enumerate(FIELDS)}
    revenue = money["store_revenue"]
    margins = {
        m: (money[p] / revenue if revenue else None)
        for m, p in (
            ("gross_margin", "gross_profit"),
            ("profit_before_ad_spend_margin", "profit_before_ad_spend"),
            ("contribution_margin_rate", "contribution_margin"),
            ("net_margin", "net_profit"),
        )
    }
    return money | margins


def assert_lines(got: pd.Series, want: dict[str, float | None]) -> None:
    assert set(want) == set(LINE_IDS)
    for line, value in want.items():
        if value is None:
            assert pd.isna(got[line]), line
        else:
            assert got[line] == pytest.approx(value, abs=1e-9), line


def test_every_line_of_every_day_matches_the_hand_computation(merchant):
    # Given the merchant above; when the P&L is asked per day
    pnl = profit_and_loss(merchant, START, END, "day")
    # Then each day's lines are the hand-computed ones, margins included
    assert list(pnl.frame.index) == list(DAYS)
    for day, values in DAYS.items():
        fields = [
            *FIELDS,
            "gross_margin",
            "profit_before_ad_spend_margin",
            "contribution_margin_rate",
            "net_margin",
        ]
        assert_lines(pnl.frame.loc[day], dict(zip(fields, values, strict=True)))
    assert_lines(pnl.total, expected(*DAYS))
    assert pnl.total["net_profit"] == pytest.approx(-89.04)
    assert (pnl.currency, pnl.timezone) == ("USD", "America/New_York")


def test_weeks_start_on_monday_and_months_on_the_first(merchant):
    # When the same days are asked per week and per month
    weeks = profit_and_loss(merchant, START, END, "week")
    months = profit_and_loss(merchant, START, END, "month")
    # Then the periods are labelled by their first day and sum their own days only
    jan30, jan31, feb1, feb2 = DAYS
    assert list(weeks.frame.index) == [date(2026, 1, 26), date(2026, 2, 2)]
    assert_lines(weeks.frame.iloc[0], expected(jan30, jan31, feb1))
    assert_lines(weeks.frame.iloc[1], expected(feb2))
    assert list(months.frame.index) == [date(2026, 1, 1), date(2026, 2, 1)]
    assert_lines(months.frame.iloc[0], expected(jan30, jan31))
    assert_lines(months.frame.iloc[1], expected(feb1, feb2))
    assert months.frame.loc[date(2026, 2, 1), "net_profit"] == pytest.approx(-156.08)
    assert_lines(weeks.total, expected(*DAYS))


def test_the_table_and_the_json_contract_carry_lines_periods_and_definitions(merchant):
    pnl = profit_and_loss(merchant, START, END, "month")
    table = pnl.table()
    assert list(table.index) == list(LINE_IDS)
    assert list(table.columns) == ["2026-01-01", "2026-02-01", "total"]
    contract = pnl.to_contract()
    assert contract["columns"][0] == "month" and contract["rows"][0][0] == "2026-01-01"
    assert contract["total"]["net_profit"] == pytest.approx(-89.04)
    assert contract["rows"][0][contract["columns"].index("ad_spend_google")] == 30
    assert contract["meta"]["currency"] == "USD"
    assert "net profit" in contract["meta"]["definitions"]["net_profit"].lower()


def test_an_expense_on_a_day_without_a_rate_is_an_error_naming_currency_and_day(merchant):
    # Given no EUR rate on Feb 1, the day of the photo shoot (no ad or order money in EUR)
    with transaction() as session:
        session.execute(delete(FxRate).where(FxRate.day == date(2026, 2, 1)))
    # Then the P&L refuses to guess, and says where to fix it
    with pytest.raises(MissingFxRateError, match=r"EUR→USD on 2026-02-01 .*Settings → FX"):
        profit_and_loss(merchant, START, END)
    # While a range that does not need the rate is fine
    assert profit_and_loss(merchant, START, date(2026, 1, 31)).total["net_profit"] == pytest.approx(
        107.04 - 40
    )


def test_another_workspace_never_sees_our_orders_spend_or_expenses(merchant, other_workspace):
    # Given Globex (EUR, Berlin) with one order and one expense of its own in the same days
    from metricx.services.users import actor_for, add_user

    globex = actor_for(
        add_user(other_workspace.id, "eve@globex.test", "pass phrase 1", role="admin")
    )
    with transaction() as session:
        shop = add_shop(session, other_workspace.id, "EUR")
        add_order(
            session, other_workspace.id, shop, "#1", ordered_at(31, 1, 12), "EUR", gross_sales=70
        )
        rollup.rebuild(session, other_workspace.id)
    expenses.add_expense(
        globex, name="Office", kind="one_off", amount="5", start_date=date(2026, 1, 31)
    )
    # When both P&Ls are computed
    theirs = profit_and_loss(other_workspace.id, START, END)
    ours = profit_and_loss(merchant, START, END)
    # Then each holds only its own money
    assert theirs.total["gross_sales"] == 70 and theirs.total["other_expenses"] == 5
    assert theirs.total["ad_spend"] == 0 and theirs.currency == "EUR"
    assert_lines(ours.total, expected(*DAYS))


def test_an_empty_workspace_is_all_zero_with_null_margins(workspace):
    pnl = profit_and_loss(workspace.id, START, END, "week")
    assert pnl.is_empty
    assert (pnl.frame["net_profit"] == 0).all() and pnl.frame["net_margin"].isna().all()


@pytest.mark.parametrize(
    "start, end, grain, message",
    [
        (END, START, "day", "before the start"),
        (START, END, "quarter", "grain must be one of day, week, month"),
        (date(2020, 1, 1), END, "month", "at most"),
    ],
)
def test_bad_ranges_and_grains_are_clear_errors(workspace, start, end, grain, message):
    from metricx.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=message):
        profit_and_loss(workspace.id, start, end, grain)


def test_the_waterfall_walks_from_revenue_to_net_profit(merchant):
    steps = profit_and_loss(merchant, START, END, "week").waterfall()
    money = expected(*DAYS)
    assert list(steps["line"]) == [
        "store_revenue",
        "cogs",
        "shipping_costs",
        "handling",
        "payment_fees",
        "ad_spend",
        "other_expenses",
        "net_profit",
    ]
    assert steps["amount"].iloc[0] == pytest.approx(money["store_revenue"])  # 560
    assert steps["amount"].iloc[5] == pytest.approx(-money["ad_spend"])  # 150 taken off
    # each step starts where the one before ended, and the last one lands on net profit
    assert list(steps["start"].iloc[1:7]) == pytest.approx(list(steps["end"].iloc[:6]))
    assert steps["end"].iloc[6] == pytest.approx(money["net_profit"])
    assert (steps["start"].iloc[7], steps["end"].iloc[7]) == pytest.approx((0, -89.04))
