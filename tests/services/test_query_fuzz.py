"""Fuzz: any SemanticQuery JSON, valid or hostile, gives a result or a clear MetricxError.

What pages, the copilot and `metricx query` hand the metric service is data someone typed or a
model wrote. Whatever it holds (unknown ids, year 1 or 9999, huge numbers, NUL, nested
garbage), the service answers or refuses in one plain sentence: never another exception, never
SQL or a driver's message.
"""

from __future__ import annotations

from hostile_values import QUERY_PAYLOAD
from hypothesis import HealthCheck, given, settings
from plain_errors import assert_plain

from metricx.errors import MetricxError
from metricx.semantic.engine import run_query
from metricx.semantic.result import MetricsResult


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=QUERY_PAYLOAD)
def test_any_query_gives_a_result_or_one_plain_sentence(workspace, payload):
    # Given a workspace, when anything at all is asked of the metric service
    try:
        result = run_query(workspace.id, payload)
    except MetricxError as error:
        # Then a refusal is one plain sentence
        assert_plain(str(error))
    else:
        # Or the answer is a result
        assert isinstance(result, MetricsResult)
