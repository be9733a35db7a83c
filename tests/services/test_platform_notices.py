"""Platform notices: versions ending or dead, the platform's own warnings, Meta tokens about
to expire; only for the workspace's own connections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox_fixtures import NOW

from metricx.db import transaction
from metricx.models import Connection
from metricx.services.connections import add_connection, get_connection
from metricx.services.platform_notices import API_WARNINGS, notices
from metricx.services.users import actor_for, add_user
from metricx.sync.pipeline import sync_connection

JAN_2027 = datetime(2027, 2, 1, 12, tzinfo=UTC)


def test_a_version_ending_within_30_days_warns_and_a_dead_one_is_urgent(admin, setenv):
    # given a Meta connection and Meta v25.0, which ends on 2027-02-23
    add_connection(admin, "meta", "act_1", "tok")
    setenv(META_API_VERSION="v25.0")
    # then 22 days before, admins are warned; from that day on, it is urgent
    [soon] = notices(admin.workspace_id, JAN_2027)
    assert not soon.urgent and "2027-02-23" in soon.text
    [dead] = notices(admin.workspace_id, datetime(2027, 2, 23, tzinfo=UTC))
    assert dead.urgent and "stopped working" in dead.text
    # and with the default version, or for platforms the workspace does not use, nothing
    setenv(META_API_VERSION="v26.0", GOOGLE_ADS_API_VERSION="v19")
    assert notices(admin.workspace_id, JAN_2027) == []


def test_a_meta_token_is_flagged_a_week_before_it_expires(admin):
    # given two Meta connections whose long-lived tokens expire in 30 and in 3 days
    add_connection(
        admin, "meta", "act_1", "tok", name="Far", expires_at=JAN_2027 + timedelta(days=30)
    )
    near = add_connection(
        admin, "meta", "act_2", "tok", name="Near", expires_at=JAN_2027 + timedelta(days=3)
    )
    # then only the near one is flagged, as a warning, then as urgent once expired
    [notice] = notices(admin.workspace_id, JAN_2027)
    assert notice.connection_id == near.id and not notice.urgent and "Near" in notice.text
    [later] = notices(admin.workspace_id, JAN_2027 + timedelta(days=4))
    assert later.urgent and "has expired" in later.text


def test_notices_never_show_another_workspaces_connections(admin, other_workspace):
    # given another workspace whose Meta token is about to expire
    other = actor_for(add_user(other_workspace.id, "eve@globex.test", "pw-pw-pw-pw", role="admin"))
    add_connection(other, "meta", "act_9", "tok", expires_at=JAN_2027 + timedelta(days=1))
    # then this workspace sees nothing of it
    assert notices(admin.workspace_id, JAN_2027) == []
    assert len(notices(other.workspace_id, JAN_2027)) == 1


def test_a_sync_keeps_metas_version_warning_for_the_admin(fakes, connections, setenv):
    # given Meta v25.0 on a day Meta warns about it (X-Ad-Api-Version-Warning)
    connection = connections["meta"]
    setenv(META_API_VERSION="v25.0")
    at = NOW + timedelta(days=10)
    fakes.now = at
    # when the connection syncs
    sync_connection(connection.workspace_id, connection.id, "intraday", now=at)
    # then the platform's words are kept and shown
    stored = get_connection(connection.workspace_id, connection.id)
    assert any("v25.0" in text for text in stored.settings[API_WARNINGS])
    assert any("v25.0" in n.text for n in notices(connection.workspace_id, at))
    # and a sync on the default version clears them
    setenv(META_API_VERSION="v26.0")
    sync_connection(connection.workspace_id, connection.id, "intraday", now=at)
    assert get_connection(connection.workspace_id, connection.id).settings[API_WARNINGS] == []
    with transaction() as session:
        assert session.get(Connection, connection.id).status == "active"
