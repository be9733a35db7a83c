"""Alerts: rules added, tried and deleted from the page; the built-in monitors and the digests
with their admin forms; what fired and what was delivered (a test send, a failure retried,
the local mailbox), and nothing of another workspace's."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from apptest import texts
from streamlit.testing.v1 import AppTest

from metricx.actor import Actor
from metricx.config import get_config
from metricx.db import transaction
from metricx.delivery.mailbox import LocalMailbox, read_messages
from metricx.models import AlertEvent
from metricx.services import alerts, digests, monitors, notifications
from metricx.services.users import actor_for, add_user

PAGE = "views/alerts.py"
CAC_TOO_HIGH = {
    "name": "CAC too high",
    "metric": "ncpa",  # CAC in the catalogue: ad spend ÷ new customers
    "condition": "above",
    "threshold": "70",
}
#: A Slack incoming-webhook URL in Slack's documented shape
#: (https://api.slack.com/messaging/webhooks): services/T…/B…/secret.
WEBHOOK = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcDEF123ghiJKL456"


def opened(at: AppTest) -> AppTest:
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def keys(at: AppTest) -> set[str]:
    widgets = (*at.button, *at.text_input, *at.number_input, *at.checkbox, *at.selectbox)
    return {w.key for w in widgets if w.key}


def deliveries_table(at: AppTest) -> list[dict[str, object]]:
    [table] = [d.value for d in at.dataframe if "Status" in d.value.columns]
    return table.to_dict("records")


def fired_table(at: AppTest) -> list[dict[str, object]]:
    found = [d.value for d in at.dataframe if "From" in d.value.columns]
    return found[0].to_dict("records") if found else []


def fire(workspace_id: int, message: str, *, rule_id: int) -> None:
    """Record a firing of a rule the way the evaluation round does (one alert_events row)."""
    with transaction() as session:
        session.add(
            AlertEvent(
                workspace_id=workspace_id,
                rule_id=rule_id,
                window_key="2026-12-04T09:00-05:00",
                value=91,
                reference=None,
                message=message,
            )
        )


@pytest.fixture
def page(admin_app: AppTest) -> AppTest:
    return opened(admin_app)


@pytest.fixture
def other_admin(other_workspace) -> Actor:
    return actor_for(add_user(other_workspace.id, "gus@globex.test", "globex secret", role="admin"))


@pytest.fixture
def mailbox(servers, setenv) -> Iterator[LocalMailbox]:
    """The local mailbox of `metricx up` (where the page reads mail), running, with SMTP_URL
    pointed at it; emptied afterwards, so no other test sees its mail or its section."""
    root = get_config().mailbox_dir
    box = LocalMailbox(root)
    address = box.start()
    setenv(SMTP_URL=address.url, SMTP_CA_FILE=str(address.ca_file))
    try:
        yield box
    finally:
        box.stop()
        shutil.rmtree(root, ignore_errors=True)


# --- rules ------------------------------------------------------------------------------------


def test_without_rules_the_page_says_how_to_add_one(page):
    # Given a workspace without alert rules, when its admin opens Alerts
    # Then the empty state points at the form and at the Copilot
    shown = texts(page)
    assert "No alert rules yet. Add one below, or ask the Copilot" in shown
    assert "alert me if CAC goes above $70" in shown


def fill_rule(at: AppTest, name: str, metric: str, condition: str, threshold: str) -> None:
    at.text_input(key="rule_name").input(name)
    at.selectbox(key="rule_metric").set_value(metric)
    at.selectbox(key="rule_condition").set_value(condition)
    at.text_input(key="rule_threshold").input(threshold)
    at.button(key="rule_save").click().run()
    assert not at.exception, at.exception


def test_an_admin_adds_a_rule_and_sees_it_in_words_with_its_next_run(admin, page):
    # When the admin fills in the form: CAC (NCPA) above 70
    fill_rule(page, "CAC too high", "ncpa", "above", "70")
    # Then the rule is saved as a workspace rule
    [saved] = alerts.list_rules(admin)
    assert (saved.rule.name, saved.rule.metric, saved.rule.condition) == (
        "CAC too high",
        "ncpa",
        "above",
    )
    assert saved.rule.threshold == 70 and saved.owner_email is None
    assert saved.next_run_at is not None
    # And the page says so and lists it in words, with when it runs next
    shown = texts(page)
    assert "Saved the rule 'CAC too high'." in shown
    assert r"NCPA above \$70.00 today so far" in shown  # $ escaped: markdown, not a formula
    assert "every 15 minutes · cool-down 60 min · workspace rule" in shown
    assert "next run " in shown and "next run —" not in shown
    assert "No alert rules yet" not in shown


def test_a_threshold_that_is_no_number_is_refused_in_one_line_and_kept(admin, page):
    # When the admin types "abc" as the threshold
    fill_rule(page, "CAC too high", "ncpa", "above", "abc")
    # Then one line says why, and nothing is saved
    [error] = page.error
    assert "must be a number, got 'abc'" in error.value and "\n" not in error.value
    assert alerts.list_rules(admin) == []
    # And what was typed waits to be corrected, not retyped
    assert page.text_input(key="rule_threshold").value == "abc"
    assert page.text_input(key="rule_name").value == "CAC too high"
    assert page.selectbox(key="rule_metric").value == "ncpa"


def test_test_shows_what_a_rule_would_say_now(admin, admin_app):
    # Given a saved rule (and a workspace with no data yet)
    saved = alerts.add_rule(admin, CAC_TOO_HIGH)
    page = opened(admin_app)
    # When the admin presses its Test button
    page.button(key=f"rule_test_{saved.id}").click().run()
    assert not page.exception, page.exception
    # Then the page shows the rule's evaluation, message for message, and records nothing
    expected = alerts.test_rule(admin, saved.id)
    assert expected.evaluations
    shown = texts(page)
    for evaluation in expected.evaluations:
        assert evaluation.message in shown
    assert fired_table(page) == []


def test_delete_removes_the_rule(admin, admin_app):
    saved = alerts.add_rule(admin, CAC_TOO_HIGH)
    page = opened(admin_app)
    page.button(key=f"rule_delete_{saved.id}").click().run()
    assert not page.exception, page.exception
    assert alerts.list_rules(admin) == []
    shown = texts(page)
    assert "Deleted the rule 'CAC too high'." in shown
    assert "No alert rules yet" in shown


def test_a_member_deletes_their_own_rule_but_not_the_workspaces(admin, member, member_app):
    # Given a workspace rule and a personal rule of the member's
    theirs = alerts.add_rule(admin, CAC_TOO_HIGH)
    own = alerts.add_rule(member, {**CAC_TOO_HIGH, "name": "My CAC"}, personal=True)
    page = opened(member_app)
    # Then only their own rule offers Delete
    assert f"rule_delete_{own.id}" in keys(page)
    assert f"rule_delete_{theirs.id}" not in keys(page)
    assert "personal rule of bob@acme.test" in texts(page)
    # And pressing it deletes it
    page.button(key=f"rule_delete_{own.id}").click().run()
    assert [r.id for r in alerts.list_rules(member)] == [theirs.id]


def test_a_members_rule_from_the_form_is_personal(member, member_app):
    page = opened(member_app)
    # A member has no choice to make: their rules are their own
    assert "rule_personal" not in keys(page)
    fill_rule(page, "My CAC", "ncpa", "above", "70")
    [saved] = alerts.list_rules(member)
    assert saved.owner_email == "bob@acme.test"


# --- monitors and digests ---------------------------------------------------------------------


def test_the_seven_monitors_are_listed_and_an_admin_switches_one_off(admin, page):
    # Given the seven built-in monitors, all on
    titles = [m.title for m in monitors.list_monitors(admin)]
    assert len(titles) == 7
    assert [e.label for e in page.expander] == [f"{t} (on)" for t in titles]
    # When the admin switches "Data stale" off and saves
    page.checkbox(key="mon_on_data_stale").uncheck()
    page.button(key="mon_save_data_stale").click().run()
    assert not page.exception, page.exception
    # Then it is stored off, the others untouched, and the page shows it off
    stored = {m.kind: m.enabled for m in monitors.list_monitors(admin)}
    assert stored.pop("data_stale") is False
    assert all(stored.values())
    assert "Data stale (off)" in [e.label for e in page.expander]
    assert "Saved the monitor 'Data stale'." in texts(page)


def test_an_admin_changes_a_monitors_parameters_of_mixed_types(admin, page):
    # Given "Spend without conversions": a float, an int and a choice as text
    page.number_input(key="mon_spend_no_conversions_min_spend").set_value(120.5)
    page.number_input(key="mon_spend_no_conversions_days").set_value(3)
    page.text_input(key="mon_spend_no_conversions_level").input("adset")
    page.number_input(key="mon_cool_spend_no_conversions").set_value(90)
    page.button(key="mon_save_spend_no_conversions").click().run()
    assert not page.exception, page.exception
    [saved] = [m for m in monitors.list_monitors(admin) if m.kind == "spend_no_conversions"]
    assert saved.params == {"min_spend": 120.5, "days": 3, "level": "adset"}
    assert saved.cooldown_minutes == 90


def test_a_monitor_parameter_out_of_range_is_refused_and_nothing_saved(admin, page):
    page.text_input(key="mon_spend_no_conversions_level").input("campaign")
    page.button(key="mon_save_spend_no_conversions").click().run()
    assert not page.exception, page.exception
    assert len(page.error) == 1
    [saved] = [m for m in monitors.list_monitors(admin) if m.kind == "spend_no_conversions"]
    assert saved.params["level"] == "ad"


def test_the_digests_tab_shows_daily_and_weekly_with_their_times(page):
    shown = texts(page)
    assert "**Daily digest** (on), daily at 08:00" in shown
    assert "**Weekly digest** (on), every Monday at 08:00" in shown
    assert "To ada@acme.test · next " in shown


def test_an_admin_moves_the_weekly_digest(admin, page):
    page.number_input(key="dig_hour_weekly").set_value(7)
    page.selectbox(key="dig_day_weekly").set_value(4)
    page.button(key="dig_save_weekly").click().run()
    assert not page.exception, page.exception
    weekly = {d.cadence: d for d in digests.list_digests(admin)}["weekly"]
    assert (weekly.local_hour, weekly.weekday) == (7, 4)
    assert "**Weekly digest** (on), every Friday at 07:00" in texts(page)


def test_a_member_subscribes_to_the_daily_digest(admin, member, member_app):
    page = opened(member_app)
    page.button(key="dig_sub_daily").click().run()
    assert not page.exception, page.exception
    daily = {d.cadence: d for d in digests.list_digests(member)}["daily"]
    assert {"kind": "email", "to": "bob@acme.test"} in daily.delivers_to
    # the admins it went to before keep getting it
    assert {"kind": "email", "to": "ada@acme.test"} in daily.delivers_to
    shown = texts(page)
    assert "You get the daily digest." in shown
    assert "To ada@acme.test, bob@acme.test" in shown


def test_a_member_sees_no_admin_forms(member_app):
    page = opened(member_app)
    shown = keys(page)
    admin_only = [
        k
        for k in shown
        if k.startswith(("mon_", "dig_save_", "dig_send_", "dig_on_", "dig_hour_", "slack_"))
        or k.startswith("retry_")
        or k == "test_slack_send"
    ]
    assert admin_only == []
    # what a member may do is still there
    assert {"dig_sub_daily", "dig_unsub_weekly", "test_email_send", "rule_save"} <= shown
    assert "Only admins change them." in texts(page)
    assert not [s for s in page.subheader if s.value == "Slack"]


# --- history and delivery ---------------------------------------------------------------------


def test_a_test_email_is_listed_among_the_deliveries(admin, page, redis_conn):
    # When the admin sends a test email to themselves
    page.text_input(key="test_email").input("ada@acme.test")
    page.button(key="test_email_send").click().run()
    assert not page.exception, page.exception
    # Then it is queued, and listed with its status
    assert "A test email to ada@acme.test is on its way." in texts(page)
    [row] = deliveries_table(page)
    assert row["To"] == "ada@acme.test" and row["Status"] in ("pending", "sent")
    assert row["What"] == "[Metricx] Test message for Acme"
    [stored] = notifications.recent_deliveries(admin)
    assert stored.target == "ada@acme.test"


def test_a_sent_test_email_arrives_in_the_local_mailbox_shown_on_the_page(
    admin, admin_app, mailbox, worker
):
    # Given a test email sent and delivered by the worker to the local mailbox
    notifications.send_test(admin, {"kind": "email", "to": "ada@acme.test"})
    worker.work(burst=True)
    # When the admin opens Alerts
    page = opened(admin_app)
    # Then the delivery is sent and the message is there to read
    [row] = deliveries_table(page)
    assert (row["Status"], row["Tries"]) == ("sent", 1)
    [message] = [e for e in page.expander if e.label.startswith("[Metricx] Test message")]
    assert "to ada@acme.test" in message.label


def test_a_failed_delivery_is_flagged_and_an_admin_retries_it(admin, admin_app, worker):
    # Given a test to Slack whose webhook was removed before it went out: it fails for good
    notifications.set_slack_webhook(admin, WEBHOOK)
    delivery_id = notifications.send_test(admin, {"kind": "slack"})
    notifications.clear_slack_webhook(admin)
    worker.work(burst=True)
    assert notifications.recent_deliveries(admin)[0].status == "failed"
    # When the admin opens Alerts
    page = opened(admin_app)
    # Then the failure is flagged and listed with its error
    assert "1 of the last 1 deliveries failed; see below." in [w.value for w in page.warning]
    [row] = deliveries_table(page)
    assert row["Status"] == "failed" and "no Slack webhook" in str(row["Error"])
    # And Retry puts it back in the queue
    page.button(key=f"retry_{delivery_id}").click().run()
    assert not page.exception, page.exception
    [again] = notifications.recent_deliveries(admin)
    assert (again.status, again.attempts) == ("pending", 0)
    assert "Queued again." in texts(page)
    assert f"retry_{delivery_id}" not in keys(page)


def test_an_admin_connects_slack_from_the_page(admin, page):
    page.text_input(key="slack_url").input(WEBHOOK)
    page.button(key="slack_save").click().run()
    assert not page.exception, page.exception
    assert notifications.slack_webhook_set(admin)
    assert "Slack connected." in texts(page)
    assert WEBHOOK not in texts(page)


def test_a_bad_webhook_url_is_refused_in_one_line(admin, page):
    page.text_input(key="slack_url").input("https://evil.test/services/T1/B1/x")
    page.button(key="slack_save").click().run()
    assert not page.exception, page.exception
    assert "hooks.slack.com/services" in page.error[0].value
    assert not notifications.slack_webhook_set(admin)


# --- tenancy ----------------------------------------------------------------------------------


def test_nothing_of_another_workspace_shows(
    admin, admin_app, other_admin, mailbox, worker, redis_conn
):
    # Given another workspace with a rule that fired, a test email delivered to its mailbox
    theirs = alerts.add_rule(other_admin, {**CAC_TOO_HIGH, "name": "Globex CAC"})
    fire(other_admin.workspace_id, "Globex NCPA is $91.00", rule_id=theirs.id)
    notifications.send_test(other_admin, {"kind": "email", "to": "gus@globex.test"})
    worker.work(burst=True)
    assert [m.to for m in read_messages(mailbox.root)] == ["gus@globex.test"]
    # And this workspace's own rule that fired
    ours = alerts.add_rule(admin, CAC_TOO_HIGH)
    fire(admin.workspace_id, "Acme NCPA is $91.00", rule_id=ours.id)
    # When this workspace's admin opens Alerts
    page = opened(admin_app)
    # Then only this workspace's rule and firing are there
    shown = texts(page)
    assert "Globex" not in shown and "gus@globex.test" not in shown
    assert f"rule_test_{theirs.id}" not in keys(page)
    assert [(e["From"], e["What"]) for e in fired_table(page)] == [
        ("CAC too high", "Acme NCPA is $91.00")
    ]
    # And neither the other workspace's delivery nor its mail
    assert not [d for d in page.dataframe if "Status" in d.value.columns]
    assert "Nothing has been delivered yet." in shown
    assert "none of this workspace's has arrived yet" in shown
    assert not [e for e in page.expander if "globex" in e.label.lower()]


def test_an_admin_previews_the_daily_digest_and_sends_it_now(admin, page, redis_conn):
    # When the admin previews the daily digest (a workspace without data yet)
    page.button(key="dig_preview_daily").click().run()
    assert not page.exception, page.exception
    # Then its subject and text are shown as they would be sent
    preview = digests.preview_digest(admin, "daily")
    assert preview.subject in texts(page)
    assert [t.value for t in page.text] == [preview.text]
    # And "Send now" queues it to its recipients
    page.button(key="dig_send_daily").click().run()
    assert not page.exception, page.exception
    assert "The daily digest is on its way." in texts(page)
    [queued] = notifications.recent_deliveries(admin)
    assert queued.target == "ada@acme.test" and queued.subject.startswith("Metricx daily digest")


def test_an_admin_adds_the_recommended_anomaly_rules_from_the_page(admin, admin_app):
    # When an admin presses "Add the recommended anomaly rules"
    admin_app.switch_page("views/alerts.py").run()
    admin_app.button(key="rules_recommended").click().run()
    # Then the page says so and lists them, every one anomalous
    assert not admin_app.exception, admin_app.exception
    assert "Added the recommended anomaly rules" in texts(admin_app)
    saved = alerts.list_rules(admin)
    assert saved and {s.rule.condition for s in saved} == {"anomalous"}
    assert saved[0].rule.name in texts(admin_app)
