"""The Finance page (admin and member) on synced sandbox data, the Dashboard's net profit tile,
and the expenses form on Settings."""

from datetime import date

import pytest
from apptest import log_in, texts

from metricx.semantic.catalogue import format_value
from metricx.semantic.dates import compare_range_for, resolve_phrase
from metricx.services import expenses
from metricx.services.finance import get_line, profit_and_loss

TODAY = date(2026, 11, 20)


@pytest.fixture
def pinned_today(monkeypatch):
    """The synced days end yesterday: the pages' "today" is pinned to Nov 20, 2026."""
    monkeypatch.setattr("metricx.semantic.dates.today_in", lambda tz, now=None: TODAY)


def money(line_id: str, value: float) -> str:
    return format_value(get_line(line_id), value, "USD")


def test_an_empty_workspace_says_to_connect_shopify_and_sync(admin):
    at = log_in(admin.label, "correct horse")
    at.switch_page("pages/finance.py").run()
    assert not at.exception, at.exception
    assert "Connect your Shopify store" in texts(at) and "run a sync" in texts(at)


def test_the_admin_sees_the_service_numbers_a_table_charts_and_a_csv(synced, admin,
                                                                     pinned_today):
    # Given the synced shop and ads, and an agency fee of 5 % of revenue
    workspace_id, _ = synced
    expenses.add_expense(admin, name="Agency", kind="percent_of_revenue", percent="0.05",
                         start_date=date(2026, 11, 1))
    # When the admin opens Finance (last 30 days, per day)
    at = log_in(admin.label, "correct horse")
    at.switch_page("pages/finance.py").run()
    assert not at.exception, at.exception
    # Then tiles and the table's total column are the service's numbers
    period = resolve_phrase("last 30 days", TODAY)
    pnl = profit_and_loss(workspace_id, period.start, period.end, "day")
    assert pnl.total["other_expenses"] > 0 and pnl.total["ad_spend"] > 0
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Net profit"] == money("net_profit", pnl.total["net_profit"])
    assert tiles["Revenue"] == money("store_revenue", pnl.total["store_revenue"])
    table = at.dataframe[0].value
    assert list(table.columns) == [d.isoformat() for d in pnl.frame.index] + ["Total"]
    assert table.loc["Other expenses", "Total"] == money("other_expenses",
                                                         pnl.total["other_expenses"])
    assert table.loc["Net margin", "Total"] == format_value(get_line("net_margin"),
                                                            pnl.total["net_margin"])
    assert len(at.get("vega_lite_chart")) == 2  # the waterfall and net profit per day
    assert at.get("download_button")


def test_a_member_reads_it_per_week(synced, member, pinned_today):
    workspace_id, _ = synced
    at = log_in(member.label, "battery staple")
    at.switch_page("pages/finance.py").run()
    at.selectbox(key="fin_grain").set_value("week").run()
    assert not at.exception, at.exception
    period = resolve_phrase("last 30 days", TODAY)
    pnl = profit_and_loss(workspace_id, period.start, period.end, "week")
    table = at.dataframe[0].value
    assert all(date.fromisoformat(c).weekday() == 0 for c in table.columns[:-1])  # Mondays
    assert list(table.loc["Ad spend"]) == [money("ad_spend", v) for v in
                                           [*pnl.frame["ad_spend"], pnl.total["ad_spend"]]]


def test_a_missing_rate_says_where_to_fix_it(synced, admin, pinned_today):
    # Given an expense in GBP, a currency without any rate
    expenses.add_expense(admin, name="London office", kind="one_off", amount="100",
                         currency="GBP", start_date=date(2026, 11, 10))
    at = log_in(admin.label, "correct horse")
    at.switch_page("pages/finance.py").run()
    assert not at.exception, at.exception
    assert "GBP→USD on 2026-11-10" in texts(at) and "Settings → FX rates" in texts(at)
    assert not at.dataframe


def test_the_dashboard_shows_net_profit_against_the_previous_period(synced, admin,
                                                                    pinned_today):
    workspace_id, _ = synced
    at = log_in(admin.label, "correct horse")
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception, at.exception
    period = resolve_phrase("last 7 days", TODAY)
    before = compare_range_for("previous_period", period)
    now = profit_and_loss(workspace_id, period.start, period.end).total["net_profit"]
    then = profit_and_loss(workspace_id, before.start, before.end).total["net_profit"]
    [tile] = [m for m in at.metric if m.label == "Net profit"]
    assert tile.value == money("net_profit", now)
    assert tile.delta == f"{(now - then) / abs(then) * 100:+.1f}%"


@pytest.mark.parametrize("fields, message", [
    ({"exp_add_name": "Rent", "exp_add_amount": "a lot"}, "the amount must be a number"),
    ({"exp_add_name": "", "exp_add_amount": "310"}, "the expense name cannot be empty"),
    ({"exp_add_name": "Rent", "exp_add_amount": "310", "exp_add_percent": "0.1"},
     "takes an amount, not a percent"),
])
def test_the_expenses_form_explains_bad_input_and_stores_nothing(admin, admin_app, fields,
                                                               message):
    admin_app.switch_page("pages/settings.py").run()
    for key, value in fields.items():
        admin_app.text_input(key=key).input(value)
    admin_app.button(key="exp_add_save").click().run()
    assert not admin_app.exception, admin_app.exception
    assert message in texts(admin_app)
    assert expenses.list_expenses(admin.workspace_id) == []


def test_the_expenses_form_adds_edits_and_deletes(admin, admin_app):
    admin_app.switch_page("pages/settings.py").run()
    admin_app.text_input(key="exp_add_name").input("Rent")
    admin_app.text_input(key="exp_add_amount").input("310")
    admin_app.button(key="exp_add_save").click().run()
    [added] = expenses.list_expenses(admin.workspace_id)
    assert (added.name, added.kind, float(added.amount), added.currency) == (
        "Rent", "monthly", 310.0, "USD")
    admin_app.run()  # the edit form lists what was there when the page began
    admin_app.text_input(key=f"exp_edit_{added.id}_amount").input("320")
    admin_app.button(key="exp_edit_save").click().run()
    assert [float(e.amount) for e in expenses.list_expenses(admin.workspace_id)] == [320.0]
    admin_app.button(key="exp_delete").click().run()
    assert expenses.list_expenses(admin.workspace_id) == []
