"""A digest as a channel-neutral Message: subject, plain text, HTML with inline chart images,
Slack Block Kit blocks, and a link to the Dashboard showing the same days.

Names someone else chose (campaigns, connections, rules, the workspace; alert messages that
quote them) are escaped for each channel: html.escape in HTML; &, < and > in Slack mrkdwn
(https://api.slack.com/reference/surfaces/formatting#escaping), so a campaign called
"<!channel>" is text, never a mention. Money is formatted in the workspace's currency by
catalogue.format_value, as on the pages.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd

from metricx.delivery.links import page_url
from metricx.delivery.message import InlineImage, Message
from metricx.delivery.slack import cut, escape_mrkdwn
from metricx.digests import charts
from metricx.digests.content import (
    NO_DATA,
    DigestContent,
    Kpi,
    Movers,
    build_digest,
)
from metricx.platforms import display_name
from metricx.semantic import catalogue
from metricx.semantic.catalogue import Metric

#: Block Kit's limits (https://api.slack.com/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
TREND_CID = "digest-trend@metricx"
MOVERS_CID = "digest-movers@metricx"
#: The comparison as the Dashboard's period picker names it (metricx.vocabulary.COMPARISONS).
COMPARISON = "previous period"


# --- words ---------------------------------------------------------------------------------


def _day(day: date) -> str:
    """ "Tue 3 Dec"."""
    return f"{day:%a} {day.day} {day:%b}"


def window_words(start: date, end: date) -> str:
    """ "Tue 3 Dec" for a day, "23 – 29 Nov" or "28 Nov – 4 Dec" for a span."""
    if start == end:
        return _day(start)
    if start.month == end.month:
        return f"{start.day} – {end.day} {end:%b}"
    return f"{start.day} {start:%b} – {end.day} {end:%b}"


def title(cadence: str, start: date, end: date) -> str:
    """ "Metricx daily digest — Tue 3 Dec": the subject without numbers (the delivery log's)."""
    return f"Metricx {cadence} digest — {window_words(start, end)}"


def _value(metric: Metric, value: float | None, currency: str) -> str:
    return NO_DATA if value is None else catalogue.format_value(metric, value, currency)


def _change(kpi: Kpi) -> str:
    moved = kpi.change
    return "" if moved is None else f"{moved * 100:+.1f}%"


def _signed(metric: Metric, amount: float, currency: str) -> str:
    shown = catalogue.format_value(metric, amount, currency)
    return shown if amount < 0 else "+" + shown


def _headline(content: DigestContent) -> str:
    """What the subject leads with: store revenue, else ad spend, with its change."""
    if not content.has_data:
        return NO_DATA
    for metric_id, word in (("store_revenue", "revenue"), ("spend", "spend")):
        kpi = content.kpi(metric_id) or _activity_kpi(content, metric_id)
        if kpi is not None and kpi.value:
            change = _change(kpi)
            shown = _value(kpi.metric, kpi.value, content.currency)
            return f"{word} {shown}" + (f" ({change})" if change else "")
    return NO_DATA


def _activity_kpi(content: DigestContent, metric_id: str) -> Kpi | None:
    """Revenue and spend for the subject when they are not among the tiles: the trend's."""
    frame = content.trend
    if metric_id not in frame:
        return None
    days = frame[frame["day"].astype(str) >= content.window.start.isoformat()]
    return Kpi(catalogue.get_metric(metric_id), float(days[metric_id].sum()), None)


def subject(content: DigestContent) -> str:
    return (
        f"{title(content.cadence, content.window.start, content.window.end)}: {_headline(content)}"
    )


def _compared(content: DigestContent) -> str:
    return f"vs {window_words(content.compare.start, content.compare.end)}"


def _provider(provider: str) -> str:
    return display_name(provider)


def _synced(content: DigestContent, index: int) -> str:
    fresh = content.freshness[index]
    if fresh.last_synced_at is None:
        return "never synced"
    local = pd.Timestamp(fresh.last_synced_at).tz_convert(content.timezone)
    return f"last sync {local:%b} {local.day}, {local:%H:%M}"


def _freshness_lines(content: DigestContent) -> list[tuple[str, str, bool]]:
    """(connection name, the rest of its line, needs attention) per connection."""
    lines = []
    for at, fresh in enumerate(content.freshness):
        rest = f"({_provider(fresh.provider)}) · {fresh.status} · {_synced(content, at)}"
        attention = fresh.status not in ("active", "paused") or fresh.late
        if fresh.status not in ("active", "paused") and fresh.last_error:
            rest += f": {fresh.last_error}"
        elif fresh.late:
            rest += ": later than the 15-minute schedule"
        lines.append((fresh.name, rest, attention))
    return lines


def _pacing_line(content: DigestContent) -> str:
    paced = content.pacing
    if paced is None:
        return f"Today's pacing: {content.pacing_note or NO_DATA}."
    spend = catalogue.get_metric("spend")
    conversions = catalogue.get_metric("conversions")
    return (
        f"Today by {paced.clock:%H:%M}: spend "
        f"{catalogue.format_value(spend, paced.spend, content.currency)} vs "
        f"{catalogue.format_value(spend, paced.spend_last_week, content.currency)} by the same "
        f"time last {paced.last_week_day:%A}; platform-reported purchases "
        f"{catalogue.format_value(conversions, paced.conversions)} vs "
        f"{catalogue.format_value(conversions, paced.conversions_last_week)}."
    )


def _mover_words(movers: Movers, currency: str) -> tuple[str, list[tuple[str, str]]]:
    """A movers list's heading and (campaign, its contribution) lines."""
    metric = movers.metric
    total = movers.total_change
    heading = f"{metric.label} by campaign"
    if total is not None:
        heading += (
            f": {_value(metric, movers.before, currency)} → "
            f"{_value(metric, movers.after, currency)} ({_signed(metric, total, currency)})"
        )
    lines = [(m.campaign, _signed(metric, m.change, currency)) for m in movers.top]
    if movers.top and abs(movers.others) >= 0.005:
        lines.append(("Other campaigns", _signed(metric, movers.others, currency)))
    return heading, lines


# --- plain text ----------------------------------------------------------------------------


def plain_text(content: DigestContent) -> str:
    """The email's text part (the email channel adds the link after it)."""
    currency = content.currency
    out = [
        subject(content),
        f"{content.workspace_name} · {window_words(content.window.start, content.window.end)} "
        f"{_compared(content)} · days in {content.timezone} · {currency}",
        "",
    ]
    if not content.has_data:
        out.append(f"No spend or orders in these days ({NO_DATA}): check the connections below.")
    else:
        out.append("KPIs")
        for kpi in content.kpis:
            before = _value(kpi.metric, kpi.previous, currency)
            change = _change(kpi)
            out.append(
                f"- {kpi.metric.label}: {_value(kpi.metric, kpi.value, currency)}"
                f" (previous {before}{', ' + change if change else ''})"
            )
        for movers in content.movers:
            heading, lines = _mover_words(movers, currency)
            out += ["", heading]
            out += [f"- {name}: {amount}" for name, amount in lines] or ["- no change"]
    out += ["", "Alerts fired"]
    out += [f"- {a.source}: {a.message}" for a in content.alerts] or ["- none"]
    if content.more_alerts:
        out.append(f"- and {content.more_alerts} more")
    out += ["", _pacing_line(content), "", "Data freshness"]
    out += [f"- {name} {rest}" for name, rest, _ in _freshness_lines(content)] or [
        "- no connections"
    ]
    if content.notes:
        out += ["", *content.notes]
    return "\n".join(out)


# --- HTML ----------------------------------------------------------------------------------

_CELL = "padding:4px 8px;border-bottom:1px solid #eee;"
_GOOD, _BAD, _NEUTRAL = "#2e7d32", "#c62828", "#666"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_kpis(content: DigestContent) -> str:
    window = window_words(content.window.start, content.window.end)
    rows = []
    for kpi in content.kpis:
        colour = {True: _GOOD, False: _BAD}.get(kpi.good, _NEUTRAL)  # type: ignore[arg-type]
        rows.append(
            f'<tr><td style="{_CELL}">{_e(kpi.metric.label)}</td>'
            f'<td style="{_CELL}text-align:right;font-weight:bold">'
            f"{_e(_value(kpi.metric, kpi.value, content.currency))}</td>"
            f'<td style="{_CELL}text-align:right;color:{colour}">{_e(_change(kpi))}</td>'
            f'<td style="{_CELL}text-align:right;color:#666">'
            f"{_e(_value(kpi.metric, kpi.previous, content.currency))}</td></tr>"
        )
    return (
        '<table style="border-collapse:collapse;width:100%;font-size:14px">'
        f'<tr><th style="{_CELL}text-align:left">KPI</th>'
        f'<th style="{_CELL}text-align:right">{_e(window)}</th>'
        f'<th style="{_CELL}text-align:right">Change</th>'
        f'<th style="{_CELL}text-align:right">{_e(_compared(content))}</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def _html_movers(content: DigestContent) -> str:
    parts = []
    for movers in content.movers:
        heading, lines = _mover_words(movers, content.currency)
        body = (
            "".join(
                f'<tr><td style="{_CELL}">{_e(name)}</td>'
                f'<td style="{_CELL}text-align:right">{_e(amount)}</td></tr>'
                for name, amount in lines
            )
            or f'<tr><td style="{_CELL}">no change</td></tr>'
        )
        parts.append(
            f'<h3 style="font-size:15px;margin:16px 0 4px">{_e(heading)}</h3>'
            f'<table style="border-collapse:collapse;width:100%;font-size:14px">{body}</table>'
        )
    return "".join(parts)


def html_body(content: DigestContent, link: str, images: tuple[InlineImage, ...]) -> str:
    currency = content.currency
    shown = {image.cid: image for image in images}
    out = [
        '<div style="font-family:Helvetica,Arial,sans-serif;color:#262730;max-width:600px">',
        f'<h2 style="font-size:20px;margin:0 0 4px">{_e(subject(content))}</h2>',
        f'<p style="color:#666;margin:0 0 16px">{_e(content.workspace_name)} · '
        f"{_e(window_words(content.window.start, content.window.end))} "
        f"{_e(_compared(content))} · days in {_e(content.timezone)} · {_e(currency)}</p>",
    ]
    if not content.has_data:
        out.append(
            f"<p><strong>No spend or orders in these days ({NO_DATA}).</strong> "
            "Check the connections below.</p>"
        )
    else:
        out.append(_html_kpis(content))
        if TREND_CID in shown:
            out.append(
                f'<p><img src="cid:{TREND_CID}" alt="{_e(shown[TREND_CID].alt)}" '
                f'width="{charts.WIDTH + 80}" style="max-width:100%"></p>'
            )
        out.append(_html_movers(content))
        if MOVERS_CID in shown:
            out.append(
                f'<p><img src="cid:{MOVERS_CID}" alt="{_e(shown[MOVERS_CID].alt)}" '
                f'width="{charts.WIDTH}" style="max-width:100%"></p>'
            )
    out.append('<h3 style="font-size:15px;margin:16px 0 4px">Alerts fired</h3><ul>')
    out += [f"<li><strong>{_e(a.source)}</strong>: {_e(a.message)}</li>" for a in content.alerts]
    if not content.alerts:
        out.append("<li>none</li>")
    if content.more_alerts:
        out.append(f"<li>and {content.more_alerts} more</li>")
    out.append("</ul>")
    out.append(f"<p>{_e(_pacing_line(content))}</p>")
    out.append('<h3 style="font-size:15px;margin:16px 0 4px">Data freshness</h3><ul>')
    for name, rest, attention in _freshness_lines(content):
        colour = _BAD if attention else "#262730"
        out.append(f'<li style="color:{colour}"><strong>{_e(name)}</strong> {_e(rest)}</li>')
    if not content.freshness:
        out.append("<li>no connections</li>")
    out.append("</ul>")
    out += [f'<p style="color:#666">{_e(note)}</p>' for note in content.notes]
    out.append(
        f'<p><a href="{_e(link)}" style="background:#4c78a8;color:#fff;padding:8px 14px;'
        'border-radius:4px;text-decoration:none">Open the Dashboard</a></p></div>'
    )
    return "".join(out)


# --- Slack ---------------------------------------------------------------------------------


def slack_escape(text: object) -> str:
    """Any value as Slack mrkdwn that shows it as itself."""
    return escape_mrkdwn(str(text))


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION_TEXT)}}


def slack_blocks(content: DigestContent, link: str) -> tuple[dict[str, Any], ...]:
    currency = content.currency
    window = window_words(content.window.start, content.window.end)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": cut(f"{content.cadence.capitalize()} digest — {window}", MAX_HEADER_TEXT),
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": cut(
                        f"{slack_escape(content.workspace_name)} · {window} "
                        f"{_compared(content)} · days in {content.timezone} · {currency}",
                        MAX_SECTION_TEXT,
                    ),
                }
            ],
        },
    ]
    if not content.has_data:
        blocks.append(_section(f"*No spend or orders in these days* ({NO_DATA})."))
    else:
        fields = []
        for kpi in content.kpis:
            change = _change(kpi)
            fields.append(
                {
                    "type": "mrkdwn",
                    "text": cut(
                        f"*{slack_escape(kpi.metric.label)}*\n"
                        f"{slack_escape(_value(kpi.metric, kpi.value, currency))}"
                        + (f" ({change})" if change else ""),
                        MAX_FIELD_TEXT,
                    ),
                }
            )
        for first in range(0, len(fields), MAX_FIELDS):
            blocks.append({"type": "section", "fields": fields[first : first + MAX_FIELDS]})
        blocks.append({"type": "divider"})
        for movers in content.movers:
            heading, lines = _mover_words(movers, currency)
            listed = "\n".join(f"• {slack_escape(n)}: {slack_escape(a)}" for n, a in lines)
            blocks.append(_section(f"*{slack_escape(heading)}*\n{listed or 'no change'}"))
    fired = [f"• *{slack_escape(a.source)}*: {slack_escape(a.message)}" for a in content.alerts]
    if content.more_alerts:
        fired.append(f"• and {content.more_alerts} more")
    blocks.append(_section("*Alerts fired*\n" + ("\n".join(fired) or "none")))
    blocks.append(_section(slack_escape(_pacing_line(content))))
    fresh = [
        {
            "type": "mrkdwn",
            "text": cut(
                (":warning: " if attention else "")
                + f"*{slack_escape(name)}* {slack_escape(rest)}",
                MAX_SECTION_TEXT,
            ),
        }
        for name, rest, attention in _freshness_lines(content)
    ] or [{"type": "mrkdwn", "text": "no connections"}]
    blocks.append({"type": "context", "elements": fresh[:MAX_CONTEXT_ELEMENTS]})
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open the Dashboard"},
                    "url": link,
                }
            ],
        }
    )
    return tuple(blocks[:MAX_BLOCKS])


# --- the message ---------------------------------------------------------------------------


def dashboard_link(start: date, end: date) -> str:
    """The Dashboard on the same days, compared with the previous period (its period picker's
    URL parameters, ui/period.py)."""
    return page_url(
        "dashboard",
        period="custom",
        **{"from": start.isoformat(), "to": end.isoformat()},
        compare=COMPARISON,
    )


def chart_images(content: DigestContent) -> tuple[InlineImage, ...]:
    """The trend (spend and store revenue by day) and, when campaigns moved spend, the
    movers' bars; none for a window without data."""
    if not content.has_data:
        return ()
    spend, revenue = catalogue.get_metric("spend"), catalogue.get_metric("store_revenue")
    images = [
        InlineImage(
            TREND_CID,
            charts.png(charts.trend_chart(content.trend, spend, revenue, content.currency)),
            f"Ad spend and store revenue by day, {content.trend['day'].iloc[0]} to "
            f"{content.trend['day'].iloc[-1]}",
        )
    ]
    moved = next((m for m in content.movers if m.metric.id == "spend" and m.top), None)
    if moved is not None:
        frame = pd.DataFrame(
            {"campaign": [m.campaign for m in moved.top], "change": [m.change for m in moved.top]}
        )
        images.append(
            InlineImage(
                MOVERS_CID,
                charts.png(charts.movers_chart(frame, moved.metric, content.currency)),
                "Change in ad spend by campaign",
            )
        )
    return tuple(images)


def render(content: DigestContent) -> Message:
    """The Message of built content."""
    link = dashboard_link(content.window.start, content.window.end)
    images = chart_images(content)
    return Message(
        subject=subject(content),
        text=plain_text(content),
        html=html_body(content, link, images),
        images=images,
        blocks=slack_blocks(content, link),
        link=link,
    )


def digest_message(workspace_id: int, payload: Mapping[str, Any]) -> Message:
    """The digest a delivery carries (payload {"cadence", "start", "end"}, ISO dates), built
    now: what the delivery job sends."""
    content = build_digest(
        workspace_id,
        str(payload["cadence"]),
        date.fromisoformat(str(payload["start"])),
        date.fromisoformat(str(payload["end"])),
    )
    return render(content)
