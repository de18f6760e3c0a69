"""Maintenance mode on a live multi-process cluster, driven by the CLI: accepted, not started, then all run."""

from __future__ import annotations

import json
import re
import signal

import httpx
import pytest
import sqlalchemy as sa

from lanner.model.state import State
from lanner.store.tables import executions
from tests.acceptance.cluster_harness import Cluster, wait_until
from tests.conftest import run_lanner

GATED = """id: gated
namespace: lanner.maint
inputs:
  - id: barrier
    type: STRING
tasks:
  - id: first
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - 'while [ ! -e "{{ inputs.barrier }}" ]; do sleep 0.02; done'
  - id: second
    type: io.kestra.plugin.core.debug.Return
    format: done
"""

FLOWS = ["""id: slow
namespace: lanner.maint
tasks:
  - id: first
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - sleep 2
  - id: second
    type: io.kestra.plugin.core.debug.Return
    format: done
""", """id: ticking
namespace: lanner.maint
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
triggers:
  - id: each_second
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
"""]


def states(cluster: Cluster) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with cluster.engine.connect() as connection:
        for row in connection.execute(sa.select(executions.c.flow_id, executions.c.state)
                                      .order_by(executions.c.start_date, executions.c.id)):  # created first, first
            found.setdefault(row.flow_id, []).append(row.state)
    return found


def task_run(cluster: Cluster, execution_id: str, task_id: str):
    return next((r for r in cluster.executions.get(execution_id).task_runs if r.task_id == task_id), None)


@pytest.mark.parametrize("layout", ["postgresql-cluster", "sqlite-standalone"])
def test_maintenance_on_a_live_cluster_accepts_everything_starts_nothing_then_runs_all(layout, request, tmp_path):
    """Once `enter` returns, no task starts anywhere: the running task finishes, the next one waits.

    On PostgreSQL with each component in its own process; on SQLite with the standalone server."""
    standalone = layout == "sqlite-standalone"
    # One process that no other declares dead, on a database every component writes to each second: a
    # liveness timeout and a write-lock wait that a busy machine's SQLite meets (this test is about neither).
    cluster = Cluster(request.getfixturevalue("sqlite_url" if standalone else "postgres_url"), tmp_path,
                      **({"LANNER_SERVER_LIVENESS_TIMEOUT": "60s", "LANNER_DATABASE_BUSY_TIMEOUT": "60s"}
                         if standalone else {}))
    try:
        for source in (GATED, *FLOWS):
            cluster.deploy(source)
        if standalone:
            web = worker = cluster.start("standalone", "--port", "0", "--worker-thread", "4")
        else:
            web = cluster.start("webserver", "--port", "0")
            for kind in ("executor", "scheduler"):
                cluster.start(kind)
            worker = cluster.start("worker", "-t", "4")
        port = int(wait_until(lambda: re.search(r"listening on port (\d+)", web.output()), 30, "the port").group(1))
        barrier = tmp_path / "barrier"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as api:
            running = api.post("/api/v1/executions/lanner.maint/gated", files={"barrier": (None, str(barrier))})
            assert running.status_code == 200, running.text
            running = running.json()["id"]
            wait_until(lambda: (first := task_run(cluster, running, "first")) is not None
                       and first.current is State.RUNNING, 30, "the first task running")

            entered = run_lanner("sys", "maintenance", "enter", "--reason", "upgrade", env=cluster.env)
            assert entered.returncode == 0, entered.stdout + entered.stderr
            barrier.touch()  # the first task ends only now, after `enter` has returned
            waited = run_lanner("sys", "maintenance", "enter", "--wait", "--timeout", "60s", env=cluster.env)
            assert waited.returncode == 0, waited.stdout + waited.stderr
            assert "The instance is quiet" in waited.stdout
            # A tick that started just before `enter` (its start decided, its task not taken yet) is
            # paused mid-way too: it cannot move until maintenance ends, so it can be counted now.
            ticks = states(cluster).get("ticking", []).count("RUNNING")
            assert f"{1 + ticks} execution(s) paused mid-way" in waited.stdout, waited.stdout
            wait_until(lambda: "maintenance mode is on" in worker.output(), 30, "the worker finding maintenance on")
            # The running task finished and was recorded; the next one waits for a worker, not taken.
            assert task_run(cluster, running, "first").current is State.SUCCESS
            status = json.loads(run_lanner("sys", "maintenance", "status", "--format", "json", env=cluster.env).stdout)
            assert (status["maintenance"], status["runningTasks"], status["waitingJobs"],
                    status["pausedExecutions"]) == (True, 0, 1 + ticks, 1 + ticks), status
            assert cluster.executions.get(running).current is State.RUNNING

            accepted = [api.post("/api/v1/executions/lanner.maint/slow").json()["id"] for _ in range(3)]
            seen = states(cluster).get("ticking", [])
            wait_until(lambda: len(states(cluster).get("ticking", [])) >= len(seen) + 2, 30, "schedules still firing")
            # Nothing new started: every new execution waits in QUEUED (the schedule's too).
            wait_until(lambda: all(s == "QUEUED" for s in states(cluster)["ticking"][len(seen):])
                       and all(cluster.executions.get(e).current is State.QUEUED for e in accepted), 30, "all QUEUED")
            assert task_run(cluster, running, "second").attempt_number == 1  # still its one, untaken attempt

            left = run_lanner("sys", "maintenance", "exit", env=cluster.env)
            assert left.returncode == 0 and "sent to the executors" in left.stdout
            for execution_id in [running, *accepted]:
                assert cluster.executions.wait(execution_id, 90).current is State.SUCCESS
            second = task_run(cluster, running, "second")
            assert second.current is State.SUCCESS and len(second.attempts) == 1  # held, then run exactly once
            wait_until(lambda: "maintenance mode is off" in worker.output(), 30, "the worker taking tasks again")
            wait_until(lambda: "QUEUED" not in states(cluster)["ticking"], 60, "the queued ticks ran")
        for component in cluster.components:
            component.send(signal.SIGTERM)
        for component in cluster.components:  # a loop busy with the database may take its 30 s to stop
            assert component.wait_exit(90) == 0
    finally:
        cluster.close()


def test_a_backup_with_maintenance_waits_for_running_tasks_on_a_live_cluster(postgres_url, tmp_path):
    cluster = Cluster(postgres_url, tmp_path)
    try:
        cluster.deploy(FLOWS[0])
        cluster.start("executor")
        cluster.start("worker", "-t", "4")
        running = [cluster.executions.create("lanner.maint", "slow").id for _ in range(3)]
        wait_until(lambda: all(cluster.executions.get(e).task_runs
                               and cluster.executions.get(e).task_runs[0].current is State.RUNNING for e in running),
                   30, "the tasks running")
        output = tmp_path / "during.lbak"
        made = run_lanner("backups", "create", "--include-data", "--no-encryption", "--maintenance",
                          "--maintenance-timeout", "60s", "-o", str(output), env=cluster.env)
        assert made.returncode == 0, made.stdout + made.stderr
        assert "Entered maintenance mode" in made.stderr and "Left maintenance mode" in made.stderr
        # The snapshot was taken once the running tasks had ended: none held by a worker in it.
        inspected = run_lanner("backups", "inspect", str(output), env=cluster.env)
        assert inspected.returncode == 0, inspected.stdout + inspected.stderr
        assert re.search(r"worker_jobs_running\s+0\b", inspected.stdout), inspected.stdout
        for execution_id in running:  # and the instance went on afterwards
            assert cluster.executions.wait(execution_id, 90).current is State.SUCCESS
        status = run_lanner("sys", "maintenance", "status", env=cluster.env)
        assert "Maintenance mode: off" in status.stdout
    finally:
        cluster.close()
