"""The re-fetch window of a Google Ads account: its longest conversion window.

Conversions land on the click's (or impression's) date up to the conversion action's window
after it: click-through 1-90 days, view-through 1-30 (support.google.com/google-ads/answer/
3123169). A re-fetch shorter than the longest enabled window misses late conversions.
"""

from __future__ import annotations

import pytest

from metricx.sandbox.fakes.google_report import ConversionAction


@pytest.fixture
def customer(merchant):
    return merchant.accounts_of("google")[0]


@pytest.fixture
def actions(sandbox, customer, monkeypatch):
    """Replace the customer's conversion actions for one test."""

    def set_actions(*items: ConversionAction) -> None:
        monkeypatch.setitem(sandbox.google.conversion_actions, customer.external_id, items)

    return set_actions


def _action(ident: int, status: str, click: int, view: int) -> ConversionAction:
    return ConversionAction(
        str(ident), f"Action {ident}", status, "WEBPAGE", "PURCHASE", click, view
    )


def test_the_longest_window_of_the_enabled_actions_wins(make_google, sandbox, customer) -> None:
    # given the sandbox account: a 30-day purchase tag, a 90-day CRM import, and a removed
    # action with a 60-day window
    client = make_google()
    # when the lookback is read, then the CRM import's 90 days win, in one request
    assert client.max_lookback_days(customer.external_id) == 90
    [call] = sandbox.requests.of("google", path="googleAds")
    assert "FROM conversion_action WHERE conversion_action.status = 'ENABLED'" in call.body["query"]
    assert client.requests_made == 1


def test_removed_actions_do_not_count(make_google, customer, actions) -> None:
    actions(_action(1, "ENABLED", 7, 1), _action(2, "REMOVED", 90, 30))
    assert make_google().max_lookback_days(customer.external_id) == 7


def test_a_view_through_window_longer_than_every_click_window_counts(
    make_google, customer, actions
) -> None:
    actions(_action(1, "ENABLED", 7, 1), _action(2, "ENABLED", 14, 30))
    assert make_google().max_lookback_days(customer.external_id) == 30


def test_an_account_without_enabled_actions_gets_googles_default_30(
    make_google, customer, actions
) -> None:
    actions(_action(1, "REMOVED", 90, 30))
    assert make_google().max_lookback_days(customer.external_id) == 30
    actions()
    assert make_google().max_lookback_days(customer.external_id) == 30


def test_the_window_is_never_longer_than_googles_90_days(make_google, customer, actions) -> None:
    # a value Google does not allow today: the cap keeps a platform change from turning the
    # daily re-fetch into a years-long one
    actions(_action(1, "ENABLED", 540, 1))
    assert make_google().max_lookback_days(customer.external_id) == 90
