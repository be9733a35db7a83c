"""The campaign tree service on synced sandbox data: the account level, sorting, isolation."""

from __future__ import annotations

from datetime import date

import pytest

from metricx.errors import InvalidInputError
from metricx.semantic.query import TimeRange
from metricx.services import campaigns
from metricx.services.metrics import run_query

PERIOD = TimeRange(start=date(2026, 11, 8), end=date(2026, 11, 19))


def test_accounts_are_the_top_level_with_their_spend(synced):
    # When the account level of the synced workspace is read
    workspace_id, _ = synced
    table = campaigns.level_table(workspace_id, "account", PERIOD)
    # Then every ad account is a node, and its spend is the sum of its campaigns' spend
    assert len(table) == len(campaigns.nodes(workspace_id, "account")) >= 2
    by_campaign = campaigns.level_table(workspace_id, "campaign", PERIOD)
    for account in table.itertuples():
        children = by_campaign[by_campaign["parent_id"] == account.id]
        assert account.spend == pytest.approx(children["spend"].sum())
    assert table["spend"].sum() == pytest.approx(run_query(workspace_id, {
        "metrics": ["spend"], "time_range": PERIOD.model_dump(mode="json")}).frame["spend"][0])
    assert set(table["currency"]) >= {"EUR", "USD"}


def test_drilling_into_an_account_keeps_only_its_campaigns(synced):
    workspace_id, _ = synced
    account = campaigns.nodes(workspace_id, "account").iloc[0]
    inside = campaigns.level_table(workspace_id, "campaign", PERIOD, within=[int(account.id)])
    assert len(inside) > 0 and (inside["parent_id"] == account.id).all()


@pytest.mark.parametrize("sort_by", campaigns.SORT_KEYS)
@pytest.mark.parametrize("descending", [True, False])
def test_any_metric_sorts_both_ways_with_empty_values_last(synced, sort_by, descending):
    workspace_id, _ = synced
    table = campaigns.level_table(workspace_id, "adset", PERIOD, sort_by=sort_by,
                                  descending=descending)
    values = table[sort_by].dropna().tolist()
    assert values == sorted(values, reverse=descending)
    assert table[sort_by].isna().sum() == 0 or table[sort_by].iloc[-1:].isna().all()


def test_an_unknown_sort_key_or_level_is_a_clear_error(synced):
    workspace_id, _ = synced
    with pytest.raises(InvalidInputError, match="sort by one of"):
        campaigns.level_table(workspace_id, "campaign", PERIOD, sort_by="moon")
    with pytest.raises(InvalidInputError, match="level must be one of"):
        campaigns.nodes(workspace_id, "portfolio")


def test_another_workspace_sees_no_node_of_this_one(synced, other_workspace):
    for level in campaigns.LEVELS:
        assert campaigns.nodes(other_workspace.id, level).empty
        assert campaigns.level_table(other_workspace.id, level, PERIOD).empty
