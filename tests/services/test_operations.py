"""Operations: a workspace's admin sees and requeues only that workspace's failed jobs."""

from __future__ import annotations

import pytest
from rq import SimpleWorker

from metricx.errors import NotFoundError, PermissionDeniedError
from metricx.jobs import attribute_workspace, sync_connection
from metricx.queue import get_queue
from metricx.services import audit, operations
from metricx.services.users import actor_for, add_user

MISSING_CONNECTION = 987654  # the sync fails: no such connection in the workspace


def explode() -> None:
    raise RuntimeError("compaction exploded")


def fail_now(redis_conn, *jobs) -> None:
    SimpleWorker([get_queue("default"), get_queue("low")], connection=redis_conn).work(burst=True)
    assert all(job.get_status(refresh=True).value == "failed" for job in jobs)


@pytest.fixture
def other_admin(other_workspace):
    return actor_for(add_user(other_workspace.id, "gus@globex.test", "secret sauce", role="admin"))


@pytest.fixture
def failures(admin, other_admin, redis_conn):
    """A failed sync in each workspace, a failed attribution run in the other one, and a
    failed scheduled (system-wide) job."""
    queue, low = get_queue("default"), get_queue("low")
    ours = queue.enqueue(
        sync_connection, admin.workspace_id, MISSING_CONNECTION, "intraday", description="our sync"
    )
    theirs = queue.enqueue(
        sync_connection,
        other_admin.workspace_id,
        MISSING_CONNECTION,
        "intraday",
        description="globex sync",
    )
    # An attribution run of an empty workspace succeeds; a stray argument makes it fail.
    their_attribution = low.enqueue(
        attribute_workspace, other_admin.workspace_id, "stray", description="globex attribution"
    )
    scheduled = queue.enqueue(
        explode, description="nightly compaction", meta={"metricx_schedule": True}
    )
    fail_now(redis_conn, ours, theirs, their_attribution, scheduled)
    return {
        "ours": ours,
        "theirs": theirs,
        "their_attribution": their_attribution,
        "scheduled": scheduled,
    }


def test_an_admin_sees_only_this_workspaces_failures_and_the_schedules(admin, failures):
    # When the admin of the first workspace lists failed jobs
    listed = {job.id: job for job in operations.failed_jobs(admin.workspace_id)}
    # Then their own sync and the scheduled job show, the other workspace's jobs do not
    assert set(listed) == {failures["ours"].id, failures["scheduled"].id}
    ours = listed[failures["ours"].id]
    assert ours.requeueable and ours.is_sync and ours.workspace_id == admin.workspace_id
    assert str(MISSING_CONNECTION) in ours.error
    assert not listed[failures["scheduled"].id].requeueable
    assert "compaction exploded" in listed[failures["scheduled"].id].error


def test_the_other_workspaces_admin_sees_their_own(other_admin, failures):
    listed = {job.id for job in operations.failed_jobs(other_admin.workspace_id)}
    assert listed == {
        failures["theirs"].id,
        failures["their_attribution"].id,
        failures["scheduled"].id,
    }


def test_another_workspaces_job_cannot_be_requeued(admin, failures):
    # When the first workspace's admin tries to requeue the other workspace's failed jobs
    for job in (failures["theirs"], failures["their_attribution"]):
        with pytest.raises(NotFoundError, match="no failed job"):
            operations.requeue(admin, job.id)
    # Then they stay failed, nothing was queued and nothing was audited
    assert failures["theirs"].get_status(refresh=True).value == "failed"
    assert get_queue("default").count == 0 and get_queue("low").count == 0
    assert "job.requeue" not in {entry.action for entry in audit.recent(admin.workspace_id)}


def test_a_scheduled_job_is_read_only(admin, failures):
    with pytest.raises(PermissionDeniedError, match="every workspace"):
        operations.requeue(admin, failures["scheduled"].id)
    assert get_queue("default").count == 0


def test_an_admin_requeues_their_own_failed_sync_once(admin, failures):
    # When the admin requeues their failed sync
    operations.requeue(admin, failures["ours"].id)
    # Then it waits on its queue again, the requeue is audited, and a second click says so
    assert get_queue("default").job_ids == [failures["ours"].id]
    assert audit.recent(admin.workspace_id)[0].action == "job.requeue"
    with pytest.raises(NotFoundError, match="not failed"):
        operations.requeue(admin, failures["ours"].id)


def test_unknown_job_ids_and_members_are_refused(admin, member, failures):
    with pytest.raises(NotFoundError):
        operations.requeue(admin, "no-such-job")
    with pytest.raises(PermissionDeniedError):
        operations.requeue(member, failures["ours"].id)
