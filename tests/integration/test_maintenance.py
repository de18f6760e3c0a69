"""Maintenance mode with a running engine, on both backends: nothing refused, nothing started, all resumed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lanner.engine.shell.service import Executions
from lanner.model.state import State
from lanner.ops import maintenance
from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from tests.acceptance.cluster_harness import wait_until
from tests.helpers import config_for
from tests.integration.test_flow_triggers import deploy

TWO_STEPS = """id: two_steps
namespace: lanner.maint
tasks:
  - id: first
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sleep 1
  - id: second
    type: io.kestra.plugin.core.debug.Return
    format: done
"""


@pytest.fixture
def lanner(database_url, tmp_path) -> Iterator[tuple]:
    engine = prepare_database(config_for(database_url), may_migrate=True)
    deploy(engine, TWO_STEPS)
    try:
        with Runtime(engine, executors=1, worker_threads=4, storage_path=tmp_path / "storage", web_port=0) as runtime:
            with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as api:
                yield engine, Executions(engine, runtime.queue, runtime.flows), api
    finally:
        engine.dispose()


def state(service: Executions, execution_id: str) -> State:
    return service.get(execution_id).current


def test_maintenance_queues_new_work_lets_running_tasks_finish_and_resumes_everything(lanner):
    engine, service, api = lanner
    running = service.create("lanner.maint", "two_steps")
    wait_until(lambda: any(r.task_id == "first" and r.current is State.RUNNING
                           for r in service.get(running.id).task_runs), 30, "the first task running")
    entered = api.post("/api/v1/instance/maintenance/enter", json={"reason": "upgrade"}).json()
    assert entered["maintenance"] is True and entered["reason"] == "upgrade"
    assert api.get("/api/v1/configs").json()["isMaintenanceMode"] is True
    # Work is still accepted: through the API and the service alike.
    created = api.post("/api/v1/executions/lanner.maint/two_steps")
    assert created.status_code == 200
    later = [created.json()["id"], service.create("lanner.maint", "two_steps").id]
    wait_until(lambda: all(state(service, e) is State.QUEUED for e in later), 30, "new executions QUEUED")
    # The running task finishes; the next one waits for the end of maintenance.
    quiet = maintenance.wait_for_quiet(engine, 30)
    assert quiet.quiet and quiet.on and quiet.queued_executions == 2
    second = next(r for r in service.get(running.id).task_runs if r.task_id == "first")
    assert second.current is State.SUCCESS
    assert service.get(running.id).current is State.RUNNING
    assert all(state(service, e) is State.QUEUED for e in later)
    status = api.get("/api/v1/instance/maintenance").json()
    assert status["quiet"] is True and status["waitingJobs"] == 1 and status["runningExecutions"] == 1
    left = api.post("/api/v1/instance/maintenance/exit").json()
    assert left["maintenance"] is False and left["restarted"] == 2
    for execution_id in [running.id, *later]:
        assert service.wait(execution_id, 60).current is State.SUCCESS


def test_the_instance_page_toggles_maintenance_and_every_page_can_show_the_banner(lanner):
    _, _, api = lanner
    assert "Enter maintenance mode" in api.get("/ui/instance").text
    api.post("/api/v1/instance/maintenance/enter", json={"reason": "<b>db move</b>"})
    page = api.get("/ui/instance").text
    assert "Exit maintenance mode" in page and "&lt;b&gt;db move&lt;/b&gt;" in page
    assert 'id="maintenance-banner"' in api.get("/ui/flows").text
    api.post("/api/v1/instance/maintenance/exit")
    assert "Enter maintenance mode" in api.get("/ui/instance").text


def test_a_start_decided_while_maintenance_is_being_left_reads_the_flag_after_the_leaver(postgres_url):
    """The reader waits for the leaver's lock, then must see the flag the leaver wrote (off), not the one
    its statement's snapshot held when it began waiting (on): else it queues an execution the leaver's
    sweep has already passed, and it stays QUEUED forever (found by the long chaos run)."""
    import threading

    import sqlalchemy as sa

    from lanner.store import maintenance_flag
    from lanner.store.database import write_connection

    engine = prepare_database(config_for(postgres_url), may_migrate=True)
    try:
        maintenance.enter(engine, by="test")
        leaver = write_connection(engine)
        leaving = leaver.begin()
        maintenance_flag.write(leaver, False, by="test")  # exclusive lock held, not committed yet
        seen: list[bool] = []

        def decide_a_start() -> None:
            with write_connection(engine) as connection, connection.begin():
                seen.append(maintenance_flag.is_on(connection))

        reader = threading.Thread(target=decide_a_start)
        reader.start()

        def reader_waits_for_the_lock() -> bool:
            with engine.connect() as connection:
                return bool(connection.execute(sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar())

        wait_until(reader_waits_for_the_lock, 30, "the reader waiting for the maintenance lock")
        leaving.commit()
        leaver.close()
        reader.join(timeout=30)
        assert seen == [False]
    finally:
        engine.dispose()


def test_a_take_that_meets_enter_waits_for_it_and_then_takes_nothing(postgres_url):
    """Once ``enter`` has returned no job is taken anywhere: a worker's take that reads the flag while
    ``enter`` is committing waits for it (the row is locked FOR SHARE), then sees maintenance on."""
    import threading

    import sqlalchemy as sa

    from lanner.store import maintenance_flag
    from lanner.store.database import write_connection
    from lanner.store.job_holding import take_and_hold
    from lanner.store.queue import Queue

    engine = prepare_database(config_for(postgres_url), may_migrate=True)
    queue = Queue(engine)
    try:
        with write_connection(engine) as connection, connection.begin():
            maintenance_flag.ensure_row(connection)  # as every worker does when it starts
            queue.send(connection, "worker", {"v": 1, "executionId": "e1", "taskRunId": "t1", "attempt": 1})
        taken: list = []
        with write_connection(engine) as enterer:
            entering = enterer.begin()
            maintenance_flag.write(enterer, True, by="test")  # the row updated, not committed yet
            taker = threading.Thread(target=lambda: taken.append(
                take_and_hold(engine, queue, "worker", 10, worker_id="w1", version=1)), daemon=True)
            taker.start()

            def taker_waits_for_the_row() -> bool:
                with engine.connect() as connection:
                    return bool(connection.execute(sa.text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted")).scalar())

            try:
                wait_until(taker_waits_for_the_row, 30, "the take waiting for the maintenance flag's row")
            finally:
                entering.commit()
            taker.join(timeout=30)
        assert len(taken) == 1 and taken[0].jobs == [] and taken[0].paused
        with engine.connect() as connection:
            assert queue.depth(connection, "worker") == 1  # the job waits for the end of maintenance
    finally:
        queue.close()
        engine.dispose()
