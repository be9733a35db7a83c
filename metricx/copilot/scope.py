"""The scope an answer covers, said in words, and the workspace's entities to check names
against (names.py)."""

from __future__ import annotations

from sqlalchemy import select

from metricx.db import new_session
from metricx.models import Creative
from metricx.platforms import EMAIL_PROVIDERS, listing, short_name
from metricx.semantic import catalogue
from metricx.semantic.query import EMAIL_DIMENSIONS, Filters, SemanticQuery
from metricx.services.campaigns import tree

from .names import CREATIVE, LEVELS, Entity

_LEVEL_WORDS = {"campaign": "campaigns", "adset": "ad sets", "ad": "ads"}


def name_level(query: SemanticQuery) -> str:
    """The level a name filter applies to: the finest entity split asked for, else campaigns
    (the engine's rule)."""
    finest = [d for d in ("ad", "adset", "campaign") if d in query.dimensions]
    return finest[0] if finest else "campaign"


def _store_level(query: SemanticQuery, metric_id: str) -> bool:
    return bool(catalogue.sources_in(query.formula(metric_id)) & catalogue.STORE_LEVEL_SOURCES)


def _values_text(query: SemanticQuery) -> str:
    """ "whose Funnel stage is BOFU" for a filter on custom dimensions."""
    parts = [
        f"{query.definitions.dimensions[key].label} is {' or '.join(values)}"
        for key, values in (query.filters.dimension_values or {}).items()
    ]
    return " and ".join(parts)


def _whole_text(query: SemanticQuery) -> str:
    """The store, its email account (Klaviyo's figures are the account's emails and texts),
    or both."""
    email = {m for m in query.metrics if "email" in catalogue.sources_in(query.formula(m))}
    channels = query.filters.email_channel or []
    sends = (
        {"email": "emails", "sms": "texts (SMS)"}[channels[0]]
        if len(channels) == 1
        else "emails and texts"
    )
    split = ", one row per channel" if set(EMAIL_DIMENSIONS) & set(query.dimensions) else ""
    account = f"your {listing(EMAIL_PROVIDERS, 'and', short=True)} account's {sends}{split}"
    if not email:
        return "Scope: the whole store."
    if email == set(query.metrics):
        return f"Scope: {account}."
    return f"Scope: the whole store, and {account}."


def scope_text(query: SemanticQuery) -> str:
    """ "Scope: campaigns whose name contains "brand", on Meta." and the like."""
    filters = query.filters
    if query.family == "cohort":
        return "Scope: every customer of the store, by the day of their first order."
    if query.family == "products":
        if filters.name_contains:
            return f"Scope: products whose title contains \u201c{filters.name_contains}\u201d."
        return "Scope: every product of the store."
    ad_dimensions = [d for d in query.dimensions if d not in EMAIL_DIMENSIONS]
    if all(_store_level(query, m) for m in query.metrics) and not (
        filters.provider
        or filters.name_contains
        or ad_dimensions
        or filters.dimension_values
        or filters.restricts_ads()
    ):
        return _whole_text(query)
    if filters.dimension_values:
        what = f"campaigns whose {_values_text(query)}"
        if filters.name_contains:
            what += f" and whose name contains \u201c{filters.name_contains}\u201d"
    elif filters.name_contains:
        level = _LEVEL_WORDS[name_level(query)]
        what = f"{level} whose name contains \u201c{filters.name_contains}\u201d"
    elif filters.entity_ids:
        what = f"the {len(filters.entity_ids)} chosen campaigns, ad sets or ads"
    else:
        what = "all campaigns"
    what += _creatives_text(filters)
    platforms = [short_name(p) for p in filters.provider or ()]
    where = " and ".join(platforms) if platforms else "every connected platform"
    return f"Scope: {what}, on {where}."


def _creatives_text(filters: Filters) -> str:
    """ ", ads showing one of 4 chosen creatives, video creatives only" for creative filters."""
    parts = []
    if filters.creative_ids:
        count = len(filters.creative_ids)
        parts.append(
            f"ads showing {'one of ' if count > 1 else ''}{count} chosen creative"
            + ("s" if count > 1 else "")
        )
    if filters.creative_format:
        parts.append(f"{' or '.join(filters.creative_format)} creatives only")
    return "".join(f", {part}" for part in parts)


def workspace_entities(workspace_id: int) -> tuple[Entity, ...]:
    """Every campaign, ad set and ad of the workspace, by level and name, then its creatives
    with their ids (only this workspace's rows are read)."""
    nodes = tree(workspace_id)
    rows = nodes[nodes["level"].isin(list(LEVELS))]
    with new_session() as session:
        creatives = session.execute(
            select(Creative.id, Creative.name)
            .where(Creative.workspace_id == workspace_id)
            .order_by(Creative.id)
        ).all()
    return (
        *dict.fromkeys(
            Entity(str(level), str(name))
            for level, name in zip(rows["level"], rows["name"], strict=True)
            if name
        ),
        *(Entity(CREATIVE, str(name), int(key)) for key, name in creatives if name),
    )
