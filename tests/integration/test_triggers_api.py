"""Webhook triggers and the triggers API against a live webserver, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lanner.server.runtime import Runtime
from lanner.store import trigger_repository
from lanner.store.database import write_connection
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for
from tests.integration.test_api import create_flow
from tests.integration.test_engine import _wait_until as _until

WEBHOOK = "io.kestra.plugin.core.trigger.Webhook"
HOOKED = """id: hooked
namespace: lanner.hooks
variables:
  suffix: wait
inputs:
  - id: who
    type: STRING
    defaults: nobody
tasks:
  - id: greet
    type: io.kestra.plugin.core.debug.Return
    format: >-
      hello {{ trigger.body.name }} from {{ trigger.headers['x-source'] ?? ['-'] | first }}
      page {{ trigger.parameters.page ?? ['-'] | first }} input {{ inputs.who }}
outputs:
  - id: said
    type: STRING
    value: "{{ outputs.greet.value }}"
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cret
    inputs:
      who: "{{ trigger.body.name ?? 'nobody' }}"
    labels:
      source: webhook
  - id: waiting
    type: io.kestra.core.models.triggers.types.Webhook
    key: "{{ flow.id }}-{{ vars.suffix }}"
    wait: true
    returnOutputs: true
  - id: raw
    type: io.kestra.plugin.core.trigger.Webhook
    key: raw-key
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
    timezone: Europe/Paris
"""
TYPED = """id: typed
namespace: lanner.hooks
inputs:
  - id: count
    type: INT
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.count }}"
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: typed-key
    inputs:
      count: "{{ trigger.body.count }}"
"""
ONE = "/api/v1/triggers/lanner.hooks/hooked"


@pytest.fixture
def served(database_url, tmp_path) -> Iterator[tuple[httpx.Client, Any]]:
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage", web_port=0) as runtime:
            with httpx.Client(base_url=f"http://127.0.0.1:{runtime.web.wait_started()}", timeout=30) as client:
                assert create_flow(client, HOOKED).status_code == 200
                yield client, engine
    finally:
        engine.dispose()


@pytest.fixture
def api(served) -> httpx.Client:
    return served[0]


def executions(api: httpx.Client, flow_id: str = "hooked") -> list[dict[str, Any]]:
    found = api.get("/api/v1/executions/search", params={"namespace": "lanner.hooks", "flowId": flow_id}).json()
    return found["results"]


def ended(api: httpx.Client, execution_id: str) -> dict[str, Any]:
    box: dict[str, Any] = {}

    def done() -> bool:
        box["e"] = api.get(f"/api/v1/executions/{execution_id}").json()
        return box["e"]["state"]["current"] in ("SUCCESS", "FAILED", "WARNING", "KILLED")

    _until(done)
    return box["e"]


def test_a_webhook_with_the_right_key_starts_the_flow_with_body_headers_and_parameters(api):
    response = api.post("/api/v1/executions/webhook/lanner.hooks/hooked/s3cret", params={"page": ["2", "3"]},
                        json={"name": "Ada"}, headers={"X-Source": "ci"})
    assert response.status_code == 200, response.text
    execution = response.json()
    trigger = execution["trigger"]
    assert trigger["id"] == "hook" and trigger["type"] == WEBHOOK
    assert trigger["variables"]["body"] == {"name": "Ada"}
    assert trigger["variables"]["headers"]["x-source"] == ["ci"]
    assert trigger["variables"]["parameters"] == {"page": ["2", "3"]}
    assert execution["inputs"] == {"who": "Ada"}
    assert {"key": "source", "value": "webhook"} in execution["labels"]
    done = ended(api, execution["id"])
    assert done["state"]["current"] == "SUCCESS"
    assert done["outputs"] == {"said": "hello Ada from ci page 2 input Ada"}


def test_a_webhook_never_stores_the_callers_credentials(api):
    secret_headers = {"Authorization": "Bearer tok-123", "Cookie": "session=abc", "Proxy-Authorization": "Basic xyz",
                      "X-Source": "ci"}
    response = api.post("/api/v1/executions/webhook/lanner.hooks/hooked/s3cret", json={"name": "Ada"},
                        headers=secret_headers)
    assert response.status_code == 200, response.text
    stored = api.get(f"/api/v1/executions/{response.json()['id']}").text
    assert "x-source" in stored
    for value in ("tok-123", "session=abc", "xyz"):
        assert value not in stored
    headers = response.json()["trigger"]["variables"]["headers"]
    assert not {"authorization", "cookie", "proxy-authorization"} & set(headers)


def test_get_and_put_webhooks_and_bodies_that_are_not_json(api):
    got = api.get("/api/v1/executions/webhook/lanner.hooks/hooked/s3cret", params={"a": "1"})
    assert got.status_code == 200, got.text
    assert got.json()["trigger"]["variables"]["body"] is None
    assert got.json()["trigger"]["variables"]["parameters"] == {"a": ["1"]}
    put = api.put("/api/v1/executions/webhook/lanner.hooks/hooked/raw-key", content="plain words",
                  headers={"Content-Type": "text/plain"})
    assert put.status_code == 200 and put.json()["trigger"]["variables"]["body"] == "plain words"
    broken = api.post("/api/v1/executions/webhook/lanner.hooks/hooked/raw-key", content="{not json",
                      headers={"Content-Type": "application/json"})
    assert broken.status_code == 200 and broken.json()["trigger"]["variables"]["body"] == "{not json"
    assert len(executions(api)) == 3


def test_a_waiting_webhook_with_an_expression_key_answers_the_outputs(api):
    response = api.post("/api/v1/executions/webhook/lanner.hooks/hooked/hooked-wait", json={"name": "Bo"})
    assert response.status_code == 200, response.text
    assert response.json() == {"said": "hello Bo from - page - input nobody"}
    # The key is the rendered expression, not its text.
    raw = api.post("/api/v1/executions/webhook/lanner.hooks/hooked/{{ flow.id }}-{{ vars.suffix }}", json={})
    assert raw.status_code == 404


def test_wrong_keys_unknown_flows_and_disabled_triggers_or_flows_are_404_and_create_nothing(served):
    api, _engine = served
    for path in ("lanner.hooks/hooked/wrong", "lanner.hooks/hooked/s3cre", "lanner.hooks/missing/s3cret",
                 "lanner.other/hooked/s3cret", "lanner.hooks/hooked/nightly"):
        response = api.post(f"/api/v1/executions/webhook/{path}", json={"name": "x"})
        assert response.status_code == 404, path
        assert "webhook" in response.json()["message"]
    assert api.post(f"{ONE}/hook/disable").json()["disabled"] is True
    assert api.post("/api/v1/executions/webhook/lanner.hooks/hooked/s3cret", json={"name": "x"}).status_code == 404
    assert api.post(f"{ONE}/hook/enable").json()["disabled"] is False
    assert api.post("/api/v1/executions/webhook/lanner.hooks/hooked/s3cret", json={"name": "x"}).status_code == 200
    disabled_in_yaml = HOOKED.replace("    key: s3cret\n", "    key: s3cret\n    disabled: true\n")
    assert api.put("/api/v1/flows/lanner.hooks/hooked", content=disabled_in_yaml,
                   headers={"Content-Type": "application/x-yaml"}).status_code == 200
    assert api.post("/api/v1/executions/webhook/lanner.hooks/hooked/s3cret", json={"name": "x"}).status_code == 404
    disabled_flow = HOOKED.replace("namespace: lanner.hooks\n", "namespace: lanner.hooks\ndisabled: true\n", 1)
    assert api.put("/api/v1/flows/lanner.hooks/hooked", content=disabled_flow,
                   headers={"Content-Type": "application/x-yaml"}).status_code == 200
    assert api.post("/api/v1/executions/webhook/lanner.hooks/hooked/hooked-wait", json={}).status_code == 404
    assert len(executions(api)) == 1


def test_invalid_webhook_inputs_are_a_422_naming_the_input(api):
    assert create_flow(api, TYPED).status_code == 200
    response = api.post("/api/v1/executions/webhook/lanner.hooks/typed/typed-key", json={"count": "many"})
    assert response.status_code == 422, response.text
    assert any("count" in detail for detail in response.json()["details"])
    assert executions(api, "typed") == []
    ok = api.post("/api/v1/executions/webhook/lanner.hooks/typed/typed-key", json={"count": 4})
    assert ok.status_code == 200 and ok.json()["inputs"] == {"count": 4}


GUARDED = """id: guarded
namespace: lanner.hooks
tasks:
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.body.event }}"
triggers:
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: guarded-key
    conditions:
      - type: io.kestra.plugin.core.condition.Expression
        expression: "{{ trigger.body.event == 'push' }}"
"""


def test_a_webhook_whose_conditions_do_not_hold_answers_204_and_creates_nothing(api):
    assert create_flow(api, GUARDED).status_code == 200
    skipped = api.post("/api/v1/executions/webhook/lanner.hooks/guarded/guarded-key", json={"event": "ping"})
    assert skipped.status_code == 204 and skipped.content == b""
    assert executions(api, "guarded") == []
    fired = api.post("/api/v1/executions/webhook/lanner.hooks/guarded/guarded-key", json={"event": "push"})
    assert fired.status_code == 200
    assert [e["id"] for e in executions(api, "guarded")] == [fired.json()["id"]]


def test_search_and_read_triggers_with_their_dates_and_state(api):
    assert create_flow(api, TYPED).status_code == 200
    found = api.get("/api/v1/triggers/search", params={"namespace": "lanner.hooks"}).json()
    assert found["total"] == 5
    assert [(t["triggerContext"]["flowId"], t["abstractTrigger"]["id"]) for t in found["results"]] == [
        ("hooked", "hook"), ("hooked", "nightly"), ("hooked", "raw"), ("hooked", "waiting"), ("typed", "hook")]
    nightly = found["results"][1]["triggerContext"]
    assert nightly["type"] == "io.kestra.plugin.core.trigger.Schedule" and nightly["disabled"] is False
    assert set(nightly) >= {"nextExecutionDate", "lastExecutionDate", "date", "backfill", "schedulerId",
                            "executionId", "namespace"}
    assert nightly["timezone"] == "Europe/Paris"
    assert api.get("/api/v1/triggers/search", params={"q": "NIGHT"}).json()["total"] == 1
    assert api.get("/api/v1/triggers/search", params={"flowId": "typed"}).json()["total"] == 1
    paged = api.get("/api/v1/triggers/search", params={"namespace": "lanner.hooks", "size": 3, "page": 2}).json()
    assert paged["total"] == 5 and [t["state"]["triggerId"] for t in paged["results"]] == ["waiting", "hook"]
    assert api.get("/api/v1/triggers/search", params={"namespace": "lanner.nowhere"}).json() == {
        "results": [], "total": 0}
    one = api.get(f"{ONE}/nightly").json()
    assert one["triggerId"] == "nightly" and one["flowRevision"] == 1
    missing = api.get(f"{ONE}/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["message"]


def test_enable_disable_and_unlock_by_path_and_by_kestras_put(served):
    api, engine = served
    assert api.post(f"{ONE}/nightly/disable").json()["disabled"] is True
    assert api.get(f"{ONE}/nightly").json()["disabled"] is True
    body = {"namespace": "lanner.hooks", "flowId": "hooked", "triggerId": "nightly", "disabled": False}
    enabled = api.put("/api/v1/triggers", json=body)
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    assert api.put("/api/v1/triggers", json={**body, "disabled": "yes"}).status_code == 400
    assert api.put("/api/v1/triggers", json={"disabled": True}).status_code == 400
    assert api.put("/api/v1/triggers", json={**body, "triggerId": "nope"}).status_code == 404
    for action in ("disable", "enable", "unlock"):
        assert api.post(f"{ONE}/nope/{action}").status_code == 404
    with write_connection(engine) as connection, connection.begin():  # a scheduler that died holding it
        row = trigger_repository.get_trigger(connection, "lanner.hooks", "hooked", "nightly")
        trigger_repository.save_progress(connection, [{"key": row.key, "scheduler_id": "dead-scheduler"}])
    assert api.get(f"{ONE}/nightly").json()["schedulerId"] == "dead-scheduler"
    unlocked = api.post(f"{ONE}/nightly/unlock")
    assert unlocked.status_code == 200 and unlocked.json()["schedulerId"] is None


def test_a_backfill_starts_pauses_resumes_and_is_cancelled(api):
    path = f"{ONE}/nightly/backfill"
    started = api.put(path, json={"start": "2024-03-01T00:00:00", "end": "2024-03-02T00:00:00Z",
                                  "inputs": {"who": "past"}, "labels": [{"key": "run", "value": "again"}]})
    assert started.status_code == 200, started.text
    backfill = started.json()["backfill"]
    # A date without an offset is in the trigger's time zone (Europe/Paris: UTC+1 in March 2024).
    assert backfill["start"] == "2024-02-29T23:00:00+00:00" and backfill["end"] == "2024-03-02T00:00:00+00:00"
    assert backfill["paused"] is False and backfill["fired"] == 0
    assert backfill["inputs"] == {"who": "past"} and backfill["labels"] == [{"key": "run", "value": "again"}]
    again = api.put(path, json={"start": "2024-01-01T00:00:00Z"})
    assert again.status_code == 409 and "already has a backfill" in again.json()["message"]
    assert api.post(f"{path}/pause").json()["backfill"]["paused"] is True
    assert api.get(f"{ONE}/nightly").json()["backfill"]["paused"] is True
    assert api.post(f"{path}/unpause").json()["backfill"]["paused"] is False
    cancelled = api.delete(path)
    assert cancelled.status_code == 200 and cancelled.json()["backfill"] is None
    assert api.delete(path).status_code == 409
    assert api.post(f"{path}/pause").status_code == 409
    assert api.put(path, json={"start": "2024-01-01T00:00:00Z"}).json()["backfill"]["end"] is None


def test_backfills_that_cannot_run_are_400_and_unknown_triggers_404(api):
    path = f"{ONE}/nightly/backfill"
    after = api.put(path, json={"start": "2024-03-02T00:00:00Z", "end": "2024-03-01T00:00:00Z"})
    assert after.status_code == 400 and "after its end" in after.json()["message"]
    assert api.put(path, json={"start": "yesterday"}).status_code == 400
    assert api.put(path, json={}).status_code == 400
    webhook = api.put(f"{ONE}/hook/backfill", json={"start": "2024-03-01T00:00:00Z"})
    assert webhook.status_code == 400 and "Webhook" in webhook.json()["message"]
    assert api.put(f"{ONE}/nope/backfill", json={"start": "2024-03-01T00:00:00Z"}).status_code == 404
    for method, suffix in (("POST", "/pause"), ("POST", "/unpause"), ("DELETE", "")):
        assert api.request(method, f"{ONE}/nope/backfill{suffix}").status_code == 404
    assert api.get(f"{ONE}/nightly").json()["backfill"] is None
