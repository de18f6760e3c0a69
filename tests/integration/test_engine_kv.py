"""The KV tasks and the kv() function end to end on both backends: executor and worker threads, the real store.

Flows live in tests/flows/engine/kv_*.yaml; each test asserts the execution, its task
runs' outputs and messages, and what the store holds afterwards.
"""

from __future__ import annotations

import pytest

from lanner.model.state import State
from lanner.store.kv_repository import KVStore, KVType
from tests.integration.running import running


@pytest.fixture
def lanner(database_url, tmp_path):
    with running(database_url, tmp_path / "storage", ["kv_*"], worker_threads=2) as service:
        yield service


def runs_by_task(execution):
    return {run.task_id: run for run in execution.task_runs}


def messages_of(lanner, execution, task_id):
    return [entry.message for entry in lanner.logs(execution.id) if entry.task_id == task_id]


def test_set_get_keys_delete_and_the_kv_function(lanner):
    execution = lanner.wait(lanner.create("lanner.tests", "kv_roundtrip").id)
    assert execution.current is State.SUCCESS, [(r.task_id, r.current) for r in execution.task_runs]
    runs = runs_by_task(execution)
    assert runs["get"].outputs == {"value": "hello ada"}
    assert runs["read"].outputs["value"] == "hello ada / 43 / 2 / abc / none"
    assert runs["keys"].outputs == {"keys": ["config", "counter"]}
    assert runs["delete"].outputs == {"deleted": True}
    assert runs["delete_again"].outputs == {"deleted": False}
    assert runs["after"].outputs["value"] == "gone"

    kv = KVStore(lanner.engine)
    assert kv.keys("lanner.tests") == ["config", "counter"]
    counter, config = kv.entry("lanner.tests", "counter"), kv.entry("lanner.tests", "config")
    assert (counter.value, counter.type) == (42, KVType.NUMBER)
    assert (config.value, config.type) == ({"region": "eu", "sizes": [1, 2]}, KVType.JSON)
    token = kv.entry("lanner.shared", "token")
    assert token.value == "abc" and token.expiration is not None
    assert KVStore(lanner.engine, tenant_id="other").keys("lanner.tests") == []


def test_store_refusals_and_error_on_missing_fail_their_tasks_with_the_reason(lanner):
    execution = lanner.wait(lanner.create("lanner.tests", "kv_failures").id)
    assert execution.current is State.FAILED
    runs = runs_by_task(execution)
    tolerated = ["no_overwrite", "bad_type", "bad_key", "function_missing", "delete_missing"]
    assert {task_id: runs[task_id].current for task_id in tolerated} == dict.fromkeys(tolerated, State.WARNING)
    assert runs["get_missing"].current is State.FAILED and "never" not in runs

    def reason(task_id):
        return "\n".join(messages_of(lanner, execution, task_id))

    assert "Cannot set the KV key 'taken' in the namespace 'lanner.tests': it already exists" in reason("no_overwrite")
    assert "Cannot store the KV key 'price' as NUMBER: 'cheap' is not a number" in reason("bad_type")
    assert "Invalid KV key 'has space'" in reason("bad_key")
    assert "the key `absent` does not exist in the flow's namespace" in reason("function_missing")
    assert "No value found for the KV key 'absent' in the namespace 'lanner.tests'" in reason("delete_missing")
    assert "No value found for the KV key 'absent'" in reason("get_missing")
    assert KVStore(lanner.engine).get("lanner.tests", "taken") == "first"


def test_kv_in_expressions_the_executor_renders(lanner):
    done = lanner.wait(lanner.create("lanner.tests", "kv_in_conditions").id)
    assert done.current is State.SUCCESS
    assert [run.task_id for run in done.task_runs] == ["remember", "branch", "quick"]
    assert done.outputs == {"mode": "fast"}
