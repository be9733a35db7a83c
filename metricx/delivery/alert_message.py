"""An alert event as a message: the subject says what crossed what ("[Metricx] CAC above
$70.00 today so far", "[Metricx] Meta connection Acme Ads needs re-authorisation"), the body
the event's own words, when it fired in the workspace's zone, and a link to the Alerts page.

Every finding of one rule's or monitor's window goes out as one message (`group_message`):
one finding reads as above; several are counted in the subject ("[Metricx] Spend over budget:
5 findings") and listed, the first MAX_LISTED of them, in every channel.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from metricx.alerts.rules import AlertRuleError, Rule, check_in
from metricx.delivery.links import page_url
from metricx.delivery.message import Message
from metricx.delivery.slack import cut, escape_mrkdwn, link_block
from metricx.models import AlertEvent, AlertMonitor, AlertRule, Workspace
from metricx.semantic.fetch import workspace_definitions

PREFIX = "[Metricx] "
MAX_SUBJECT = 140  # the header block takes 150; an email subject this long is already long


def _cut(text: str, limit: int) -> str:
    return cut(" ".join(text.split()), limit)


def _rule_words(session: Session, rule: AlertRule, currency: str) -> str:
    """The rule in words ("CAC above $70.00 today so far"); its name when its metric can no
    longer be read (a custom metric deleted since)."""
    try:
        parsed = Rule.of(rule)
        metric = check_in(parsed, workspace_definitions(session.connection(), rule.workspace_id))
        return parsed.describe(metric, currency)
    except (AlertRuleError, ValueError):  # a message about the rule still goes out
        return rule.name


def without_details(finding: str) -> str:
    """A monitor's finding up to its first parenthesised detail, names kept whole: a name is
    quoted (repr) and may hold " (" itself ("Meta connection 'Acme Ads (US)' needs ...")."""
    quote, escaped = None, False
    for at, char in enumerate(finding):
        if quote is None:
            if char in "'\"" and (at == 0 or not finding[at - 1].isalnum()):
                quote = char
            elif finding.startswith(" (", at):
                return finding[:at]
        elif escaped:  # repr escapes a quote inside a name with a backslash
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == quote and (at + 1 == len(finding) or not finding[at + 1].isalnum()):
            quote = None
    return finding


def _headline(session: Session, event: AlertEvent, currency: str) -> tuple[str, str]:
    """(what fired, in a few words; the rule's or monitor's name)."""
    if event.rule_id is not None:
        rule = session.get(AlertRule, event.rule_id)
        if rule is not None and rule.workspace_id == event.workspace_id:
            return _rule_words(session, rule, currency), f"Rule: {rule.name}"
    elif event.monitor_id is not None:
        monitor = session.get(AlertMonitor, event.monitor_id)
        if monitor is not None and monitor.workspace_id == event.workspace_id:
            from metricx.alerts.monitors import kind_of

            title = kind_of(monitor.kind).title
            # A monitor's message is its finding ("Meta connection X needs re-authorisation
            # (last error: ...)"): the finding without its details is the headline.
            return without_details(event.message), f"Monitor: {title}"
    return event.message, "Alert"


def event_subject(session: Session, event: AlertEvent, currency: str) -> str:
    """The subject of the event's messages: "[Metricx] CAC above $70.00 today so far"."""
    return PREFIX + _cut(_headline(session, event, currency)[0], MAX_SUBJECT - len(PREFIX))


def event_message(session: Session, event: AlertEvent, currency: str) -> Message:
    """The event as a message for every channel: subject, text, HTML and Slack blocks (header,
    section, context with the time in the workspace's zone, a button to the Alerts page)."""
    headline, source = _headline(session, event, currency)
    subject = PREFIX + _cut(headline, MAX_SUBJECT - len(PREFIX))
    zone = ZoneInfo(session.get_one(Workspace, event.workspace_id).timezone)
    when = event.fired_at.astimezone(zone)
    at = f"{when:%a %d %b %Y, %H:%M} ({when.tzname()})"
    link = page_url("alerts")
    text = f"{event.message}\n{source}\nFired {at}\nSee it in Metricx: {link}"
    body_html = (
        f"<p><strong>{html.escape(headline)}</strong></p>"
        f"<p>{html.escape(event.message)}</p>"
        f'<p style="color:#555">{html.escape(source)} · fired {html.escape(at)}</p>'
        f'<p><a href="{html.escape(link)}">Open the Alerts page</a></p>'
    )
    blocks = (
        {"type": "header", "text": {"type": "plain_text", "text": _cut(headline, 150)}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _cut(escape_mrkdwn(event.message), 3000)},
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": escape_mrkdwn(f"{source} · fired {at}")},
            ],
        },
        link_block(link, "Open Alerts"),
    )
    return Message(subject=subject, text=text, html=body_html, blocks=blocks, link=link)


#: Findings a group's message lists; the rest are counted, and all are on the Alerts page. 20
#: sections keep a Slack message well within its 50 blocks.
MAX_LISTED = 20
#: Room for one finding in the email's list (a finding is a sentence or two).
MAX_FINDING = 1000


def _group_headline(session: Session, events: Sequence[AlertEvent], currency: str) -> str:
    """What fired, for several findings of one rule or monitor: the rule in words or the
    monitor's title."""
    first = events[0]
    if first.rule_id is not None:
        rule = session.get(AlertRule, first.rule_id)
        if rule is not None and rule.workspace_id == first.workspace_id:
            return _rule_words(session, rule, currency)
    elif first.monitor_id is not None:
        monitor = session.get(AlertMonitor, first.monitor_id)
        if monitor is not None and monitor.workspace_id == first.workspace_id:
            from metricx.alerts.monitors import kind_of

            return kind_of(monitor.kind).title
    return "Alerts fired"


def _counted(headline: str, count: int, limit: int) -> str:
    """ "{headline}: {count} findings" in `limit` characters, the count always kept."""
    suffix = f": {count} findings"
    return _cut(headline, limit - len(suffix)) + suffix


def group_subject(session: Session, events: Sequence[AlertEvent], currency: str) -> str:
    """The subject of one rule's or monitor's window: the event's own subject for one
    finding, "[Metricx] Spend over budget: 5 findings" for several."""
    if len(events) == 1:
        return event_subject(session, events[0], currency)
    headline = _group_headline(session, events, currency)
    return PREFIX + _counted(headline, len(events), MAX_SUBJECT - len(PREFIX))


def group_message(session: Session, events: Sequence[AlertEvent], currency: str) -> Message:
    """One rule's or monitor's window as one message: the event's own message for one
    finding; for several, the count in the subject and the header, each finding listed (the
    first MAX_LISTED, then how many more are on the Alerts page), when they fired and a link
    to the Alerts page."""
    if not events:
        raise ValueError("a message needs at least one event")
    if len(events) == 1:
        return event_message(session, events[0], currency)
    first = events[0]
    headline = _group_headline(session, events, currency)
    source = _headline(session, first, currency)[1]
    subject = PREFIX + _counted(headline, len(events), MAX_SUBJECT - len(PREFIX))
    zone = ZoneInfo(session.get_one(Workspace, first.workspace_id).timezone)
    when = min(event.fired_at for event in events).astimezone(zone)
    at = f"{when:%a %d %b %Y, %H:%M} ({when.tzname()})"
    link = page_url("alerts")
    listed = [_cut(event.message, MAX_FINDING) for event in events[:MAX_LISTED]]
    unlisted = len(events) - len(listed)
    more = f"and {unlisted} more on the Alerts page" if unlisted else None
    title = f"{headline}: {len(events)} findings"
    text = "\n".join(
        [
            title,
            *(f"- {finding}" for finding in listed),
            *([f"- {more}"] if more else []),
            source,
            f"Fired {at}",
            f"See it in Metricx: {link}",
        ]
    )
    items = "".join(f"<li>{html.escape(finding)}</li>" for finding in listed)
    body_html = (
        f"<p><strong>{html.escape(title)}</strong></p>"
        f"<ul>{items}</ul>"
        + (f"<p>{html.escape(more)}</p>" if more else "")
        + f'<p style="color:#555">{html.escape(source)} · fired {html.escape(at)}</p>'
        f'<p><a href="{html.escape(link)}">Open the Alerts page</a></p>'
    )
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _counted(headline, len(events), 150)},
        },
        *(
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(escape_mrkdwn(f), 3000)}}
            for f in listed
        ),
    ]
    context = f"{more} · {source} · fired {at}" if more else f"{source} · fired {at}"
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape_mrkdwn(context)}]}
    )
    blocks.append(link_block(link, "Open Alerts"))
    return Message(subject=subject, text=text, html=body_html, blocks=tuple(blocks), link=link)
