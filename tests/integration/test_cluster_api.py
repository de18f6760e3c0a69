"""The cluster's visibility over HTTP: ``/api/v1/cluster/instances`` and Prometheus ``/metrics``, on both backends."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lanner.cluster.coordinator import RESUBMISSIONS
from lanner.config.settings import BasicAuth
from lanner.model.service_state import ServiceState
from lanner.server.runtime import Runtime
from lanner.store import service_instances, settings_repository
from lanner.store.database import create_engine, write_connection
from lanner.store.schema_guard import prepare_database
from lanner.web.metrics import ClusterCollector
from tests.helpers import config_for
from tests.integration.test_api import create_flow


@pytest.fixture
def web(database_url, tmp_path) -> Iterator[tuple[httpx.Client, Runtime]]:
    """A webserver alone: no executor, no worker, so what is queued stays queued."""
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        with Runtime(engine, executors=0, worker_threads=0, storage_path=tmp_path / "storage", web_port=0) as runtime:
            with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
                yield client, runtime
    finally:
        engine.dispose()


def metrics(client: httpx.Client) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Every sample of ``/metrics``: {sample name: {sorted labels: value}}."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_instances_show_the_webservers_own_instance_and_filter_by_state(web):
    client, runtime = web
    other = "gone-worker"
    service_instances.register(runtime.engine, instance_id=other, service_type="WORKER", hostname="elsewhere",
                               pid=4242, lanner_version="0.0.1", schema_version="0001", settings={"timeout": 1.0})
    service_instances.change_state(runtime.engine, other, ServiceState.DISCONNECTED, "test")

    everything = client.get("/api/v1/cluster/instances")
    assert everything.status_code == 200, everything.text
    listed = everything.json()
    assert [i["id"] for i in listed] == [other, runtime.instance_id]  # newest first
    own = listed[1]
    assert own["type"] == "WEBSERVER" and own["state"] == "RUNNING" and own["pid"] == os.getpid()
    assert own["hostname"] == socket.gethostname() and own["version"] and own["schemaVersion"]
    assert 0 <= own["heartbeatAgeSeconds"] < 10 and own["runningJobs"] == 0
    assert own["settings"]["timeout"] > 0 and own["startedAt"].endswith("Z") and own["heartbeatAt"].endswith("Z")
    assert [(h["state"], h["reason"]) for h in own["histories"]] == [("CREATED", "registered"), ("RUNNING", "started")]
    assert all(h["date"].endswith("Z") for h in own["histories"])

    running = client.get("/api/v1/cluster/instances", params={"state": "RUNNING"}).json()
    assert [i["id"] for i in running] == [runtime.instance_id]
    both = client.get("/api/v1/cluster/instances", params={"state": ["RUNNING", "disconnected"]}).json()
    assert {i["id"] for i in both} == {other, runtime.instance_id}
    assert client.get("/api/v1/cluster/instances", params={"state": "EMPTY"}).json() == []

    bad = client.get("/api/v1/cluster/instances", params={"state": ["RUNNING", "ASLEEP"]})
    assert bad.status_code == 400
    assert "'ASLEEP'" in bad.json()["message"] and "TERMINATED_GRACEFULLY" in bad.json()["message"]


def test_metrics_report_the_cluster_from_the_database(web):
    client, runtime = web
    before = metrics(client)
    assert before["lanner_database_up"][()] == 1
    assert before["lanner_instances"][(("state", "RUNNING"), ("type", "WEBSERVER"))] >= 1
    assert before["lanner_instances"][(("state", "DISCONNECTED"), ("type", "WORKER"))] == 0  # zeros are reported
    own_age = before["lanner_instance_heartbeat_age_seconds"][(("id", runtime.instance_id), ("type", "WEBSERVER"))]
    assert 0 <= own_age < 10
    assert before["lanner_resubmissions_total"][()] == 0
    assert before["lanner_queue_depth"][(("topic", "executor"),)] == 0
    assert before["lanner_queue_depth"][(("topic", "worker"),)] == 0
    assert before["lanner_queue_set_aside"][()] == 0
    assert before["lanner_executions"][(("state", "RUNNING"),)] == 0
    assert before["lanner_execution_duration_seconds_bucket"][(("le", "+Inf"),)] == 0

    assert create_flow(client).status_code == 200
    created = client.post("/api/v1/executions/lanner.api/greeting", files={"name": (None, "ada")})
    assert created.status_code == 200, created.text
    with write_connection(runtime.engine) as connection, connection.begin():
        settings_repository.put(connection, RESUBMISSIONS, 2)

    after = metrics(client)
    assert after["lanner_queue_depth"][(("topic", "worker"),)] == 1  # its first job: no worker takes it
    assert after["lanner_executions"][(("state", "RUNNING"),)] == 1
    assert {dict(k)["state"]: v for k, v in after["lanner_task_runs"].items() if v} == {"RUNNING": 1}
    assert after["lanner_resubmissions_total"][()] == 2


def test_metrics_count_ended_executions_and_their_durations(database_url, tmp_path):
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage", web_port=0) as runtime:
            with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
                assert create_flow(client).status_code == 200
                for name in ("ada", "bo"):
                    done = client.post("/api/v1/executions/lanner.api/greeting", params={"wait": "true"},
                                       files={"name": (None, name)})
                    assert done.json()["state"]["current"] == "SUCCESS", done.text
                found = metrics(client)
    finally:
        engine.dispose()
    assert found["lanner_executions"][(("state", "SUCCESS"),)] == 2
    assert found["lanner_task_runs"][(("state", "SUCCESS"),)] == 2
    assert found["lanner_instances"][(("state", "RUNNING"), ("type", "STANDALONE"))] == 1
    buckets = found["lanner_execution_duration_seconds_bucket"]
    assert buckets[(("le", "+Inf"),)] == 2 and buckets[(("le", "43200.0"),)] == 2
    counts = [buckets[(("le", le),)] for le in sorted((k[0][1] for k in buckets), key=float)]
    assert counts == sorted(counts)  # cumulative
    assert found["lanner_execution_duration_seconds_gcount"][()] == 2
    assert 0 < found["lanner_execution_duration_seconds_gsum"][()] < 60


def test_metrics_stay_open_under_basic_auth_and_the_instances_do_not(database_url, tmp_path):
    engine = prepare_database(config_for(database_url), may_migrate=True)
    auth = BasicAuth(enabled=True, username="admin", password="s3cret")
    try:
        with Runtime(engine, executors=0, worker_threads=0, storage_path=tmp_path / "storage", web_port=0,
                     web_auth=auth) as runtime:
            with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
                assert client.get("/metrics").status_code == 200
                assert client.get("/api/v1/cluster/instances").status_code == 401
                assert client.get("/api/v1/cluster/instances", auth=("admin", "s3cret")).status_code == 200
    finally:
        engine.dispose()


def test_a_scrape_without_the_database_says_so_instead_of_failing():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    engine = create_engine(config_for(f"postgresql://lanner:pw@127.0.0.1:{port}/lanner").settings.database)
    try:
        families = list(ClusterCollector(engine).collect())
    finally:
        engine.dispose()
    assert [(f.name, [s.value for s in f.samples]) for f in families] == [("lanner_database_up", [0])]
