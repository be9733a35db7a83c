"""The campaign tree for the Campaigns page (account -> campaign -> ad set -> ad): each
node's status, budget and ancestors, with metrics, sorted as asked; and how the page moves
through the tree (a `View`: which level, inside which nodes, which node's trend) so that
drilling down, switching level and going back up keep their context."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pandas as pd
from sqlalchemy import func, select

from metricx.db import new_session
from metricx.errors import InvalidInputError
from metricx.models import Connection, Entity
from metricx.semantic.engine import run_query
from metricx.semantic.query import TimeRange
from metricx.vocabulary import AD_PROVIDERS, LEVELS, PARENT_LEVELS

CHILD_LEVEL = dict(zip(PARENT_LEVELS, LEVELS[1:], strict=True))  # the level a node opens to
#: The ancestors a row of each level shows beside its name, top down (same-named ads differ
#: by their ad set and campaign).
PARENT_COLUMNS = {
    "account": (),
    "campaign": ("account",),
    "adset": ("campaign",),
    "ad": ("campaign", "adset"),
}
TABLE_METRICS = ["spend", "conversions", "roas", "cpa", "ctr", "cpc"]
SORT_KEYS = ("name", *TABLE_METRICS)
_TREE_COLUMNS = ["id", "level", "name", "status", "budget", "currency", "parent_id", "provider"]


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise InvalidInputError(f"level must be one of {', '.join(LEVELS)}")


def tree(workspace_id: int) -> pd.DataFrame:
    """Every node of the workspace's campaign tree: id, level, name, status, budget (daily,
    in the account's own `currency`), parent id, platform, and per ancestor level the id and
    name of that ancestor (`account_id`/`account`, `campaign_id`/`campaign`,
    `adset_id`/`adset`; empty at and below the node's own level)."""
    with new_session() as session:
        rows = session.execute(
            select(
                Entity.id,
                Entity.level,
                Entity.name,
                Entity.status,
                Entity.budget,
                Connection.currency,
                Entity.parent_id,
                Connection.provider,
            )
            .join(Connection, Connection.id == Entity.connection_id)
            .where(Entity.workspace_id == workspace_id, Connection.workspace_id == workspace_id)
        ).all()
    parent = {row.id: row.parent_id for row in rows}
    level_of = {row.id: row.level for row in rows}
    name_of = {row.id: row.name for row in rows}
    found: dict[str, list[int | None]] = {level: [] for level in PARENT_LEVELS}
    for row in rows:
        ancestors = {}
        above = row.parent_id
        for _ in PARENT_LEVELS:  # an ad is three steps below its account
            if above not in level_of:
                break
            ancestors[level_of[above]] = above
            above = parent[above]
        for level, ids in found.items():
            ids.append(ancestors.get(level))
    nodes = pd.DataFrame(rows, columns=_TREE_COLUMNS).astype({"id": "int64"})
    for level, ids in found.items():
        nodes[f"{level}_id"] = pd.array(ids, dtype="Int64")
        nodes[level] = [None if i is None else name_of[i] for i in ids]
    return nodes


def nodes(workspace_id: int, level: str) -> pd.DataFrame:
    """The nodes of one `level` (see `tree`)."""
    _check_level(level)
    everything = tree(workspace_id)
    return everything[everything["level"] == level].reset_index(drop=True)


def connected_ad_accounts(workspace_id: int) -> int:
    """How many ad accounts (Meta, Google Ads) the workspace has connected."""
    with new_session() as session:
        return session.execute(
            select(func.count())
            .select_from(Connection)
            .where(Connection.workspace_id == workspace_id, Connection.provider.in_(AD_PROVIDERS))
        ).scalar_one()


def under(everything: pd.DataFrame, within: Iterable[int]) -> pd.Series:
    """Which nodes of `everything` (a `tree`) are one of `within` or below any of them, at any
    depth: the ads inside a campaign, not only the ad sets."""
    ids = list(within)
    inside = everything["id"].isin(ids)
    for level in PARENT_LEVELS:
        inside |= everything[f"{level}_id"].isin(ids)
    return inside


def level_table(
    workspace_id: int,
    level: str,
    period: TimeRange,
    within: Sequence[int] | None = None,
    search: str | None = None,
    sort_by: str = "spend",
    descending: bool = True,
) -> pd.DataFrame:
    """Nodes of one level with their ancestors and their metrics over `period`; `within`
    keeps what lies under those entity ids (at any depth), `search` filters names; sorted by
    `sort_by` (a metric of TABLE_METRICS or the name; nodes without a value last, ties by
    name)."""
    _check_level(level)
    if sort_by not in SORT_KEYS:
        raise InvalidInputError(f"sort by one of {', '.join(SORT_KEYS)}")
    query = {
        "metrics": TABLE_METRICS,
        "time_range": period.model_dump(mode="json"),
        "dimensions": [level],
        "filters": {
            "entity_ids": list(within) if within else None,
            "name_contains": search or None,
        },
    }
    metrics = run_query(workspace_id, query).frame.rename(columns={f"{level}_id": "id"})
    everything = tree(workspace_id)
    table = everything[everything["level"] == level]
    if within:
        table = table[under(table, within)]
    if search and search.strip():
        table = table[table["name"].str.contains(search.strip(), case=False, regex=False)]
    # Ids as integers on both sides, also when one side is empty (no rows: no dtype).
    table = table.merge(metrics.drop(columns=[level]).astype({"id": "int64"}), on="id", how="left")
    table[TABLE_METRICS] = table[TABLE_METRICS].astype(float)
    table["spend"] = table["spend"].fillna(0.0)
    keys = [sort_by] if sort_by == "name" else [sort_by, "name"]
    return table.sort_values(
        keys, ascending=[not descending, True][: len(keys)], na_position="last", kind="mergesort"
    ).reset_index(drop=True)


def trend(workspace_id: int, entity_ids: Sequence[int] | None, period: TimeRange) -> pd.DataFrame:
    """The daily TABLE_METRICS of what lies under `entity_ids` (every ad when None), one row
    per `day` (a date)."""
    daily = run_query(
        workspace_id,
        {
            "metrics": TABLE_METRICS,
            "grain": "day",
            "time_range": period.model_dump(mode="json"),
            "filters": {"entity_ids": list(entity_ids) if entity_ids else None},
        },
    ).frame
    return daily.assign(day=pd.to_datetime(daily["day"]))


# --- moving through the tree -------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """What the Campaigns page shows: the rows of `level` under any of `within` (everything
    when empty), and the trend of `node` (of `within`, or of everything, when None)."""

    level: str = "campaign"
    within: tuple[int, ...] = ()
    node: int | None = None


@dataclass(frozen=True)
class Crumb:
    """One step of the breadcrumb: its label and the view it opens."""

    label: str
    view: View


def _depth(everything: pd.DataFrame) -> dict[int, int]:
    return {
        i: LEVELS.index(level)
        for i, level in zip(everything["id"], everything["level"], strict=True)
    }


def _ancestor(everything: pd.DataFrame, node_id: int, level: str) -> int | None:
    """The node's ancestor at `level`, the node itself when it is of that level."""
    row = everything[everything["id"] == node_id].iloc[0]
    if row["level"] == level:
        return node_id
    found = row.get(f"{level}_id")
    return None if found is None or pd.isna(found) else int(found)


def _most_specific(everything: pd.DataFrame, ids: Iterable[int]) -> tuple[int, ...]:
    """`ids` without those that are an ancestor of another one (inside X and inside X's ad
    set A is inside A)."""
    kept = set(ids)
    rows = everything[everything["id"].isin(kept)]
    covered = {int(a) for level in PARENT_LEVELS for a in rows[f"{level}_id"].dropna()}
    return tuple(sorted(kept - covered))


def known(everything: pd.DataFrame, view: View) -> View:
    """The view without ids that are not nodes of this tree (a link from another workspace,
    or to a node since deleted) and without ads in `within` (an ad has nothing under it)."""
    depth = _depth(everything)
    within = tuple(i for i in view.within if depth.get(i, len(LEVELS) - 1) < len(LEVELS) - 1)
    return View(view.level, within, view.node if view.node in depth else None)


def select_row(everything: pd.DataFrame, view: View, node_id: int) -> View:
    """Where a click on a row leads: an account, campaign or ad set opens its children; an ad
    shows its trend, the table staying as it is."""
    level = everything.loc[everything["id"] == node_id, "level"].iloc[0]
    if level == "ad":
        return replace(view, node=node_id)
    return View(CHILD_LEVEL[level], (node_id,))


def switch_level(everything: pd.DataFrame, view: View, level: str) -> View:
    """The same context at another level. Down: the nodes the view is inside (and its trend
    node) stay the filter, so the ads of the campaign whose ad sets were shown. Up: each of
    them is replaced by its ancestor above the new level, and the one they lie under at the
    new level becomes the trend node, so it stays in sight."""
    _check_level(level)
    if level == view.level:
        return view
    new_depth, depth = LEVELS.index(level), _depth(everything)
    scope = [*view.within, *([view.node] if view.node is not None else [])]
    above, at_level = set(), set()
    for node_id in scope:
        if depth[node_id] < new_depth:
            above.add(node_id)
            continue
        at_level.add(_ancestor(everything, node_id, level))
        if new_depth > 0:
            parent = _ancestor(everything, node_id, LEVELS[new_depth - 1])
            if parent is not None:
                above.add(parent)
    within = _most_specific(everything, above)
    node = next(iter(at_level)) if len(at_level) == 1 else None
    return View(level, within, None if node in within else node)


def breadcrumb(everything: pd.DataFrame, view: View) -> list[Crumb]:
    """The way back up from `view`: "All campaigns", then the node it is inside and that
    node's ancestors, top down, each opening its children; the last crumb is where the view
    is (the level's name when the view goes deeper than its last ancestor's children)."""
    if view.level == "account":
        return [Crumb("All accounts", View("account"))]
    crumbs = [Crumb("All campaigns", View("campaign"))]
    if len(view.within) == 1:
        inside = everything[everything["id"] == view.within[0]].iloc[0]
        for level in LEVELS[: LEVELS.index(inside["level"])]:
            if pd.notna(inside[f"{level}_id"]):
                crumbs.append(
                    Crumb(inside[level], View(CHILD_LEVEL[level], (int(inside[f"{level}_id"]),)))
                )
        crumbs.append(
            Crumb(inside["name"], View(CHILD_LEVEL[inside["level"]], (int(inside["id"]),)))
        )
    elif view.within:
        names = everything.set_index("id").loc[list(view.within), "name"]
        crumbs.append(Crumb(", ".join(names), View(view.level, view.within)))
    if crumbs[-1].view.level != view.level:
        crumbs.append(
            Crumb(
                {"adset": "Ad sets", "ad": "Ads"}.get(view.level, "Campaigns"),
                View(view.level, view.within),
            )
        )
    return crumbs
