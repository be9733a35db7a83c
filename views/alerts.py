"""Alerts: the rules that watch a metric, the built-in monitors, the daily and weekly
digests, and what was fired and delivered (with its failures and a test send).

Admins change workspace rules, monitors, digests and the Slack webhook; a member adds
personal rules and subscribes to digests. Every save reruns the page with a flash message,
so each list shows what is stored now."""

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from metricx.alerts.rules import ALERT_SCHEDULES, PERIOD_WORDS, check_in
from metricx.config import get_config
from metricx.delivery.mailbox import read_messages
from metricx.errors import MetricxError
from metricx.semantic import catalogue, families
from metricx.services import alerts, digests, monitors, notifications
from metricx.services.custom_definitions import definitions
from metricx.services.workspaces import find_workspace
from ui.format import ago, literal
from ui.session import current_actor

FLASH = "alerts_flash"
CONDITIONS = {
    "above": "goes above",
    "below": "drops below",
    "rises_by": "rises by (%)",
    "falls_by": "falls by (%)",
    "anomalous": "is anomalous (sensitivity, robust z)",
}
SPLITS = {"": "no split", "provider": "platform", "campaign": "campaign", "adset": "ad set"}
SCHEDULES = {"after_sync": "every 15 minutes", "hourly": "hourly", "daily": "daily, at the hour"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

actor = current_actor()
workspace = find_workspace(actor.workspace_id)
zone = ZoneInfo(workspace.timezone)
st.title("Alerts")
st.caption(
    "Metricx watches your numbers every 15 minutes and tells you first: by email and in "
    "Slack. Times are in the workspace's zone "
    f"({workspace.timezone})."
)
if flash := st.session_state.pop(FLASH, None):
    st.success(flash)


def local(moment: datetime | None) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M") if moment else "—"


def attempt(action: Callable[[], Any], done: str) -> None:
    """Run a change; on success rerun with `done` as the flash, else say why in one line."""
    try:
        action()
    except MetricxError as problem:
        st.error(str(problem))
        return
    st.session_state[FLASH] = done
    st.rerun()


def channels_of(emails: str, slack: bool) -> list[dict[str, str]]:
    found = [e.strip() for e in emails.replace(";", ",").split(",") if e.strip()]
    return [{"kind": "email", "to": e} for e in found] + ([{"kind": "slack"}] if slack else [])


def delivers_to(channels: list[dict[str, Any]]) -> str:
    """Where the channels go, for markdown (an address is shown as typed: no emphasis)."""
    if not channels:
        return "the workspace's admins (and Slack, when connected)"
    return literal(", ".join(c.get("to") or "Slack" for c in channels))


rules_tab, monitors_tab, digests_tab, history_tab = st.tabs(
    ["Rules", "Built-in monitors", "Digests", "History and delivery"]
)

# --- rules ------------------------------------------------------------------------------------

with rules_tab:
    saved_rules = alerts.list_rules(actor)
    custom = definitions(actor.workspace_id)
    if not saved_rules:
        st.info(
            "No alert rules yet. Add one below, or ask the Copilot: "
            "“alert me if CAC goes above $70”."
        )
    for saved in saved_rules:
        rule = saved.rule
        try:
            metric = check_in(rule, custom)
            words = rule.describe(metric, workspace.currency)
        except MetricxError as broken:
            words = f"{rule.metric} (cannot run: {broken})"
        state = "" if rule.enabled else " · switched off"
        with st.container(border=True):
            left, middle, right = st.columns([6, 1, 1])
            left.markdown(f"**{literal(rule.name)}**{state}  \n{literal(words)}")
            recipients = delivers_to([c.model_dump() for c in rule.channels])
            left.caption(
                f"{rule.schedule_words()} · cool-down {rule.cooldown_minutes} min · "
                f"{literal(saved.scope)} · to {recipients} · next run {local(saved.next_run_at)}"
            )
            if middle.button("Test", key=f"rule_test_{saved.id}"):
                try:
                    result = alerts.test_rule(actor, saved.id)
                except MetricxError as problem:
                    st.error(str(problem))
                else:
                    for evaluation in result.evaluations:
                        shown = st.warning if evaluation.fires else st.caption
                        shown(("Would fire: " if evaluation.fires else "") + evaluation.message)
            mine = saved.owner_email is not None and saved.owner_email == actor.label
            if (actor.is_admin or mine) and right.button("Delete", key=f"rule_delete_{saved.id}"):
                attempt(
                    partial(alerts.delete_rule, actor, saved.id),
                    f"Deleted the rule {saved.rule.name!r}.",
                )

    if actor.is_admin and st.button(
        "Add the recommended anomaly rules",
        key="rules_recommended",
        help="One rule per family (spend by campaign, store revenue, orders, tracked orders, "
        "ROAS, CPA, conversion rate) that fires when it is unusual for the weekday and hour.",
    ):
        attempt(
            partial(alerts.add_recommended_rules, actor),
            "Added the recommended anomaly rules the workspace lacked.",
        )

    st.subheader("Add a rule")
    metric_ids = [
        m
        for m in (*catalogue.METRICS, *custom.metrics)
        if families.family_of(m) == "ads" and m not in ("__all__",)
    ]
    with st.form("rule_add"):
        name = st.text_input("Name", key="rule_name", placeholder="CAC too high")
        metric_id = st.selectbox(
            "Metric",
            metric_ids,
            key="rule_metric",
            format_func=lambda m: catalogue.METRICS[m].label if m in catalogue.METRICS else m,
        )
        left, right = st.columns(2)
        condition = left.selectbox(
            "Fires when it",
            list(CONDITIONS),
            key="rule_condition",
            format_func=CONDITIONS.__getitem__,
        )
        threshold = right.text_input(
            "Threshold",
            key="rule_threshold",
            help="In the metric's unit: money as is, ROAS 2.5, CTR 1.5 for 1.5 %; a change "
            "in percent; an anomaly's sensitivity in robust z units (4 is a good start).",
        )
        left, right = st.columns(2)
        period = left.selectbox(
            "Over",
            list(PERIOD_WORDS),
            key="rule_period",
            format_func=PERIOD_WORDS.__getitem__,
        )
        split = right.selectbox(
            "Judge each", list(SPLITS), key="rule_split", format_func=SPLITS.__getitem__
        )
        left, middle, right = st.columns(3)
        schedule = left.selectbox(
            "Checked",
            ALERT_SCHEDULES,
            key="rule_schedule",
            format_func=lambda s: SCHEDULES.get(s, s),
        )
        hour = middle.number_input("Daily at hour", 0, 23, 8, key="rule_hour")
        cooldown = right.number_input("Cool-down (minutes)", 0, 7 * 24 * 60, 60, key="rule_cool")
        emails = st.text_input(
            "Email to", key="rule_emails", placeholder="you@shop.com, ops@shop.com"
        )
        slack = st.checkbox("Post to the workspace's Slack", key="rule_slack")
        personal = (
            st.checkbox("Personal rule (only mine)", key="rule_personal")
            if actor.is_admin
            else True
        )
        if st.form_submit_button("Save rule", key="rule_save"):
            fields = {
                "name": name,
                "metric": metric_id,
                "condition": condition,
                "threshold": threshold or "",
                "period": period,
                "split": split or None,
                "schedule": schedule,
                "local_hour": int(hour) if schedule == "daily" else None,
                "cooldown_minutes": int(cooldown),
                "channels": channels_of(emails, slack),
            }
            attempt(
                lambda: alerts.add_rule(actor, fields, personal=bool(personal)),
                f"Saved the rule {name.strip()!r}.",
            )

# --- built-in monitors ------------------------------------------------------------------------


def monitor_input(kind: str, name: str, value: Any) -> Any:
    """A monitor setting's input by its type; an empty box is "the default" (None)."""
    label, key = name.replace("_", " "), f"mon_{kind}_{name}"
    if isinstance(value, bool):
        return st.checkbox(label, value=value, key=key)
    if isinstance(value, int | float):
        return st.number_input(label, value=value, key=key)
    typed = st.text_input(
        label, "" if value is None else str(value), key=key, placeholder="the default"
    )
    return typed.strip() or None


with monitors_tab:
    st.caption(
        "On for every workspace. They watch the plumbing: connections, freshness, budgets, "
        "tracking and the platforms' API versions."
        + ("" if actor.is_admin else " Only admins change them.")
    )
    for monitor in monitors.list_monitors(actor):
        badge = "on" if monitor.enabled else "off"
        last = (
            f"last fired {ago(monitor.last_event.fired_at)}: {monitor.last_event.message}"
            if monitor.last_event
            else "has not fired"
        )
        with st.expander(f"{monitor.title} ({badge})"):
            st.markdown(monitor.meaning)  # the kind's own text: `params` shown as code
            st.caption(
                f"Checked {ago(monitor.last_run_at) if monitor.last_run_at else 'not yet'}; "
                f"{literal(last)}; to {delivers_to(monitor.channels)}."
            )
            if not actor.is_admin:
                st.json(monitor.params)
                continue
            with st.form(f"monitor_{monitor.kind}"):
                enabled = st.checkbox("On", value=monitor.enabled, key=f"mon_on_{monitor.kind}")
                params = {
                    key: monitor_input(monitor.kind, key, value)
                    for key, value in monitor.params.items()
                }
                cool = st.number_input(
                    "Cool-down (minutes)",
                    0,
                    7 * 24 * 60,
                    monitor.cooldown_minutes,
                    key=f"mon_cool_{monitor.kind}",
                )
                if st.form_submit_button("Save", key=f"mon_save_{monitor.kind}"):
                    attempt(
                        partial(
                            monitors.update_monitor,
                            actor,
                            monitor.kind,
                            enabled=enabled,
                            params=params,
                            cooldown_minutes=int(cool),
                        ),
                        f"Saved the monitor {monitor.title!r}.",
                    )

# --- digests ----------------------------------------------------------------------------------

with digests_tab:
    st.caption(
        "A morning summary of yesterday (daily) or of last week (weekly): the KPIs against "
        "the period before, what moved them, alerts fired, pacing and freshness, with charts."
    )
    for digest in digests.list_digests(actor):
        state = "on" if digest.enabled else "off"
        with st.container(border=True):
            st.markdown(f"**{digest.cadence.title()} digest** ({state}), {digest.when}")
            st.caption(
                f"To {delivers_to(digest.delivers_to)} · next {local(digest.next_run_at)} · "
                f"last sent {local(digest.last_run_at)}"
            )
            buttons = st.columns(4)
            if buttons[0].button("Subscribe me", key=f"dig_sub_{digest.cadence}"):
                attempt(
                    partial(digests.subscribe_digest, actor, digest.cadence),
                    f"You get the {digest.cadence} digest.",
                )
            if buttons[1].button("Unsubscribe me", key=f"dig_unsub_{digest.cadence}"):
                attempt(
                    partial(digests.unsubscribe_digest, actor, digest.cadence),
                    f"You no longer get the {digest.cadence} digest.",
                )
            if buttons[2].button("Preview", key=f"dig_preview_{digest.cadence}"):
                try:
                    preview = digests.preview_digest(actor, digest.cadence)
                except MetricxError as problem:
                    st.error(str(problem))
                else:
                    st.markdown(f"**{literal(preview.subject)}**")
                    for image in preview.images:
                        st.image(image.png, caption=image.alt)
                    st.text(preview.text)
            if actor.is_admin and buttons[3].button("Send now", key=f"dig_send_{digest.cadence}"):
                attempt(
                    partial(digests.send_digest_now, actor, digest.cadence),
                    f"The {digest.cadence} digest is on its way.",
                )
            if actor.is_admin:
                with st.form(f"digest_{digest.cadence}"):
                    left, middle, right = st.columns(3)
                    on = left.checkbox("On", value=digest.enabled, key=f"dig_on_{digest.cadence}")
                    at = middle.number_input(
                        "At hour", 0, 23, digest.local_hour, key=f"dig_hour_{digest.cadence}"
                    )
                    weekday = (
                        right.selectbox(
                            "On",
                            range(7),
                            index=digest.weekday or 0,
                            format_func=lambda d: WEEKDAYS[d],
                            key=f"dig_day_{digest.cadence}",
                        )
                        if digest.cadence == "weekly"
                        else None
                    )
                    if st.form_submit_button("Save", key=f"dig_save_{digest.cadence}"):
                        attempt(
                            partial(
                                digests.save_digest,
                                actor,
                                digest.cadence,
                                local_hour=int(at),
                                weekday=weekday,
                                channels=digest.channels,
                                enabled=on,
                            ),
                            f"Saved the {digest.cadence} digest.",
                        )

# --- history and delivery ---------------------------------------------------------------------

with history_tab:
    st.subheader("Fired")
    fired = monitors.recent_events(actor)
    if fired:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "When": local(e.fired_at),
                        "From": e.name,
                        "What": e.message,
                    }
                    for e in fired
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("Nothing has fired yet.")

    st.subheader("Deliveries")
    sent = notifications.recent_deliveries(actor)
    failed = [d for d in sent if d.status == "failed"]
    if failed:
        st.warning(f"{len(failed)} of the last {len(sent)} deliveries failed; see below.")
    if sent:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Queued": local(d.created_at),
                        "What": d.subject,
                        "To": d.target if d.channel == "email" else "Slack",
                        "Status": d.status,
                        "Tries": d.attempts,
                        "Sent": local(d.sent_at),
                        "Error": d.last_error or "",
                    }
                    for d in sent
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("Nothing has been delivered yet.")
    if actor.is_admin:
        for delivery in failed:
            if st.button(f"Retry “{delivery.subject}”", key=f"retry_{delivery.id}"):
                attempt(
                    partial(notifications.retry_delivery, actor, delivery.id),
                    "Queued again.",
                )

    st.subheader("Send a test")
    with st.form("test_send"):
        to = st.text_input("Email address", key="test_email", placeholder="you@shop.com")
        left, right = st.columns(2)
        if left.form_submit_button("Send test email", key="test_email_send"):
            attempt(
                lambda: notifications.send_test(actor, {"kind": "email", "to": to}),
                f"A test email to {to.strip()} is on its way.",
            )
        # Slack is the admins' (services.notifications refuses a member's test to it)
        if actor.is_admin and right.form_submit_button("Send test to Slack", key="test_slack_send"):
            attempt(
                lambda: notifications.send_test(actor, {"kind": "slack"}),
                "A test message to Slack is on its way.",
            )

    if actor.is_admin:
        st.subheader("Slack")
        connected = notifications.slack_webhook_set(actor)
        st.caption(
            "Connected: messages go to the channel of its incoming webhook."
            if connected
            else "Not connected. Create an incoming webhook in your Slack app "
            "(api.slack.com/messaging/webhooks) and paste its URL."
        )
        with st.form("slack"):
            url = st.text_input(
                "Incoming webhook URL",
                key="slack_url",
                type="password",
                placeholder="https://hooks.slack.com/services/…",
            )
            left, right = st.columns(2)
            if left.form_submit_button("Save webhook", key="slack_save"):
                attempt(lambda: notifications.set_slack_webhook(actor, url), "Slack connected.")
            if connected and right.form_submit_button("Disconnect", key="slack_clear"):
                attempt(lambda: notifications.clear_slack_webhook(actor), "Slack disconnected.")

    mailbox = get_config().mailbox_dir
    if mailbox.exists():
        st.subheader("Local mailbox")
        mail = notifications.workspace_mail(actor, read_messages(mailbox))
        if not mail:
            st.caption(
                f"Mail sent through the local mail server (used when SMTP_URL is unset) is "
                f"kept in {mailbox}; none of this workspace's has arrived yet."
            )
        for message in mail:
            with st.expander(f"{message.subject} — to {message.to}, {local(message.date)}"):
                if message.html:
                    st.html(message.html)
                else:
                    st.text(message.text or "")
