"""Settings an admin types: numbers that are no amounts, days outside the calendar, refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from metricx.errors import InvalidInputError
from metricx.services import settings

COSTS = {field: "0" for field in settings.COST_FIELDS}


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("shipping_cost_per_order", "NaN", "must be a number"),
        ("shipping_cost_per_order", "1e30", "at most"),
        ("payment_fee_pct", "Infinity", "must be a number"),
        ("handling_per_order", "4\x00", "must be a number"),
    ],
)
def test_a_cost_that_is_no_amount_is_refused_and_nothing_is_saved(admin, field, typed, message):
    with pytest.raises(InvalidInputError, match=message):
        settings.update_costs(admin, **(COSTS | {field: typed}))
    assert settings.costs(admin.workspace_id).shipping_cost_per_order == 0


def test_a_cost_finer_than_its_column_is_saved_rounded(admin):
    # (1e-999999 used to reach PostgreSQL, which cannot read it)
    saved = settings.update_costs(admin, **(COSTS | {"payment_fee_fixed": "1e-999999"}))
    assert saved.payment_fee_fixed == 0


@pytest.mark.parametrize(
    ("day", "rate", "message"),
    [
        (date(9999, 12, 31), "1.1", "the day 9999-12-31 is outside the dates"),
        (date(2026, 1, 1), "NaN", "the rate must be a number"),
        (date(2026, 1, 1), "1e30", "at most"),
    ],
)
def test_an_fx_rate_of_no_number_or_no_day_is_refused(admin, day, rate, message):
    with pytest.raises(InvalidInputError, match=message):
        settings.set_fx_rate(admin, day, "EUR", rate)
    assert settings.fx_rates(admin.workspace_id) == []


def test_an_fx_rate_keeps_its_ten_decimals(admin):
    settings.set_fx_rate(admin, date(2026, 1, 1), "EUR", "1.0812345678")
    assert settings.fx_rates(admin.workspace_id)[0].rate == Decimal("1.0812345678")


@pytest.mark.parametrize(
    ("timezone", "message"),
    [
        ("Europe/Berlin\x00", "the time zone contains a NUL"),
        ("../../etc/passwd", "unknown time zone"),
    ],
)
def test_a_time_zone_with_nul_or_a_path_is_refused(admin, timezone, message):
    with pytest.raises(InvalidInputError, match=message):
        settings.update_workspace(admin, timezone=timezone, currency="USD", utm_match="id")
