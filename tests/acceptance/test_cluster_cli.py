"""``lanner sys cluster status`` as an operator runs it, against instances registered in a real database."""

from __future__ import annotations

import json
import re
import socket

import pytest

from lanner.cli.sys_cluster import age
from lanner.model.service_state import ServiceState as S
from lanner.store import service_instances
from lanner.store.schema_guard import prepare_database
from tests.conftest import run_lanner
from tests.helpers import config_for

SETTINGS = {"heartbeatInterval": 1.0, "timeout": 10.0, "terminationGracePeriod": 300.0}


def _register(engine, instance_id: str, kind: str, pid: int, *states: S) -> None:
    service_instances.register(engine, instance_id=instance_id, service_type=kind, hostname=f"host-{instance_id}",
                               pid=pid, lanner_version="1.2.3", schema_version="0002", settings=SETTINGS)
    for state in states:
        service_instances.change_state(engine, instance_id, state, f"test: {state}")


@pytest.fixture
def cluster_url(database_url):
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        _register(engine, "web-old", "WEBSERVER", 101, S.RUNNING, S.TERMINATING, S.TERMINATED_GRACEFULLY, S.EMPTY)
        _register(engine, "exec-1", "EXECUTOR", 202, S.RUNNING, S.DISCONNECTED)
        _register(engine, "worker-1", "WORKER", 303, S.RUNNING)
    finally:
        engine.dispose()
    return database_url


def test_status_lists_the_instances_newest_first_and_hides_ended_ones(cluster_url, tmp_path):
    result = run_lanner("sys", "cluster", "status", env={"LANNER_DATABASE_URL": cluster_url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Instances:    2, 1 alive (1 ended hidden, --all shows them)" in out
    for header in ("Type", "Host", "Pid", "Version", "State", "Last heartbeat", "Jobs", "Started"):
        assert header in out
    worker = next(line for line in out.splitlines() if "worker-1" in line)
    assert re.search(r"WORKER\s+host-worker-1\s+303\s+1\.2\.3\s+RUNNING\s+\d+\.\d s ago\s+0\s", worker), worker
    assert "DISCONNECTED" in out and "web-old" not in out
    assert out.index("worker-1") < out.index("exec-1")  # newest first

    everything = run_lanner("sys", "cluster", "status", "--all", env={"LANNER_DATABASE_URL": cluster_url},
                            cwd=tmp_path)
    assert everything.returncode == 0 and "web-old" in everything.stdout and "EMPTY" in everything.stdout


def test_status_as_json(cluster_url, tmp_path):
    result = run_lanner("sys", "cluster", "status", "--format", "json", env={"LANNER_DATABASE_URL": cluster_url},
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["hidden"] == 1
    assert [(i["id"], i["type"], i["state"], i["pid"]) for i in info["instances"]] == [
        ("worker-1", "WORKER", "RUNNING", 303), ("exec-1", "EXECUTOR", "DISCONNECTED", 202)]
    worker = info["instances"][0]
    assert worker["hostname"] == "host-worker-1" and worker["version"] == "1.2.3" and worker["runningJobs"] == 0
    assert 0 <= worker["heartbeatAgeSeconds"] < 60 and worker["settings"] == SETTINGS
    assert [h["state"] for h in worker["histories"]] == ["CREATED", "RUNNING"]
    assert worker["startedAt"].endswith("Z")


def test_a_migrated_database_without_instances(database_url, tmp_path):
    prepare_database(config_for(database_url), may_migrate=True).dispose()
    result = run_lanner("sys", "cluster", "status", env={"LANNER_DATABASE_URL": database_url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Instances:    none" in result.stdout


def test_an_unreachable_database_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    url = f"postgresql://lanner:pw@127.0.0.1:{port}/lanner"
    result = run_lanner("sys", "cluster", "status", env={"LANNER_DATABASE_URL": url}, cwd=tmp_path)
    assert result.returncode == 6
    assert "cannot connect to the database" in result.stderr
    assert "Traceback" not in result.stderr and "pw@" not in result.stderr
    missing = run_lanner("sys", "cluster", "status", cwd=tmp_path)  # the default SQLite file, not created
    assert missing.returncode == 6 and "does not exist yet" in missing.stderr
    assert not (tmp_path / "data").exists()


def test_ages_read_as_people_say_them():
    assert [age(s) for s in (0.42, 12.4, 300, 7300, 3 * 86400)] == [
        "0.4 s ago", "12 s ago", "5 min ago", "2 h ago", "3 d ago"]
