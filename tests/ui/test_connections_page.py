"""The Connections page (admin): the list, problems surfaced, adding with validation."""

from datetime import date

import pytest
from apptest import texts

from metricx.db import transaction
from metricx.models import Connection
from metricx.services import connections


@pytest.fixture
def admin_app(admin_app):
    """Logged in as an admin, on the Connections page."""
    admin_app.switch_page("pages/connections.py").run()
    return admin_app


def test_connections_are_listed_with_status_and_problems_called_out(admin, admin_app):
    ok = connections.add_connection(admin, "meta", "act_1", "tok", name="Meta EU")
    broken = connections.add_connection(admin, "google", "1234567890", "tok", name="Google US")
    with transaction() as session:
        row = session.get(Connection, broken.id)
        row.status, row.last_error = "needs_reauth", "Google token revoked (invalid_grant)"
    admin_app.run()
    table = admin_app.dataframe[0].value
    assert list(table["Name"]) == ["Google US", "Meta EU"]
    assert list(table["Last sync"]) == ["never", "never"]
    assert "invalid_grant" in texts(admin_app)
    assert ok.id != broken.id


def test_adding_a_connection_through_the_form_stores_it(admin, admin_app):
    admin_app.selectbox(key="new_provider").select("shopify")
    admin_app.text_input(key="new_account").input("acme.myshopify.com")
    admin_app.text_input(key="new_token").input("shpat_secret")
    admin_app.button(key="add_connection_submit").click().run()
    [added] = connections.list_connections(admin.workspace_id)
    assert added.external_account_id == "acme.myshopify.com"
    assert connections.read_token(admin.workspace_id, added.id) == "shpat_secret"


def test_bad_form_input_shows_a_message_and_stores_nothing(admin, admin_app):
    admin_app.text_input(key="new_account").input("act_not_digits")
    admin_app.text_input(key="new_token").input("tok")
    admin_app.button(key="add_connection_submit").click().run()
    assert "Meta ad account id" in texts(admin_app)
    assert not admin_app.exception
    assert connections.list_connections(admin.workspace_id) == []


def test_a_manual_resync_is_queued_and_its_progress_shows_until_done(
        admin, connections, admin_app, redis_conn):
    from rq import SimpleWorker

    from metricx.queue import get_queue
    from metricx.services import audit

    # Given the page lists the sandbox connections, when an admin resyncs the Meta account
    admin_app.run()
    admin_app.selectbox(key="resync_connection").select(connections["meta"])
    admin_app.date_input(key="resync_start").set_value(date(2026, 11, 16))
    admin_app.date_input(key="resync_end").set_value(date(2026, 11, 18))
    admin_app.button(key="resync_submit").click().run()
    # Then one job waits on the high queue and the page shows its progress
    assert get_queue("high").count == 1
    assert "queued" in admin_app.get("progress")[0].proto.text
    # And once a worker ran it, the bar is full and the result is said
    SimpleWorker([get_queue("high")], connection=redis_conn).work(burst=True)
    admin_app.run()
    assert admin_app.get("progress")[0].proto.value == 100
    assert "Resync finished." in texts(admin_app)
    assert audit.recent(admin.workspace_id)[0].action == "connection.resync"


def test_a_resync_into_the_future_is_refused(connections, admin_app, redis_conn):
    from metricx.queue import get_queue

    admin_app.run()
    admin_app.date_input(key="resync_end").set_value(date(2031, 1, 1))
    admin_app.button(key="resync_submit").click().run()
    assert "cannot be in the future" in texts(admin_app)
    assert get_queue("high").count == 0
