"""A task's processes never outlive their worker: no orphan runs beside the resubmitted attempt."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.acceptance.cluster_harness import Cluster, wait_until
from tests.security.conftest import assert_healthy, web_url


@pytest.fixture
def cluster(database_url, tmp_path) -> Iterator[Cluster]:
    lanner = Cluster(database_url, tmp_path, LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY="IMMEDIATELY")
    try:
        yield lanner
    finally:
        lanner.close()


SPAWNS = """id: spawns
namespace: lanner.cluster
inputs:
  - id: folder
    type: STRING
tasks:
  - id: spawn
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - 'sleep 600 & echo $! > "{{ inputs.folder }}/child.$$"'
      - 'echo $$ > "{{ inputs.folder }}/shell.$$"'
      - wait
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def test_a_killed_workers_script_processes_die_with_it(cluster, tmp_path):
    """No orphan runs beside the resubmitted attempt: the script and what it started are killed too."""
    cluster.deploy(SPAWNS)
    folder = tmp_path / "pids"
    folder.mkdir()
    cluster.start("executor")
    url = web_url(cluster.start("webserver", "--port", "0"))
    doomed = cluster.start("worker", "-t", "2")
    execution = cluster.executions.create("lanner.cluster", "spawns", {"folder": str(folder)})
    cluster.run_on(execution.id, "spawn", doomed)
    wait_until(lambda: len(list(folder.iterdir())) == 2, 30, "the script and its child started")
    pids = [int(path.read_text()) for path in folder.iterdir()]
    assert all(_alive(pid) for pid in pids)
    assert_healthy(url)  # during: the script and its child run
    doomed.send(signal.SIGKILL)
    doomed.wait_exit()
    wait_until(lambda: not any(_alive(pid) for pid in pids), 30, "the script and its child killed with their worker")
    assert_healthy(url)  # after
