"""Mixed-version clusters: jobs an old live worker cannot run wait until it leaves (both backends).

The executor and worker run in-process (a Runtime, registered as a current STANDALONE
instance); an old worker is a registered instance of Lanner 0.0.9 that never takes jobs.
"""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

from lanner.engine.shell import held_jobs
from lanner.engine.shell.service import Executions
from lanner.flows.validator import validate_source
from lanner.model.service_state import ServiceState
from lanner.model.state import State
from lanner.server.runtime import Runtime
from lanner.store import flow_repository, service_instances
from lanner.store.database import write_connection
from lanner.store.schema_guard import prepare_database
from lanner.store.table_stats import topic_depth
from lanner.store.tables import queue_messages
from tests.helpers import config_for

FLOW = """\
id: gated
namespace: lanner.tests
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: not gated
  - id: needs_new
    type: io.kestra.plugin.core.log.Log
    message: ran on a new worker
"""
GATED = "io.kestra.plugin.core.log.log"


@pytest.fixture
def gated(monkeypatch):
    monkeypatch.setattr(held_jobs, "MINIMUM_WORKER_VERSION", {GATED: "0.1.0"})
    monkeypatch.setattr(held_jobs, "LIVE", held_jobs.LiveWorkers())


@pytest.fixture
def engine(database_url):
    engine = prepare_database(config_for(database_url), may_migrate=True)
    with write_connection(engine) as connection, connection.begin():
        flow_repository.save_flow(connection, validate_source(FLOW).flow, FLOW)
    yield engine
    engine.dispose()


def old_worker(engine, version="0.0.9"):
    instance_id = uuid.uuid4().hex
    service_instances.register(engine, instance_id=instance_id, service_type="WORKER", hostname="old", pid=1,
                               lanner_version=version, schema_version="0002", settings={})
    service_instances.change_state(engine, instance_id, ServiceState.RUNNING, "started")
    return instance_id


def held(engine):
    with engine.connect() as connection:
        return topic_depth(connection, held_jobs.HELD)


def held_messages(engine):
    """(id, available_at) of the held jobs: a release pass that puts one back sends it anew, later."""
    with engine.connect() as connection:
        return connection.execute(sa.select(queue_messages.c.id, queue_messages.c.available_at)
                                  .where(queue_messages.c.topic == held_jobs.HELD)).all()


def wait_for(condition, timeout=15.0):
    """The condition's first true value, or a false one after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def test_jobs_wait_while_an_old_worker_is_alive_and_run_once_it_leaves(gated, engine, tmp_path):
    worker_id = old_worker(engine)
    with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage") as runtime:
        service = Executions(engine, runtime.queue, runtime.flows)
        execution = service.create("lanner.tests", "gated")
        first = wait_for(lambda: held_messages(engine))
        assert len(first) == 1, f"the Log job was not held: {first}"
        # A release pass takes the held job (it is due RECHECK seconds later) and, the old worker being
        # alive, puts it back to look again later; had it let the job go, nothing would be held.
        assert wait_for(lambda: held_messages(engine) != first), "no release pass looked at the held job"
        again = held_messages(engine)
        assert len(again) == 1 and again[0].available_at > first[0].available_at, (first, again)
        current = service.get(execution.id)
        runs = {run.task_id: run for run in current.task_runs}
        assert runs["first"].current is State.SUCCESS  # a job the old worker could run is not held
        assert not runs["needs_new"].current.terminal and not current.current.terminal
        assert held(engine) == 1

        service_instances.change_state(engine, worker_id, ServiceState.TERMINATING, "stopping")
        service_instances.change_state(engine, worker_id, ServiceState.TERMINATED_GRACEFULLY, "stopped")
        ended = service.wait(execution.id, 20)
        assert ended.current is State.SUCCESS, [(r.task_id, r.current) for r in ended.task_runs]
        assert held(engine) == 0
        waits = [entry for entry in service.logs(execution.id) if "waits" in entry.message]
        assert len(waits) == 1 and waits[0].task_id == "needs_new" and "0.0.9" in waits[0].message
        assert "Lanner 0.1.0 or later" in waits[0].message


def test_nothing_is_held_when_every_live_worker_is_recent_enough(gated, engine, tmp_path):
    old_worker(engine, version="0.1.0")
    with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage") as runtime:
        service = Executions(engine, runtime.queue, runtime.flows)
        ended = service.wait(service.create("lanner.tests", "gated").id, 20)
        assert ended.current is State.SUCCESS
        assert not [entry for entry in service.logs(ended.id) if "waits" in entry.message]


def test_killing_an_execution_withdraws_its_held_jobs(gated, engine, tmp_path):
    old_worker(engine)
    with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage") as runtime:
        service = Executions(engine, runtime.queue, runtime.flows)
        execution = service.create("lanner.tests", "gated")
        assert wait_for(lambda: held(engine) == 1)
        service.kill(execution.id)
        ended = service.wait(execution.id, 20)
        assert ended.current is State.KILLED and held(engine) == 0


def test_without_declared_features_nothing_is_looked_up():
    jobs = [("execution", "job")]
    assert held_jobs.MINIMUM_WORKER_VERSION == {}
    assert held_jobs.hold(None, None, jobs, None) == (jobs, [])  # no connection needed: no query at all
    assert held_jobs.too_old(["0.0.9", "0.1.0", "garbage"], "0.1.0") == ["0.0.9", "garbage"]


def test_live_versions_are_cached(engine):
    clock = [0.0]
    live = held_jobs.LiveWorkers(ttl=1.5, clock=lambda: clock[0])
    assert live.versions(engine) == []
    old_worker(engine)
    assert live.versions(engine) == []  # cached
    clock[0] = 2.0
    assert live.versions(engine) == ["0.0.9"]


def test_the_services_page_and_cluster_status_warn_about_versions_and_held_jobs(gated, engine, database_url,
                                                                                tmp_path):
    import httpx

    from tests.conftest import run_lanner

    old_worker(engine)
    far = uuid.uuid4().hex
    service_instances.register(engine, instance_id=far, service_type="EXECUTOR", hostname="far", pid=2,
                               lanner_version="0.3.0", schema_version="0002", settings={})
    with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage", web_port=0) as runtime:
        service = Executions(engine, runtime.queue, runtime.flows)
        service.create("lanner.tests", "gated")
        assert wait_for(lambda: held(engine) == 1)
        with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
            page = client.get("/ui/services").text
        assert 'id="version-skew"' in page and "from 0.0.9 to 0.3.0" in page
        assert 'id="held-jobs">1 job(s) wait' in page
        status = run_lanner("sys", "cluster", "status", env={"LANNER_DATABASE_URL": database_url}, cwd=tmp_path)
        assert status.returncode == 0 and "Warning: live versions range from 0.0.9 to 0.3.0" in status.stdout
