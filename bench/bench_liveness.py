"""Recovery benchmark: SIGKILL a worker mid-task, time until the task runs on another worker.

Real processes on PostgreSQL with the *default* liveness settings (1 s heartbeats, 10 s
timeout, 2 s coordinator interval): the figure an operator gets out of the box.  The
default strategy also waits for the dead worker's grace period; it is measured with a
30 s grace (the default 5 minutes would only add itself).  Also: how long an idle
worker takes to exit after SIGTERM.
"""

from __future__ import annotations

import signal
import statistics
import tempfile
import time
from pathlib import Path

from bench_engine import pg_database

from tests.acceptance.cluster_harness import FAST_LIVENESS, Cluster, wait_until

FLOW = """id: nap
namespace: bench
tasks:
  - id: nap
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sleep 600
"""
TARGET_IMMEDIATELY = 12.0  # seconds, p50
TARGET_IDLE_EXIT = 1.0  # seconds


def _recovery(strategy: str, grace: str) -> float:
    with pg_database() as url, tempfile.TemporaryDirectory() as folder:
        cluster = Cluster(url, Path(folder))
        for key in FAST_LIVENESS:  # the defaults, not the tests' fast settings
            cluster.env.pop(key)
        cluster.env.update(LANNER_SERVER_WORKER_TASK_RESTART_STRATEGY=strategy,
                           LANNER_SERVER_TERMINATION_GRACE_PERIOD=grace)
        try:
            cluster.deploy(FLOW)
            cluster.start("executor")
            doomed = cluster.start("worker", "-t", "2")
            cluster.start("worker", "-t", "2")
            execution = cluster.executions.create("bench", "nap")
            # Whichever worker took it is the one to kill.
            holder = wait_until(lambda: _holder(cluster, execution.id), 60, "the task running")
            victim = doomed if cluster.instance(doomed).id == holder else cluster.components[-1]
            survivor = cluster.components[-1] if victim is doomed else doomed
            started = time.monotonic()
            victim.send(signal.SIGKILL)
            cluster.run_on(execution.id, "nap", survivor, attempt=2)
            return time.monotonic() - started
        finally:
            cluster.close()


def _holder(cluster: Cluster, execution_id: str) -> str | None:
    from lanner.store import execution_repository as repo

    with cluster.engine.connect() as connection:
        held = repo.running_jobs(connection, execution_id=execution_id)
    return held[0]["worker_id"] if held else None


def _idle_exit() -> float:
    with pg_database() as url, tempfile.TemporaryDirectory() as folder:
        cluster = Cluster(url, Path(folder))
        try:
            worker = cluster.start("worker", "-t", "2")
            started = time.monotonic()
            worker.send(signal.SIGTERM)
            worker.wait_exit(30)
            return time.monotonic() - started
        finally:
            cluster.close()


def run() -> list[tuple[str, object, str, bool]]:
    immediately = [_recovery("IMMEDIATELY", "5m") for _ in range(3)]
    after_grace = _recovery("AFTER_TERMINATION_GRACE_PERIOD", "30s")
    idle = statistics.median(_idle_exit() for _ in range(3))
    p50 = statistics.median(immediately)
    return [
        ("PG: SIGKILL of a worker -> its task running elsewhere, IMMEDIATELY, default liveness (p50 of 3)",
         f"{p50:.1f} s ({', '.join(f'{s:.1f}' for s in immediately)})", f"<= {TARGET_IMMEDIATELY:g} s",
         p50 <= TARGET_IMMEDIATELY),
        ("PG: the same, AFTER_TERMINATION_GRACE_PERIOD with a 30 s grace period",
         f"{after_grace:.1f} s", "grace + ~1 s", after_grace <= 30 + 3),
        ("Idle worker: SIGTERM -> exited (median of 3)", f"{idle:.2f} s", f"<= {TARGET_IDLE_EXIT:g} s",
         idle <= TARGET_IDLE_EXIT),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
