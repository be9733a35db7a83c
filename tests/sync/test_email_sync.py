"""An email account's sync (metricx.sync.email) against the fake Klaviyo: what is stored is
what Klaviyo reports for the days synced, and nothing is counted twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_fixtures import CREDENTIALS, FIRST, LAST, NOW
from sqlalchemy import delete, select

from metricx.connection_store import get_connection
from metricx.connectors.errors import TransientError
from metricx.connectors.klaviyo import ATTRIBUTION_DAYS
from metricx.db import transaction
from metricx.models import EmailDaily, EmailMessage
from metricx.sandbox.email_program import EmailProgram
from metricx.semantic.dates import today_in
from metricx.services.connections import add_connection
from metricx.sync.pipeline import sync_connection


def stored(connection_id: int) -> dict:
    """{(message external id, channel, day): (recipients, opens, clicks, orders, cents)}."""
    with transaction() as session:
        rows = session.execute(
            select(
                EmailMessage.external_id,
                EmailDaily.channel,
                EmailDaily.day,
                EmailDaily.recipients,
                EmailDaily.opens,
                EmailDaily.clicks,
                EmailDaily.conversions,
                EmailDaily.conversion_value,
            )
            .join(EmailMessage, EmailMessage.id == EmailDaily.message_id)
            .where(EmailDaily.connection_id == connection_id)
        ).all()
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5], r[6], int(r[7] * 100)) for r in rows}


def truth(program: EmailProgram, since, until, as_of) -> dict:
    return {
        key: (s.recipients, s.opens, s.clicks, s.conversions, s.conversion_cents)
        for key, s in program.daily(since, until, as_of).items()
    }


def test_a_range_sync_stores_what_klaviyo_reports(email_synced, fakes):
    # given the Klaviyo account synced for FIRST..LAST
    _, connection = email_synced

    # then every campaign and flow day is stored as the program reports it
    program = EmailProgram(fakes.merchant)
    assert stored(connection.id) == truth(program, FIRST, LAST, NOW)


def test_an_intraday_sync_reads_the_account_at_most_every_email_sync_minutes(email_synced, fakes):
    # given the account's history synced at NOW (which reads no today)
    workspace_id, connection = email_synced
    reports = len(fakes.requests.of("klaviyo", path="-reports"))

    # when the 15-minute syncs run 15, 30 and 60 minutes later, then 75 minutes later
    first, *early = (
        sync_connection(workspace_id, connection.id, "intraday", now=NOW + timedelta(minutes=m))
        for m in (15, 30, 60)
    )
    late = sync_connection(workspace_id, connection.id, "intraday", now=NOW + timedelta(minutes=75))

    # then the first read yesterday and today (two reporting calls: campaigns, flows), the
    # next ones within the hour made none, and the one an hour after the first read again
    assert first.status == "success" and first.rows > 0
    assert [(o.status, o.rows) for o in early] == [("success", 0), ("success", 0)]
    assert late.status == "success" and late.rows > 0
    assert len(fakes.requests.of("klaviyo", path="-reports")) == reports + 4


def test_a_revoked_key_marks_the_connection_for_reauth_and_keeps_the_rows(email_synced, fakes):
    # given the synced account, then Klaviyo refuses the key
    workspace_id, connection = email_synced
    before = stored(connection.id)
    fakes.faults.add("klaviyo", "auth", times=5)

    outcome = sync_connection(workspace_id, connection.id, "range", now=NOW)

    # then the run fails, the connection needs a new key and nothing was lost
    assert outcome.status == "failed"
    assert get_connection(workspace_id, connection.id).status == "needs_reauth"
    assert stored(connection.id) == before


def test_a_key_of_another_account_syncs_nothing_into_this_one(fakes, admin, redis_conn):
    # given a connection typed for account "OTHER1" with the sandbox account's key
    connection = add_connection(admin, "klaviyo", "OTHER1", CREDENTIALS.klaviyo_private_key)

    outcome = sync_connection(admin.workspace_id, connection.id, "range", now=NOW)

    # then it is refused as a key to replace, and nothing was stored
    assert outcome.status == "failed" and "belongs to account" in (outcome.error or "")
    assert get_connection(admin.workspace_id, connection.id).status == "needs_reauth"
    assert stored(connection.id) == {}


def test_a_server_outage_is_retried_by_the_queue_and_changes_nothing(email_synced, fakes):
    # given Klaviyo answers 503 to every reporting call for a while
    workspace_id, connection = email_synced
    before = stored(connection.id)
    fakes.faults.add("klaviyo", "server_error", times=20, match="-reports", status=503)

    # when the nightly re-fetch runs, it gives up to RQ's retry with the rows untouched
    with pytest.raises(TransientError):
        sync_connection(workspace_id, connection.id, "range", now=NOW + timedelta(hours=2))
    assert stored(connection.id) == before


def forget(connection_id: int) -> None:
    """Hypothesis reuses the connection between examples: each starts from no rows."""
    with transaction() as session:
        session.execute(delete(EmailDaily).where(EmailDaily.connection_id == connection_id))


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["intraday", "intraday_twice", "refetch", "throttled", "outage"]),
        st.integers(min_value=1, max_value=40),  # quarter hours the clock moves first
    ),
    min_size=2,
    max_size=8,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
def test_email_days_match_klaviyo_after_any_interleaving(email_synced, fakes, setenv, steps):
    """S1 for an email account: whatever the order of hourly syncs (some duplicated),
    nightly re-fetches, throttled calls and outages while Klaviyo keeps crediting orders to
    past send days, each day holds what Klaviyo reports for it once the re-fetch and an
    intraday sync have run."""
    workspace_id, connection = email_synced
    setenv(EMAIL_SYNC_MINUTES="0")  # every 15-minute sync reads (the cadence is tested above)
    program = EmailProgram(fakes.merchant)
    forget(connection.id)
    fakes.faults.clear()
    fakes.now = NOW
    for action, quarters in steps:
        fakes.now = fakes.now + timedelta(minutes=15 * quarters)
        if action == "refetch":
            assert sync_connection(workspace_id, connection.id, "range", now=fakes.now).status == (
                "success"
            )
        elif action == "outage":
            fakes.faults.add("klaviyo", "server_error", times=20, match="-reports")
            with pytest.raises(TransientError):
                sync_connection(workspace_id, connection.id, "intraday", now=fakes.now)
            fakes.faults.clear()
        else:
            if action == "throttled":
                fakes.faults.add("klaviyo", "throttle", retry_after=3, match="-reports")
            for _ in range(2 if action == "intraday_twice" else 1):
                outcome = sync_connection(workspace_id, connection.id, "intraday", now=fakes.now)
                assert outcome.status == "success", outcome.error
    assert sync_connection(workspace_id, connection.id, "range", now=fakes.now).status == "success"
    assert sync_connection(workspace_id, connection.id, "intraday", now=fakes.now).status == (
        "success"
    )
    today = today_in(program.timezone, fakes.now)
    window = today - timedelta(days=ATTRIBUTION_DAYS)
    held = {k: v for k, v in stored(connection.id).items() if k[2] >= window}
    assert held == truth(program, window, today, fakes.now)
