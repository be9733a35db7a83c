"""The Retention page's reads (metricx.services.retention) on a small known store: three
monthly cohorts of a New York workspace in dollars, read on a fixed day, with Meta spend on
some days. Every figure is worked out by hand below."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from store_seed import add_shop, order, write_orders

from metricx.db import transaction
from metricx.errors import InvalidInputError
from metricx.models import Connection, MetricDailyConnection
from metricx.semantic.query import TimeRange
from metricx.services import retention

TODAY = date(2025, 6, 15)
SPAN = TimeRange(start=date(2025, 1, 1), end=date(2025, 3, 31))


@pytest.fixture
def store(workspace, other_workspace, monkeypatch):
    """January: customers 1 (discounted, back in February and April) and 2 (full price);
    February: customer 3 (back the same month); March: customer 4. Meta spent $30 in
    January and $12 in March. Another workspace has a January customer of its own."""
    monkeypatch.setattr("metricx.semantic.cohorts.today_in", lambda timezone: TODAY)
    shop = add_shop(workspace.id)
    write_orders(
        shop,
        [
            order(1, 1, date(2025, 1, 5), "100.00", discounts="20.00"),
            order(1, 2, date(2025, 2, 10), "50.00"),
            order(1, 3, date(2025, 4, 7), "10.00"),
            order(2, 1, date(2025, 1, 20), "40.00"),
            order(3, 1, date(2025, 2, 1), "60.00"),
            order(3, 2, date(2025, 2, 20), "20.00"),
            order(4, 1, date(2025, 3, 3), "30.00"),
        ],
    )
    write_orders(
        add_shop(other_workspace.id, "globex.myshopify.com"),
        [order(9, 1, date(2025, 1, 9), "999.00")],
    )
    with transaction() as session:
        meta = Connection(
            workspace_id=workspace.id, provider="meta", external_account_id="act_1", name="Meta"
        )
        session.add(meta)
        session.flush()
        session.add_all(
            MetricDailyConnection(
                workspace_id=workspace.id, day=day, connection_id=meta.id, spend=Decimal(spend)
            )
            for day, spend in (
                (date(2025, 1, 3), "18"),
                (date(2025, 1, 28), "12"),
                (date(2025, 3, 9), "12"),
            )
        )
    return workspace.id


def test_the_heatmap_holds_each_cohort_by_age_with_its_size_and_what_has_elapsed(store):
    # When the repeat rate is asked by month of first order, over ages 0..3 months
    table = retention.cohort_table(store, SPAN, "month", "repeat_rate", "month", 3)

    # Then rows are the cohorts, columns the ages, sizes the customers
    jan, feb, mar = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
    assert list(table.values.index) == [jan, feb, mar]
    assert list(table.values.columns) == [0, 1, 2, 3]
    assert table.sizes.to_dict() == {jan: 2, feb: 1, mar: 1}  # never the other workspace's
    # January: customer 1 ordered again within a month of Jan 5 (Feb 10 is age 1)
    assert table.values.loc[jan].tolist() == [0.0, 0.5, 0.5, 0.5]
    # February: customer 3 came back within the month; March's has not, so far
    assert table.values.loc[feb, 0] == 1.0
    # By June 15 every January customer has lived 3 whole months (Jan 31's end May 30),
    # February's 2 (to May 27) and March's 1 (to May 30): later ages are empty, not zero
    assert table.complete.loc[jan].tolist() == [True, True, True, True]
    assert table.complete.loc[feb].tolist() == [True, True, True, False]
    assert table.complete.loc[mar].tolist() == [True, True, False, False]
    assert np.isnan(table.values.loc[mar, 2]) and np.isnan(table.values.loc[feb, 3])
    assert not table.empty


def test_a_split_heatmap_has_a_row_per_cohort_and_split_value(store):
    table = retention.cohort_table(
        store, SPAN, "month", "ltv", "month", 1, split="first_order_discount"
    )
    jan = date(2025, 1, 1)
    assert table.values.loc[(jan, "discounted")].tolist() == [80.0, 130.0]
    assert table.values.loc[(jan, "full price")].tolist() == [40.0, 40.0]
    assert table.sizes[(jan, "discounted")] == 1


def test_ltv_curves_by_split_blend_the_cohorts_that_have_reached_each_age(store):
    # When LTV curves are drawn by first-order discount
    curves = retention.ltv_curves(store, SPAN, "first_order_discount", "month", 3)
    full = curves.frame[curves.frame["first_order_discount"] == "full price"].set_index("age")

    # Then each age blends the full-price customers of the cohorts complete at that age:
    # age 0 all three (40 + 80 + 30), age 2 January's and February's (40 + 80), age 3
    # January's alone (40)
    assert full.loc[0, "ltv"] == pytest.approx(150 / 3)
    assert full.loc[0, "cohort_customers"] == 3
    assert full.loc[2, "ltv"] == pytest.approx(120 / 2)
    assert full.loc[3, "ltv"] == pytest.approx(40)
    assert full["complete"].all()

    # ... and curves by cohort are each cohort's own, empty where not yet elapsed
    by_cohort = retention.ltv_curves(store, SPAN, "cohort", "month", 3).frame
    march = by_cohort[by_cohort["cohort"] == date(2025, 3, 1)]
    assert march["complete"].tolist() == [True, True, False, False]
    assert march["ltv"].iloc[0] == pytest.approx(30)
    assert march["ltv"].iloc[2:].isna().all()


def test_cac_and_payback_per_cohort_read_at_the_oldest_elapsed_age(store):
    # When CAC and payback are asked per monthly cohort, up to 11 months
    table = retention.cac_payback(store, SPAN, "month").frame.set_index("cohort")

    # Then January: $30 over 2 customers is $15; gross profit per customer (net sales less
    # a cost of half the gross) is (30 + 20) / 2 = $25 at age 0: paid back at once; read
    # at age 3, the oldest every January customer has lived by June 15
    jan = table.loc[date(2025, 1, 1)]
    assert jan["cohort_customers"] == 2
    assert jan["cac"] == pytest.approx(15)
    assert jan["age"] == 3
    assert jan["ltv_gross_profit"] == pytest.approx((30 + 25 + 5 + 20) / 2)
    assert jan["ltv_cac"] == pytest.approx(40 / 15)
    assert jan["payback_age"] == 0
    # February had no spend: CAC 0, LTV:CAC empty; March: $12 for one customer whose $15
    # of gross profit pays it back at once
    assert table.loc[date(2025, 2, 1), "cac"] == 0
    assert np.isnan(table.loc[date(2025, 2, 1), "ltv_cac"])
    march = table.loc[date(2025, 3, 1)]
    assert (march["cac"], march["age"], march["payback_age"]) == (12, 1, 0)


def test_tables_export_as_csv_with_money_in_the_workspace_currency(store):
    table = retention.cohort_table(store, SPAN, "month", "ltv", "month", 1)
    read = pd.read_csv(io.StringIO(retention.to_csv(table)))
    assert list(read.columns) == ["cohort", "age", "ltv (USD)", "cohort_customers", "complete"]
    assert read.iloc[0].tolist() == ["2025-01-01", 0, 60.0, 2, True]


def test_a_question_the_page_cannot_ask_gets_one_sentence(store):
    with pytest.raises(InvalidInputError, match="not a cohort metric"):
        retention.cohort_table(store, SPAN, "month", "spend", "month", 3)
    with pytest.raises(InvalidInputError, match="split by"):
        retention.cohort_table(store, SPAN, "month", "ltv", "month", 3, split="campaign")
    with pytest.raises(InvalidInputError, match="drawn by"):
        retention.ltv_curves(store, SPAN, "provider", "month", 3)


def test_a_workspace_without_first_orders_gets_empty_tables(workspace, other_workspace):
    # Given another workspace's customer and none of our own
    write_orders(
        add_shop(other_workspace.id, "globex.myshopify.com"),
        [order(9, 1, date(2025, 1, 9), "999.00")],
    )

    # Then every read is empty, never the other workspace's rows
    assert retention.cohort_table(workspace.id, SPAN, "month", "ltv", "month", 3).empty
    assert retention.ltv_curves(workspace.id, SPAN, "cohort", "month", 3).frame.empty
    assert retention.cac_payback(workspace.id, SPAN, "month").frame.empty
