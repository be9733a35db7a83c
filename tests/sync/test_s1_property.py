"""Invariant S1 as a property: whatever the interleaving of 15-minute syncs, restatements,
re-fetches (Meta's, whose hourly rows withhold conversions, and day-total re-fetches of
settled days), compactions, duplicated jobs (one after the other, or at once with no Redis
lease between them: the write lock alone) and crashes, each ad-day's rows sum to the total
the platform reported last, per metric family; and every ad rollup (per ad, per connection,
per campaign, in workspace-local days) equals the rows summed again, through ads moving
between campaigns and workspace time-zone changes too.

The platform is modelled in memory (random accruals and restatements); the writes are the real
ones, on the real database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from overlapping import FirstWriterPauses
from sqlalchemy import delete, text

from metricx.db import transaction
from metricx.models import MetricDaily, MetricSnapshot
from metricx.semantic.dates import today_in
from metricx.sync import pipeline, rollup, snapshots
from metricx.sync.runs import connection_writes
from metricx.totals import CONVERSIONS, METRIC_COLUMNS, Totals

ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC"]
# Starts next to awkward moments: DST switches in New York and Berlin, a month end, and just
# after midnight in Kolkata (UTC+5:30, where local hours are not UTC hours).
STARTS = [
    datetime(2026, 3, 7, 22, 0, tzinfo=UTC),
    datetime(2026, 10, 24, 20, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 23, 50, tzinfo=UTC),
    datetime(2026, 11, 24, 18, 31, tzinfo=UTC),
]
ADS = 3


def split(total: Totals, weights: list[int]) -> dict[int, Totals]:
    """Split a day total over hours exactly (largest remainder on cents and on counts)."""
    hours = [h for h, w in enumerate(weights) if w]
    if not hours:
        return {0: total} if not total.is_zero else {}
    weight_sum = sum(weights[h] for h in hours)
    columns: dict[str, list] = {}
    for name in METRIC_COLUMNS:
        value = getattr(total, name)
        scale = 1 if isinstance(value, int) else 100
        units = int(value * scale)
        shares = [units * weights[h] // weight_sum for h in hours]
        shares[0] += units - sum(shares)
        columns[name] = [s if scale == 1 else Decimal(s) / 100 for s in shares]
    return {h: Totals(**{n: columns[n][i] for n in columns}) for i, h in enumerate(hours)}


@dataclass
class Platform:
    """What the ad platform would report, per (ad, local day), as time goes by."""

    tz: str
    now: datetime
    totals: dict[tuple[int, date], Totals] = field(default_factory=dict)

    def today(self) -> date:
        return today_in(self.tz, self.now)

    def accrue(self, entity_id: int, cents: int, clicks: int, conversions: int) -> None:
        key = (entity_id, self.today())
        self.totals[key] = self.totals.get(key, Totals()) + Totals(
            spend=Decimal(cents) / 100,
            impressions=clicks * 40,
            clicks=clicks,
            conversions=Decimal(conversions),
            conversion_value=Decimal(conversions * 37),
            leads=Decimal(0),
        )

    def restate(self, entity_id: int, days_back: int, change: int) -> None:
        key = (entity_id, self.today() - timedelta(days=days_back))
        before = self.totals.get(key, Totals())
        self.totals[key] = before + Totals(
            conversions=Decimal(change), conversion_value=Decimal(change * 37)
        )


def coarse_drift(workspace_id: int) -> list:
    """(table, day, keys...) where the per-connection or per-campaign rollup differs from the
    snapshot rows summed per workspace-local day and connection / campaign (a missing row
    counts as zeros on both sides)."""
    drift = []
    for table, key, of_ad in (
        ("metric_daily_connection", "connection_id", "ad.connection_id"),
        (
            "metric_daily_campaign",
            "connection_id, campaign_id",
            "ad.connection_id, coalesce(adset.parent_id, 0) AS campaign_id",
        ),
    ):
        sums = ", ".join(f"sum(s.{c}) AS {c}" for c in METRIC_COLUMNS)
        differs = " OR ".join(f"coalesce(f.{c}, 0) <> coalesce(k.{c}, 0)" for c in METRIC_COLUMNS)
        names = ["day", *key.split(", ")]
        with transaction() as session:
            drift += session.execute(
                text(f"""
                WITH fresh AS (
                    SELECT (s.bucket_start AT TIME ZONE w.timezone)::date AS day, {of_ad},
                           {sums}
                    FROM metric_snapshots s JOIN workspaces w ON w.id = s.workspace_id
                    JOIN entities ad ON ad.id = s.entity_id
                    LEFT JOIN entities adset ON adset.id = ad.parent_id
                    WHERE s.workspace_id = :ws GROUP BY {
                    ", ".join(str(i + 1) for i in range(len(key.split(", ")) + 1))
                }
                ), kept AS (SELECT * FROM {table} WHERE workspace_id = :ws)
                SELECT '{table}', {", ".join(f"coalesce(f.{n}, k.{n})" for n in names)}
                FROM fresh f FULL JOIN kept k USING ({", ".join(names)})
                WHERE {differs}"""),
                {"ws": workspace_id},
            ).all()
    return drift


def rollup_drift(workspace_id: int) -> list:
    """(entity, day) pairs where metric_daily differs from the snapshot rows it summarises."""
    columns = ", ".join(METRIC_COLUMNS)
    sums = ", ".join(f"sum({c}) AS {c}" for c in METRIC_COLUMNS)
    # A day is kept while any sum is not zero (a restated value alone is still a fact).
    nonzero = " OR ".join(f"sum({c}) <> 0" for c in METRIC_COLUMNS)
    with transaction() as session:
        return session.execute(
            text(f"""
            WITH fresh AS (
                SELECT (s.bucket_start AT TIME ZONE w.timezone)::date AS day, s.entity_id, {sums}
                FROM metric_snapshots s JOIN workspaces w ON w.id = s.workspace_id
                WHERE s.workspace_id = :ws GROUP BY 1, 2
                HAVING {nonzero}
            ), kept AS (
                SELECT day, entity_id, {columns} FROM metric_daily WHERE workspace_id = :ws
            )
            (SELECT * FROM fresh EXCEPT SELECT * FROM kept)
            UNION ALL (SELECT * FROM kept EXCEPT SELECT * FROM fresh)"""),
            {"ws": workspace_id},
        ).all()


ACTIONS = st.one_of(
    st.tuples(st.just("advance"), st.integers(1, 1800)),
    st.tuples(
        st.just("accrue"),
        st.integers(0, ADS - 1),
        st.integers(0, 50_000),
        st.integers(0, 300),
        st.integers(0, 5),
    ),
    st.tuples(st.just("restate"), st.integers(0, ADS - 1), st.integers(1, 7), st.integers(-3, 3)),
    st.tuples(st.just("intraday")),
    st.tuples(
        st.just("refetch"), st.integers(1, 7), st.lists(st.integers(0, 3), min_size=24, max_size=24)
    ),
    st.tuples(st.just("compact")),
    # Meta's re-fetch: hourly rows withhold purchases and leads; they come from daily rows
    st.tuples(
        st.just("meta_refetch"),
        st.integers(1, 7),
        st.lists(st.integers(0, 3), min_size=24, max_size=24),
    ),
    # the nightly re-fetch of settled days: day totals only, the stored hours kept
    st.tuples(
        st.just("settled_refetch"),
        st.integers(1, 7),
        st.lists(st.integers(0, 3), min_size=24, max_size=24),
    ),
    st.tuples(
        st.just("crash_refetch"),
        st.integers(2, 7),
        st.lists(st.integers(0, 3), min_size=24, max_size=24),
    ),
    # an ad moves to another ad set (index into the ad sets) or to none (None)
    st.tuples(
        st.just("reparent"), st.integers(0, ADS - 1), st.one_of(st.none(), st.integers(0, 2))
    ),
    # the workspace's time zone changes: every rollup is rebuilt in the new days
    st.tuples(st.just("rezone"), st.sampled_from(ZONES)),
    # two syncs write the same at once, the first paused before its commit (no Redis lease)
    st.tuples(st.just("overlap_intraday")),
    st.tuples(
        st.just("overlap_refetch"),
        st.integers(1, 7),
        st.lists(st.integers(0, 3), min_size=24, max_size=24),
    ),
)


class Crash(Exception):
    pass


def tree(parents: list[int | None]) -> list:
    """An account, two campaigns, three ad sets (two under the first campaign) and the ads,
    ad i under ad set parents[i] (None: under nothing, as an ad deleted since)."""
    from metricx.connectors.records import EntityRecord

    return [
        EntityRecord("account", "1", None, "Acct", "ACTIVE", None, None),
        EntityRecord("campaign", "10", "1", "Camp A", "ACTIVE", None, None),
        EntityRecord("campaign", "11", "1", "Camp B", "ACTIVE", None, None),
        *(
            EntityRecord("adset", str(20 + i), str(10 + (i == 2)), f"Set {i}", "ACTIVE", None, None)
            for i in range(3)
        ),
        *(
            EntityRecord(
                "ad",
                str(100 + i),
                None if parent is None else str(20 + parent),
                f"Ad {i}",
                "ACTIVE",
                None,
                None,
            )
            for i, parent in enumerate(parents)
        ),
    ]


@pytest.fixture
def ads(workspace, admin):
    from metricx.services.connections import add_connection
    from metricx.sync.entities import upsert_entities

    connection = add_connection(admin, "meta", "act_1", "tok")
    with transaction() as session:
        ids = upsert_entities(session, workspace.id, connection.id, tree([0, 2, None]))
    return workspace.id, [ids[("ad", str(100 + i))] for i in range(ADS)], connection


def held(
    workspace_id: int, entity_ids: list[int], tz: str, days: set[date]
) -> dict[tuple[int, date], Totals]:
    with transaction() as session:
        found = {}
        for day in days:
            sums = snapshots.sums_for_day(session, workspace_id, entity_ids, day, tz)
            for entity_id, totals in sums.items():
                if not totals.is_zero:
                    found[(entity_id, day)] = totals
        return found


@example(
    tz="Asia/Kolkata",
    start=STARTS[3],  # a bucket at local 00:00 = 18:30 UTC, compacted
    actions=[("accrue", 0, 1000, 10, 1), ("intraday",), ("advance", 1500), ("compact",)],
)
@example(
    tz="Asia/Kolkata",
    start=STARTS[3],  # Meta: purchases seen intraday, then re-fetched
    actions=[
        ("accrue", 0, 1000, 10, 2),
        ("intraday",),
        ("advance", 1500),
        ("restate", 0, 1, 1),
        ("meta_refetch", 1, [1] * 24),
        ("compact",),
    ],
)
@example(
    tz="Europe/Berlin",
    start=STARTS[0],  # a day left with a restated value alone
    actions=[("restate", 0, 1, -1), ("refetch", 1, [0] * 5 + [1] + [0] * 8 + [1] * 10)],
)
@example(
    tz="America/New_York",
    start=STARTS[0],  # a re-fetch across the spring-forward day
    actions=[
        ("accrue", 1, 5000, 50, 2),
        ("intraday",),
        ("advance", 1800),
        ("advance", 1800),
        ("refetch", 3, [1] * 24),
        ("compact",),
    ],
)
@example(
    tz="UTC",
    start=STARTS[3],  # two syncs at once, each time with something to write
    actions=[
        ("accrue", 0, 1000, 10, 1),
        ("overlap_intraday",),
        ("advance", 1440),
        ("overlap_refetch", 1, [1] * 24),
    ],
)
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tz=st.sampled_from(ZONES),
    start=st.sampled_from(STARTS),
    actions=st.lists(ACTIONS, min_size=1, max_size=14),
)
def test_rows_always_sum_to_the_latest_reported_totals(ads, tz, start, actions):
    workspace_id, entity_ids, connection = ads
    with transaction() as session:
        session.execute(delete(MetricSnapshot))
        session.execute(delete(MetricDaily))
        for table in ("metric_daily_connection", "metric_daily_campaign"):
            session.execute(text(f"DELETE FROM {table}"))
        session.execute(text("UPDATE workspaces SET timezone = 'America/New_York'"))
    parents: list[int | None] = [0, 2, None]
    pipeline._ad_ids(connection, tree(parents), [])  # the tree as the test starts it
    platform = Platform(tz=tz, now=start)
    reported: dict[tuple[int, date], Totals] = {}  # what the sync last read, per ad-day

    def no_pause() -> None:
        pass

    # The writes run as the pipeline's do: in transactions holding the connection's write lock.
    def intraday(pause: Callable[[], None] = no_pause) -> None:
        with connection_writes(connection.id) as session:
            for day in (platform.today() - timedelta(days=1), platform.today()):
                totals = {e: platform.totals.get((e, day), Totals()) for e in entity_ids}
                snapshots.apply_running_totals(session, workspace_id, day, tz, totals, platform.now)
                reported.update({(e, day): t for e, t in totals.items()})
            pause()

    def refetch(
        days_back: int,
        weights: list[int],
        crash_after_first: bool = False,
        daily_family: tuple[str, ...] = (),
        pause: Callable[[], None] = no_pause,
    ) -> None:
        days = [platform.today() - timedelta(days=d) for d in range(days_back, 0, -1)]
        hourly = {
            (e, d): split(platform.totals.get((e, d), Totals()), weights)
            for e in entity_ids
            for d in days
        }
        daily = None
        if daily_family:  # hourly rows lack these columns (or come not at all); days have them
            kept = tuple(c for c in METRIC_COLUMNS if c not in daily_family)
            hourly = (
                {key: {h: t.only(kept) for h, t in hours.items()} for key, hours in hourly.items()}
                if kept
                else {}
            )
            daily = {
                (e, d): platform.totals.get((e, d), Totals()) for e in entity_ids for d in days
            }
        with connection_writes(connection.id) as session:
            for index, day in enumerate(days):  # the job writes day by day...
                snapshots.replace_days(
                    session,
                    workspace_id,
                    tz,
                    entity_ids,
                    [day],
                    hourly,
                    daily,
                    daily_family or CONVERSIONS,
                )
                if crash_after_first and index == 0:
                    raise Crash  # ...and dies between two entity-days
            pause()
        reported.update(
            {(e, d): platform.totals.get((e, d), Totals()) for e in entity_ids for d in days}
        )

    previous = None
    for action in actions:
        kind = action[0]
        if kind == "advance":
            platform.now += timedelta(minutes=action[1])
        elif kind == "accrue":
            platform.accrue(entity_ids[action[1]], *action[2:])
        elif kind == "restate":
            platform.restate(entity_ids[action[1]], action[2], action[3])
        elif kind == "intraday":
            intraday()
            if previous == "intraday":
                intraday()  # a duplicated job changes nothing
        elif kind == "refetch":
            refetch(action[1], action[2])
        elif kind == "meta_refetch":
            refetch(action[1], action[2], daily_family=CONVERSIONS)
        elif kind == "settled_refetch":
            refetch(action[1], action[2], daily_family=METRIC_COLUMNS)
        elif kind == "compact":
            with transaction() as session:
                before = snapshots.day_span(platform.today(), tz)[0]
                snapshots.compact(session, workspace_id, entity_ids, tz, before)
        elif kind == "reparent":
            parents[action[1]] = action[2]
            pipeline._ad_ids(connection, tree(parents), [])  # as a sync writes the tree
        elif kind == "rezone":
            with transaction() as session:
                session.execute(
                    text("UPDATE workspaces SET timezone = :tz WHERE id = :ws"),
                    {"tz": action[1], "ws": workspace_id},
                )
                rollup.rebuild(session, workspace_id)
        elif kind == "crash_refetch":
            before_crash = held(workspace_id, entity_ids, tz, {d for _, d in reported})
            with pytest.raises(Crash):
                refetch(action[1], action[2], crash_after_first=True)
            # Nothing half-written: the rows are exactly as before the crash...
            assert held(workspace_id, entity_ids, tz, {d for _, d in reported}) == before_crash
            refetch(action[1], action[2])  # ...and RQ's retry then completes the job
        elif kind in ("overlap_intraday", "overlap_refetch"):
            pauses = FirstWriterPauses()
            write = (
                partial(intraday, pauses.pause)
                if kind == "overlap_intraday"
                else partial(refetch, action[1], action[2], pause=pauses.pause)
            )
            pauses.run(write, write)
        previous = kind

        expected = {k: v for k, v in reported.items() if not v.is_zero}
        days = {d for _, d in reported}
        assert held(workspace_id, entity_ids, tz, days) == expected, (kind, platform.now)

        # And the daily rollups equal the rows summed per workspace-local day, per ad, per
        # connection and per campaign
        assert rollup_drift(workspace_id) == []
        assert coarse_drift(workspace_id) == []
        # And no row sits outside the ad-days checked above
        with transaction() as session:
            all_spend = session.execute(
                text("SELECT coalesce(sum(spend), 0) FROM metric_snapshots")
            ).scalar_one()
        assert all_spend == sum((t.spend for t in reported.values()), Decimal(0))
