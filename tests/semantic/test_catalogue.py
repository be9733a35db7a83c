"""The metric catalogue: complete, self-describing, its formulas expression trees."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metricx.errors import InvalidInputError
from metricx.semantic.catalogue import (
    FACTS,
    METRICS,
    UnknownMetricError,
    base_metrics_for,
    compute,
    facts_for,
    format_value,
    get_metric,
    is_store_level,
    needs_attribution,
    sources_of,
)
from metricx.semantic.evaluate import MissingBaseSumError
from metricx.semantic.expression import Binary, Number, Ref, refs

DESIGN_METRICS = [
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "conversion_value",
    "leads",
    "cpc",
    "cpm",
    "ctr",
    "cvr",
    "cpa",
    "roas",
    "attributed_orders",
    "attributed_revenue",
    "attributed_roas",
    "nc_roas",
    "orders",
    "store_revenue",
    "net_sales",
    "refunds",
    "new_customers",
    "cogs",
    "gross_profit",
    "mer",
    "ncpa",
    "poas",
    "aov",
    "cpl",
]


def ratio_of_base_sums(formula) -> tuple[str, str, Decimal] | None:
    """(numerator, denominator, scale) of `a / b` or `a × scale / b` over base sums."""
    if not (isinstance(formula, Binary) and formula.op == "/"):
        return None
    top, scale = formula.left, Decimal(1)
    if isinstance(top, Binary) and top.op == "*" and isinstance(top.right, Number):
        top, scale = top.left, top.right.value
    parts = (top, formula.right)
    if not all(isinstance(p, Ref) and p.name in METRICS and METRICS[p.name].is_base for p in parts):
        return None
    return top.column, formula.right.column, scale  # a restricted sum's own column


RATIO_METRICS = [m for m in METRICS.values() if ratio_of_base_sums(m.formula)]


def test_every_metric_of_the_design_table_is_in_the_catalogue() -> None:
    # given the metric table of docs/design.md / when looking each id up / then it is there
    assert set(DESIGN_METRICS) <= set(METRICS)
    assert [get_metric(m).id for m in DESIGN_METRICS] == DESIGN_METRICS


@pytest.mark.parametrize("metric", METRICS.values(), ids=lambda m: m.id)
def test_each_metric_describes_itself_in_one_line(metric) -> None:
    # given any catalogue metric / then a person can read what it is and how to show it
    assert metric.label.strip()
    assert metric.definition.strip() and "\n" not in metric.definition
    assert metric.unit in ("currency", "count", "ratio", "percent")
    assert metric.source in ("ads", "store", "attribution", "finance", "email")
    assert metric.higher_is_better in (True, False, None)
    # and a derived metric is built only from metrics and raw store sums that exist
    if metric.formula is not None:
        assert all(part in METRICS or part in FACTS for part in refs(metric.formula))


def test_definitions_say_the_things_merchants_get_wrong() -> None:
    # MER is spelled out as revenue over spend (some tools invert it)
    assert "store revenue ÷ ad spend" in get_metric("mer").definition
    assert get_metric("cpc").definition == "CPC = spend ÷ link clicks."
    # platform figures are labelled as such, so nobody adds them to attributed ones
    for metric_id in ("conversions", "conversion_value", "roas", "cpa", "cvr", "leads"):
        assert "platform-reported" in get_metric(metric_id).definition, metric_id


def test_formulas_are_expression_trees_the_evaluator_reads() -> None:
    assert get_metric("cpm").formula == Binary(
        "/", Binary("*", Ref("spend"), Number(Decimal(1000))), Ref("impressions")
    )
    assert get_metric("ctr").formula == Binary("/", Ref("clicks"), Ref("impressions"))
    assert get_metric("ctr").unit == "percent"
    assert get_metric("mer").formula == Ref("store_revenue") / Ref("spend")
    assert get_metric("gross_profit").formula == Ref("net_sales") - Ref("cogs")
    assert get_metric("net_sales").formula == Ref("gross") - Ref("discounts") - Ref("refunds")
    assert get_metric("store_revenue").formula == Ref("net_sales") + Ref("shipping")
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


def test_base_metrics_are_the_metrics_a_set_of_metrics_is_built_from() -> None:
    assert base_metrics_for(["cpc", "roas"]) == ("spend", "clicks", "conversion_value")
    assert base_metrics_for(["gross_profit", "aov"]) == (
        "orders",
        "store_revenue",
        "net_sales",
        "refunds",
        "cogs",
    )
    assert base_metrics_for(["nc_roas"]) == ("spend", "nc_attributed_revenue")
    assert base_metrics_for(["spend", "cpc", "cpm"]) == ("spend", "impressions", "clicks")
    assert base_metrics_for([]) == ()


def test_facts_are_the_sums_the_engine_fetches() -> None:
    assert facts_for(["cpc", "roas"]) == ("spend", "clicks", "conversion_value")
    assert facts_for(["gross_profit"]) == ("refunds", "cogs", "gross", "discounts")
    assert facts_for([]) == ()


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
    assert (
        compute("gross_profit", {"gross": Decimal(10), "discounts": 0, "refunds": 0, "cogs": None})
        is None
    )
    # zero over something is a real zero, not missing
    assert compute("ctr", {"clicks": 0, "impressions": 100}) == 0


def test_compute_differences_and_float_inputs() -> None:
    assert compute(
        "gross_profit", {"gross": Decimal("90"), "discounts": 10, "refunds": 0, "cogs": 100}
    ) == Decimal(-20)
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
    top, bottom, scale = ratio_of_base_sums(metric.formula)
    sums = {top: numerator, bottom: denominator}
    # when computing it
    value = compute(metric.id, sums)
    # then it is scale × numerator ÷ denominator, or None when the denominator is zero
    if denominator == 0:
        assert value is None
    else:
        exact = Fraction(numerator) * Fraction(scale) / Fraction(denominator)
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
