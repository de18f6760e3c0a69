"""Live task logs on both backends: lines readable through the API while the task runs, the per-attempt cap,
and a flood of lines that never starves the other writers.

A script prints a line, then waits for a file the test creates (a barrier, not a delay):
the test reads the line through the API while the task is still RUNNING, then releases it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from lanner.config.settings import Liveness, Server, Worker, WorkerLogs
from lanner.engine.shell.service import Executions
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.server.runtime import Runtime
from lanner.store import flow_repository
from lanner.store import service_instances as instances
from lanner.store.database import write_connection
from lanner.store.schema_guard import prepare_database
from lanner.store.tables import logs
from tests.helpers import config_for

CAP = 4096  # bytes one attempt may log here
BARRIER = """id: barrier
namespace: lanner.live
inputs:
  - id: barrier
    type: STRING
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo first line
      - 'while [ ! -f "{{ inputs.barrier }}" ]; do sleep 0.02; done'
      - echo after the barrier
"""
# About 49 KB of output, far past CAP, then an output through the protocol and exit 0.
CHATTY = """id: chatty
namespace: lanner.live
tasks:
  - id: talk
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - 'i=0; while [ $i -lt 2000 ]; do echo "line $i of a chatty task"; i=$((i+1)); done'
      - 'echo "::{\\"outputs\\": {\\"done\\": true}}::"'
"""


def wait_until(condition, timeout: float):  # type: ignore[no-untyped-def]
    """The condition's first true value, looked for with a growing delay; fails after ``timeout`` seconds."""
    deadline, delay = time.monotonic() + timeout, 0.005
    while not (value := condition()):
        assert time.monotonic() < deadline, f"not reached within {timeout:g} s"
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    return value


@pytest.fixture
def api(database_url, tmp_path) -> Iterator[httpx.Client]:
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage", web_port=0,
                     worker_settings=Worker(logs=WorkerLogs(max_size_per_task=CAP))) as runtime:
            port = runtime.web.wait_started()
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                for source in (BARRIER, CHATTY):
                    created = client.post("/api/v1/flows", content=source,
                                          headers={"Content-Type": "application/x-yaml"})
                    assert created.status_code == 200, created.text
                yield client
    finally:
        engine.dispose()


def start(api: httpx.Client, flow_id: str, **inputs: str) -> str:
    response = api.post(f"/api/v1/executions/lanner.live/{flow_id}", files={k: (None, v) for k, v in inputs.items()})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def ended(api: httpx.Client, execution_id: str) -> dict:
    return wait_until(lambda: (e := api.get(f"/api/v1/executions/{execution_id}").json())["state"]["current"]
                      in ("SUCCESS", "WARNING", "FAILED", "KILLED") and e, 60)


def task_lines(api: httpx.Client, execution_id: str, task_id: str) -> list[dict]:
    response = api.get(f"/api/v1/logs/{execution_id}", params={"taskId": task_id})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_line_is_readable_while_its_task_still_runs(api, tmp_path):
    barrier = tmp_path / "barrier"
    execution_id = start(api, "barrier", barrier=str(barrier))
    try:
        first = wait_until(lambda: [line for line in task_lines(api, execution_id, "wait")
                                    if line["message"] == "first line"], 10)
        execution = api.get(f"/api/v1/executions/{execution_id}").json()
        assert execution["state"]["current"] == "RUNNING"
        assert [run["state"]["current"] for run in execution["taskRunList"]] == ["RUNNING"]
        assert first[0]["attemptNumber"] == 1 and first[0]["level"] == "INFO"
        # The follow stream (what the UI shows) has it too, while the task still waits.
        assert "first line" in _followed_until(api, execution_id, "first line")
    finally:
        barrier.touch()
    assert ended(api, execution_id)["state"]["current"] == "SUCCESS"
    messages = [line["message"] for line in task_lines(api, execution_id, "wait") if line["level"] == "INFO"]
    assert messages == ["first line", "after the barrier"]  # each once: written live or at the end, never both


def _followed_until(api: httpx.Client, execution_id: str, wanted: str) -> str:
    seen = []
    with api.stream("GET", f"/api/v1/logs/{execution_id}/follow") as stream:
        for line in stream.iter_lines():  # each read is bounded by the client's timeout
            if line.startswith("data: "):
                seen.append(json.loads(line[len("data: "):])["message"])
                if seen[-1] == wanted:
                    return wanted
    raise AssertionError(f"the stream ended without {wanted!r}: {seen}")


def test_past_the_cap_one_line_says_so_the_rest_is_dropped_and_the_task_succeeds(api):
    execution_id = start(api, "chatty")
    execution = ended(api, execution_id)
    assert execution["state"]["current"] == "SUCCESS"
    assert execution["taskRunList"][0]["outputs"]["vars"] == {"done": True}  # the protocol is read past the cap
    lines = task_lines(api, execution_id, "talk")
    truncated = [i for i, line in enumerate(lines) if line["message"].startswith("log truncated after 4KB")]
    assert truncated == [len(lines) - 1], [line["message"] for line in lines[-3:]]
    assert lines[-1]["level"] == "WARN" and "lanner.worker.logs.max-size-per-task" in lines[-1]["message"]
    printed = [line["message"] for line in lines if line["message"].startswith("line ")]
    assert printed == [f"line {i} of a chatty task" for i in range(len(printed))]  # in order, none skipped
    # Every line the attempt logged counts (the worker's DEBUG line too); the next one would have passed the cap.
    logged = sum(len(line["message"].encode()) + 1 for line in lines[:-1])
    assert logged <= CAP < logged + len(f"line {len(printed)} of a chatty task") + 1


def test_lines_carry_their_attempt_and_the_logs_route_filters_on_it(api, tmp_path):
    barrier = tmp_path / "barrier"
    barrier.touch()
    execution_id = start(api, "barrier", barrier=str(barrier))
    assert ended(api, execution_id)["state"]["current"] == "SUCCESS"
    assert {line["attemptNumber"] for line in task_lines(api, execution_id, "wait")} == {1}
    assert api.get(f"/api/v1/logs/{execution_id}", params={"taskId": "wait", "attempt": 2}).json() == []


FLOOD = """id: flood
namespace: lanner.live
tasks:
  - id: flood
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - yes "a line of output of about forty bytes.."
"""


def test_a_flood_of_lines_never_starves_heartbeats_or_other_writers(database_url, tmp_path):
    """Batches are short statements: while a task floods its log, the instance still heartbeats every
    200 ms and another writer gets the database at once (on SQLite, its single write lock)."""
    engine = prepare_database(config_for(database_url), may_migrate=True)
    settings = Server(liveness=Liveness(heartbeat_interval=timedelta(milliseconds=200)))
    try:
        with write_connection(engine) as connection, connection.begin():
            flow_repository.save_flow(connection, validate_source(FLOOD).flow, FLOOD)
        with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage", settings=settings,
                     worker_settings=Worker(logs=WorkerLogs(max_size_per_task=1 << 30))) as runtime:
            service = Executions(engine, runtime.queue, runtime.flows)
            execution = service.create("lanner.live", "flood")

            def written() -> int:
                with engine.connect() as connection:
                    return connection.scalar(sa.select(sa.func.count()).select_from(logs)
                                             .where(logs.c.execution_id == execution.id))

            def heartbeat() -> object:
                with engine.connect() as connection:
                    return next(i.heartbeat_at for i in instances.list_instances(connection)
                                if i.id == runtime.instance_id)

            try:
                wait_until(lambda: written() >= 20000, 60)  # the flood is being written
                first = heartbeat()
                wait_until(lambda: heartbeat() >= first + timedelta(seconds=1), 5)  # heartbeats go on
                started = time.monotonic()
                with write_connection(engine) as connection, connection.begin():
                    connection.execute(sa.text("CREATE TEMPORARY TABLE probe (n INTEGER)"))
                    connection.execute(sa.text("DROP TABLE probe"))
                assert time.monotonic() - started < 1.0
                assert written() > 20000 and service.get(execution.id).current is State.RUNNING
            finally:
                service.kill(execution.id)
                service.wait(execution.id, 30)
    finally:
        engine.dispose()
