"""Shopify bulk query operations: run, follow, download the JSONL, rebuild the nodes.

shopify.dev "Perform bulk operations with the GraphQL Admin API": `bulkOperationRunQuery` takes
a query with one root connection (no page sizes); Shopify runs it without rate limits and, once
`status` is COMPLETED, `url` points at a JSONL file: one object per line, nested connection
items as their own lines carrying `__parentId`, plain lists inline. No `url` means no objects.
From 2026-01 an app may run up to five bulk queries at once per shop, and one operation is
followed with `bulkOperation(id:)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import httpx

from metricx.connectors.errors import (
    AccountBlockedError,
    InvalidRequestError,
    MalformedResponseError,
    TransientError,
)
from metricx.connectors.http import HttpSession, expect
from metricx.connectors.shopify_queries import BULK_RUN, BULK_STATUS

PROVIDER = "shopify"
STATUSES = frozenset(
    {"CREATED", "RUNNING", "COMPLETED", "FAILED", "CANCELING", "CANCELED", "EXPIRED"}
)
ERROR_CODES = frozenset({"ACCESS_DENIED", "INTERNAL_SERVER_ERROR", "TIMEOUT"})

GraphQL = Callable[[Any, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class BulkPolicy:
    """How patiently an operation is followed: first poll after `first_delay` seconds, then
    doubling up to `max_delay`, giving up (to retry the sync later) after `timeout` seconds."""

    first_delay: float = 1.0
    max_delay: float = 15.0
    timeout: float = 1800.0


def start(graphql: GraphQL, text: str) -> str:
    """Start a bulk query; returns the operation's id."""
    payload: Any = graphql(BULK_RUN, {"query": text}).get("bulkOperationRunQuery")
    expect(PROVIDER, isinstance(payload, dict), "bulkOperationRunQuery")
    errors = payload.get("userErrors") or []
    if errors:
        messages = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
        if "in progress" in messages:  # five already running: try again once one finishes
            raise TransientError(
                PROVIDER,
                f"Shopify is busy with other bulk queries for this shop ({messages}); will retry",
            )
        raise InvalidRequestError(PROVIDER, f"Shopify refused the bulk query: {messages}")
    operation = payload.get("bulkOperation")
    expect(PROVIDER, isinstance(operation, dict) and bool(operation.get("id")), "bulkOperation.id")
    return str(operation["id"])


def wait(
    graphql: GraphQL, operation_id: str, policy: BulkPolicy, sleep: Callable[[float], None]
) -> str | None:
    """Poll until the operation completes; its result URL (None: nothing matched)."""
    delay, waited = policy.first_delay, 0.0
    while waited < policy.timeout:
        sleep(delay)
        waited += delay
        status: Any = graphql(BULK_STATUS, {"id": operation_id}).get("bulkOperation")
        expect(PROVIDER, isinstance(status, dict), "bulkOperation")
        state = status.get("status")
        if state not in STATUSES:
            raise MalformedResponseError(
                PROVIDER, f"Shopify sent an unknown bulk operation status {state!r}"
            )
        if state == "COMPLETED":
            return status.get("url") or None
        if state in ("FAILED", "CANCELED", "EXPIRED"):
            raise _failure(state, status.get("errorCode"))
        delay = min(policy.max_delay, delay * 2)
    raise TransientError(
        PROVIDER, f"Shopify's bulk query is still running after {policy.timeout:g} s; will retry"
    )


def _failure(state: str, code: Any) -> Exception:
    if code is not None and code not in ERROR_CODES:
        return MalformedResponseError(
            PROVIDER, f"Shopify sent an unknown bulk operation error code {code!r}"
        )
    if code == "ACCESS_DENIED":
        return AccountBlockedError(
            PROVIDER,
            "Shopify denied the bulk query access to the shop's "
            "data: the merchant must approve the app's access scopes "
            "(reinstall it) and the app needs protected customer data "
            "access",
            code=code,
        )
    return TransientError(
        PROVIDER,
        f"Shopify's bulk query ended {state}{f' ({code})' if code else ''}; will retry",
        code=code,
    )


def download(session: HttpSession, url: str) -> Iterator[str]:
    """The result file's lines. The URL is pre-signed storage: no Shopify token goes with it."""
    try:
        with session.client.stream("GET", url) as response:
            if response.status_code != 200:
                raise TransientError(
                    PROVIDER,
                    f"Could not download Shopify's bulk result "
                    f"(HTTP {response.status_code}); will retry",
                    status=response.status_code,
                )
            yield from response.iter_lines()
    except httpx.TransportError as exc:  # refused, timed out or cut mid-stream
        raise TransientError(
            PROVIDER, f"Shopify's bulk result download broke off ({type(exc).__name__}); will retry"
        ) from exc


def rebuild(lines: Iterable[str], nested: str | None) -> list[dict[str, Any]]:
    """Root objects in file order, each nested connection's lines gathered back under
    `nested` as {"nodes": [...]} so the page parsers read bulk rows unchanged."""
    roots: dict[str, dict[str, Any]] = {}
    children: list[tuple[int, str, dict[str, Any]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, parse_float=Decimal)
        except ValueError as exc:
            raise MalformedResponseError(
                PROVIDER, f"Shopify's bulk result line {number} is not JSON"
            ) from exc
        expect(PROVIDER, isinstance(row, dict) and "id" in row, f"bulk result line {number}")
        parent = row.pop("__parentId", None)
        if parent is None:
            if nested:
                row[nested] = {"nodes": [], "pageInfo": {"hasNextPage": False}}
            roots[str(row["id"])] = row
        else:
            children.append((number, str(parent), row))
    for number, parent, row in children:
        expect(
            PROVIDER,
            parent in roots and nested is not None,
            f"bulk result line {number} (__parentId {parent} not in the file)",
        )
        roots[parent][cast(str, nested)]["nodes"].append(row)  # expect() refused None

    return list(roots.values())
