"""Flow triggers and stopAfter with a running engine: conditions each way, once per upstream execution."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lanner.server.runtime import Runtime
from lanner.engine.service import Executions
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.store import flow_repository
from lanner.store import trigger_repository as triggers
from lanner.store.engine import write_connection
from lanner.store.schema_guard import prepare_database
from tests.acceptance.cluster_harness import wait_until
from tests.helpers import config_for

UPSTREAM = """id: {flow_id}
namespace: {namespace}
labels:
  team: data
inputs:
  - id: fail
    type: BOOLEAN
    defaults: false
tasks:
  - id: work
    type: io.kestra.plugin.core.execution.Fail
    condition: "{{{{ inputs.fail }}}}"
  - id: result
    type: io.kestra.plugin.core.debug.Return
    format: "rows=42"
outputs:
  - id: rows
    type: INT
    value: 42
"""
DOWNSTREAM = """id: {flow_id}
namespace: lanner.down
inputs:
  - id: upstream
    type: STRING
tasks:
  - id: said
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.namespace }}}}.{{{{ trigger.flowId }}}} {{{{ trigger.state }}}} {{{{ inputs.upstream }}}}"
triggers:
  - id: after
    type: io.kestra.plugin.core.trigger.Flow
    inputs:
      upstream: "{{{{ trigger.executionId }}}}"
    conditions:
      # Only the producer's executions: downstream flows must not trigger each other.
      - type: io.kestra.plugin.core.condition.ExecutionNamespace
        namespace: lanner.up
{conditions}
"""


def deploy(engine, source: str) -> None:
    validation = validate_source(source)
    assert validation.valid, [p.format() for p in validation.errors]
    with write_connection(engine) as connection, connection.begin():
        flow_repository.save_flow(connection, validation.flow, source)


def downstream(service: Executions, flow_id: str) -> list:
    return [e for e in service.list(namespace="lanner.down") if e.flow_id == flow_id]


@pytest.fixture
def lanner(database_url, tmp_path) -> Iterator[tuple]:
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        with Runtime(engine, executors=1, worker_threads=4, storage_path=tmp_path / "storage") as runtime:
            yield engine, Executions(engine, runtime.queue, runtime.flows)
    finally:
        engine.dispose()


CONDITIONS = {
    "on_success": ("- type: io.kestra.plugin.core.condition.ExecutionStatus\n  in: [SUCCESS]", True, False),
    "not_failed": ("- type: io.kestra.core.models.conditions.types.ExecutionStatusCondition\n  notIn: [FAILED]",
                   True, False),
    "this_flow": ("- type: io.kestra.plugin.core.condition.ExecutionFlow\n  namespace: lanner.up\n"
                  "  flowId: producer", True, True),
    "other_flow": ("- type: io.kestra.plugin.core.condition.ExecutionFlow\n  namespace: lanner.up\n"
                   "  flowId: someone_else", False, False),
    "prefix": ("- type: io.kestra.plugin.core.condition.ExecutionNamespace\n  namespace: lanner\n  prefix: true",
               True, True),
    "exact_namespace": ("- type: io.kestra.plugin.core.condition.ExecutionNamespace\n  namespace: lanner",
                        False, False),
    "labels": ("- type: io.kestra.plugin.core.condition.ExecutionLabels\n  labels:\n    team: data", True, True),
    "other_labels": ("- type: io.kestra.plugin.core.condition.ExecutionLabels\n  labels:\n    team: ops",
                     False, False),
    "outputs": ("- type: io.kestra.plugin.core.condition.ExecutionOutputs\n"
                "  expression: \"{{ trigger.outputs.rows == 42 }}\"", True, False),
    "expression": ("- type: io.kestra.plugin.core.condition.Expression\n"
                   "  expression: \"{{ trigger.state == 'FAILED' }}\"", False, True),
}


def test_flow_trigger_conditions_each_way(lanner):
    engine, service = lanner
    deploy(engine, UPSTREAM.format(flow_id="producer", namespace="lanner.up"))
    for name, (condition, _, _) in CONDITIONS.items():
        indented = "\n".join("      " + line for line in condition.splitlines())
        deploy(engine, DOWNSTREAM.format(flow_id=name, conditions=indented))
    succeeded = service.wait(service.create("lanner.up", "producer").id)
    failed = service.wait(service.create("lanner.up", "producer", {"fail": True}).id)
    assert (succeeded.current, failed.current) == (State.SUCCESS, State.FAILED)
    expected = {name: int(on_success) + int(on_failure) for name, (_, on_success, on_failure) in CONDITIONS.items()}
    wait_until(lambda: {name: len(downstream(service, name)) for name in CONDITIONS} == expected, 60,
               f"downstream executions {expected}")
    [run] = downstream(service, "on_success")
    ran = service.wait(run.id)
    assert ran.current is State.SUCCESS
    assert ran.task_runs[0].outputs["value"] == f"lanner.up.producer SUCCESS {succeeded.id}"
    assert ran.trigger["id"] == "after" and ran.trigger["variables"]["outputs"] == {"rows": 42}
    assert ran.inputs == {"upstream": succeeded.id}


def test_each_upstream_execution_fires_once_with_several_executors(postgres_url, tmp_path):
    engine = prepare_database(config_for(postgres_url), may_migrate=True)
    try:
        deploy(engine, UPSTREAM.format(flow_id="producer", namespace="lanner.up"))
        deploy(engine, DOWNSTREAM.format(flow_id="counted", conditions=""))
        with Runtime(engine, executors=2, worker_threads=4, storage_path=tmp_path / "a") as first, \
                Runtime(engine, executors=1, worker_threads=4, storage_path=tmp_path / "b"):
            service = Executions(engine, first.queue, first.flows)
            ids = [service.create("lanner.up", "producer").id for _ in range(20)]
            for execution_id in ids:
                service.wait(execution_id, timeout=120)
            wait_until(lambda: len(downstream(service, "counted")) >= 20, 60, "20 downstream executions")
            fired = downstream(service, "counted")
            assert len(fired) == 20
            assert sorted(e.trigger["variables"]["executionId"] for e in fired) == sorted(ids)
    finally:
        engine.dispose()


def test_a_schedule_stops_after_an_execution_ends_in_a_listed_state(lanner):
    engine, service = lanner
    deploy(engine, """id: stoppable
namespace: lanner.sched
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
triggers:
  - id: hourly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
    stopAfter: [FAILED]
""")
    execution = service.create("lanner.sched", "stoppable",
                               trigger={"id": "hourly", "type": "io.kestra.plugin.core.trigger.Schedule",
                                        "variables": {"date": "2026-06-01T10:00:00Z"}})
    assert service.wait(execution.id).current is State.FAILED

    def disabled() -> bool:
        with engine.connect() as connection:
            return triggers.get_trigger(connection, "lanner.sched", "stoppable", "hourly").disabled

    wait_until(disabled, 30, "the schedule disabled by stopAfter")
