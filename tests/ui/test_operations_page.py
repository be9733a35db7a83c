"""Operations (admin): queues and schedule, a failed job requeued from the page, and no
other workspace's failures."""

import pytest
from apptest import texts
from rq import SimpleWorker
from rq_scheduler import Scheduler

from metricx.jobs import SCHEDULE, register_schedule, sync_connection
from metricx.queue import get_queue
from metricx.services import audit

MISSING_CONNECTION = 987654


def failed_sync(redis_conn, workspace_id: int, description: str):
    """A sync job of `workspace_id` that failed (its connection does not exist)."""
    job = get_queue("default").enqueue(
        sync_connection, workspace_id, MISSING_CONNECTION, "intraday", description=description
    )
    SimpleWorker([get_queue("default")], connection=redis_conn).work(burst=True)
    return job


@pytest.fixture
def failed_job(admin, redis_conn):
    return failed_sync(redis_conn, admin.workspace_id, "a sync that failed")


def test_an_admin_sees_queues_schedule_and_requeues_a_failed_job(
    admin, admin_app, failed_job, redis_conn
):
    register_schedule(Scheduler(queue_name="default", connection=redis_conn), SCHEDULE)
    admin_app.switch_page("views/operations.py").run()
    assert not admin_app.exception, admin_app.exception
    labels = {m.label: m.value for m in admin_app.metric}
    assert labels["Queue default"] == "0 waiting"
    assert set(admin_app.dataframe[0].value["Job"]) == {s.id for s in SCHEDULE}
    assert f"no connection {MISSING_CONNECTION}" in texts(admin_app)
    admin_app.button(key=f"requeue_{failed_job.id}").click().run()
    assert get_queue("default").count == 1
    assert audit.recent(admin.workspace_id)[0].action == "job.requeue"


def test_another_workspaces_failed_job_is_not_shown(admin_app, other_workspace, redis_conn):
    # Given a failed sync in another workspace
    theirs = failed_sync(redis_conn, other_workspace.id, "globex sync")
    # When this workspace's admin opens Operations
    admin_app.switch_page("views/operations.py").run()
    # Then it is neither listed nor offered for requeueing
    assert not admin_app.exception, admin_app.exception
    assert "globex sync" not in texts(admin_app)
    assert "No failed jobs." in texts(admin_app)
    assert not [b for b in admin_app.button if b.key == f"requeue_{theirs.id}"]


def test_a_member_cannot_open_operations(member_app):
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        member_app.switch_page("views/operations.py")


def test_copilot_failures_of_this_workspace_are_listed_with_their_error(
    admin, other_workspace, admin_app, redis_conn
):
    from metricx.db import transaction
    from metricx.models import CopilotTurn

    # Given a failed copilot turn here and one in another workspace
    with transaction() as session:
        session.add(
            CopilotTurn(
                workspace_id=admin.workspace_id,
                question="spend by moon phase",
                status="refuse",
                error="unknown dimension: moon phase",
            )
        )
        session.add(
            CopilotTurn(
                workspace_id=other_workspace.id,
                question="globex secret",
                status="refuse",
                error="globex failure",
            )
        )
    # When the admin opens Operations
    admin_app.switch_page("views/operations.py").run()
    # Then this workspace's failure is listed with its error, and not the other one
    failures = [
        d.value
        for d in admin_app.dataframe
        if list(d.value.columns) == ["Asked", "Question", "Error"]
    ]
    assert len(failures) == 1
    assert list(failures[0]["Error"]) == ["unknown dimension: moon phase"]
    assert "globex" not in " ".join(str(d.value.to_dict()) for d in admin_app.dataframe)
