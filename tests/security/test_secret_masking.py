"""A secret never reaches a log line, an output, an error message, the API or a stored row in clear.

Secrets are secret() values (in any of their forms) and SECRET inputs, whether a worker
or the executor rendered them.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator

import httpx
import pytest

from lanner.model.state import State
from lanner.server.runtime import Runtime
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for, snapshot
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
    from lanner.engine.shell.service import Executions

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


# -- SECRET inputs and what the executor renders -----------------------------------------------------

PASSWORD = "opensesame-Ω"  # what a user types into a SECRET input
HIDDEN = (PASSWORD, "opensesame", base64.b64encode(PASSWORD.encode()).decode(), "hunter2",
          base64.b64encode(SECRET.encode()).decode())

SECRET_INPUT = """id: secret_input
namespace: lanner.security
inputs:
  - id: password
    type: SECRET
tasks:
  - id: hash
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.password | sha256 }}"
  - id: script
    type: io.kestra.plugin.scripts.shell.Commands
    env:
      GIVEN: "{{ inputs.password }}"
    commands:
      - 'echo "the script got $GIVEN"'
      - 'printf "%s" "$GIVEN" | sha256sum | cut -c1-64 | sed "s/^/script hash /"'
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "input is {{ inputs.password }}"
outputs:
  - id: kept
    type: SECRET
    value: "{{ inputs.password }}"
  - id: copied
    type: STRING
    value: "copy {{ inputs.password }}"
"""

CHILD = """id: child
namespace: lanner.security
inputs:
  - id: token
    type: SECRET
  - id: note
    type: STRING
tasks:
  - id: hash
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.token | sha256 }}"
outputs:
  - id: note
    type: STRING
    value: "{{ inputs.note }}"
"""

EXECUTOR_SIDE = """id: executor_side
namespace: lanner.security
tasks:
  - id: tag
    type: io.kestra.plugin.core.execution.Labels
    labels:
      token: "{{ secret('DB_PASSWORD') }}"
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: lanner.security
    flowId: child
    inputs:
      token: "{{ secret('DB_PASSWORD') }}"
      note: "note {{ secret('DB_PASSWORD') }}"
    labels:
      from: "{{ secret('DB_PASSWORD') }}"
outputs:
  - id: plain
    type: STRING
    value: "{{ secret('DB_PASSWORD') }}"
"""

BROKEN_OUTPUT = """id: broken_output
namespace: lanner.security
tasks:
  - id: nothing
    type: io.kestra.plugin.core.log.Log
    message: ok
outputs:
  - id: number
    type: INT
    value: "{{ secret('DB_PASSWORD') }}"
"""

IF_ERROR = """id: if_error
namespace: lanner.security
tasks:
  - id: branch
    type: io.kestra.plugin.core.flow.If
    condition: "{{ render('{{ missing_variable ~ ' ~ (secret('DB_PASSWORD') | json) ~ ' }}') }}"
    then:
      - id: never
        type: io.kestra.plugin.core.log.Log
        message: never
"""


@pytest.fixture
def served(database_url, tmp_path, monkeypatch, encryption_key) -> Iterator[tuple[Runtime, httpx.Client]]:
    monkeypatch.setenv("SECRET_DB_PASSWORD", base64.b64encode(SECRET.encode()).decode())
    engine = prepare_database(config_for(database_url), may_migrate=True)
    for source in (SECRET_INPUT, CHILD, EXECUTOR_SIDE, BROKEN_OUTPUT, IF_ERROR):
        deploy(engine, source)
    try:
        with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage", web_port=0) as runtime, \
                httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
            yield runtime, client
    finally:
        engine.dispose()


def _run(runtime: Runtime, flow_id: str, inputs: dict | None = None):
    from lanner.engine.shell.service import Executions

    service = Executions(runtime.engine, runtime.queue, runtime.flows)
    return service, service.wait(service.create("lanner.security", flow_id, inputs).id, 60)


def _answers(client: httpx.Client, execution_id: str) -> str:
    """Everything the API shows of an execution: itself, its logs, and its log download."""
    return (client.get(f"/api/v1/executions/{execution_id}").text + client.get(f"/api/v1/logs/{execution_id}").text
            + client.get(f"/api/v1/logs/{execution_id}/download").text)


def _assert_hidden(text: str) -> None:
    for form in HIDDEN:
        assert form not in text, form


def test_a_secret_input_is_stored_encrypted_shown_masked_and_given_in_clear_to_its_task(served, database_url,
                                                                                        encryption_key):
    from lanner import encryption

    runtime, client = served
    service, ended = _run(runtime, "secret_input", {"password": PASSWORD})
    assert ended.current is State.SUCCESS, [a.message for r in ended.task_runs for a in r.attempts]
    expected_hash = hashlib.sha256(PASSWORD.encode()).hexdigest()
    outputs = {run.task_id: run.outputs for run in ended.task_runs}
    assert outputs["hash"]["value"] == expected_hash  # the task rendered the clear value
    lines = [entry.message for entry in service.logs(ended.id)]
    assert f"script hash {expected_hash}" in lines  # and so did the script's environment
    assert "the script got ******" in lines and "input is ******" in lines
    # Stored: sealed with the key, nowhere in clear (every table, every row).
    stored = ended.inputs["password"]
    assert encryption.decrypt(encryption_key, stored["value"]) == PASSWORD
    assert encryption.decrypt(encryption_key, ended.outputs["kept"]["value"]) == PASSWORD
    assert ended.outputs["copied"] == "copy ******"
    _assert_hidden(repr(snapshot(database_url)))
    # Shown: masked.
    shown = client.get(f"/api/v1/executions/{ended.id}").json()
    assert shown["inputs"] == {"password": "******"}
    assert shown["outputs"] == {"kept": "******", "copied": "copy ******"}
    _assert_hidden(_answers(client, ended.id))
    page = client.get(f"/ui/executions/{ended.id}")
    assert page.status_code == 200 and "******" in page.text
    _assert_hidden(page.text)


def test_flow_outputs_labels_and_subflow_requests_mask_secrets(served, database_url):
    runtime, client = served
    service, ended = _run(runtime, "executor_side")
    assert ended.current is State.SUCCESS, [a.message for r in ended.task_runs for a in r.attempts]
    assert ended.outputs == {"plain": "******"}
    assert ended.labels["token"] == "******"
    (listed,) = [e for e in service.list(namespace="lanner.security") if e.flow_id == "child"]
    child = service.get(listed.id)
    assert child.labels["from"] == "******"
    # The child got the secret through its SECRET input (encrypted), and masked through its STRING one.
    assert {run.task_id: run.outputs for run in child.task_runs}["hash"]["value"] == \
        hashlib.sha256(SECRET.encode()).hexdigest()
    assert child.outputs == {"note": "note ******"}
    assert client.get(f"/api/v1/executions/{child.id}").json()["inputs"] == {"token": "******", "note": "note ******"}
    _assert_hidden(_answers(client, ended.id) + _answers(client, child.id))
    _assert_hidden(repr(snapshot(database_url)))


def test_errors_rendered_by_the_executor_mask_secrets(served):
    runtime, client = served
    service, broken = _run(runtime, "broken_output")
    assert broken.current is State.FAILED
    lines = [entry.message for entry in service.logs(broken.id)]
    assert any(line.startswith("Invalid output `number` (INT): expected an integer, got '******'") for line in lines), \
        lines
    service, branched = _run(runtime, "if_error")
    assert branched.current is State.FAILED
    lines = [entry.message for entry in service.logs(branched.id)]
    assert any("`{{ missing_variable ~ \"******\" }}`" in line for line in lines), lines
    _assert_hidden(_answers(client, broken.id) + _answers(client, branched.id))


def test_a_flow_with_a_secret_input_is_refused_without_a_key(served):
    from lanner import encryption

    _, client = served
    encryption.configure(None)
    answer = client.post("/api/v1/flows", content=SECRET_INPUT.replace("id: secret_input", "id: keyless"),
                         headers={"Content-Type": "application/x-yaml"})
    assert answer.status_code == 400
    assert "lanner.encryption.secret-key" in answer.text and "openssl rand -base64 32" in answer.text
    # A flow saved while there was a key: its executions are refused, saying why, rather than stored in clear.
    created = client.post("/api/v1/executions/lanner.security/secret_input", files={"password": (None, PASSWORD)})
    assert created.status_code in (400, 404, 422) and "lanner.encryption.secret-key" in created.text, created.text


def test_a_changed_key_fails_the_task_that_reads_the_input_with_a_clear_message(served):
    from lanner import encryption
    from lanner.engine.shell.service import Executions

    runtime, _ = served
    service = Executions(runtime.engine, runtime.queue, runtime.flows)
    created = service.create("lanner.security", "secret_input", {"password": PASSWORD})
    encryption.configure(base64.b64encode(os.urandom(32)).decode())  # rotated without re-encrypting
    ended = service.wait(created.id, 60)
    assert ended.current is State.FAILED
    messages = [a.message for r in ended.task_runs for a in r.attempts if a.message]
    assert any("cannot decrypt a SECRET value" in m and "lanner.encryption.secret-key" in m for m in messages), messages
    assert not any("Traceback" in m for m in messages)
