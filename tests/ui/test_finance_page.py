"""The Finance page (admin and member) on synced sandbox data for the app's period, the
Dashboard's net profit tile, and the expenses form on Settings. Profit is called overstated
while costs are unset or units lack a cost, and net profit without expenses says so."""

from datetime import date, timedelta

import pytest
from apptest import log_in, texts
from sandbox_fixtures import NOW
from table_rows import execute, read

from metricx.semantic.catalogue import format_value
from metricx.semantic.dates import compare_range_for, resolve_phrase
from metricx.services import expenses, settings, setup
from metricx.services.finance import get_line, profit_and_loss
from ui import format as fmt
from ui.checklist import forget_setup

TODAY = date(2026, 11, 20)  # the synced days are Nov 8 - 19
WEEK = resolve_phrase("last 7 days", TODAY)  # the app's default period
MONTH = resolve_phrase("last 30 days", TODAY)
COSTS_UNSET = "shipping, payment fees and handling are not set (Settings → Costs)"


@pytest.fixture
def pinned_today(monkeypatch):
    """The app's "today" is Nov 20, 2026, and the setup checklist's clock is NOW."""
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: TODAY)
    monkeypatch.setattr("ui.period.today_in", lambda tz, now=None: TODAY)
    checklist = setup.checklist
    monkeypatch.setattr(setup, "checklist", lambda ws, now=None: checklist(ws, now or NOW))


def money(line_id: str, value: float) -> str:
    return format_value(get_line(line_id), value, "USD")


def finance_page(email: str, password: str, period: str = "last 30 days"):
    at = log_in(email, password)
    at.switch_page("views/finance.py").run()
    at.selectbox(key="period").set_value(period).run()
    assert not at.exception, at.exception
    return at


def uncosted_share(workspace_id: int) -> float:
    """Units of real orders of the last 30 days without a unit cost, read from the rows."""
    lines = read(
        """SELECT l.quantity, l.unit_cost FROM shopify_order_lines l
                    JOIN shopify_orders o ON o.id = l.order_id
                    WHERE o.workspace_id = :ws AND NOT o.test AND o.cancelled_at IS NULL
                    AND o.processed_at >= :since""",
        ws=workspace_id,
        since=NOW - timedelta(days=30),
    )
    return lines.loc[lines["unit_cost"].isna(), "quantity"].sum() / lines["quantity"].sum()


def test_an_empty_workspace_says_to_connect_shopify_and_sync(admin):
    at = log_in(admin.label, "correct horse")
    at.switch_page("views/finance.py").run()
    assert not at.exception, at.exception
    assert "Connect your Shopify store" in texts(at) and "run a sync" in texts(at)


def test_the_admin_sees_the_service_numbers_a_table_charts_and_a_csv(synced, admin, pinned_today):
    # Given the synced shop and ads, and an agency fee of 5 % of revenue
    workspace_id, _ = synced
    expenses.add_expense(
        admin,
        name="Agency",
        kind="percent_of_revenue",
        percent="0.05",
        start_date=date(2026, 11, 1),
    )
    # When the admin opens Finance for the app's default period (last 7 days, per day)
    at = log_in(admin.label, "correct horse")
    at.switch_page("views/finance.py").run()
    assert not at.exception, at.exception
    # Then tiles are the service's numbers, changed against the 7 days before
    pnl = profit_and_loss(workspace_id, WEEK.start, WEEK.end, "day")
    before = compare_range_for("previous_period", WEEK)
    then = profit_and_loss(workspace_id, before.start, before.end, "day").total
    assert pnl.total["other_expenses"] > 0 and pnl.total["ad_spend"] > 0
    tiles = {m.label: m for m in at.metric}
    assert tiles["Net profit"].value == money("net_profit", pnl.total["net_profit"])
    assert tiles["Revenue"].value == money("store_revenue", pnl.total["store_revenue"])
    for label, line_id in (("Revenue", "store_revenue"), ("Ad spend", "ad_spend")):
        change, _ = fmt.delta(line_id, pnl.total[line_id], then[line_id])
        assert change is not None and tiles[label].delta == change
    # And the table has a column per day, written as every page writes dates
    table = at.dataframe[0].value
    assert list(table.columns) == [fmt.day(d) for d in pnl.frame.index] + ["Total"]
    assert table.loc["Other expenses", "Total"] == money(
        "other_expenses", pnl.total["other_expenses"]
    )
    assert table.loc["Net margin", "Total"] == format_value(
        get_line("net_margin"), pnl.total["net_margin"]
    )
    assert len(at.get("vega_lite_chart")) == 2  # the waterfall and net profit per day
    assert at.get("download_button")
    # And with an expense recorded, nothing claims net profit equals contribution margin
    assert "net profit equals contribution margin" not in texts(at)


def test_a_member_reads_it_per_week_from_a_link(synced, member, pinned_today):
    # Given a link to Finance per week (the app's default period: the last 7 days)
    workspace_id, _ = synced
    at = log_in(member.label, "battery staple")
    at.query_params["per"] = "week"
    at.switch_page("views/finance.py").run()
    assert not at.exception, at.exception
    # Then the P&L is per week, and the grain select says so
    assert at.selectbox(key="per").value == "week"
    pnl = profit_and_loss(workspace_id, WEEK.start, WEEK.end, "week")
    table = at.dataframe[0].value
    # And weeks start on Monday, cut to the period at both ends
    first, second = pnl.frame.index
    assert list(table.columns) == [
        fmt.span(WEEK.start, first + timedelta(days=6)),
        fmt.span(second, WEEK.end),
        "Total",
    ]
    assert list(table.loc["Ad spend"]) == [
        money("ad_spend", v) for v in [*pnl.frame["ad_spend"], pnl.total["ad_spend"]]
    ]


def test_a_missing_rate_says_where_to_fix_it(synced, admin, pinned_today):
    # Given an expense in GBP, a currency without any rate
    expenses.add_expense(
        admin,
        name="London office",
        kind="one_off",
        amount="100",
        currency="GBP",
        start_date=date(2026, 11, 10),
    )
    at = finance_page(admin.label, "correct horse")
    assert "GBP→USD on 2026-11-10" in texts(at) and "Settings → FX rates" in texts(at)
    assert not at.dataframe


def test_profit_is_called_overstated_until_costs_are_saved_and_every_unit_has_a_cost(
    synced, admin, pinned_today
):
    workspace_id, _ = synced
    # Given costs never saved, and a gift card the shop sells without a unit cost
    share = uncosted_share(workspace_id)
    assert 0 < share < 1
    at = finance_page(admin.label, "correct horse")
    # Then the tiles carry a note naming both gaps, and the checklist is open for the admin
    [note] = [w.value for w in at.warning if "Net profit is overstated" in w.value]
    assert COSTS_UNSET in note
    assert f"{share * 100:.0f} % of units sold in the last 30 days have no unit cost" in note
    [checklist] = [e for e in at.expander if e.label.startswith("Finish setting up")]
    assert checklist.label == "Finish setting up: 2 of 6 done"  # the store and ad accounts
    # When the admin saves the costs on Settings (handling truly 0)
    at.switch_page("views/settings.py").run()
    at.text_input(key="cost_shipping_cost_per_order").input("4.90")
    at.button(key="costs_save").click().run()
    at.switch_page("views/finance.py").run()
    # Then only the missing unit costs are left in the note
    [note] = [w.value for w in at.warning if "Net profit is overstated" in w.value]
    assert COSTS_UNSET not in note and "have no unit cost" in note
    # And once every unit sold has a cost (entered in Shopify, then synced), it is gone
    execute("UPDATE shopify_order_lines SET unit_cost = 1 WHERE unit_cost IS NULL")
    forget_setup(workspace_id)
    at.run()
    assert not any("overstated" in w.value for w in at.warning)
    assert settings.costs(workspace_id).shipping_cost_per_order > 0


def test_without_expenses_the_page_says_net_profit_is_contribution_margin(
    synced, admin, pinned_today
):
    workspace_id, _ = synced
    at = finance_page(admin.label, "correct horse")
    total = profit_and_loss(workspace_id, MONTH.start, MONTH.end).total
    assert total["net_profit"] == total["contribution_margin"]
    assert (
        "No expenses recorded: net profit equals contribution margin — add rent, "
        "salaries, apps or fees in Settings → Expenses."
    ) in texts(at)


def test_a_member_is_told_an_admin_still_has_to_finish_setup(synced, member, pinned_today):
    at = finance_page(member.label, "battery staple")
    assert "An admin still has to finish setting up this workspace" in texts(at)
    assert not any(e.label.startswith("Finish setting up") for e in at.expander)
    assert not at.page_link  # the fixes are on admin pages


def test_a_period_without_data_says_what_to_do(synced, admin, pinned_today):
    at = finance_page(admin.label, "correct horse", period="last quarter")
    assert (
        "No orders, ad spend or expenses in Jul 1 – Sep 30, 2026.** Pick a longer period"
        in texts(at)
    )
    assert not at.metric and not at.dataframe


def test_the_dashboard_shows_net_profit_against_the_previous_period(synced, admin, pinned_today):
    workspace_id, _ = synced
    at = log_in(admin.label, "correct horse")
    at.switch_page("views/dashboard.py").run()
    assert not at.exception, at.exception
    period = resolve_phrase("last 7 days", TODAY)
    before = compare_range_for("previous_period", period)
    now = profit_and_loss(workspace_id, period.start, period.end).total["net_profit"]
    then = profit_and_loss(workspace_id, before.start, before.end).total["net_profit"]
    [tile] = [m for m in at.metric if m.label == "Net profit"]
    assert tile.value == money("net_profit", now)
    assert tile.delta == f"{(now - then) / abs(then) * 100:+.1f}%"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"exp_add_name": "Rent", "exp_add_amount": "a lot"}, "the amount must be a number"),
        ({"exp_add_name": "", "exp_add_amount": "310"}, "the expense name cannot be empty"),
        (
            {"exp_add_name": "Rent", "exp_add_amount": "310", "exp_add_percent": "0.1"},
            "takes an amount, not a percent",
        ),
    ],
)
def test_the_expenses_form_explains_bad_input_and_stores_nothing(admin, admin_app, fields, message):
    admin_app.switch_page("views/settings.py").run()
    for key, value in fields.items():
        admin_app.text_input(key=key).input(value)
    admin_app.button(key="exp_add_save").click().run()
    assert not admin_app.exception, admin_app.exception
    assert message in texts(admin_app)
    assert expenses.list_expenses(admin.workspace_id) == []


def test_the_expenses_form_adds_edits_and_deletes(admin, admin_app):
    admin_app.switch_page("views/settings.py").run()
    admin_app.text_input(key="exp_add_name").input("Rent")
    admin_app.text_input(key="exp_add_amount").input("310")
    admin_app.button(key="exp_add_save").click().run()
    [added] = expenses.list_expenses(admin.workspace_id)
    assert (added.name, added.kind, float(added.amount), added.currency) == (
        "Rent",
        "monthly",
        310.0,
        "USD",
    )
    admin_app.run()  # the edit form lists what was there when the page began
    admin_app.text_input(key=f"exp_edit_{added.id}_amount").input("320")
    admin_app.button(key="exp_edit_save").click().run()
    assert [float(e.amount) for e in expenses.list_expenses(admin.workspace_id)] == [320.0]
    admin_app.button(key="exp_delete").click().run()
    assert expenses.list_expenses(admin.workspace_id) == []


@pytest.fixture
def klaviyo_month(monkeypatch):
    """The subscription form's "this month" is the app's: November 2026."""
    monkeypatch.setattr("metricx.services.email_marketing.today_in", lambda tz, now=None: TODAY)


def test_an_admin_adds_the_klaviyo_subscription_to_the_pnl(
    synced, email_synced, admin, pinned_today, klaviyo_month
):
    # Given the shop, ads and Klaviyo connected, and no expense recorded
    workspace_id, _ = synced
    at = finance_page(admin.label, "correct horse")
    assert at.dataframe[0].value.loc["Other expenses", "Total"] == money("other_expenses", 0)
    # When the admin enters what Klaviyo costs a month
    at.text_input(key="fin_subscription_amount").input("60")
    at.button(key="fin_subscription_save").click().run()
    assert not at.exception, at.exception
    # Then it is a monthly expense in the workspace currency from the first of the month
    [added] = expenses.list_expenses(workspace_id)
    assert (added.name, added.kind, float(added.amount), added.currency, added.start_date) == (
        "Klaviyo subscription",
        "monthly",
        60.0,
        "USD",
        date(2026, 11, 1),
    )
    # And the P&L's other expenses carry it, prorated over the period's November days
    total = profit_and_loss(workspace_id, MONTH.start, MONTH.end).total
    assert total["other_expenses"] == pytest.approx(60 * 19 / 30)
    assert at.dataframe[0].value.loc["Other expenses", "Total"] == money(
        "other_expenses", total["other_expenses"]
    )
    # And the page names it, and offers the form no more
    assert "Added Klaviyo subscription to other expenses." in texts(at)
    assert "Expenses include Klaviyo subscription (\\$60.00 a month)." in texts(at)
    assert not [t for t in at.text_input if t.key == "fin_subscription_amount"]


def test_a_bad_subscription_amount_is_explained_and_nothing_stored(
    synced, email_synced, admin, pinned_today, klaviyo_month
):
    at = finance_page(admin.label, "correct horse")
    at.text_input(key="fin_subscription_amount").input("a lot")
    at.button(key="fin_subscription_save").click().run()
    assert not at.exception, at.exception
    [error] = [e.value for e in at.error]
    assert "the amount must be a number" in error
    assert expenses.list_expenses(admin.workspace_id) == []


def test_a_member_is_told_the_klaviyo_subscription_is_missing(
    synced, email_synced, member, pinned_today
):
    at = finance_page(member.label, "battery staple")
    assert "Klaviyo is connected but what it costs is not among the expenses" in texts(at)
    assert not [t for t in at.text_input if t.key == "fin_subscription_amount"]


def test_without_klaviyo_the_finance_page_offers_no_subscription(synced, admin, pinned_today):
    at = finance_page(admin.label, "correct horse")
    assert not [t for t in at.text_input if t.key == "fin_subscription_amount"]
    assert "Klaviyo" not in texts(at)
