"""The one evaluator: every catalogue metric is a formula it walks, and its SQL and its numpy
arithmetic give the same numbers (PostgreSQL float8 against numpy float64, exactly)."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Float, bindparam, cast, select
from sqlalchemy.dialects import postgresql

from metricx.costs import COST_FIELDS
from metricx.db import get_reader
from metricx.semantic import evaluate
from metricx.semantic.catalogue import (
    BASE_METRIC_IDS,
    FACTS,
    METRIC_IDS,
    METRICS,
    compute,
    facts_for,
    formula_of,
)
from metricx.semantic.evaluate import MissingBaseSumError
from metricx.semantic.expression import Binary, Expression, Number, Param, Ref, params, refs

#: One node of each type the tree has: a new node type fails here until it is evaluated.
SAMPLE_NODES: dict[type[Expression], Expression] = {
    Ref: Ref("x"),
    Number: Number(Decimal(2)),
    Param: Param("p"),
    Binary: Ref("x") / Number(Decimal(2)),
}
FACT_NAMES = (*BASE_METRIC_IDS, *FACTS)
#: Every sum column the catalogue reads: the fact sums and the restricted ones
#: (thumb-stop rate's `impressions[creative_format=video]`).
FACT_COLUMNS = tuple(dict.fromkeys((*FACT_NAMES, *facts_for(METRIC_IDS))))


def test_every_node_type_is_evaluated_by_each_arithmetic() -> None:
    # given every node type of the expression tree
    assert set(SAMPLE_NODES) == set(Expression.__subclasses__())
    for node in SAMPLE_NODES.values():
        # when evaluating it on x = 3, p = 5 / then each arithmetic gives a value
        assert evaluate.decimal(node, {"x": 3}, {"p": 5}) is not None
        assert not math.isnan(evaluate.columns(node, {"x": [3.0]}, {"p": 5}).ravel()[0])
        sql = evaluate.sql(node, {"x": bindparam("x", 3.0, type_=Float)}, {"p": 5})
        assert str(sql.compile(dialect=postgresql.dialect()))


def test_every_catalogue_metric_is_a_formula_over_fact_sums_and_cost_settings() -> None:
    # given the catalogue / then a derived metric is an expression tree, a base one a sum
    for metric in METRICS.values():
        assert metric.is_base == (metric.formula is None)
        assert metric.formula is None or isinstance(metric.formula, Expression)
        # and expanded, it reads only fetched sums and the workspace's cost settings
        expanded = formula_of(metric.id)
        assert set(refs(expanded)) <= set(FACT_NAMES), metric.id
        assert set(params(expanded)) <= set(COST_FIELDS), metric.id
    # and the catalogue uses every node type there is
    used = {
        next(kind for kind in SAMPLE_NODES if isinstance(node, kind))  # a Filtered is a Ref
        for m in METRICS.values()
        if m.formula
        for node in m.formula.nodes()
    }
    assert used == set(SAMPLE_NODES)


def test_store_metrics_are_formulas_over_the_raw_store_sums() -> None:
    sums = {
        "gross": 400,
        "discounts": 10,
        "refunds": 20,
        "shipping": 20,
        "taxes": 8,
        "cogs": 150,
        "orders": 2,
    }
    costs = {
        "shipping_cost_per_order": 5,
        "shipping_cost_pct": Decimal("0.1"),
        "payment_fee_pct": Decimal("0.02"),
        "payment_fee_fixed": Decimal("0.3"),
        "handling_per_order": 1,
    }
    assert compute("net_sales", sums) == 370
    assert compute("store_revenue", sums) == 390
    assert compute("aov", sums) == 195
    assert compute("gross_profit", sums) == 220
    # 390 − 150 − (2×5 + 10 % of 390) − 2×1 − (2 % of 418 + 0.60)
    assert compute("profit_before_ad_spend", sums, costs) == Decimal("180.04")
    with pytest.raises(MissingBaseSumError, match="needs the setting"):
        compute("profit_before_ad_spend", sums)


def test_a_zero_divisor_or_a_missing_sum_is_empty_in_every_arithmetic() -> None:
    cpc = formula_of("cpc")
    columns = evaluate.columns(cpc, {"spend": [5.0, None, 0.0, 6.0], "clicks": [0, 3, 0, 3]})
    assert np.isnan(columns[:3]).all() and columns[3] == 2.0
    assert not np.isinf(columns).any()
    assert evaluate.decimal(cpc, {"spend": 5, "clicks": 0}) is None
    assert evaluate.decimal(cpc, {"spend": None, "clicks": 3}) is None


_sum = st.one_of(
    st.none(),
    st.just(0.0),
    st.integers(min_value=-(10**11), max_value=10**14).map(lambda cents: cents / 100),
    st.integers(min_value=0, max_value=10**9).map(float),
)
_cost = st.one_of(
    st.just(Decimal(0)),
    st.decimals(min_value=0, max_value=100, places=6, allow_nan=False, allow_infinity=False),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sums=st.fixed_dictionaries({name: _sum for name in FACT_COLUMNS}),
    costs=st.fixed_dictionaries({name: _cost for name in COST_FIELDS}),
)
def test_sql_and_python_evaluation_agree_on_random_sums(db, sums, costs) -> None:
    # given random period sums (zeros and NULLs among them) and cost settings
    columns = {
        name: cast(bindparam(name, value, type_=Float), Float) for name, value in sums.items()
    }
    statement = select(*(evaluate.sql(formula_of(m), columns, costs).label(m) for m in METRIC_IDS))
    # when PostgreSQL evaluates every metric, and numpy does
    with get_reader().connect() as conn:
        in_sql = conn.execute(statement).one()._mapping
    in_python = {
        m: evaluate.columns(formula_of(m), {k: [v] for k, v in sums.items()}, costs)[0]
        for m in METRIC_IDS
    }
    # then each metric is empty in both or the same float in both
    for metric in METRIC_IDS:
        python = in_python[metric]
        if in_sql[metric] is None:
            assert math.isnan(python), metric
        else:
            assert in_sql[metric] == python, metric
