"""Live logs with real processes on both backends: a SIGKILLed worker's lines are kept, told apart by attempt.

The script prints a line, then waits for a file the test creates (a barrier): the test
sees attempt 1's line in the database while the task runs, kills its worker with
SIGKILL, sees the resubmitted attempt 2's line, and only then releases the barrier.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from lanner.model.state import State
from tests.acceptance.cluster_harness import Cluster, wait_until

TALK = """id: talk
namespace: lanner.cluster
inputs:
  - id: barrier
    type: STRING
tasks:
  - id: talk
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo started
      - 'while [ ! -f "{{ inputs.barrier }}" ]; do sleep 0.05; done'
      - echo done
"""


@pytest.fixture
def cluster(database_url, tmp_path) -> Iterator[Cluster]:
    lanner = Cluster(database_url, tmp_path, LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY="IMMEDIATELY")
    lanner.deploy(TALK)
    try:
        yield lanner
    finally:
        lanner.close()


def printed(cluster: Cluster, execution_id: str) -> list[tuple[int | None, str]]:
    """(attempt, message) of the script's stdout lines, in the order they were written."""
    return [(entry.attempt, entry.message) for entry in cluster.executions.logs(execution_id)
            if entry.task_id == "talk" and entry.level == "INFO"]


def test_a_killed_workers_lines_are_kept_and_the_next_attempts_carry_attempt_2(cluster, tmp_path):
    barrier = tmp_path / "barrier"
    cluster.start("executor")
    doomed = cluster.start("worker", "-t", "2")
    execution = cluster.executions.create("lanner.cluster", "talk", {"barrier": str(barrier)})
    try:
        cluster.run_on(execution.id, "talk", doomed)
        wait_until(lambda: (1, "started") in printed(cluster, execution.id), 20, "attempt 1's line in the database")
        doomed.send(signal.SIGKILL)
        doomed.wait_exit()
        survivor = cluster.start("worker", "-t", "2")
        cluster.run_on(execution.id, "talk", survivor, attempt=2)
        wait_until(lambda: (2, "started") in printed(cluster, execution.id), 20, "attempt 2's line in the database")
    finally:
        barrier.touch()  # also lets the first attempt's orphaned script end
    ended = cluster.wait_ended(execution.id)
    assert ended.current is State.SUCCESS
    assert [a.state.current for r in ended.task_runs for a in r.attempts] == [State.RESUBMITTED, State.SUCCESS]
    assert printed(cluster, execution.id) == [(1, "started"), (2, "started"), (2, "done")]

