"""Flow triggers and stopAfter with a running engine: conditions each way, once per upstream execution."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lanner.engine.shell.service import Executions
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.server.runtime import Runtime
from lanner.store import flow_repository
from lanner.store import trigger_repository as triggers
from lanner.store.database import write_connection
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
    labels:
      upstream-flow: "{{{{ trigger.flowId }}}}"
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
    # A date condition looks at when the upstream execution ended (any time of day here).
    "ended_today": ("- type: io.kestra.plugin.core.condition.TimeBetween\n  after: '00:00:00'\n"
                    "  before: '23:59:59.999999'", True, True),
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
    assert ran.labels["upstream-flow"] == "producer"  # label values are rendered with the trigger's variables


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


WAITS_FOR_BOTH = """id: {flow_id}
namespace: lanner.down
tasks:
  - id: said
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.flowId }}}}"
triggers:
  - id: after_both
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: both
      flows:
        - namespace: lanner.up
          flowId: first
          states: [SUCCESS]
        - namespace: lanner.up
          flowId: second
          states: [SUCCESS]
{extra}
"""
ALERTS = """id: alerts
namespace: lanner.down
tasks:
  - id: said
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.flowId }} {{ trigger.state }}"
triggers:
  - id: on_failure
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: failures
      where:
        - id: failed_in_lanner
          filters:
            - field: STATE
              type: IN
              values: [FAILED, WARNING]
            - field: NAMESPACE
              type: STARTS_WITH
              value: lanner.up
"""

# Kestra's older way to wait for several flows: a MultipleCondition, successes only.
OLDER_FORM = """id: older
namespace: lanner.down
tasks:
  - id: said
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.flowId }}"
triggers:
  - id: multiple_listen
    type: io.kestra.core.models.triggers.types.Flow
    conditions:
      - type: io.kestra.core.models.conditions.types.ExecutionStatusCondition
        in: [SUCCESS]
      - id: multiple
        type: io.kestra.core.models.conditions.types.MultipleCondition
        window: P1D
        windowAdvance: P0D
        conditions:
          flow_a:
            type: io.kestra.core.models.conditions.types.ExecutionFlowCondition
            namespace: lanner.up
            flowId: first
          flow_b:
            type: io.kestra.core.models.conditions.types.ExecutionFlowCondition
            namespace: lanner.up
            flowId: second
"""

def test_a_trigger_waits_for_every_upstream_flow_and_where_filters_pick_executions(lanner):
    engine, service = lanner
    for flow_id in ("first", "second"):
        deploy(engine, UPSTREAM.format(flow_id=flow_id, namespace="lanner.up"))
    deploy(engine, WAITS_FOR_BOTH.format(flow_id="joined", extra=""))
    deploy(engine, WAITS_FOR_BOTH.format(flow_id="kept", extra="      resetOnSuccess: false"))
    deploy(engine, ALERTS)
    deploy(engine, OLDER_FORM)

    def ran(flow_id: str, fail: bool = False) -> str:
        execution = service.wait(service.create("lanner.up", flow_id, {"fail": fail}).id)
        assert execution.current is (State.FAILED if fail else State.SUCCESS)
        return execution.id

    def counts() -> tuple[int, ...]:
        return tuple(len(downstream(service, name)) for name in ("joined", "kept", "alerts", "older"))

    ran("first")
    ran("first")
    ran("second", fail=True)  # a failure meets no precondition of joined/kept, and is an alert
    wait_until(lambda: counts() == (0, 0, 1, 0), 60, "the alert only")
    last = ran("second")
    wait_until(lambda: counts() == (1, 1, 1, 1), 60, "both upstream flows succeeded: one fire each")
    ran("second")  # joined starts counting again; kept fires on every further success today
    wait_until(lambda: counts() == (1, 2, 1, 1), 60, "kept fired again, joined waits for first")
    ran("first")
    wait_until(lambda: counts() == (2, 3, 1, 2), 60, "joined fired a second time")
    [first_fire] = [e for e in downstream(service, "joined") if e.trigger["variables"]["executionId"] == last]
    assert service.wait(first_fire.id).task_runs[0].outputs["value"] == "second"  # the execution that completed it
    [alert] = downstream(service, "alerts")
    assert alert.trigger["variables"]["state"] == "FAILED"


def test_counted_preconditions_fire_once_when_two_executors_count_at_once(postgres_url, tmp_path, monkeypatch):
    """Two consumers each take a message that completes the pair: the row's lock lets only one fire."""
    import threading
    from datetime import UTC, datetime

    from lanner.engine.shell import messages
    from lanner.scheduler import flow_triggers, preconditions
    from lanner.store.queue import Queue

    engine = prepare_database(config_for(postgres_url), may_migrate=True)
    queue = Queue(engine)
    try:
        deploy(engine, WAITS_FOR_BOTH.format(flow_id="joined", extra=""))
        consumers = [flow_triggers.FlowTriggers(engine, queue) for _ in range(2)]

        def ended(flow_id: str, n: int) -> None:
            payload = {"v": messages.FORMAT, "executionId": f"{flow_id}{n}", "tenantId": "main",
                       "namespace": "lanner.up", "flowId": flow_id, "flowRevision": 1, "state": "SUCCESS",
                       "outputs": {}, "labels": {}, "triggerId": None, "triggerType": None,
                       "endDate": datetime.now(UTC).isoformat()}
            with write_connection(engine) as connection, connection.begin():
                queue.send(connection, messages.ENDED_EXECUTIONS, payload, key=payload["executionId"])

        ended("first", 1)
        assert consumers[0].process_batch() == 1
        ended("second", 1)
        ended("second", 2)
        # The consumer that reads the count first waits until the other is either blocked on the row's
        # lock (seen in pg_stat_activity: the lock works, the other will read the count once the first
        # commits) or has read the count too (no lock: both would read "first met", and both would fire).
        arrivals: list[int] = []
        real = preconditions.record

        def other_blocked_on_a_lock() -> bool:
            with engine.connect() as connection:
                return bool(connection.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'").scalar())

        def record_when_both_read(*args, **kwargs):
            arrivals.append(1)
            wait_until(lambda: len(arrivals) == 2 or other_blocked_on_a_lock(), 60,
                       "the other consumer neither waited for the row's lock nor read the count")
            return real(*args, **kwargs)

        monkeypatch.setattr(preconditions, "record", record_when_both_read)
        handled: list[int] = []
        threads = [threading.Thread(target=lambda c=c: handled.append(c.process_batch(limit=1))) for c in consumers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(handled) == [1, 1]
        service = Executions(engine, queue)
        fired = downstream(service, "joined")
        assert len(fired) == 1, [e.trigger["variables"]["executionId"] for e in fired]
    finally:
        queue.close()
        engine.dispose()
