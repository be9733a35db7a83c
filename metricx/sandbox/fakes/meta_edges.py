"""Graph API entity edges (campaigns, adsets, ads): node shape, field lists and filtering."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from metricx.sandbox.entities import Ad, AdSet, Campaign, Node
from metricx.sandbox.fakes.meta_graph import MetaError
from metricx.sandbox.merchant import Merchant

ENTITY_FIELDS = {
    "campaigns": {
        "id",
        "name",
        "status",
        "effective_status",
        "configured_status",
        "objective",
        "daily_budget",
        "lifetime_budget",
        "updated_time",
        "created_time",
        "start_time",
        "account_id",
        "buying_type",
    },
    "adsets": {
        "id",
        "name",
        "status",
        "effective_status",
        "configured_status",
        "campaign_id",
        "daily_budget",
        "lifetime_budget",
        "updated_time",
        "created_time",
        "account_id",
        "optimization_goal",
        "billing_event",
    },
    "ads": {
        "id",
        "name",
        "status",
        "effective_status",
        "configured_status",
        "campaign_id",
        "adset_id",
        "updated_time",
        "created_time",
        "account_id",
    },
}
NODE_TYPES = {"campaigns": "Campaign", "adsets": "AdSet", "ads": "Ad"}


def entity_node(merchant: Merchant, node: Node, now: datetime) -> dict[str, Any]:
    """A campaign, ad set or ad as the Graph API edges return it (budgets in minor units)."""
    m = merchant
    status = node.status_at(now)
    out: dict[str, Any] = {
        "id": node.external_id,
        "name": node.name,
        "status": status,
        "configured_status": status,
        "effective_status": status,
        "account_id": node.account_id,
        "created_time": graph_time(node.created_at),
        "updated_time": graph_time(node.updated_at(now)),
    }
    if isinstance(node, Campaign):
        out.update(
            objective=node.objective, buying_type="AUCTION", start_time=graph_time(node.created_at)
        )
        if node.budget is not None:
            out["daily_budget"] = str(int(node.budget * 100))
    elif isinstance(node, AdSet):
        camp = m.campaign(node.campaign_id)
        out.update(
            campaign_id=node.campaign_id,
            optimization_goal="OFFSITE_CONVERSIONS",
            billing_event="IMPRESSIONS",
        )
        if camp.status_at(now) == "PAUSED":
            out["effective_status"] = "CAMPAIGN_PAUSED"
        if node.budget is not None:
            out["daily_budget"] = str(int(node.budget * 100))
    elif isinstance(node, Ad):
        camp, adset = m.campaign(node.campaign_id), m.adset(node.adset_id)
        out.update(campaign_id=camp.external_id, adset_id=adset.external_id)
        if camp.status_at(now) == "PAUSED":
            out["effective_status"] = "CAMPAIGN_PAUSED"
        elif adset.status_at(now) == "PAUSED":
            out["effective_status"] = "ADSET_PAUSED"
    return out


def graph_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def requested_fields(
    params: dict[str, str], default: set[str], known: set[str], node: str
) -> set[str]:
    """The `fields` parameter, checked like the Graph API does (unknown field -> error 100)."""
    wanted = {f for f in params.get("fields", "").split(",") if f} or default
    for name in sorted(wanted):
        if name not in known:
            raise MetaError(
                100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node})"
            )
    return wanted


def filters(params: dict[str, str]) -> list[dict[str, Any]]:
    """The `filtering` parameter: a JSON array of {field, operator, value}."""
    raw = params.get("filtering")
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list):
        raise MetaError(100, "(#100) param filtering must be a JSON array")
    return parsed


def id_filter(params: dict[str, str]) -> frozenset[str] | None:
    """Insights filtering on campaign.id / adset.id / ad.id (IN or EQUAL), None if absent."""
    ids: set[str] | None = None
    for f in filters(params):
        if f.get("field") in ("campaign.id", "adset.id", "ad.id") and f.get("operator") in (
            "IN",
            "EQUAL",
        ):
            value = f.get("value")
            values = {str(v) for v in (value if isinstance(value, list) else [value])}
            ids = values if ids is None else ids & values
    return frozenset(ids) if ids is not None else None


def matches(node: dict[str, Any], conditions: list[dict[str, Any]]) -> bool:
    """Graph API filtering on entity edges: effective_status IN, updated_time GREATER_THAN."""
    for f in conditions:
        name = str(f.get("field", "")).split(".")[-1]
        op = f.get("operator")
        value: Any = f.get("value")
        if name == "effective_status" and op == "IN" and node["effective_status"] not in value:
            return False
        if name == "id" and op == "IN" and node["id"] not in {str(v) for v in value}:
            return False
        if name == "updated_time" and op in ("GREATER_THAN", "LESS_THAN"):
            moment = datetime.strptime(node["updated_time"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
            if (op == "GREATER_THAN") != (moment > float(value)):
                return False
    return True
