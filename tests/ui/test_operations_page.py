"""Operations (admin): queues and schedule, a failed job requeued from the page."""

import pytest
from apptest import texts
from rq import SimpleWorker
from rq_scheduler import Scheduler

from metricx.jobs import register_schedule
from metricx.queue import get_queue
from metricx.services import audit
from workers.schedule import SCHEDULE


def explode() -> None:
    raise RuntimeError("platform exploded")


@pytest.fixture
def failed_job(redis_conn):
    job = get_queue("default").enqueue(explode, description="a sync that failed")
    SimpleWorker([get_queue("default")], connection=redis_conn).work(burst=True)
    return job


def test_an_admin_sees_queues_schedule_and_requeues_a_failed_job(admin, admin_app, failed_job,
                                                                  redis_conn):
    register_schedule(Scheduler(queue_name="default", connection=redis_conn), SCHEDULE)
    admin_app.switch_page("pages/operations.py").run()
    assert not admin_app.exception, admin_app.exception
    labels = {m.label: m.value for m in admin_app.metric}
    assert labels["Queue default"] == "0 waiting"
    assert set(admin_app.dataframe[0].value["Job"]) == {s.id for s in SCHEDULE}
    assert "platform exploded" in texts(admin_app)
    admin_app.button(key=f"requeue_{failed_job.id}").click().run()
    assert get_queue("default").count == 1
    assert audit.recent(admin.workspace_id)[0].action == "job.requeue"


def test_a_member_cannot_open_operations(member_app):
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        member_app.switch_page("pages/operations.py")
