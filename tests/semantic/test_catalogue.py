"""The metric catalogue: complete, self-describing, and the one place ratio arithmetic lives."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.errors import InvalidInputError
from metricx.semantic.catalogue import (
    METRICS,
    Difference,
    MissingBaseSumError,
    Ratio,
    UnknownMetricError,
    base_metrics_for,
    compute,
    format_value,
    get_metric,
    is_store_level,
    needs_attribution,
    sources_of,
)

DESIGN_METRICS = [
    "spend", "impressions", "clicks", "conversions", "conversion_value", "leads", "cpc", "cpm",
    "ctr", "cvr", "cpa", "roas", "attributed_orders", "attributed_revenue", "attributed_roas",
    "nc_roas", "orders", "store_revenue", "net_sales", "refunds", "new_customers", "cogs",
    "gross_profit", "mer", "ncpa", "poas", "aov", "cpl",
]
RATIO_METRICS = [m for m in METRICS.values() if isinstance(m.formula, Ratio)]


def test_every_metric_of_the_design_table_is_in_the_catalogue() -> None:
    # given the metric table of DESIGN.md / when looking each id up / then it is there
    assert set(DESIGN_METRICS) <= set(METRICS)
    assert [get_metric(m).id for m in DESIGN_METRICS] == DESIGN_METRICS


@pytest.mark.parametrize("metric", METRICS.values(), ids=lambda m: m.id)
def test_each_metric_describes_itself_in_one_line(metric) -> None:
    # given any catalogue metric / then a person can read what it is and how to show it
    assert metric.label.strip()
    assert metric.definition.strip() and "\n" not in metric.definition
    assert metric.unit in ("currency", "count", "ratio", "percent")
    assert metric.source in ("ads", "store", "attribution", "finance")
    assert metric.higher_is_better in (True, False, None)
    # and a derived metric is built only from metrics that exist
    if metric.formula is not None:
        assert all(part in METRICS for part in metric.formula.inputs)


def test_definitions_say_the_things_merchants_get_wrong() -> None:
    # MER is spelled out as revenue over spend (some tools invert it)
    assert "store revenue ÷ ad spend" in get_metric("mer").definition
    assert get_metric("cpc").definition == "CPC = spend ÷ link clicks."
    # platform figures are labelled as such, so nobody adds them to attributed ones
    for metric_id in ("conversions", "conversion_value", "roas", "cpa", "cvr", "leads"):
        assert "platform-reported" in get_metric(metric_id).definition, metric_id


def test_formulas_are_structure_a_compiler_can_read() -> None:
    assert get_metric("cpm").formula == Ratio("spend", "impressions", Decimal(1000))
    assert get_metric("ctr").formula == Ratio("clicks", "impressions", Decimal(1))
    assert get_metric("ctr").unit == "percent"
    assert get_metric("mer").formula == Ratio("store_revenue", "spend", Decimal(1))
    assert get_metric("gross_profit").formula == Difference("net_sales", "cogs")
    assert get_metric("spend").is_base and not get_metric("cpc").is_base


def test_unknown_metric_error_suggests_close_matches() -> None:
    # given a typo / when looking it up / then the error names the likely metric
    with pytest.raises(UnknownMetricError, match=r"unknown metric 'cpcc' \(did you mean 'cpc'\?\)"):
        get_metric("cpcc")
    with pytest.raises(UnknownMetricError, match="store_revenue"):
        get_metric("revenue")
    # and the CLI's catch-all for user errors catches it
    with pytest.raises(InvalidInputError, match="known metrics: spend"):
        get_metric("zzzz")


def test_base_metrics_are_the_sums_a_set_of_metrics_needs() -> None:
    assert base_metrics_for(["cpc", "roas"]) == ("spend", "clicks", "conversion_value")
    assert base_metrics_for(["gross_profit", "aov"]) == ("orders", "store_revenue", "net_sales",
                                                          "cogs")
    assert base_metrics_for(["nc_roas"]) == ("spend", "nc_attributed_revenue")
    assert base_metrics_for(["spend", "cpc", "cpm"]) == ("spend", "impressions", "clicks")
    assert base_metrics_for([]) == ()


def test_sources_tell_which_metrics_need_attribution_or_stay_store_level() -> None:
    assert sources_of("mer") == {"store", "ads"}
    assert is_store_level("mer") and is_store_level("orders") and is_store_level("poas")
    assert not is_store_level("attributed_roas") and not is_store_level("cpc")
    assert needs_attribution("nc_roas") and needs_attribution("attributed_orders")
    assert not needs_attribution("roas")


def test_compute_takes_ratios_of_sums() -> None:
    # given two days of sums already added up (not two daily CPCs averaged)
    sums = {"spend": Decimal("100.00"), "clicks": 40, "impressions": 8000}
    # then each ratio is computed once on the totals
    assert compute("cpc", sums) == Decimal("2.5")
    assert compute("cpm", sums) == Decimal("12.5")
    assert compute("ctr", sums) == Decimal("0.005")
    assert compute("spend", sums) == Decimal("100.00")


def test_compute_gives_none_for_zero_denominators_and_missing_data() -> None:
    assert compute("cpc", {"spend": Decimal(5), "clicks": 0}) is None
    assert compute("roas", {"spend": 0, "conversion_value": Decimal(10)}) is None
    assert compute("cpc", {"spend": None, "clicks": 3}) is None
    assert compute("gross_profit", {"net_sales": Decimal(10), "cogs": None}) is None
    # zero over something is a real zero, not missing
    assert compute("ctr", {"clicks": 0, "impressions": 100}) == 0


def test_compute_differences_and_float_inputs() -> None:
    assert compute("gross_profit", {"net_sales": Decimal("80"), "cogs": 100}) == Decimal(-20)
    assert compute("cpc", {"spend": 0.3, "clicks": 3}) == Decimal("0.1")


def test_compute_refuses_sums_that_lack_a_base_metric() -> None:
    # a caller that forgot to fetch clicks gets told, instead of a silent None
    with pytest.raises(MissingBaseSumError, match="clicks"):
        compute("cpc", {"spend": Decimal(1)})


_sums = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=150, deadline=None)
@given(metric=st.sampled_from(RATIO_METRICS), numerator=_sums, denominator=_sums)
def test_compute_equals_numerator_over_denominator_of_the_sums(metric, numerator, denominator):
    # given any sums for a ratio metric's numerator and denominator
    formula = metric.formula
    sums = {b: Decimal(7) for b in base_metrics_for([metric.id])}
    sums |= {formula.numerator: numerator, formula.denominator: denominator}
    # when computing it
    value = compute(metric.id, sums)
    # then it is scale × numerator ÷ denominator, or None when the denominator is zero
    if denominator == 0:
        assert value is None
    else:
        exact = Fraction(numerator) * Fraction(formula.scale) / Fraction(denominator)
        assert abs(Fraction(value) - exact) <= abs(exact) * Fraction(1, 10**20)


@pytest.mark.parametrize(
    ("metric_id", "value", "currency", "shown"),
    [
        ("spend", Decimal("1234.5"), "USD", "$1,234.50"),
        ("spend", Decimal("1234567.891"), "EUR", "€1,234,567.89"),
        ("cogs", Decimal("0.005"), "GBP", "£0.01"),
        ("gross_profit", Decimal("-5"), "usd", "-$5.00"),
        ("net_sales", 99, "SEK", "SEK 99.00"),
        ("impressions", 1234567, None, "1,234,567"),
        ("attributed_orders", Decimal("12.5"), None, "12.50"),
        ("ctr", Decimal("0.012345"), None, "1.23%"),
        ("roas", Decimal("3.4166"), None, "3.42x"),
        ("mer", None, "USD", "—"),
    ],
)
def test_format_value_reads_like_a_report(metric_id, value, currency, shown) -> None:
    assert format_value(metric_id, value, currency) == shown


def test_format_value_needs_a_currency_for_money() -> None:
    with pytest.raises(ValueError, match="currency"):
        format_value(get_metric("spend"), Decimal(1))
