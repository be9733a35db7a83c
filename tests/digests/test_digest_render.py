"""A digest rendered for every channel, on the synced sandbox merchant whose campaigns carry
hostile names: the HTML shows exactly the images attached, names are text in HTML and in
Slack (never markup, never a mention), the plain text holds the KPIs, the Slack blocks keep
Block Kit's limits, and the charts are PNG images."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from metricx.db import transaction
from metricx.delivery.links import page_url
from metricx.digests import charts
from metricx.digests.content import build_digest
from metricx.digests.render import (
    MAX_BLOCKS,
    MAX_FIELDS,
    MAX_SECTION_TEXT,
    digest_message,
    render,
    slack_escape,
)
from metricx.models import AlertEvent, AlertRule, Entity
from metricx.semantic import catalogue
from metricx.services import alerts

NOW = datetime(2026, 11, 20, 15, 7, tzinfo=UTC)
NOV_19 = date(2026, 11, 19)
SCRIPT = "<script>alert(1)</script>"
SLACK_TRICK = "*bold* <!channel> & co"


@pytest.fixture
def hostile(synced, admin):
    """The synced workspace with every campaign renamed to something hostile, and a rule
    whose firing quotes one."""
    workspace_id, _ = synced
    with transaction() as session:
        ids = session.scalars(
            select(Entity.id)
            .where(Entity.workspace_id == workspace_id, Entity.level == "campaign")
            .order_by(Entity.id)
        ).all()
        for at, entity_id in enumerate(ids):
            name = f"{SCRIPT} {at}" if at % 2 == 0 else f"{SLACK_TRICK} {at}"
            session.execute(update(Entity).where(Entity.id == entity_id).values(name=name))
    rule = alerts.add_rule(
        admin, {"name": SLACK_TRICK, "metric": "spend", "condition": "above", "threshold": 0}
    )
    with transaction() as session:
        session.add(
            AlertEvent(
                workspace_id=workspace_id,
                rule_id=rule.id,
                window_key="2026-11-19T10:00-05:00",
                value=1,
                message=f"Ad spend ({SCRIPT}): above $0.00",
                fired_at=datetime(2026, 11, 19, 15, tzinfo=UTC),
            )
        )
    return workspace_id


def blocks_text(blocks) -> str:
    return json.dumps(list(blocks))


def test_the_html_shows_the_attached_images_and_escapes_every_name(hostile):
    # When the daily digest of Nov 19 is rendered
    message = render(build_digest(hostile, "daily", NOV_19, NOV_19, now=NOW))
    # Then every image the HTML shows is attached, and every attached image is shown
    shown = set(re.findall(r'src="cid:([^"]+)"', message.html or ""))
    assert shown == {image.cid for image in message.images} and len(shown) == 2
    # And each is a PNG
    assert all(image.png.startswith(charts.PNG_SIGNATURE) for image in message.images)
    # And campaign names, the rule's name and the alert's message are text, not markup
    assert message.html is not None
    assert "<script>" not in message.html
    assert html_escaped(SCRIPT) in message.html
    assert html_escaped(SLACK_TRICK) in message.html
    # And the Dashboard link is the same days' page
    expected = page_url(
        "dashboard", period="custom", compare="previous period", **{"from": str(NOV_19)}
    )
    assert message.link is not None
    assert message.link.startswith(expected.split("?")[0])
    assert "from=2026-11-19" in message.link and "to=2026-11-19" in message.link
    assert f'href="{html_escaped(message.link)}"' in message.html


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_slack_blocks_keep_block_kit_limits_and_never_mention(hostile):
    # When the digest is rendered
    message = render(build_digest(hostile, "daily", NOV_19, NOV_19, now=NOW))
    blocks = list(message.blocks)
    # Then there are at most 50 blocks, each a known type with a valid shape
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["type"] == "plain_text"
    assert len(blocks[0]["text"]["text"]) <= 150
    for block in blocks:
        assert block["type"] in ("header", "section", "divider", "context", "actions")
        if block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert block["text"]["type"] == "mrkdwn"
                assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
            assert len(block.get("fields", [])) <= MAX_FIELDS
        if block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
    # And the button opens the same link
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert actions["elements"][0]["url"] == message.link
    # And no merchant text reaches Slack unescaped: no mention, no tag
    text = blocks_text(blocks)
    assert "<!channel>" not in text and "<script>" not in text
    assert slack_escape(SLACK_TRICK) in text and slack_escape(SCRIPT) in text
    assert "&amp;" in slack_escape("a & b")


def test_the_plain_text_and_the_subject_carry_the_kpis(hostile):
    # When the digest is rendered
    content = build_digest(hostile, "daily", NOV_19, NOV_19, now=NOW)
    message = render(content)
    # Then the subject leads with store revenue and its change
    revenue = content.kpi("store_revenue")
    assert revenue is not None and revenue.change is not None
    shown = catalogue.format_value("store_revenue", revenue.value, "USD")
    assert message.subject == (
        f"Metricx daily digest — Thu 19 Nov: revenue {shown} ({revenue.change * 100:+.1f}%)"
    )
    # And the plain text has every KPI with its value and the alert
    for kpi in content.kpis:
        assert f"- {kpi.metric.label}: " in message.text
    spend = content.kpi("spend")
    assert spend is not None
    assert catalogue.format_value("spend", spend.value, "USD") in message.text
    assert f"{SLACK_TRICK}: Ad spend ({SCRIPT}): above $0.00" in message.text
    assert message.link is not None and message.link not in message.text  # the channel adds it


def test_an_empty_workspace_renders_no_data_and_no_charts(workspace):
    # Given a workspace with nothing connected
    # When its digest is rendered from a delivery's payload
    message = digest_message(
        workspace.id, {"cadence": "weekly", "start": "2026-11-16", "end": "2026-11-22"}
    )
    # Then it says no data, shows no image and still links to the Dashboard
    assert message.subject == "Metricx weekly digest — 16 – 22 Nov: no data"
    assert message.images == () and "cid:" not in (message.html or "")
    assert "No spend or orders" in message.text
    assert message.link and "from=2026-11-16" in message.link


def test_each_chart_renders_as_a_png_quickly(synced):
    workspace_id, _ = synced
    content = build_digest(workspace_id, "weekly", date(2026, 11, 13), NOV_19, now=NOW)
    spend, revenue = catalogue.get_metric("spend"), catalogue.get_metric("store_revenue")
    # Given the trend chart (rendered once to load Vega)
    charts.png(charts.trend_chart(content.trend, spend, revenue, "USD"))
    # When it is rendered again
    started = time.perf_counter()
    image = charts.png(charts.trend_chart(content.trend, spend, revenue, "USD"))
    elapsed = time.perf_counter() - started
    # Then it is a PNG, drawn in well under a second
    assert image.startswith(charts.PNG_SIGNATURE)
    assert elapsed < 1.0, f"{elapsed * 1000:.0f} ms"
    # And drawing it again gives the same picture (no clock, no randomness)
    assert charts.png(charts.trend_chart(content.trend, spend, revenue, "USD")) == image


def test_an_alert_rule_name_is_read_through_the_join(hostile):
    # Given the rule with the hostile name that fired on Nov 19
    with transaction() as session:
        name = session.scalar(select(AlertRule.name).where(AlertRule.workspace_id == hostile))
    # When the digest is built
    content = build_digest(hostile, "daily", NOV_19, NOV_19, now=NOW)
    # Then the firing is listed under the rule's name, unchanged
    assert [a.source for a in content.alerts] == [name]
