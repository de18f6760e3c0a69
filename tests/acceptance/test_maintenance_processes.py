"""Maintenance mode on a live multi-process cluster, driven by the CLI: accepted, not started, then all run."""

from __future__ import annotations

import re
import signal

import httpx
import sqlalchemy as sa

from lanner.model.state import State
from lanner.store.tables import executions
from tests.acceptance.cluster_harness import Cluster, wait_until
from tests.conftest import run_lanner

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
        for row in connection.execute(sa.select(executions.c.flow_id, executions.c.state)):
            found.setdefault(row.flow_id, []).append(row.state)
    return found


def test_maintenance_on_a_live_cluster_accepts_everything_starts_nothing_then_runs_all(postgres_url, tmp_path):
    cluster = Cluster(postgres_url, tmp_path)
    try:
        for source in FLOWS:
            cluster.deploy(source)
        web = cluster.start("webserver", "--port", "0")
        for kind in ("executor", "worker", "scheduler"):
            cluster.start(kind, *(("-t", "4") if kind == "worker" else ()))
        port = int(wait_until(lambda: re.search(r"listening on port (\d+)", web.output()), 30, "the port").group(1))
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        running = api.post("/api/v1/executions/lanner.maint/slow").json()["id"]
        wait_until(lambda: cluster.executions.get(running).task_runs[0].current is State.RUNNING, 30, "slow running")

        entered = run_lanner("sys", "maintenance", "enter", "--reason", "upgrade", "--wait", "--timeout", "60s",
                             env=cluster.env)
        assert entered.returncode == 0, entered.stdout + entered.stderr
        assert "The instance is quiet" in entered.stdout
        accepted = [api.post("/api/v1/executions/lanner.maint/slow").json()["id"] for _ in range(3)]
        seen = states(cluster).get("ticking", [])
        wait_until(lambda: len(states(cluster).get("ticking", [])) >= len(seen) + 2, 30, "schedules still firing")
        # Nothing new started: every new execution waits in QUEUED (the schedule's too).
        wait_until(lambda: all(s == "QUEUED" for s in states(cluster)["ticking"][len(seen):])
                   and all(cluster.executions.get(e).current is State.QUEUED for e in accepted), 30, "all QUEUED")
        status = run_lanner("sys", "maintenance", "status", env=cluster.env)
        assert "Maintenance mode: on" in status.stdout and "Running tasks: 0" in status.stdout
        assert cluster.executions.get(running).current is State.RUNNING  # its next task waits

        left = run_lanner("sys", "maintenance", "exit", env=cluster.env)
        assert left.returncode == 0 and "sent to the executors" in left.stdout
        for execution_id in [running, *accepted]:
            assert cluster.executions.wait(execution_id, 90).current is State.SUCCESS
        wait_until(lambda: "QUEUED" not in states(cluster)["ticking"], 60, "the queued ticks ran")
        api.close()
        for component in cluster.components:
            component.send(signal.SIGTERM)
            assert component.wait_exit(30) == 0
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
