"""The fakes' small GAQL and GraphQL readers understand what the connectors send."""

from __future__ import annotations

import pytest

from metricx.sandbox.fakes import gaql, graphql


def test_gaql_reads_a_metrics_query() -> None:
    query = gaql.parse(
        "SELECT ad_group_ad.ad.id, segments.date, metrics.cost_micros FROM ad_group_ad "
        "WHERE segments.date BETWEEN '2025-11-01' AND '2025-11-07' "
        "AND ad_group_ad.status != 'REMOVED' AND metrics.impressions > 0 "
        "ORDER BY metrics.cost_micros DESC LIMIT 10"
    )
    assert query.select == ("ad_group_ad.ad.id", "segments.date", "metrics.cost_micros")
    assert query.resource == "ad_group_ad"
    assert [(c.field, c.op, c.value) for c in query.where] == [
        ("segments.date", "BETWEEN", ("2025-11-01", "2025-11-07")),
        ("ad_group_ad.status", "!=", "REMOVED"),
        ("metrics.impressions", ">", 0),
    ]
    assert query.order_by == (("metrics.cost_micros", True),)
    assert query.limit == 10


@pytest.mark.parametrize(
    "text",
    [
        "SELECT FROM campaign",
        "SELECT campaign.id",
        "SELECT campaign.id FROM campaign WHERE",
        "SELECT campaign.id FROM campaign LIMIT ten",
    ],
)
def test_gaql_rejects_broken_queries_with_a_query_error(text: str) -> None:
    with pytest.raises(gaql.GaqlError) as caught:
        gaql.parse(text)
    assert caught.value.code in ("UNEXPECTED_INPUT", "UNEXPECTED_END_OF_QUERY")


def test_gaql_compares_literals_as_the_field_type() -> None:
    cond = gaql.Condition("campaign.id", "IN", ["123", "456"])
    assert gaql.compare(123, cond)
    assert not gaql.compare(789, cond)
    assert gaql.compare("Brand Search", gaql.Condition("campaign.name", "LIKE", "Brand%"))


def test_graphql_parses_variables_aliases_and_fragments() -> None:
    fields = graphql.parse(
        "query Q($n: Int!, $after: String = null) { recent: orders(first: $n, after: $after, "
        "sortKey: UPDATED_AT) { pageInfo { hasNextPage } nodes { ...O } } } "
        "fragment O on Order { id name }",
        {"n": 5},
    )
    orders = fields[0]
    assert (orders.name, orders.alias) == ("orders", "recent")
    assert orders.args == {"first": 5, "after": None, "sortKey": "UPDATED_AT"}
    assert [f.name for f in orders.child("nodes").selections] == ["id", "name"]


def test_graphql_projection_keeps_only_what_was_asked() -> None:
    fld = graphql.parse("{ order(id: 1) { id total: name lines(first: 1) { n } } }")[0]
    data = {
        "id": "1",
        "name": "#1001",
        "secret": "x",
        "lines": lambda args: [{"n": i, "m": 0} for i in range(args["first"])],
    }
    assert graphql.project(data, fld) == {"id": "1", "total": "#1001", "lines": [{"n": 0}]}
    bad = graphql.parse("{ order { nope } }")[0]
    with pytest.raises(graphql.GraphQLError) as caught:
        graphql.project({"__typename": "Order"}, bad)
    assert caught.value.code == "undefinedField"


def test_graphql_cost_grows_with_page_sizes() -> None:
    small = graphql.parse(
        "{ orders(first: 10) { nodes { id lineItems(first: 5) { nodes { id } } } } }"
    )
    big = graphql.parse(
        "{ orders(first: 100) { nodes { id lineItems(first: 50) { nodes { id } } } } }"
    )
    assert graphql.cost(small) == 2 + 10 * (1 + 2 + 5)
    assert graphql.cost(big) > 1000
