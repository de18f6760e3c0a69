"""An operator's actions on executions, single and bulk, through the live API on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.running import FLOWS
from tests.integration.test_api import api, create_flow  # noqa: F401  (the fixture)
from tests.integration.test_engine import _wait_until as _until

BASE = "/api/v1/main/executions"
HELD = """id: held
namespace: lanner.actions
inputs:
  - id: barrier
    type: STRING
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - 'while [ ! -f "{{ inputs.barrier }}" ]; do sleep 0.02; done'
  - id: next
    type: io.kestra.plugin.core.log.Log
    message: after the barrier
"""
QUEUED = HELD.replace("id: held", "id: one_at_a_time").replace(
    "tasks:", "concurrency:\n  limit: 1\n  behavior: QUEUE\ntasks:", 1)
FAILING = """id: failing
namespace: lanner.actions
labels:
  team: data
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: one
  - id: broken
    type: io.kestra.plugin.core.execution.Fail
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: three
"""


@pytest.fixture
def barrier(api, tmp_path) -> Iterator[Path]:
    """The file the ``held`` flows wait for; created at the end, so no task is left running when the server stops."""
    path = tmp_path / "go"
    yield path
    path.touch()


def _get(api: httpx.Client, execution_id: str) -> dict:
    return api.get(f"{BASE}/{execution_id}").json()


def _state(api: httpx.Client, execution_id: str) -> str:
    return _get(api, execution_id)["state"]["current"]


def _wait_state(api: httpx.Client, execution_id: str, *states: str) -> dict:
    _until(lambda: _state(api, execution_id) in states)
    return _get(api, execution_id)


def _start(api: httpx.Client, flow: str, barrier: Path | None = None) -> dict:
    files = {"barrier": (None, str(barrier))} if barrier is not None else None
    answer = api.post(f"{BASE}/lanner.actions/{flow}", files=files)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _run(api: httpx.Client, execution: dict) -> dict[str, str]:
    """task id -> state of the execution's task runs, as read now."""
    return {run["taskId"]: run["state"]["current"] for run in _get(api, execution["id"])["taskRunList"]}


def _failed(api: httpx.Client) -> dict:
    execution = _start(api, "failing")
    return _wait_state(api, execution["id"], "FAILED")


def _strict(answer: httpx.Response) -> dict:
    """The answer: an execution, in the shape of the execution routes (lanner.web.shapes)."""
    body = answer.json()
    assert {"id", "namespace", "flowId", "state", "taskRunList", "labels", "originalId"} <= set(body), body
    return body


def test_kill_pause_resume_and_their_refusals(api, barrier):
    assert create_flow(api, HELD).status_code == 200
    running = _start(api, "held", barrier)
    _until(lambda: _run(api, running).get("wait") == "RUNNING")

    paused = api.post(f"{BASE}/{running['id']}/actions/pause")
    assert paused.status_code == 200, paused.text
    assert _strict(paused)["state"]["current"] == "PAUSED"
    _wait_state(api, running["id"], "PAUSED")
    assert api.post(f"{BASE}/{running['id']}/actions/pause").status_code == 409  # not RUNNING any more
    barrier.touch()
    _until(lambda: _run(api, running).get("wait") == "SUCCESS")  # its result was applied ...
    assert "next" not in _run(api, running) and _state(api, running["id"]) == "PAUSED"  # ... nothing new started

    resumed = api.post(f"{BASE}/{running['id']}/actions/resume")
    assert resumed.status_code == 200 and _strict(resumed)["state"]["current"] == "RUNNING"
    done = _wait_state(api, running["id"], "SUCCESS", "FAILED")
    assert done["state"]["current"] == "SUCCESS" and _run(api, running)["next"] == "SUCCESS"
    assert api.post(f"{BASE}/{running['id']}/actions/resume").status_code == 409  # not PAUSED

    other = _start(api, "held", barrier.with_name("never"))
    killed = api.delete(f"{BASE}/{other['id']}/actions/kill")
    assert killed.status_code == 202 and _strict(killed)["id"] == other["id"]
    _wait_state(api, other["id"], "KILLED")
    # An ended execution: accepted as Kestra does (the kill cascades to subflows), 409 without cascade.
    assert api.delete(f"{BASE}/{other['id']}/actions/kill").status_code == 202
    assert api.delete(f"{BASE}/{other['id']}/actions/kill", params={"isOnKillCascade": "false"}).status_code == 409
    assert api.delete(f"{BASE}/nope/actions/kill").status_code == 404
    assert api.post(f"{BASE}/nope/actions/pause").status_code == 404
    # The 0.2x forms reach the same actions.
    assert api.delete(f"/api/v1/executions/{other['id']}/kill", params={"isOnKillCascade": "false"}).status_code == 409
    assert api.post(f"/api/v1/executions/{other['id']}/pause").status_code == 409


def test_restart_answers_restarted_and_replay_makes_a_linked_execution(api):
    assert create_flow(api, FAILING).status_code == 200
    failed = _failed(api)
    assert api.post(f"{BASE}/{failed['id']}/actions/restart", params={"revision": 9}).status_code == 404
    restarted = api.post(f"{BASE}/{failed['id']}/actions/restart")
    assert restarted.status_code == 200 and _strict(restarted)["state"]["current"] == "RESTARTED"
    _until(lambda: [h["state"] for h in _get(api, failed["id"])["state"]["histories"]].count("FAILED") == 2)

    # Replay from the start: a new execution, linked to the original, which is labelled replayed.
    replay = api.post(f"{BASE}/{failed['id']}/actions/replay")
    assert replay.status_code == 200, replay.text
    copy = _strict(replay)
    assert copy["id"] != failed["id"] and copy["originalId"] == failed["id"]
    assert {"key": "team", "value": "data"} in copy["labels"]
    assert {"key": "system.replayed", "value": "true"} in _get(api, failed["id"])["labels"]
    assert _wait_state(api, copy["id"], "FAILED")["taskRunList"][0]["taskId"] == "first"

    # Replay from a task run: the runs before it are copied (new ids), it runs again.
    source = _get(api, failed["id"])
    broken = next(run for run in source["taskRunList"] if run["taskId"] == "broken")
    first = next(run for run in source["taskRunList"] if run["taskId"] == "first")
    partial = api.post(f"{BASE}/{failed['id']}/actions/replay", params={"taskRunId": broken["id"]})
    assert partial.status_code == 200, partial.text
    body = partial.json()
    assert [run["taskId"] for run in body["taskRunList"]] == ["first"]
    assert body["taskRunList"][0]["id"] != first["id"]
    assert body["taskRunList"][0]["outputs"] == first["outputs"]
    ended = _wait_state(api, body["id"], "FAILED")
    assert [run["taskId"] for run in ended["taskRunList"]][:2] == ["first", "broken"]
    assert api.post(f"{BASE}/{failed['id']}/actions/replay", params={"taskRunId": "nope"}).status_code == 404
    assert api.post(f"{BASE}/{failed['id']}/actions/replay", params={"revision": 7}).status_code == 404
    assert api.post(f"/api/v1/executions/{failed['id']}/replay").status_code == 200  # the 0.2x form


def test_a_running_execution_refuses_restart_replay_labels_and_status(api, barrier):
    assert create_flow(api, HELD).status_code == 200
    running = _start(api, "held", barrier)
    _until(lambda: _run(api, running).get("wait") == "RUNNING")
    execution_id = running["id"]
    assert api.post(f"{BASE}/{execution_id}/actions/restart").status_code == 409
    assert api.post(f"{BASE}/{execution_id}/actions/replay").status_code == 409
    assert api.post(f"{BASE}/{execution_id}/actions/labels", json=[{"key": "a", "value": "b"}]).status_code == 400
    assert api.post(f"{BASE}/{execution_id}/actions/change-status", params={"status": "SUCCESS"}).status_code == 422
    assert api.post(f"{BASE}/{execution_id}/actions/unqueue").status_code == 409
    assert api.post(f"{BASE}/{execution_id}/actions/force-run").status_code == 409
    assert _state(api, execution_id) == "RUNNING"  # none of them changed it
    assert api.delete(f"{BASE}/{execution_id}/actions/kill").status_code == 202


def test_labels_and_status_of_an_ended_execution(api):
    assert create_flow(api, FAILING).status_code == 200
    failed = _failed(api)
    labelled = api.post(f"{BASE}/{failed['id']}/actions/labels", json=[{"key": "owner", "value": "ops"}])
    assert labelled.status_code == 200, labelled.text
    assert _strict(labelled)["labels"] == [{"key": "owner", "value": "ops"}]
    assert _get(api, failed["id"])["labels"] == [{"key": "owner", "value": "ops"}]
    refused = api.post(f"{BASE}/{failed['id']}/actions/labels", json=[{"key": "system.x", "value": "y"}])
    assert refused.status_code == 422 and "system" in refused.json()["message"]

    assert api.post(f"{BASE}/{failed['id']}/actions/change-status", params={"status": "RUNNING"}).status_code == 422
    changed = api.post(f"{BASE}/{failed['id']}/actions/change-status", params={"status": "SUCCESS"})
    assert changed.status_code == 200 and _strict(changed)["state"]["current"] == "SUCCESS"
    assert _state(api, failed["id"]) == "SUCCESS"
    assert [h["state"] for h in _get(api, failed["id"])["state"]["histories"]][-2:] == ["FAILED", "SUCCESS"]
    assert api.post(f"{BASE}/nope/actions/change-status", params={"status": "SUCCESS"}).status_code == 404


def test_task_run_state_change_goes_on_from_that_task(api):
    assert create_flow(api, FAILING).status_code == 200
    failed = _failed(api)
    broken = next(run for run in failed["taskRunList"] if run["taskId"] == "broken")
    assert api.post(f"{BASE}/{failed['id']}/actions/state",
                    json={"taskRunId": broken["id"], "state": "RUNNING"}).status_code == 422
    assert api.post(f"{BASE}/{failed['id']}/actions/state",
                    json={"taskRunId": "nope", "state": "SUCCESS"}).status_code == 404
    changed = api.post(f"{BASE}/{failed['id']}/actions/state", json={"taskRunId": broken["id"], "state": "SUCCESS"})
    assert changed.status_code == 200, changed.text
    assert _strict(changed)["state"]["current"] == "RESTARTED"
    done = _wait_state(api, failed["id"], "SUCCESS")
    runs = {run["taskId"]: run["state"]["current"] for run in done["taskRunList"]}
    assert runs["broken"] == "SUCCESS" and runs["last"] == "SUCCESS"


def test_unqueue_and_force_run_a_queued_execution(api, barrier):
    assert create_flow(api, QUEUED).status_code == 200
    holder = _start(api, "one_at_a_time", barrier)
    _until(lambda: _run(api, holder).get("wait") == "RUNNING")
    forced = _start(api, "one_at_a_time", barrier)
    cancelled = _start(api, "one_at_a_time", barrier)
    _wait_state(api, forced["id"], "QUEUED")
    _wait_state(api, cancelled["id"], "QUEUED")

    assert api.post(f"{BASE}/{cancelled['id']}/actions/unqueue", params={"state": "SUCCESS"}).status_code == 422
    gone = api.post(f"{BASE}/{cancelled['id']}/actions/unqueue", params={"state": "CANCELLED"})
    assert gone.status_code == 200 and _strict(gone)["state"]["current"] == "CANCELLED"
    _wait_state(api, cancelled["id"], "CANCELLED")
    ran = api.post(f"{BASE}/{forced['id']}/actions/force-run")
    assert ran.status_code == 200 and _strict(ran)["state"]["current"] == "RUNNING"
    _until(lambda: _run(api, forced).get("wait") == "RUNNING")  # past the limit: the holder still runs
    assert _state(api, holder["id"]) == "RUNNING"
    barrier.touch()
    assert _wait_state(api, forced["id"], "SUCCESS", "FAILED")["state"]["current"] == "SUCCESS"
    assert api.post(f"{BASE}/{forced['id']}/actions/force-run").status_code == 409


def test_bulk_by_ids_all_or_nothing(api, barrier):
    assert create_flow(api, FAILING).status_code == 200
    assert create_flow(api, HELD).status_code == 200
    one, two = _failed(api), _failed(api)
    running = _start(api, "held", barrier)

    refused = api.post(f"{BASE}/labels/by-ids", json={"executionsId": [one["id"], running["id"], "nope"],
                                                       "executionLabels": [{"key": "k", "value": "v"}]})
    assert refused.status_code == 400
    body = refused.json()
    assert body["message"] == "invalid bulk set labels"
    assert {(i["invalidValue"], i["message"]) for i in body["invalids"]} == {
        (running["id"], "execution is not terminated"), ("nope", "execution not found")}
    assert {"key": "k", "value": "v"} not in _get(api, one["id"])["labels"]  # none changed

    added = api.post(f"{BASE}/labels/by-ids", json={"executionsId": [one["id"], two["id"]],
                                                     "executionLabels": [{"key": "k", "value": "v"}]})
    assert added.status_code == 200 and added.json() == {"count": 2}
    assert {"key": "team", "value": "data"} in _get(api, two["id"])["labels"]  # kept
    assert {"key": "k", "value": "v"} in _get(api, two["id"])["labels"]  # added

    assert api.post(f"{BASE}/change-status/by-ids", params={"newStatus": "WARNING"},
                    json=[one["id"], running["id"]]).status_code == 400
    assert api.post(f"{BASE}/change-status/by-ids", params={"newStatus": "WARNING"},
                    json=[one["id"], two["id"]]).json() == {"count": 2}
    assert _state(api, one["id"]) == "WARNING" and _state(api, two["id"]) == "WARNING"

    assert api.post(f"{BASE}/pause/by-ids", json=[running["id"], one["id"]]).json()["invalids"] == [
        {"message": "execution not in state RUNNING", "invalidValue": one["id"], "propertyPath": "execution"}]
    assert api.post(f"{BASE}/restart/by-ids", json=[one["id"]]).status_code == 400  # WARNING now
    replayed = api.post(f"{BASE}/replay/by-ids", json=[one["id"]])
    assert replayed.json() == {"count": 1}
    assert {"key": "system.replayed", "value": "true"} in _get(api, one["id"])["labels"]

    assert api.request("DELETE", f"{BASE}/kill/by-ids", json=[running["id"], two["id"]]).status_code == 400
    assert api.request("DELETE", f"{BASE}/kill/by-ids", json=[running["id"]]).json() == {"count": 1}
    _wait_state(api, running["id"], "KILLED")
    assert api.request("DELETE", f"{BASE}/by-ids", json=[two["id"]]).json() == {"count": 1}
    assert api.get(f"{BASE}/{two['id']}").status_code == 404


def test_bulk_by_query_acts_on_what_the_filters_match(api):
    assert create_flow(api, FAILING).status_code == 200
    assert create_flow(api, (FLOWS / "sleepy.yaml").read_text()).status_code == 200
    one, two = _failed(api), _failed(api)
    sleeping = api.post("/api/v1/executions/lanner.tests/sleepy").json()

    assert api.post(f"{BASE}/labels/by-query", params={"filters[nope][EQUALS]": "x"},
                    json=[{"key": "k", "value": "v"}]).status_code == 400
    labelled = api.post(f"{BASE}/labels/by-query", params={"filters[namespace][EQUALS]": "lanner.actions",
                                                           "filters[state][EQUALS]": "FAILED"},
                        json=[{"key": "k", "value": "v"}])
    assert labelled.status_code == 200 and labelled.json() == {"count": 2}
    changed = api.post(f"{BASE}/change-status/by-query",
                       params={"filters[labels][EQUALS][k]": "v", "newStatus": "SUCCESS"})
    assert changed.json() == {"count": 2}
    assert _state(api, one["id"]) == "SUCCESS" and _state(api, two["id"]) == "SUCCESS"
    # The 0.2x flat filters; a sleeping execution refuses a status change: nothing changes.
    refused = api.post(f"{BASE}/change-status/by-query", params={"q": "lanner", "newStatus": "FAILED"})
    assert refused.status_code == 400 and [i["invalidValue"] for i in refused.json()["invalids"]] == [sleeping["id"]]
    assert _state(api, one["id"]) == "SUCCESS"
    killed = api.request("DELETE", f"{BASE}/kill/by-query", params={"filters[flowId][EQUALS]": "sleepy"})
    assert killed.json() == {"count": 1}
    _wait_state(api, sleeping["id"], "KILLED")
    deleted = api.request("DELETE", f"{BASE}/by-query", params={"filters[namespace][EQUALS]": "lanner.actions"})
    assert deleted.json() == {"count": 2}
    assert api.get(f"{BASE}/{one['id']}").status_code == 404


def test_a_flow_named_like_an_action_is_executed_in_the_tenant_form(api):
    labels_flow = FAILING.replace("id: failing", "id: labels")
    assert create_flow(api, labels_flow).status_code == 200
    created = api.post(f"{BASE}/lanner.actions/labels")  # Kestra 1.x: POST /executions/{namespace}/{flowId}
    assert created.status_code == 200, created.text
    assert created.json()["flowId"] == "labels"
    # The 0.2x form is Kestra 0.2x's action on an execution of id `lanner.actions`: there is none.
    legacy = api.post("/api/v1/executions/lanner.actions/labels", json=[{"key": "a", "value": "b"}])
    assert legacy.status_code == 404 and "lanner.actions" in legacy.json()["message"]


def test_replay_with_inputs_checks_them_as_a_new_executions(api, tmp_path):
    assert create_flow(api, HELD).status_code == 200
    first = tmp_path / "first"
    first.touch()
    source = _start(api, "held", first)
    _wait_state(api, source["id"], "SUCCESS")
    second = tmp_path / "second"
    second.touch()
    replay = api.post(f"{BASE}/{source['id']}/actions/replay-with-inputs", files={"barrier": (None, str(second))})
    assert replay.status_code == 200, replay.text
    copy = replay.json()
    assert copy["inputs"] == {"barrier": str(second)} and copy["originalId"] == source["id"]
    assert _wait_state(api, copy["id"], "SUCCESS", "FAILED")["state"]["current"] == "SUCCESS"
    assert api.post(f"{BASE}/{source['id']}/actions/replay-with-inputs").status_code == 422  # barrier is required
    assert api.post(f"{BASE}/{source['id']}/actions/replay", params={"breakpoints": "wait"}).status_code == 422


def test_bulk_pause_resume_restart_and_force_run(api, barrier):
    assert create_flow(api, HELD).status_code == 200
    assert create_flow(api, QUEUED).status_code == 200
    assert create_flow(api, FAILING).status_code == 200
    running = _start(api, "held", barrier)
    assert api.post(f"{BASE}/pause/by-ids", json=[running["id"]]).json() == {"count": 1}
    _wait_state(api, running["id"], "PAUSED")
    assert api.post(f"{BASE}/resume/by-ids", json=[running["id"]]).json() == {"count": 1}
    _wait_state(api, running["id"], "RUNNING")

    holder = _start(api, "one_at_a_time", barrier)
    waiting = _start(api, "one_at_a_time", barrier)
    _wait_state(api, waiting["id"], "QUEUED")
    assert api.post(f"{BASE}/force-run/by-ids", json=[holder["id"], waiting["id"]]).status_code == 400
    assert api.post(f"{BASE}/force-run/by-query", params={"filters[flowId][EQUALS]": "one_at_a_time",
                                                          "filters[state][EQUALS]": "QUEUED"}).json() == {"count": 1}
    _wait_state(api, waiting["id"], "RUNNING")
    barrier.touch()  # the server's two worker threads are all taken by the held tasks: free them
    for execution in (running, holder, waiting):
        assert _wait_state(api, execution["id"], "SUCCESS", "FAILED")["state"]["current"] == "SUCCESS"

    failed = _failed(api)
    assert api.post(f"{BASE}/restart/by-ids", json=[failed["id"]]).json() == {"count": 1}
    _until(lambda: [h["state"] for h in _get(api, failed["id"])["state"]["histories"]].count("FAILED") == 2)
    assert api.post(f"{BASE}/unqueue/by-ids", params={"state": "SUCCESS"}, json=[failed["id"]]).status_code == 422
