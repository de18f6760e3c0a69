"""One way to build an execution: the API's, the scheduler's and a Subflow's child are built alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from lanner.engine.core.creation import new_execution
from lanner.flows.validator import validate_source
from lanner.model.flow import Flow
from lanner.model.state import State

NOW = datetime(2024, 1, 31, 8, 0, tzinfo=UTC)


def flow(*inputs: dict) -> Flow:
    document = {"id": "f", "namespace": "company.team", "labels": {"team": "data", "env": "dev"},
                "inputs": list(inputs), "tasks": [{"id": "t", "type": "io.kestra.plugin.core.log.Log", "message": "m"}]}
    result = validate_source(json.dumps(document))
    assert result.valid, [p.format() for p in result.problems]
    return result.flow


def test_a_new_execution_is_created_now_with_the_flows_labels_under_the_callers():
    execution = new_execution(flow(), 3, inputs={}, labels={"env": "prod"}, trigger={"type": "t"}, tenant_id="main",
                              now=NOW)
    assert (execution.namespace, execution.flow_id, execution.flow_revision) == ("company.team", "f", 3)
    assert execution.current is State.CREATED and execution.state.start_date == NOW
    assert execution.labels == {"team": "data", "env": "prod"}
    assert execution.trigger == {"type": "t"} and execution.parent_id is None and execution.id


def test_a_child_keeps_its_decided_id_its_parent_and_the_secrets_its_parent_revealed():
    f = flow({"id": "note", "type": "STRING"}, {"id": "who", "type": "STRING", "defaults": "{{ execution.id }}"})
    child = new_execution(f, 1, inputs={"note": "token hunter2"}, labels={}, trigger=None, tenant_id="main", now=NOW,
                          execution_id="child1", parent_id="parent1", secrets={"hunter2"})
    assert (child.id, child.parent_id) == ("child1", "parent1")
    assert child.inputs == {"note": "token ******", "who": "child1"}  # rendered with the child's own variables
