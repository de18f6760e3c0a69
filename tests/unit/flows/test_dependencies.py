"""Flow dependencies (Subflow tasks, Flow triggers): pure, over validated flows."""

from __future__ import annotations

from lanner.flows import dependencies
from lanner.flows.validator import validate_source
from lanner.model.flow import Flow

TASK = "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"


def _flow(source: str) -> Flow:
    validation = validate_source(source)
    assert validation.flow is not None, validation.problems
    return validation.flow


PARENT = _flow("""id: parent
namespace: unit.deps
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: unit.deps
    flowId: child
  - id: dynamic
    type: io.kestra.plugin.core.flow.Subflow
    namespace: unit.deps
    flowId: "{{ 'child' }}"
""")
CHILD = _flow("id: child\nnamespace: unit.deps\n" + TASK)
WATCHER = _flow("""id: watcher
namespace: unit.other
""" + TASK + """triggers:
  - id: on_any
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      flows:
        - namespace: unit.deps
""")


def test_subflow_tasks_and_flow_triggers_draw_edges_and_expressions_none():
    found = {(e.source, e.target, e.relation) for e in dependencies.edges([PARENT, CHILD, WATCHER])}
    assert found == {(("unit.deps", "parent"), ("unit.deps", "child"), "FLOW_TASK"),
                     (("unit.deps", "parent"), ("unit.other", "watcher"), "FLOW_TRIGGER"),
                     (("unit.deps", "child"), ("unit.other", "watcher"), "FLOW_TRIGGER")}


def test_destination_only_keeps_the_edges_leading_to_the_flow():
    edges = dependencies.edges([PARENT, CHILD, WATCHER])
    to_child = dependencies.around(edges, [("unit.deps", "child")], destination_only=True, expand=False)
    assert [(e.source, e.target) for e in to_child] == [(("unit.deps", "parent"), ("unit.deps", "child"))]
    both = dependencies.around(edges, [("unit.deps", "child")], destination_only=False, expand=False)
    assert len(both) == 2
    expanded = dependencies.around(edges, [("unit.deps", "child")], destination_only=False, expand=True)
    assert len(expanded) == 3
