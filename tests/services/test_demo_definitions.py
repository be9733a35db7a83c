"""The demo workspace ships a custom dimension and custom metrics, so every surface has one."""

from __future__ import annotations

from datetime import date

from metricx.actor import Actor
from metricx.semantic.engine import run_query
from metricx.services import custom_definitions
from metricx.services.demo import DEMO_DIMENSIONS, DEMO_METRICS, create_demo

TODAY = date(2026, 11, 20)


def test_the_demo_defines_its_examples_once_and_keeps_an_admins_changes(db):
    # Given the demo created, and an admin's change to one of its metrics
    demo = create_demo(TODAY)
    actor = Actor.system(demo.workspace.id)
    changed = {**DEMO_METRICS["meta_share"], "label": "Meta's part"}
    custom_definitions.save_metric(actor, "meta_share", changed)
    # When the demo is created again (a restart)
    create_demo(TODAY)
    # Then every example is there once, and the admin's label is kept
    saved = custom_definitions.definitions(demo.workspace.id)
    assert set(saved.metrics) == set(DEMO_METRICS)
    assert set(saved.dimensions) == set(DEMO_DIMENSIONS)
    assert saved.metrics["meta_share"].label == "Meta's part"


def test_the_demo_examples_run_as_queries_by_name(db):
    # Given the demo before any sync
    demo = create_demo(TODAY)
    # When its custom metrics are asked for by id, split by its funnel stage where they can be
    ads = run_query(
        demo.workspace.id,
        {
            "metrics": ["meta_share", "bofu_roas"],
            "time_range": {"start": "2026-11-01", "end": "2026-11-07"},
            "dimensions": ["funnel_stage"],
        },
    )
    store = run_query(
        demo.workspace.id,
        {
            "metrics": ["profit_after_ads_per_order"],
            "time_range": {"start": "2026-11-01", "end": "2026-11-07"},
        },
    )
    # Then they run: nothing spent or sold yet gives empty values, never an error or a zero
    assert ads.frame.empty
    assert store.frame["profit_after_ads_per_order"].isna().all()
    assert store.definitions["profit_after_ads_per_order"].startswith(
        "Profit after ads per order = (profit_before_ad_spend - spend) / orders"
    )
