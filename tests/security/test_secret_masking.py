"""A secret() value never reaches a log line, an output or an error message in clear, in any of its forms."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from lanner.model.state import State
from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from tests.acceptance.cluster_harness import wait_until
from tests.helpers import config_for
from tests.integration.test_flow_triggers import deploy
from tests.security.conftest import assert_healthy

SECRET = "hunter2-Δ\"quoted\""
LEAKY = """id: leaky
namespace: lanner.security
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "the password is {{ secret('DB_PASSWORD') }}"
  - id: echo
    type: io.kestra.plugin.scripts.shell.Commands
    env:
      PASSWORD: "{{ secret('DB_PASSWORD') }}"
    commands:
      - 'echo "plain $PASSWORD"'
      - 'printf "%s" "$PASSWORD" | base64 | sed "s/^/encoded /"'
  - id: keep
    type: io.kestra.plugin.core.debug.Return
    format: "{{ {'p': secret('DB_PASSWORD')} | toJson }} and {{ secret('DB_PASSWORD') }}"
  - id: fail
    type: io.kestra.plugin.scripts.shell.Commands
    env:
      PASSWORD: "{{ secret('DB_PASSWORD') }}"
    commands:
      - 'echo "oops $PASSWORD" >&2; exit 3'
"""


@pytest.fixture
def lanner(database_url, tmp_path, monkeypatch) -> Iterator[Runtime]:
    monkeypatch.setenv("SECRET_DB_PASSWORD", base64.b64encode(SECRET.encode()).decode())
    engine = prepare_database(config_for(database_url), may_migrate=True)
    deploy(engine, LEAKY)
    try:
        with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage", web_port=0) as runtime:
            yield runtime
    finally:
        engine.dispose()


def test_secret_values_are_masked_in_logs_outputs_and_messages(lanner):
    from lanner.engine.service import Executions

    service = Executions(lanner.engine, lanner.queue, lanner.flows)
    url = f"http://127.0.0.1:{lanner.web.wait_started()}"
    execution = service.create("lanner.security", "leaky")
    assert execution.current is State.RUNNING  # its first task queued: it runs
    assert_healthy(url)  # during
    ended = service.wait(execution.id, 60)
    assert_healthy(url)  # after
    assert ended.current is State.FAILED
    lines = [entry.message for entry in service.logs(execution.id)]
    everything = repr(lines) + repr([(r.outputs, [a.message for a in r.attempts]) for r in ended.task_runs])
    forms = (SECRET, base64.b64encode(SECRET.encode()).decode(), SECRET.replace('"', '\\"'), "hunter2")
    for form in forms:
        assert form not in everything, form
    assert "the password is ******" in lines and "plain ******" in lines and "encoded ******" in lines
    keep = next(r for r in ended.task_runs if r.task_id == "keep")
    assert keep.outputs["value"] == '{"p":"******"} and ******'
    assert "oops ******" in lines
