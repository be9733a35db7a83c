"""The built-in monitors, the digests and delivery from the `metricx` command, as a script
would use them on workspace "Acme": settings saved and read back, a digest sent once per
period, the Slack webhook set and cleared, test messages, the delivery log and the history;
bad input refused in one plain line on stderr with exit 1."""

from __future__ import annotations

import pytest
from plain_errors import refused
from sqlalchemy import select

from metricx.db import new_session
from metricx.delivery.slack import SANDBOX_WEBHOOK_URL
from metricx.models import MONITOR_KINDS, AlertRule, Delivery
from metricx.services import monitors


def stored_monitor(admin, kind: str) -> monitors.MonitorView:
    [view] = [m for m in monitors.list_monitors(admin) if m.kind == kind]
    return view


def test_the_seven_monitors_are_listed_on_with_their_settings(ok, workspace):
    lines = ok("alert", "monitors", "-w", "Acme").splitlines()
    assert [line.split()[0] for line in lines] == list(MONITOR_KINDS)
    assert len(lines) == 7 and all(line.split()[1] == "on" for line in lines)
    [stale] = [line for line in lines if line.startswith("data_stale")]
    assert stale.endswith("Data stale  (minutes=60; cool-down 360 min; last run —)")


def test_a_monitor_is_switched_off_with_a_setting_and_keeps_its_other_settings(ok, admin):
    # When data_stale gets 90 minutes and is switched off
    said = ok("alert", "monitor", "-w", "Acme", "data_stale", "--set", "minutes=90", "--off")
    assert said == "Saved the monitor 'Data stale' (off).\n"
    # Then both are stored, and listed
    stale = stored_monitor(admin, "data_stale")
    assert (stale.enabled, stale.params) == (False, {"minutes": 90})
    assert "data_stale             off" in ok("alert", "monitors", "-w", "Acme")
    # When it is switched on again, its setting stays
    ok("alert", "monitor", "-w", "Acme", "data_stale", "--on")
    stale = stored_monitor(admin, "data_stale")
    assert (stale.enabled, stale.params) == (True, {"minutes": 90})
    # And a monitor of several settings keeps the others when one is set
    ok("alert", "monitor", "-w", "Acme", "spend_no_conversions", "--set", "min_spend=120")
    ok("alert", "monitor", "-w", "Acme", "spend_no_conversions", "--set", "days=3")
    assert stored_monitor(admin, "spend_no_conversions").params == {
        "min_spend": 120,
        "days": 3,
        "level": "ad",
    }


@pytest.mark.parametrize(
    "args, said",
    [
        (("nope",), "unknown monitor 'nope'"),
        (("nope", "--set", "minutes=90"), "unknown monitor 'nope'"),
        (("data_stale", "--set", "bad"), "--set takes name=value"),
        (("data_stale", "--set", "=5"), "--set takes name=value"),
        (("data_stale", "--set", "minutes=soon"), "invalid data_stale monitor settings"),
        (("data_stale", "--set", "minutes=5"), "invalid data_stale monitor settings"),
        (("data_stale", "--set", "hours=2"), "invalid data_stale monitor settings"),
        (("data_stale", "--email", "nobody"), "invalid channel 1"),
    ],
)
def test_a_bad_monitor_change_is_refused_in_one_line(run, admin, args, said):
    assert said in refused(run, "alert", "monitor", "-w", "Acme", *args)
    # And nothing changed
    stale = stored_monitor(admin, "data_stale")
    assert (stale.enabled, stale.params, stale.channels) == (True, {"minutes": 60}, [])


def test_the_digests_are_listed_and_the_weekly_one_moved_to_tuesday_at_nine(ok, admin):
    # Given the defaults: daily and weekly (Monday) at 08:00, to the admin
    listed = ok("alert", "digests", "-w", "Acme").splitlines()
    assert [line.split()[0] for line in listed] == ["daily", "weekly"]
    assert "daily at 08:00  to ada@acme.test" in listed[0]
    assert "every Monday at 08:00  to ada@acme.test" in listed[1]
    # When the weekly one is set to Tuesday at 09:00
    said = ok("alert", "digest", "-w", "Acme", "weekly", "--at", "9", "--weekday", "tue")
    # Then it says so, and the listing agrees
    assert said == "The weekly digest is on, every Tuesday at 09:00.\n"
    assert "every Tuesday at 09:00" in ok("alert", "digests", "-w", "Acme").splitlines()[1]


def test_a_digest_sent_twice_is_queued_once_for_its_period(ok, admin, redis_conn):
    first = ok("alert", "digest", "-w", "Acme", "daily", "--send")
    assert first.splitlines()[-1] == "Queued 1 delivery."
    again = ok("alert", "digest", "-w", "Acme", "daily", "--send")
    assert again.splitlines()[-1].startswith("Already sent")
    with new_session() as session:
        targets = list(session.scalars(select(Delivery.target)))
    assert targets == ["ada@acme.test"]


def test_a_digest_setting_out_of_range_is_refused(run, workspace):
    # click refuses an hour out of range (usage error, exit 2) before anything runs
    result = run("alert", "digest", "-w", "Acme", "daily", "--at", "24")
    assert result.exit_code == 2 and "24 is not in the range 0<=x<=23" in result.output
    # and the service a weekday for a daily digest
    assert "a daily digest takes no weekday" in refused(
        run, "alert", "digest", "-w", "Acme", "daily", "--weekday", "tue"
    )


def test_slack_is_connected_by_its_webhook_and_cleared(ok, run, admin):
    # A URL that is not a Slack webhook is refused, saying what one looks like
    assert "https://hooks.slack.com/services/T000/B000/XXXX" in refused(
        run, "alert", "slack", "-w", "Acme", "https://example.com/hook"
    )
    assert "give the webhook URL, or --clear" in refused(run, "alert", "slack", "-w", "Acme")
    assert "give the webhook URL, or --clear" in refused(
        run, "alert", "slack", "-w", "Acme", SANDBOX_WEBHOOK_URL, "--clear"
    )
    # The sandbox's webhook is set, then cleared
    assert ok("alert", "slack", "-w", "Acme", SANDBOX_WEBHOOK_URL) == "Slack connected.\n"
    # And the digests' default channels now include it
    assert "to ada@acme.test, Slack  next run" in ok("alert", "digests", "-w", "Acme")
    assert ok("alert", "slack", "-w", "Acme", "--clear") == "Slack disconnected.\n"
    assert "Slack" not in ok("alert", "digests", "-w", "Acme")


def test_a_test_message_needs_exactly_one_channel(ok, run, workspace, redis_conn):
    assert "give --email ADDRESS or --slack" in refused(run, "alert", "send-test", "-w", "Acme")
    assert "give --email ADDRESS or --slack" in refused(
        run, "alert", "send-test", "-w", "Acme", "--email", "ops@acme.test", "--slack"
    )
    assert "Slack webhook first" in refused(run, "alert", "send-test", "-w", "Acme", "--slack")
    assert "not an email address" in refused(
        run, "alert", "send-test", "-w", "Acme", "--email", "nobody"
    )
    said = ok("alert", "send-test", "-w", "Acme", "--email", "ops@acme.test")
    assert said == "Queued test delivery #1 (see `metricx alert deliveries`).\n"
    [line] = ok("alert", "deliveries", "-w", "Acme").splitlines()
    assert (
        line.startswith("#1  ") and "email:ops@acme.test  [Metricx] Test message for Acme" in line
    )


def test_an_empty_workspace_has_no_deliveries_and_no_history(ok, workspace, other_workspace):
    assert ok("alert", "deliveries", "-w", "Acme") == "Nothing has been delivered yet.\n"
    assert ok("alert", "history", "-w", "Acme") == "Nothing has fired yet.\n"


def test_an_anomalous_rule_is_added_from_the_command_line(ok, workspace):
    said = ok(
        "alert", "add", "Odd spend", "-w", "Acme", "--metric", "spend", "--anomalous", "4",
    )  # fmt: skip
    assert said.startswith(
        "Saved alert rule #1 'Odd spend' (workspace rule): Ad spend is anomalous"
    )
    with new_session() as session:
        saved = session.scalar(select(AlertRule).where(AlertRule.workspace_id == workspace.id))
        assert saved is not None
        assert (saved.metric, saved.condition, float(saved.threshold)) == ("spend", "anomalous", 4)


@pytest.mark.parametrize(
    "command",
    [
        "add",
        "list",
        "test",
        "delete",
        "history",
        "monitors",
        "monitor",
        "digests",
        "digest",
        "slack",
        "send-test",
        "deliveries",
    ],
)
def test_every_alert_command_has_help(ok, command):
    shown = ok("alert", command, "--help")
    assert shown.startswith(f"Usage: main alert {command} [OPTIONS]")
    assert "--workspace" in shown
