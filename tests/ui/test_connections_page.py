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
    admin_app.switch_page("views/connections.py").run()
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


def test_a_refused_connection_keeps_the_pasted_token_and_a_fixed_one_is_listed(admin, admin_app):
    # Given an account id typed wrong beside a pasted token
    admin_app.text_input(key="new_account").input("act_not_digits")
    admin_app.text_input(key="new_token").input("EAAB-pasted-token")
    admin_app.button(key="add_connection_submit").click().run()
    # Then the refusal says why and everything typed is still there
    assert "Meta ad account id" in texts(admin_app)
    assert admin_app.text_input(key="new_account").value == "act_not_digits"
    assert admin_app.text_input(key="new_token").value == "EAAB-pasted-token"
    # When only the account id is corrected
    admin_app.text_input(key="new_account").input("act_123456")
    admin_app.button(key="add_connection_submit").click().run()
    # Then the list shows it at once, the form is empty again, and the success is said
    assert not admin_app.exception, admin_app.exception
    assert list(admin_app.dataframe[0].value["Account"]) == ["123456"]
    assert admin_app.text_input(key="new_token").value == ""
    assert "Added meta 123456" in texts(admin_app)
    [added] = connections.list_connections(admin.workspace_id)
    assert connections.read_token(admin.workspace_id, added.id) == "EAAB-pasted-token"


def test_a_refused_replacement_token_stays_in_the_form(admin, admin_app):
    added = connections.add_connection(admin, "meta", "act_1", "old-token", name="Meta EU")
    admin_app.run()
    admin_app.text_input(key="rotate_token_value").input("new token with spaces")
    admin_app.button(key="rotate_submit").click().run()
    assert "paste it exactly" in texts(admin_app)
    assert admin_app.text_input(key="rotate_token_value").value == "new token with spaces"
    assert connections.read_token(admin.workspace_id, added.id) == "old-token"


def test_a_manual_resync_is_queued_and_its_progress_shows_until_done(
    admin, connections, admin_app, redis_conn
):
    from rq import SimpleWorker

    from metricx.queue import get_queue
    from metricx.services import audit

    # Given the page lists the sandbox connections, when an admin resyncs the Meta account
    admin_app.run()
    admin_app.selectbox(key="resync_connection").select(connections["meta"].id)
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
    assert "is in the future" in texts(admin_app)
    assert get_queue("high").count == 0


def _consented(url: str) -> dict[str, str]:
    """The query the provider's consent screen sends the browser back to the page with."""
    from urllib.parse import parse_qsl, urlsplit

    import httpx

    response = httpx.get(url, follow_redirects=False)
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


def test_coming_back_from_the_consent_screen_lists_the_connection(admin, oauth_apps, admin_app):
    # Given the admin prepared a Meta sign-in on the page and followed the button
    account = oauth_apps.merchant.accounts_of("meta")[0].external_id
    admin_app.selectbox(key="oauth_provider").select("meta")
    admin_app.text_input(key="oauth_account").input(account)
    admin_app.button(key="oauth_submit").click().run()
    [link] = admin_app.get("link_button")
    assert "client_id=sandbox-meta-app" in link.proto.url
    back = _consented(link.proto.url)
    # When the browser comes back with code and state in the URL
    for name, value in back.items():
        admin_app.query_params[name] = value
    admin_app.run()
    # Then the connection is listed as active, said so, and the URL is clean again
    assert not admin_app.exception
    assert "Connected" in texts(admin_app)
    assert list(admin_app.dataframe[0].value["Account"]) == [account]
    assert not admin_app.get("link_button")
    [added] = connections.list_connections(admin.workspace_id)
    assert added.status == "active"
    assert "code" not in admin_app.query_params


def test_a_bad_state_shows_a_message_and_creates_nothing(admin, oauth_apps, admin_app):
    from metricx.services import oauth

    back = _consented(
        oauth.start_flow(admin, "google", oauth_apps.merchant.accounts_of("google")[0].external_id)
    )
    admin_app.query_params.update({**back, "state": "not-ours"})
    admin_app.run()
    assert not admin_app.exception
    assert "unknown, expired or already used" in admin_app.error[0].value
    assert connections.list_connections(admin.workspace_id) == []


def test_without_app_credentials_the_page_says_which_settings_to_set(admin_app):
    assert "META_APP_ID / META_APP_SECRET" in texts(admin_app)
    assert not admin_app.get("link_button")


def test_a_token_can_be_replaced_from_the_page(admin, admin_app):
    added = connections.add_connection(admin, "meta", "act_1", "old-token", name="Meta EU")
    admin_app.run()
    admin_app.text_input(key="rotate_token_value").input("new-token")
    admin_app.button(key="rotate_submit").click().run()
    assert "Replaced the token of Meta EU." in texts(admin_app)
    assert connections.read_token(admin.workspace_id, added.id) == "new-token"
    assert admin_app.text_input(key="rotate_token_value").value == ""


def test_a_member_cannot_reach_the_page_even_with_a_callback(member, oauth_apps, member_app):
    member_app.query_params.update({"code": "x", "state": "y"})
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        member_app.switch_page("views/connections.py")
    assert connections.list_connections(member.workspace_id) == []


def test_a_failed_sync_job_is_requeued_from_the_sync_history(admin, admin_app, redis_conn):
    from rq import SimpleWorker

    from metricx.jobs import sync_connection
    from metricx.queue import get_queue

    # Given a connection and a sync job of this workspace that failed
    connections.add_connection(admin, "meta", "act_1", "tok", name="Meta EU")
    job = get_queue("default").enqueue(
        sync_connection,
        admin.workspace_id,
        987654,
        "intraday",
        description="intraday sync of connection 987654",
    )
    SimpleWorker([get_queue("default")], connection=redis_conn).work(burst=True)
    # When the admin clicks its Requeue button in the sync history
    admin_app.run()
    assert "no connection 987654" in texts(admin_app)
    admin_app.button(key=f"requeue_sync_{job.id}").click().run()
    # Then the job waits on its queue again
    assert not admin_app.exception, admin_app.exception
    assert get_queue("default").job_ids == [job.id]
    assert "Requeued" in texts(admin_app)
