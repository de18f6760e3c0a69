"""The flow graph builder: pure, over a validated flow."""

from __future__ import annotations

from lanner.flows.graph import flow_graph
from lanner.flows.validator import validate_source

DAG = """id: dag
namespace: unit.graph
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: one
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task:
          id: a
          type: io.kestra.plugin.core.log.Log
          message: a
      - task:
          id: b
          type: io.kestra.plugin.core.log.Log
          message: b
        dependsOn: [a]
  - id: switch
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ 1 }}"
    cases:
      "1":
        - id: one
          type: io.kestra.plugin.core.log.Log
          message: one
    defaults:
      - id: other
        type: io.kestra.plugin.core.log.Log
        message: other
"""


def _graph(source: str) -> dict:
    validation = validate_source(source)
    assert validation.flow is not None, validation.problems
    return flow_graph(validation.flow)


def test_a_sequence_runs_from_the_start_to_the_end_through_each_task():
    graph = _graph(DAG)
    pairs = {(e["source"], e["target"]) for e in graph["edges"]}
    assert ("root._start", "root.first") in pairs
    assert ("root.first", "root.dag._start") in pairs and ("root.dag._end", "root.switch._start") in pairs
    assert ("root.switch._end", "root._end") in pairs


def test_a_dag_task_follows_the_tasks_it_depends_on():
    pairs = {(e["source"], e["target"]) for e in _graph(DAG)["edges"]}
    assert ("root.dag", "root.dag.a") in pairs and ("root.dag.a", "root.dag.b") in pairs
    assert ("root.dag", "root.dag.b") not in pairs
    assert ("root.dag.b", "root.dag._end") in pairs and ("root.dag.a", "root.dag._end") not in pairs


def test_switch_cases_are_choices_named_by_their_value():
    edges = {(e["source"], e["target"]): e["relation"] for e in _graph(DAG)["edges"]}
    assert edges[("root.switch", "root.switch.one")] == {"relationType": "CHOICE", "value": "1"}
    assert edges[("root.switch", "root.switch.other")] == {"relationType": "CHOICE", "value": "defaults"}


def test_each_cluster_names_its_nodes_parents_start_and_end():
    clusters = {c["cluster"]["uid"]: c for c in _graph(DAG)["clusters"]}
    dag = clusters["cluster_root.dag"]
    assert dag["start"] == "root.dag._start" and dag["end"] == "root.dag._end" and dag["parents"] == []
    assert {"root.dag", "root.dag.a", "root.dag.b"} <= set(dag["nodes"])


def test_the_builder_is_deterministic():
    assert _graph(DAG) == _graph(DAG)
