"""A rule's fields are checked before anything is stored: hostile or mistaken values are
refused in one plain sentence that says what to write instead."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hostile_values import HOSTILE
from hypothesis import given
from plain_errors import assert_plain

from metricx.alerts.rules import AlertRuleError, Rule, check_in
from metricx.semantic import catalogue
from metricx.semantic.custom import Definitions

SPEND_ABOVE = {"name": "Spend watch", "metric": "spend", "condition": "above", "threshold": 1000}


def refusal(**changes: object) -> str:
    with pytest.raises(AlertRuleError) as refused:
        Rule.parse({**SPEND_ABOVE, **changes})
    message = str(refused.value)
    assert_plain(message)
    return message


def test_a_rule_gets_its_defaults_and_a_change_its_baseline():
    # Given the fewest fields of a threshold rule and of a change rule
    threshold = Rule.parse(SPEND_ABOVE)
    change = Rule.parse({**SPEND_ABOVE, "condition": "falls_by", "threshold": "20"})
    # Then both read today so far after every sync, with an hour's cool-down
    assert (threshold.period, threshold.schedule, threshold.cooldown_minutes) == (
        "today",
        "after_sync",
        60,
    )
    assert threshold.baseline is None and threshold.threshold == Decimal("1000")
    # And the change is measured against the previous period
    assert change.baseline == "previous_period"


@pytest.mark.parametrize(
    "changes, said",
    [
        ({"threshold": "NaN"}, "threshold: must be a number between"),
        ({"threshold": "inf"}, "threshold: must be a number between"),
        ({"threshold": "1e30"}, "threshold: must be a number between"),
        ({"threshold": 10**4000}, "threshold: must be a number between"),
        ({"threshold": "lots"}, "threshold: must be a number, got 'lots'"),
        ({"threshold": True}, "threshold: must be a number, got True"),
        ({"condition": "abov"}, "unknown condition 'abov'; expected 'above', 'below', "),
        ({"condition": "abov"}, "(did you mean 'above'?)"),
        ({"period": "this_hour"}, "unknown period 'this_hour'"),
        ({"schedule": "daily"}, "a daily rule needs local_hour"),
        ({"schedule": "daily", "local_hour": 24}, "a local hour is 0 to 23, got 24"),
        ({"schedule": "daily", "local_hour": -1}, "a local hour is 0 to 23, got -1"),
        ({"schedule": "daily", "local_hour": "8.5"}, "local_hour"),
        ({"local_hour": 8}, "local_hour is for daily rules, not after_sync ones"),
        ({"condition": "falls_by", "threshold": 150}, "cannot fall by more than 100 %"),
        ({"condition": "rises_by", "threshold": 0}, "a change is a percent above 0"),
        ({"condition": "rises_by", "threshold": -5}, "a change is a percent above 0"),
        ({"baseline": "same_weekday"}, "a baseline is for rises_by and falls_by"),
        ({"cooldown_minutes": -1}, "cooldown_minutes: must be at least 0"),
        ({"cooldown_minutes": 10**6}, "cooldown_minutes: must be at most 10080"),
        ({"channels": [{"kind": "email", "to": "not-an-address"}]}, "is not an email address"),
        ({"channels": [{"kind": "email"}]}, "an email channel needs 'to'"),
        ({"channels": [{"kind": "pager"}]}, "unknown channel 'pager'"),
        ({"channels": [{"kind": "slack", "to": "#general"}]}, "a slack channel takes no 'to'"),
        ({"channels": [{"kind": "slack"}] * 11}, "channels"),
        ({"name": ""}, "the rule's name cannot be empty"),
        ({"name": "a\x00b"}, "NUL"),
        ({"name": "x" * 5000}, "longer than 120 characters"),
        ({"filters": {"provider": ["snapchat"]}}, "unknown provider 'snapchat'"),
        ({"sql": "DROP TABLE users"}, "unknown field 'sql'"),
    ],
)
def test_a_bad_field_is_refused_in_one_sentence(changes, said):
    assert said in refusal(**changes)


@given(HOSTILE)
def test_hostile_text_anywhere_is_refused_or_kept_plain(text):
    for field in ("name", "metric", "condition", "period", "schedule", "threshold"):
        try:
            Rule.parse({**SPEND_ABOVE, field: text})
        except AlertRuleError as refused:
            assert_plain(str(refused))


def test_the_metric_must_be_known_to_the_workspace():
    # Given no custom definitions
    none = Definitions()
    # Then a typo is refused with the metric it probably meant, as SemanticQuery says it
    with pytest.raises(AlertRuleError, match=r"unknown metric 'spnd' \(did you mean 'spend'"):
        check_in(Rule.parse({**SPEND_ABOVE, "metric": "spnd"}), none)
    # And cohort metrics are not watched
    with pytest.raises(AlertRuleError, match="not cohort metrics such as 'ltv'"):
        check_in(Rule.parse({**SPEND_ABOVE, "metric": "ltv"}), none)
    # And store figures cannot be split by platform, in the engine's words
    with pytest.raises(AlertRuleError, match="store-level metrics"):
        check_in(Rule.parse({**SPEND_ABOVE, "metric": "orders", "split": "provider"}), none)
    # And a split must be a dimension
    with pytest.raises(AlertRuleError, match="unknown dimension 'platform'"):
        check_in(Rule.parse({**SPEND_ABOVE, "split": "platform"}), none)
    # While a known metric gives its catalogue entry
    assert check_in(Rule.parse(SPEND_ABOVE), none) == catalogue.METRICS["spend"]


def test_a_rule_in_words_shows_its_threshold_as_the_metric_is_shown():
    # Given CTR below 1.5 (percent) and spend above 1000
    ctr = Rule.parse({**SPEND_ABOVE, "metric": "ctr", "condition": "below", "threshold": 1.5})
    spend = Rule.parse({**SPEND_ABOVE, "period": "yesterday", "split": "provider"})
    # Then each reads as the pages would write it
    assert ctr.threshold_value(catalogue.METRICS["ctr"]) == pytest.approx(0.015)
    assert ctr.describe(catalogue.METRICS["ctr"], "USD") == "CTR below 1.50% today so far"
    assert spend.describe(catalogue.METRICS["spend"], "USD") == (
        "Ad spend above $1,000.00 yesterday, by provider"
    )
