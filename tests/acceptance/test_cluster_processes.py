"""Cluster operations with real processes and real signals: dead workers, graceful shutdown, zombies, strategies.

Each test starts `lanner server executor` and `lanner server worker` processes on one
database with sub-second liveness settings (tests/acceptance/cluster_harness.py).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from lanner.model.service_state import ServiceState as S
from lanner.model.state import State
from tests import pg_harness
from tests.acceptance.cluster_harness import Cluster, wait_until

SLEEP = """id: nap
namespace: lanner.cluster
inputs:
  - id: seconds
    type: INT
    defaults: 3
tasks:
  - id: nap
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sleep {{ inputs.seconds }}
      - echo slept
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: after
"""
FAIL_LATE = """id: fail_late
namespace: lanner.cluster
tasks:
  - id: doomed
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sleep 1
      - exit 3
"""
# Kills the worker that runs it: its shell's parent is the worker process.
KILLER = """id: killer
namespace: lanner.cluster
tasks:
  - id: deadly
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - kill -9 $PPID
"""


QUICK = """id: quick
namespace: lanner.cluster
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: one
  - id: shell
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sleep 0.3
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: three
"""


def _cluster(url: str, folder) -> Iterator[Cluster]:
    lanner = Cluster(url, folder)
    lanner.deploy(SLEEP)
    try:
        yield lanner
    finally:
        lanner.close()


@pytest.fixture
def cluster(postgres_url, tmp_path) -> Iterator[Cluster]:
    yield from _cluster(postgres_url, tmp_path)


@pytest.fixture
def sqlite_cluster(sqlite_url, tmp_path) -> Iterator[Cluster]:
    yield from _cluster(sqlite_url, tmp_path)


@pytest.fixture
def own_postgres() -> Iterator[pg_harness.ThrowawayCluster]:
    """A PostgreSQL server of the test's own, which it may stop."""
    try:
        server = pg_harness.ThrowawayCluster()
    except (pg_harness.Unavailable, OSError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"a throwaway PostgreSQL cluster is required in CI: {exc}")
        pytest.skip(f"cannot start a throwaway PostgreSQL cluster: {exc}")
    try:
        yield server
    finally:
        server.remove()


def successes(execution, task_id: str) -> int:
    return sum(a.state.current is State.SUCCESS for r in execution.task_runs if r.task_id == task_id
               for a in r.attempts)


def attempts(execution, task_id: str) -> list[State]:
    return [a.state.current for r in execution.task_runs if r.task_id == task_id for a in r.attempts]


@pytest.mark.parametrize("strategy", ["IMMEDIATELY", "AFTER_TERMINATION_GRACE_PERIOD"])
def test_a_killed_workers_task_runs_again_on_another_worker(cluster, strategy):
    cluster.env.update(LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY=strategy,
                       LANNER_SERVER_TERMINATION_GRACE_PERIOD="1s")
    cluster.start("executor")
    doomed = cluster.start("worker", "-t", "2")
    execution = cluster.executions.create("lanner.cluster", "nap", {"seconds": 2})
    cluster.run_on(execution.id, "nap", doomed)
    doomed.send(signal.SIGKILL)
    survivor = cluster.start("worker", "-t", "2")
    cluster.run_on(execution.id, "nap", survivor, attempt=2)
    ended = cluster.wait_ended(execution.id)
    assert ended.current is State.SUCCESS
    assert attempts(ended, "nap") == [State.RESUBMITTED, State.SUCCESS] and successes(ended, "nap") == 1
    assert cluster.instance(doomed).state is S.NOT_RUNNING
    assert [h["state"] for h in cluster.instance(doomed).history][-2:] == ["DISCONNECTED", "NOT_RUNNING"]
    assert any("resubmitted as attempt 2" in entry.message for entry in cluster.executions.logs(execution.id))


def test_sigterm_lets_a_short_task_finish_and_ends_gracefully(cluster):
    cluster.start("executor")
    worker = cluster.start("worker", "-t", "2", LANNER_SERVER_TERMINATION_GRACE_PERIOD="30s")
    execution = cluster.executions.create("lanner.cluster", "nap", {"seconds": 1})
    cluster.run_on(execution.id, "nap", worker)
    worker.send(signal.SIGTERM)
    assert worker.wait_exit() == 0
    assert cluster.instance(worker).state is S.TERMINATED_GRACEFULLY
    replacement = cluster.start("worker", "-t", "2")  # for the task after it
    ended = cluster.wait_ended(execution.id)
    assert ended.current is State.SUCCESS and attempts(ended, "nap") == [State.SUCCESS]
    assert cluster.instance(replacement).state is S.RUNNING


def test_sigterm_stops_a_task_longer_than_the_grace_period_and_it_is_resubmitted(cluster):
    cluster.start("executor")
    worker = cluster.start("worker", "-t", "2", LANNER_SERVER_TERMINATION_GRACE_PERIOD="500ms")
    execution = cluster.executions.create("lanner.cluster", "nap", {"seconds": 30})
    cluster.run_on(execution.id, "nap", worker)
    other = cluster.start("worker", "-t", "2")
    worker.send(signal.SIGTERM)
    assert worker.wait_exit() == 0
    states = [h["state"] for h in cluster.instance(worker).history]
    assert states[states.index("TERMINATING"):][:2] == ["TERMINATING", "TERMINATED_FORCED"]
    cluster.run_on(execution.id, "nap", other, attempt=2)
    cluster.executions.kill(execution.id)  # 30 s is long: the point is where attempt 2 ran
    ended = cluster.wait_ended(execution.id)
    assert attempts(ended, "nap") == [State.RESUBMITTED, State.KILLED]


def test_a_task_failing_during_the_drain_is_recorded_failed(cluster):
    cluster.deploy(FAIL_LATE)
    cluster.start("executor")
    worker = cluster.start("worker", "-t", "2", LANNER_SERVER_TERMINATION_GRACE_PERIOD="30s")
    execution = cluster.executions.create("lanner.cluster", "fail_late")
    cluster.run_on(execution.id, "doomed", worker)
    worker.send(signal.SIGTERM)
    assert worker.wait_exit() == 0
    ended = cluster.wait_ended(execution.id)
    assert ended.current is State.FAILED and attempts(ended, "doomed") == [State.FAILED]
    assert cluster.instance(worker).state is S.TERMINATED_GRACEFULLY


def test_a_frozen_worker_is_replaced_and_its_late_result_rejected(cluster):
    cluster.env.update(LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY="IMMEDIATELY")
    cluster.start("executor")
    zombie = cluster.start("worker", "-t", "2")
    execution = cluster.executions.create("lanner.cluster", "nap", {"seconds": 2})
    cluster.run_on(execution.id, "nap", zombie)
    zombie.send(signal.SIGSTOP)
    other = cluster.start("worker", "-t", "2")
    cluster.run_on(execution.id, "nap", other, attempt=2)
    zombie.send(signal.SIGCONT)
    assert zombie.wait_exit() == 1  # it fenced itself (13 is kept for a restore under it)
    assert "stopping at once" in zombie.output()
    ended = cluster.wait_ended(execution.id)
    assert ended.current is State.SUCCESS and successes(ended, "nap") == 1
    assert attempts(ended, "nap") == [State.RESUBMITTED, State.SUCCESS]


def test_strategy_never_fails_the_task_instead(cluster):
    cluster.env.update(LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY="NEVER")
    cluster.start("executor")
    doomed = cluster.start("worker", "-t", "2")
    execution = cluster.executions.create("lanner.cluster", "nap", {"seconds": 30})
    cluster.run_on(execution.id, "nap", doomed)
    doomed.send(signal.SIGKILL)
    ended = cluster.wait_ended(execution.id)
    assert ended.current is State.FAILED and attempts(ended, "nap") == [State.FAILED]
    assert any("worker-task-restart-strategy NEVER" in entry.message
               for entry in cluster.executions.logs(execution.id))


def test_a_task_that_kills_every_worker_fails_after_the_resubmission_cap(cluster):
    cluster.deploy(KILLER)
    cluster.env.update(LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY="IMMEDIATELY", LANNER_SERVER_MAX_RESUBMISSIONS="1")
    cluster.start("executor")
    first, second = cluster.start("worker", "-t", "1"), cluster.start("worker", "-t", "1")
    execution = cluster.executions.create("lanner.cluster", "killer")
    ended = cluster.wait_ended(execution.id)
    assert ended.current is State.FAILED
    assert attempts(ended, "deadly") == [State.RESUBMITTED, State.FAILED]
    assert "resubmitted 1 times after its worker died" in ended.task_runs[0].attempts[-1].message
    assert first.wait_exit() != 0 and second.wait_exit() != 0


def test_an_idle_worker_and_executor_stop_at_once_on_sigterm(cluster):
    executor = cluster.start("executor")
    worker = cluster.start("worker", "-t", "2")
    for component in (worker, executor):
        component.send(signal.SIGTERM)
        assert component.wait_exit(10) == 0
        assert cluster.instance(component).state is S.TERMINATED_GRACEFULLY


def test_a_second_signal_stops_running_tasks_now(cluster):
    cluster.start("executor")
    worker = cluster.start("worker", "-t", "2", LANNER_SERVER_TERMINATION_GRACE_PERIOD="5m")
    execution = cluster.executions.create("lanner.cluster", "nap", {"seconds": 60})
    cluster.run_on(execution.id, "nap", worker)
    worker.send(signal.SIGTERM)
    cluster.wait_state(worker, S.TERMINATING)
    worker.send(signal.SIGTERM)
    assert worker.wait_exit(20) == 0
    assert cluster.instance(worker).state in (S.TERMINATED_FORCED, S.NOT_RUNNING)
    wait_until(lambda: attempts(cluster.executions.get(execution.id), "nap") == [State.RESUBMITTED, State.RUNNING],
               30, "the stopped task resubmitted")


def test_on_sqlite_a_killed_workers_task_runs_again_and_sigterm_is_graceful(sqlite_cluster):
    lanner = sqlite_cluster
    lanner.env.update(LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY="IMMEDIATELY")
    lanner.start("executor")
    doomed = lanner.start("worker", "-t", "2")
    execution = lanner.executions.create("lanner.cluster", "nap", {"seconds": 1})
    lanner.run_on(execution.id, "nap", doomed)
    doomed.send(signal.SIGKILL)
    survivor = lanner.start("worker", "-t", "2")
    ended = lanner.wait_ended(execution.id)
    assert ended.current is State.SUCCESS and attempts(ended, "nap") == [State.RESUBMITTED, State.SUCCESS]
    survivor.send(signal.SIGTERM)
    assert survivor.wait_exit() == 0 and lanner.instance(survivor).state is S.TERMINATED_GRACEFULLY


def test_components_exit_when_the_database_is_lost_and_resume_once_it_is_back(own_postgres, tmp_path):
    url = pg_harness.create_database(own_postgres.url, "lanner")
    lanner = Cluster(url, tmp_path, LANNER_SERVER_TERMINATION_GRACE_PERIOD="1s")
    try:
        lanner.deploy(SLEEP)
        executor, worker = lanner.start("executor"), lanner.start("worker", "-t", "2")
        execution = lanner.executions.create("lanner.cluster", "nap", {"seconds": 2})
        lanner.run_on(execution.id, "nap", worker)
        own_postgres.stop()
        # Neither idles without its database: both exit non-zero, for a supervisor to restart them.
        assert executor.wait_exit(30) != 0 and worker.wait_exit(30) != 0
        assert "no heartbeat recorded" in worker.output()
        own_postgres.start()
        lanner.engine.dispose()  # the test's own pooled connections died with the server
        lanner.start("executor")
        lanner.start("worker", "-t", "2")
        ended = lanner.wait_ended(execution.id)
        assert ended.current is State.SUCCESS and successes(ended, "nap") == 1
        assert attempts(ended, "nap") == [State.RESUBMITTED, State.SUCCESS]
    finally:
        lanner.close()


def test_a_rolling_restart_of_every_component_loses_nothing_and_runs_nothing_twice(cluster):
    cluster.deploy(QUICK)
    cluster.env.update(LANNER_SERVER_TERMINATION_GRACE_PERIOD="30s")
    running = [cluster.start("executor"), cluster.start("worker", "-t", "4"), cluster.start("worker", "-t", "4"),
               cluster.start("webserver", "--port", "0")]
    created: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        while not stop.wait(0.05):
            created.append(cluster.executions.create("lanner.cluster", "quick").id)

    producer = threading.Thread(target=stream)
    producer.start()
    try:
        for index, old in enumerate(list(running)):
            wait_until(lambda index=index: len(created) >= 5 * (index + 1), 30, "executions created meanwhile")
            old.send(signal.SIGTERM)
            assert old.wait_exit() == 0, old.output()
            assert cluster.instance(old).state is S.TERMINATED_GRACEFULLY
            extra = ("--port", "0") if old.kind == "webserver" else ("-t", "4") if old.kind == "worker" else ()
            running[index] = cluster.start(old.kind, *extra)
    finally:
        stop.set()
        producer.join()
    assert len(created) >= 20
    for execution_id in created:
        ended = cluster.wait_ended(execution_id)
        assert ended.current is State.SUCCESS, execution_id
        assert [len(r.attempts) for r in ended.task_runs] == [1, 1, 1]
        assert all(successes(ended, task) == 1 for task in ("first", "shell", "last"))
