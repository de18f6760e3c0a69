"""Kestra's own Python client, kestrapy 2.0.3, drives Lanner as a Kestra user would.

Every call goes through kestrapy (its paths, parameters, bodies and models); typed answers are read
strictly (see :mod:`tests.integration.kestra_client`), raw ones are checked with ``strict``.  One server
per backend serves the module; each test works in its own namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.kestra_client import (  # noqa: F401 - fixtures (kestra, lanner_url, namespace)
    TENANT,
    ApiTriggerAndState,
    BulkResponse,
    ConflictException,
    Execution,
    IdWithNamespace,
    KestraClient,
    KVControllerApiDeleteBulkRequest,
    LogEntry,
    NotFoundException,
    QueryFilter,
    QueryFilterField,
    QueryFilterOp,
    StrictShapeError,
    TriggerControllerApiTriggerId,
    TriggerControllerSetDisabledRequest,
    kestra,
    lanner_url,
    namespace,
    state_of,
    strict,
    strict_page,
    wait_ended,
    wait_state,
)

GREET = """id: {id}
namespace: {namespace}
labels:
  team: data
inputs:
  - id: name
    type: STRING
  - id: times
    type: INT
    defaults: 1
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "hello {{{{ inputs.name }}}} x{{{{ inputs.times }}}}"
  - id: said
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ inputs.name }}}}-{{{{ inputs.times }}}}"
outputs:
  - id: said
    type: STRING
    value: "{{{{ outputs.said.value }}}}"
"""

# Waits for a file the test never creates (so it runs until killed); the test releases it at the end.
HELD = """id: {id}
namespace: {namespace}
inputs:
  - id: barrier
    type: STRING
tasks:
  - id: hold
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - 'while [ ! -f "{{{{ inputs.barrier }}}}" ]; do sleep 0.02; done'
"""

# Fails until the file exists: a restart after creating it succeeds.
NEEDS_FILE = """id: {id}
namespace: {namespace}
inputs:
  - id: needed
    type: STRING
tasks:
  - id: check
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - 'test -f "{{{{ inputs.needed }}}}"'
"""

SCHEDULED = """id: {id}
namespace: {namespace}
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: tick
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 3 * * *"
"""


def eq(field: QueryFilterField, value: object) -> QueryFilter:
    return QueryFilter(var_field=field, operation=QueryFilterOp.EQUALS, value=value)


def deploy(kestra: KestraClient, template: str, namespace: str, flow_id: str = "greet"):
    return kestra.flows.create_flow(TENANT, template.format(id=flow_id, namespace=namespace))


def run(kestra: KestraClient, namespace: str, flow_id: str = "greet", **inputs: object) -> Execution:
    """Starts an execution with kestrapy (multipart inputs) and waits server-side (`wait=true`)."""
    return kestra.executions.create_execution(TENANT, namespace, flow_id, wait=True, inputs=inputs or None)


@pytest.fixture
def barrier(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "barrier"
    try:
        yield path
    finally:
        path.touch()  # releases any held task the test left running


# ------------------------------------------------------------------------------------ the strict reader


def test_the_strict_reader_names_unknown_and_invalid_fields():
    """No server: the checker itself, so that a passing test above means Lanner's answer really reads."""
    log = {"namespace": "a", "flowId": "f", "taskId": "t", "level": "INFO", "message": "m",
           "timestamp": "2026-01-01T00:00:00Z"}
    assert strict(LogEntry, log).message == "m"
    with pytest.raises(StrictShapeError, match=r"colour: kestrapy's LogEntry has no field `colour`"):
        strict(LogEntry, {**log, "colour": "red"})
    with pytest.raises(StrictShapeError, match=r"level: .*LOUD"):
        strict(LogEntry, {**log, "level": "LOUD"})
    execution = {"id": "e", "namespace": "a", "flowId": "f", "flowRevision": 1, "originalId": "e",
                 "deleted": False, "metadata": {"attemptNumber": 1, "originalCreatedDate": "2026-01-01T00:00:00Z"},
                 "tenantId": "main", "outputs": {"x": 1},  # what Kestra <= 1.x sends beyond kestrapy's model
                 "state": {"current": "SUCCESS", "histories": [{"state": "SUCCESS", "date": "2026-01-01T00:00:00Z"}],
                           "startDate": "2026-01-01T00:00:00Z", "endDate": None, "duration": "PT0S"},
                 "taskRunList": [{"id": "r", "executionId": "e", "namespace": "a", "flowId": "f", "taskId": "t",
                                  "state": {"current": "SUCCESS", "histories": []}, "colour": []}]}
    with pytest.raises(StrictShapeError, match=r"taskRunList\[0\]\.colour: kestrapy's TaskRun has no field"):
        strict(Execution, execution)
    del execution["taskRunList"][0]["colour"]
    assert strict(Execution, execution).additional_properties == {"tenantId": "main", "outputs": {"x": 1}}
    with pytest.raises(StrictShapeError, match=r"labels: kestrapy expects a list of Label"):
        strict(Execution, {**execution, "labels": {"team": "data"}})
    with pytest.raises(StrictShapeError, match=r"metadata: missing; kestrapy's Execution requires it"):
        strict(Execution, {k: v for k, v in execution.items() if k != "metadata"})


# ---------------------------------------------------------------------------------------------- flows


def test_flows_create_get_update_revisions_delete(kestra, namespace):
    created = deploy(kestra, GREET, namespace)
    assert (created.id, created.namespace, created.revision) == ("greet", namespace, 1)
    assert created.disabled is False and created.deleted is False
    assert [t.id for t in created.tasks] == ["hello", "said"]
    assert created.tasks[1].type == "io.kestra.plugin.core.debug.Return"
    assert created.tasks[1].additional_properties == {"format": "{{ inputs.name }}-{{ inputs.times }}"}
    assert [(i.id, i.type.value) for i in created.inputs] == [("name", "STRING"), ("times", "INT")]
    assert [(label.key, label.value) for label in created.labels] == [("team", "data")]
    assert created.source == GREET.format(id="greet", namespace=namespace)

    with pytest.raises(ConflictException):
        deploy(kestra, GREET, namespace)

    got = kestra.flows.flow(namespace, "greet", TENANT, source=True)
    assert got.revision == 1 and got.source == created.source
    assert kestra.flows.flow(namespace, "greet", TENANT).tasks[0].id == "hello"

    changed = GREET.format(id="greet", namespace=namespace).replace("hello {{", "hi {{")
    updated = kestra.flows.update_flow(namespace, "greet", TENANT, changed)
    assert updated.revision == 2 and updated.tasks[0].additional_properties["message"].startswith("hi ")

    revisions = kestra.flows.list_flow_revisions(namespace, "greet", TENANT)
    assert [r.revision for r in revisions] == [1, 2]
    assert "hello {{" in revisions[0].source and "hi {{" in revisions[1].source
    assert kestra.flows.flow(namespace, "greet", TENANT, revision=1).tasks[0].additional_properties[
        "message"].startswith("hello ")

    kestra.flows.delete_flow(namespace, "greet", TENANT)
    with pytest.raises(NotFoundException):
        kestra.flows.flow(namespace, "greet", TENANT)
    with pytest.raises(NotFoundException):
        kestra.flows.delete_flow(namespace, "greet", TENANT)


def test_flows_search_with_filters_stays_in_its_namespace(kestra, namespace):
    deploy(kestra, GREET, namespace, "first")
    deploy(kestra, GREET, namespace, "second")
    deploy(kestra, GREET, namespace + "-other", "elsewhere")  # a sibling namespace, not a child

    found = kestra.flows.search_flows(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace)])
    assert sorted(f.id for f in found.results) == ["first", "second"] and found.total == 2
    assert {f.namespace for f in found.results} == {namespace}

    one = kestra.flows.search_flows(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace),
                                                     eq(QueryFilterField.FLOW_ID, "second")])
    assert [f.id for f in one.results] == ["second"] and one.total == 1

    paged = kestra.flows.search_flows(TENANT, page=1, size=1, sort=["id:asc"],
                                      filters=[eq(QueryFilterField.NAMESPACE, namespace)])
    assert [f.id for f in paged.results] == ["first"] and paged.total == 2


def test_flows_delete_by_ids_and_by_query(kestra, namespace):
    for flow_id in ("a", "b", "c"):
        deploy(kestra, GREET, namespace, flow_id)
    by_ids = kestra.flows.delete_flows_by_ids(TENANT, [IdWithNamespace(namespace=namespace, id="a")])
    assert by_ids.count == 1
    by_query = kestra.flows.delete_flows_by_query(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace)])
    assert by_query.count == 2
    assert kestra.flows.search_flows(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace)]).total == 0


# ----------------------------------------------------------------------------------------- executions


def test_execute_with_inputs_and_labels_then_read_it(kestra, namespace):
    deploy(kestra, GREET, namespace)
    started = kestra.executions.create_execution(TENANT, namespace, "greet", labels=["run:first"], wait=True,
                                                 inputs={"name": "ada", "times": 2})
    assert state_of(started) == "SUCCESS"
    assert (started.namespace, started.flow_id, started.flow_revision) == (namespace, "greet", 1)
    assert started.inputs == {"name": "ada", "times": 2}
    assert {(label.key, label.value) for label in started.labels} >= {("run", "first")}
    assert [(run.task_id, state_of(run)) for run in started.task_run_list] == [("hello", "SUCCESS"),
                                                                             ("said", "SUCCESS")]
    assert [h.state.value for h in started.state.histories] == ["CREATED", "RUNNING", "SUCCESS"]
    assert started.state.end_date is not None and started.original_id == started.id
    assert started.deleted is False and started.metadata.attempt_number == 1

    again = kestra.executions.execution(started.id, TENANT)
    assert again.id == started.id and state_of(again) == "SUCCESS"
    assert again.inputs == {"name": "ada", "times": 2}
    assert again.additional_properties.get("outputs") == {"said": "ada-2"}  # Kestra <= 1.x: in the execution


def test_execute_a_flow_without_inputs(kestra, namespace):
    """kestrapy then sends no body at all (no multipart, no Content-Type)."""
    deploy(kestra, SCHEDULED, namespace, "plain")
    done = kestra.executions.create_execution(TENANT, namespace, "plain", wait=True)
    assert state_of(done) == "SUCCESS" and [run.task_id for run in done.task_run_list] == ["hello"]
    assert kestra.logs.list_logs_from_execution(done.id, TENANT)[0].message == "tick"


def test_execute_without_waiting_then_wait_for_the_end(kestra, namespace):
    deploy(kestra, GREET, namespace)
    started = kestra.executions.create_execution(TENANT, namespace, "greet", inputs={"name": "bo"})
    assert state_of(started) in {"CREATED", "RUNNING", "SUCCESS"}
    ended = wait_ended(kestra, started.id)
    assert state_of(ended) == "SUCCESS" and ended.inputs == {"name": "bo", "times": 1}


def test_execution_outputs_through_the_outputs_api(kestra, namespace):
    """Kestra 2.0's way of reading outputs (kestrapy's OutputsApi)."""
    deploy(kestra, GREET, namespace)
    done = run(kestra, namespace, name="cy", times=3)
    assert kestra.outputs.execution_outputs(done.id, TENANT) == {"said": "cy-3"}


def test_search_executions_with_filters(kestra, namespace):
    deploy(kestra, GREET, namespace)
    deploy(kestra, GREET, namespace + "-other")
    mine = run(kestra, namespace, name="a")
    run(kestra, namespace + "-other", name="b")

    answer = kestra.executions.search_executions(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace)])
    found = strict_page(Execution, answer, "executions search")
    assert [e.id for e in found] == [mine.id] and answer["total"] == 1

    by_state = kestra.executions.search_executions(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace),
                                                                    eq(QueryFilterField.STATE, "SUCCESS")])
    assert [e["id"] for e in by_state["results"]] == [mine.id]
    none = kestra.executions.search_executions(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace),
                                                                eq(QueryFilterField.STATE, "FAILED")])
    assert none == {"results": [], "total": 0}

    by_flow = kestra.executions.search_executions_by_flow_id(TENANT, namespace, "greet")
    assert [e.id for e in strict_page(Execution, by_flow, "executions by flow")] == [mine.id]


def test_kill_a_running_execution(kestra, namespace, barrier):
    deploy(kestra, HELD, namespace, "held")
    started = kestra.executions.create_execution(TENANT, namespace, "held", inputs={"barrier": str(barrier)})
    wait_state(kestra, started.id, "RUNNING")
    killed = kestra.executions.kill_execution(started.id, TENANT)
    assert killed.id == started.id and state_of(killed) in {"KILLING", "KILLED"}
    assert state_of(wait_ended(kestra, started.id)) == "KILLED"


def test_restart_a_failed_execution(kestra, namespace, tmp_path):
    deploy(kestra, NEEDS_FILE, namespace, "needs")
    needed = tmp_path / "needed"
    failed = kestra.executions.create_execution(TENANT, namespace, "needs", wait=True,
                                                inputs={"needed": str(needed)})
    assert state_of(failed) == "FAILED"
    needed.touch()
    restarted = kestra.executions.restart_execution(failed.id, TENANT)
    assert restarted.id == failed.id and state_of(restarted) == "RESTARTED"
    done = wait_ended(kestra, failed.id, after="RESTARTED")
    assert state_of(done) == "SUCCESS"
    assert [h.state.value for h in done.state.histories].count("RESTARTED") == 1
    assert done.metadata.attempt_number == 2


def test_replay_an_execution(kestra, namespace):
    deploy(kestra, GREET, namespace)
    first = run(kestra, namespace, name="re")
    replayed = kestra.executions.replay_execution(first.id, TENANT)
    assert replayed.id != first.id and replayed.original_id == first.id
    done = wait_ended(kestra, replayed.id)
    assert state_of(done) == "SUCCESS" and done.inputs == {"name": "re", "times": 1}


def test_replay_with_new_inputs(kestra, namespace):
    deploy(kestra, GREET, namespace)
    first = run(kestra, namespace, name="old")
    replayed = kestra.executions.replay_execution_with_inputs(first.id, TENANT, inputs={"name": "new"})
    done = wait_ended(kestra, replayed.id)
    assert state_of(done) == "SUCCESS" and done.inputs["name"] == "new"


def test_bulk_kill_and_delete_by_ids(kestra, namespace, barrier):
    deploy(kestra, HELD, namespace, "held")
    held = [kestra.executions.create_execution(TENANT, namespace, "held", inputs={"barrier": str(barrier)})
            for _ in range(2)]
    for execution in held:
        wait_state(kestra, execution.id, "RUNNING")
    killed = kestra.executions.kill_executions_by_ids(TENANT, [e.id for e in held])
    assert strict(BulkResponse, killed, "kill by ids").count == 2
    for execution in held:
        assert state_of(wait_ended(kestra, execution.id)) == "KILLED"

    deleted = kestra.executions.delete_executions_by_ids(TENANT, [e.id for e in held])
    assert deleted.count == 2
    for execution in held:
        with pytest.raises(NotFoundException):
            kestra.executions.execution(execution.id, TENANT)


def test_bulk_kill_and_delete_by_query(kestra, namespace, barrier):
    deploy(kestra, HELD, namespace, "held")
    deploy(kestra, GREET, namespace + "-other")
    other = run(kestra, namespace + "-other", name="stays")
    held = kestra.executions.create_execution(TENANT, namespace, "held", inputs={"barrier": str(barrier)})
    wait_state(kestra, held.id, "RUNNING")

    killed = kestra.executions.kill_executions_by_query(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace)])
    assert strict(BulkResponse, killed, "kill by query").count == 1
    assert state_of(wait_ended(kestra, held.id)) == "KILLED"

    deleted = kestra.executions.delete_executions_by_query(TENANT,
                                                           filters=[eq(QueryFilterField.NAMESPACE, namespace)])
    assert strict(BulkResponse, deleted, "delete by query").count == 1
    with pytest.raises(NotFoundException):
        kestra.executions.execution(held.id, TENANT)
    assert state_of(kestra.executions.execution(other.id, TENANT)) == "SUCCESS"  # another namespace: kept


def test_delete_one_execution(kestra, namespace):
    deploy(kestra, GREET, namespace)
    done = run(kestra, namespace, name="gone")
    kestra.executions.delete_execution(done.id, TENANT)
    with pytest.raises(NotFoundException):
        kestra.executions.execution(done.id, TENANT)


# ----------------------------------------------------------------------------------------- logs, metrics


def test_logs_list_and_download(kestra, namespace):
    deploy(kestra, GREET, namespace)
    done = run(kestra, namespace, name="ada", times=2)

    logs = kestra.logs.list_logs_from_execution(done.id, TENANT)
    assert all(isinstance(entry, LogEntry) for entry in logs)
    assert [(entry.task_id, entry.message) for entry in logs if entry.task_id == "hello"] == [
        ("hello", "hello ada x2")]
    hello = next(entry for entry in logs if entry.task_id == "hello")
    assert (hello.namespace, hello.flow_id, hello.execution_id) == (namespace, "greet", done.id)
    assert hello.level.value == "INFO" and hello.timestamp is not None
    assert kestra.logs.list_logs_from_execution(done.id, TENANT, min_level="ERROR") == []
    assert [e.task_id for e in kestra.logs.list_logs_from_execution(done.id, TENANT, task_id="hello")] == ["hello"]

    text = kestra.logs.download_logs_from_execution(done.id, TENANT)
    assert "hello ada x2" in text


def test_logs_search_with_filters(kestra, namespace):
    deploy(kestra, GREET, namespace)
    deploy(kestra, GREET, namespace + "-other")
    run(kestra, namespace, name="mine")
    run(kestra, namespace + "-other", name="theirs")
    everything = kestra.logs.search_logs(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace)])
    assert "hello mine x1" in [entry.message for entry in everything.results]  # with Return's DEBUG line
    found = kestra.logs.search_logs(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace),
                                                     eq(QueryFilterField.LEVEL, "INFO")])  # INFO and above
    assert [entry.message for entry in found.results] == ["hello mine x1"]
    assert found.total == 1 and found.type.value == "OFFSET"
    assert {entry.namespace for entry in found.results} == {namespace}


def test_execution_metrics(kestra, namespace):
    deploy(kestra, GREET, namespace)
    done = run(kestra, namespace, name="four", times=4)
    page = kestra.metrics.execution_metrics(done.id, TENANT)
    by_name = {(m["taskId"], m["name"]): m for m in page["results"]}
    assert by_name["said", "length"]["value"] == len("four-4") and page["total"] == len(page["results"])
    assert by_name["said", "length"]["type"] == "counter"
    assert set(kestra.metrics.flow_metric_names(namespace, "greet", TENANT)) == {name for _, name in by_name}
    assert set(kestra.metrics.tasks_with_metrics(namespace, "greet", TENANT)) == {task for task, _ in by_name}


# ------------------------------------------------------------------------------------------------- KV


def test_kv_set_get_delete(kestra, namespace):
    kestra.kv.set_key_value(namespace, "greeting", TENANT, "hello")
    kestra.kv.set_key_value(namespace, "answer", TENANT, "42")
    kestra.kv.set_key_value(namespace, "doc", TENANT, '{"a": [1, 2]}')

    greeting = kestra.kv.key_value(namespace, "greeting", TENANT)
    assert (greeting.type.value, greeting.value) == ("STRING", "hello")
    answer = kestra.kv.key_value(namespace, "answer", TENANT)
    assert (answer.type.value, answer.value) == ("NUMBER", 42)
    doc = kestra.kv.key_value(namespace, "doc", TENANT)
    assert (doc.type.value, doc.value) == ("JSON", {"a": [1, 2]})

    assert kestra.kv.delete_key_value(namespace, "greeting", TENANT) is True  # Kestra answers 200 `true`
    with pytest.raises(NotFoundException):
        kestra.kv.key_value(namespace, "greeting", TENANT)


def test_kv_list_all_keys_with_filters(kestra, namespace):
    for key in ("a", "b"):
        kestra.kv.set_key_value(namespace, key, TENANT, '"x"')
    kestra.kv.set_key_value(namespace + "-other", "c", TENANT, '"y"')
    listed = kestra.kv.list_all_keys(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace)])
    assert sorted(entry.key for entry in listed.results) == ["a", "b"] and listed.total == 2
    assert {entry.namespace for entry in listed.results} == {namespace}


def test_kv_delete_several_keys(kestra, namespace):
    for key in ("a", "b", "c"):
        kestra.kv.set_key_value(namespace, key, TENANT, '"x"')
    deleted = kestra.kv.delete_key_values(namespace, TENANT, KVControllerApiDeleteBulkRequest(keys=["a", "b", "z"]))
    assert sorted(deleted.keys) == ["a", "b"]
    assert kestra.kv.key_value(namespace, "c", TENANT).value == "x"


def test_kv_list_with_inheritance(kestra, namespace):
    kestra.kv.set_key_value(namespace, "parent-key", TENANT, '"up"')
    kestra.kv.set_key_value(namespace + ".child", "child-key", TENANT, '"down"')
    keys = {entry.key for entry in kestra.kv.list_keys_with_inheritance(namespace + ".child", TENANT)}
    assert keys == {"parent-key"}  # the parents' keys only, as Kestra's KVController lists them


# ------------------------------------------------------------------------------------------ namespaces


def test_namespaces_search_and_get(kestra, namespace):
    deploy(kestra, GREET, namespace)
    found = kestra.namespaces.search_namespaces(TENANT, existing=True,
                                                filters=[eq(QueryFilterField.QUERY, namespace)])
    ids = [ns.id for ns in found.results]
    assert namespace in ids and found.total == len(ids)
    got = kestra.namespaces.namespace(namespace, TENANT)
    assert got.id == namespace and got.deleted is False


# ------------------------------------------------------------------------------------------- triggers


def test_triggers_search_disable_and_unlock(kestra, namespace):
    deploy(kestra, SCHEDULED, namespace, "scheduled")
    answer = kestra.triggers.search_triggers(TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace)])
    found = strict_page(ApiTriggerAndState, answer, "triggers search")
    assert [(t.state.flow_id, t.state.trigger_id) for t in found] == [("scheduled", "nightly")]
    assert found[0].trigger.additional_properties["cron"] == "0 3 * * *"
    assert found[0].state.disabled in (None, False)

    trigger_id = TriggerControllerApiTriggerId(namespace=namespace, flow_id="scheduled", trigger_id="nightly")
    disabled = kestra.triggers.disabled_triggers_by_ids(
        TENANT, TriggerControllerSetDisabledRequest(triggers=[trigger_id], disabled=True))
    assert strict(BulkResponse, disabled, "set-disabled by triggers").count == 1
    again = strict_page(ApiTriggerAndState, kestra.triggers.search_triggers(
        TENANT, filters=[eq(QueryFilterField.NAMESPACE, namespace)]), "triggers search")
    assert again[0].state.disabled is True

    unlocked = kestra.triggers.unlock_trigger(TENANT, namespace, "scheduled", "nightly")
    assert unlocked["triggerId"] == "nightly" and unlocked.get("locked") in (None, False)


# -------------------------------------------------------------------------------------------- plugins


def test_plugins_list_and_the_log_task_schema(kestra):
    plugins = kestra.plugins.list_plugins()
    classes = {task["cls"] for plugin in plugins for task in plugin.get("tasks", [])}
    assert "io.kestra.plugin.core.log.Log" in classes

    doc = kestra.plugins.plugin_documentation("io.kestra.plugin.core.log.Log")
    properties = doc["schema"]["properties"]["properties"]
    assert "message" in properties and "level" in properties
    assert "message" in doc["schema"]["properties"].get("required", [])
