"""ShopifyClient's GraphQL documents against graphql-core and Shopify's published rules.

Every document the client sends while its public reads run against the sandbox (with the
default page sizes, and again with tiny pages so that follow-up documents are sent too) must
parse (graphql-core 3.3, the reference implementation's port), pass the GraphQL spec's
schema-free validation rules, carry every non-null variable it declares, and cost under
1,000 points by Shopify's published calculated-query-cost rules (shopify_rules.py, written
independently of the connector's own calculator). A bulk query handed to
bulkOperationRunQuery must parse and follow Shopify's bulk-query restrictions.

ShopifyAPI 12.7.0 (November 2024) knows API versions up to 2024-10 only, so it cannot say
whether 2026-10 exists; it does fix the URL layout and the auth header of an Admin GraphQL
call for any version, and those are checked against what the connector sends.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import shopify
from graphql import GraphQLError, parse

from contracts.drive import Call, Traffic, report
from contracts.inputs import TODAY
from contracts.shopify_rules import (
    MAX_QUERY_COST,
    CostError,
    bulk_problems,
    bulk_queries,
    missing_variables,
    requested_cost,
    spec_errors,
)
from metricx.config import SETTINGS
from metricx.connectors.shopify import ShopifyClient
from metricx.connectors.versions import DEFAULT_VERSIONS, version_status
from metricx.sandbox.credentials import SandboxCredentials

VERSION = DEFAULT_VERSIONS["shopify"]
BODY_KEYS = {"query", "variables", "operationName", "extensions"}  # GraphQL over HTTP


def _documents(traffic: Traffic) -> Iterator[tuple[Call, dict[str, Any]]]:
    for call, request in traffic.sent():
        if request.path.endswith("/graphql.json") and isinstance(request.body, dict):
            yield call, request.body


def test_every_public_read_of_the_client_was_driven(shopify_traffic: Traffic) -> None:
    # given the client's public reads, called against the sandbox full and incremental
    # then none was left out for want of an argument, and each one completed
    assert not shopify_traffic.undriven, report(shopify_traffic.undriven)
    assert shopify_traffic.calls, "no public read of ShopifyClient was called"
    failed = {c.label: repr(c.error) for c in shopify_traffic.calls if c.error is not None}
    assert not failed, report(failed)


def test_every_document_parses_and_passes_the_specs_schema_free_rules(
    shopify_traffic: Traffic,
) -> None:
    # given every GraphQL request body the client sent
    problems: set[str] = set()
    bodies = list(_documents(shopify_traffic))
    assert bodies
    for call, body in bodies:
        if set(body) - BODY_KEYS:
            problems.add(
                f"{call.label}: body keys {sorted(set(body) - BODY_KEYS)} are not "
                "GraphQL-over-HTTP keys"
            )
        try:
            document = parse(body.get("query") or "")
        except GraphQLError as exc:
            problems.add(f"{call.label}: does not parse: {exc.message}\n    {body.get('query')}")
            continue
        problems |= {
            f"{call.label}: {error.message}\n    {body['query']}" for error in spec_errors(document)
        }
        missing = missing_variables(
            document, body.get("variables") or {}, body.get("operationName")
        )
        if missing:
            problems.add(
                f"{call.label}: non-null variables {missing} not sent\n    {body['query']}"
            )
    # then each one parses, uses exactly the variables it declares, and gets them all
    assert not problems, report(sorted(problems))


def test_every_document_costs_under_the_single_query_limit(shopify_traffic: Traffic) -> None:
    # given every document the client sent, priced with the variables it was sent with
    over: dict[str, str] = {}
    for call, body in _documents(shopify_traffic):
        try:
            document = parse(body.get("query") or "")
        except GraphQLError:
            continue  # reported by the parse test
        variables = body.get("variables") or {}
        try:
            priced = requested_cost(document, variables, body.get("operationName"))
        except CostError as exc:
            over[f"{call.label} {body['query'][:60]}"] = str(exc)
            continue
        if priced.cost >= MAX_QUERY_COST:
            sizes = {k: v for k, v in variables.items() if isinstance(v, int)}
            over[f"{call.label}: {priced.operation} {sizes}"] = (
                f"requested cost {priced.cost} >= {MAX_QUERY_COST}"
            )
    # then every one is priced under 1,000 points (Shopify refuses it otherwise)
    assert not over, report(over)


def test_every_bulk_query_follows_the_bulk_restrictions(shopify_traffic: Traffic) -> None:
    # given the queries handed to bulkOperationRunQuery, if the client runs bulk operations
    problems = []
    for call, body in _documents(shopify_traffic):
        try:
            document = parse(body.get("query") or "")
        except GraphQLError:
            continue
        for text in bulk_queries(document, body.get("variables") or {}):
            problems += [f"{call.label}: {p}" for p in bulk_problems(text)]
    # then each one parses and keeps to the documented connection limits
    assert not problems, report(problems)


def test_requests_use_shopifyapis_url_layout_and_header_for_the_configured_version(
    shopify_traffic: Traffic,
) -> None:
    # given the Admin GraphQL endpoint and headers ShopifyAPI builds for the same shop,
    # version and token
    credentials = SandboxCredentials()
    session = shopify.Session(credentials.shopify_shop, VERSION, credentials.shopify_access_token)
    shopify.ShopifyResource.activate_session(session)
    try:
        graphql = shopify.GraphQL()
        endpoint, headers = graphql.endpoint, dict(graphql.headers)
    finally:
        shopify.ShopifyResource.clear_session()
    suffix = endpoint.split(credentials.shopify_shop, 1)[1]
    # then the connector's default URL template and the configured default yield that
    # endpoint, and every GraphQL request it sent went to that path with that header
    template = inspect.signature(ShopifyClient).parameters["url_template"].default
    assert template.format(shop=credentials.shopify_shop, version=VERSION) == endpoint
    configured = {s.env: s.default for s in SETTINGS}["SHOPIFY_URL_TEMPLATE"]
    assert configured is not None
    assert configured.format(shop=credentials.shopify_shop, version=VERSION) == endpoint
    admin = [r for _, r in shopify_traffic.sent() if isinstance(r.body, dict) and "query" in r.body]
    others = [r for _, r in shopify_traffic.sent() if r not in admin]
    assert admin
    assert {r.path for r in admin if not r.path.endswith(suffix)} == set()
    auth = {
        name: value for name, value in headers.items() if value == credentials.shopify_access_token
    }
    assert list(auth) == ["X-Shopify-Access-Token"]
    assert {r.headers.get("x-shopify-access-token") for r in admin} == {
        credentials.shopify_access_token
    }
    # and the token goes nowhere else (a bulk result is a pre-signed storage URL)
    assert {r.path for r in others if "x-shopify-access-token" in r.headers} == set()


def test_the_configured_version_against_what_shopifyapi_knows() -> None:
    # given the versions ShopifyAPI 12.7.0 defines
    shopify.ApiVersion.define_known_versions()
    known = {name: v for name, v in shopify.ApiVersion.versions.items() if v.stable}
    configured = shopify.ApiVersion.coerce_to_version(VERSION)
    # then the configured version is a stable release name by ShopifyAPI's own rules, in
    # Shopify's quarterly cadence (January, April, July, October)
    assert configured.stable and configured.name == VERSION
    assert VERSION[5:] in ("01", "04", "07", "10")
    # and it is newer than everything ShopifyAPI knows: the SDK cannot vouch for it, the
    # connector's end-of-life table must, and says it is live today
    assert configured.numeric_version > max(v.numeric_version for v in known.values())
    assert version_status("shopify", VERSION, TODAY).state == "live"
    # while every version ShopifyAPI knows is past its supported year today
    assert {n for n in known if version_status("shopify", n, TODAY).state == "live"} == set()


@pytest.mark.parametrize(
    ("document", "variables", "cost"),
    [
        # shopify.dev rate limits: scalars and enums 0, an object 1
        ("query { shop { id name currencyCode } }", {}, 1),
        # a connection: 2 + first x (1 + what one node selects)
        ("query { products(first: 10) { edges { node { id title } } } }", {}, 12),
        (
            "query ($n: Int!) { products(first: $n) { pageInfo { hasNextPage } nodes { id } } }",
            {"n": 50},
            52,
        ),
        # nested connections multiply: 2 + 10 x (1 + (2 + 5 x 1)) = 82
        (
            "query { products(first: 10) { edges { node { title "
            "variants(first: 5) { edges { node { price } } } } } } }",
            {},
            82,
        ),
        # objects inside each node count per node: 2 + 3 x (1 + 2) = 11
        ("query { orders(last: 3) { nodes { totalPriceSet { shopMoney { amount } } } } }", {}, 11),
        # an interface or union costs its most expensive possible selection: 1 + max(2, 0)
        (
            'query { node(id: "gid://shopify/Order/1") { id ... on Order { customer { '
            "defaultEmailAddress { emailAddress } } } ... on Product { title } } }",
            {},
            3,
        ),
        # a mutation costs 10
        (
            'mutation { bulkOperationRunQuery(query: "{ orders { edges { node { id } } } }") { '
            "bulkOperation { id status } userErrors { field message } } }",
            {},
            10,
        ),
        # a default value sizes a connection the request leaves unset
        ("query ($n: Int = 4) { orders(first: $n) { nodes { id } } }", {}, 6),
    ],
)
def test_the_cost_rules_price_the_published_shapes(
    document: str, variables: dict[str, int], cost: int
) -> None:
    # given a document of a shape the published rules price
    # then the calculator gives that price
    assert requested_cost(parse(document), variables).cost == cost


def test_an_unsized_connection_cannot_be_priced() -> None:
    # given a connection whose `first` variable is not sent and has no default
    document = parse("query ($n: Int) { orders(first: $n) { nodes { id } } }")
    # then pricing refuses instead of guessing
    with pytest.raises(CostError):
        requested_cost(document, {})


@pytest.mark.parametrize(
    ("document", "variables", "expected"),
    [
        (
            "query Page($first: Int!, $inner: Int!) { orders(first: $first) { nodes { id } } }",
            {"first": 5, "inner": 5},
            "never used",
        ),
        ("query { orders(first: $first) { nodes { id } } }", {}, "not defined"),
        ("query A { shop { id } } query A { shop { name } }", {}, "one operation named 'A'"),
    ],
)
def test_the_spec_rules_catch_invalid_documents(
    document: str, variables: dict[str, int], expected: str
) -> None:
    # given a document the GraphQL spec's validation rejects whatever the schema
    errors = spec_errors(parse(document))
    # then the rule that rejects it says so
    assert len(errors) == 1 and expected in errors[0].message


def test_a_non_null_variable_left_out_is_caught() -> None:
    # given a document declaring a non-null variable the request does not send
    document = parse(
        "query ($first: Int!, $q: String) { orders(first: $first, query: $q) { nodes { id } } }"
    )
    # then it is reported, and the nullable one is not
    assert missing_variables(document, {"q": None}) == ["first"]
    assert missing_variables(document, {"first": 5}) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ orders { edges { node { id } } } }", []),
        ('{ nodes(ids: ["gid://shopify/Order/1"]) { id } }', ["top-level 'nodes'"]),
        (
            "{ orders { edges { node { lineItems { edges { node { discountAllocations { edges { "
            "node { allocatedAmountSet { shopMoney { amount } } } } } } } } } } } }",
            ["deeper"],
        ),
        (
            "{ a: orders { edges { node { id } } } b: orders { edges { node { id } } } "
            "c: orders { edges { node { id } } } d: orders { edges { node { id } } } "
            "e: orders { edges { node { id } } } f: orders { edges { node { id } } } }",
            ["6 connections"],
        ),
        ("{ orders { edges { node { id } }", ["does not parse"]),
    ],
)
def test_the_bulk_restrictions_are_applied(query: str, expected: list[str]) -> None:
    # given a bulk query
    problems = bulk_problems(query)
    # then exactly the documented restriction it breaks is reported
    assert len(problems) == len(expected)
    assert all(e in p for e, p in zip(expected, problems, strict=True))
