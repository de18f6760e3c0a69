"""A flow drawn as Kestra's FlowGraph: nodes, edges between them, and clusters around flowable tasks.

Pure: it takes a validated :class:`~lanner.model.flow.Flow` (and, for an execution's graph, its task
runs by task id) and returns plain JSON-ready values, so the flow routes and the execution graph
share it.

The shape:

- the flow is the cluster ``root``, entered at ``root._start`` and left at ``root._end``;
- a task is a ``GraphTask`` node whose uid is its path of ids (``root.parallel.child``);
- a flowable task (Parallel, If, Switch, ForEach...) is a ``GraphCluster`` ``cluster_<uid>``: its own
  start and end nodes, the task itself, then its branches: run one after the other (SEQUENTIAL), side
  by side (PARALLEL), one of them (CHOICE, the edge's ``value`` names the branch), or as a Dag says;
- ``errors``, ``finally`` and ``afterExecution`` leave the cluster's start and join its end, their
  nodes marked with ``branchType``;
- triggers are ``GraphTrigger`` nodes in the cluster ``cluster_root.Triggers``, leading to the start.

``_start`` and ``_end`` cannot clash with a task: a task id never begins with ``_``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lanner.model.flow import Flow
from lanner.model.spec import Spec
from lanner.model.task import TaskSpec
from lanner.tasks.flowable import FlowableTask

HIERARCHIES = "io.kestra.core.models.hierarchies"
TASK, TRIGGER = f"{HIERARCHIES}.GraphTask", f"{HIERARCHIES}.GraphTrigger"
CLUSTER, START, END = f"{HIERARCHIES}.GraphCluster", f"{HIERARCHIES}.GraphClusterRoot", f"{HIERARCHIES}.GraphClusterEnd"
SEQUENTIAL, PARALLEL, CHOICE, DYNAMIC = "SEQUENTIAL", "PARALLEL", "CHOICE", "DYNAMIC"
ERROR, FINALLY, AFTER_EXECUTION = "ERROR", "FINALLY", "AFTER_EXECUTION"

# Branch fields of flowable tasks that choose one branch (If, Switch).
_CHOICES = frozenset({"then", "else", "cases", "defaults"})
_SIDE = (("errors", ERROR), ("finally_", FINALLY))


@dataclass
class _Graph:
    runs: Mapping[str, Mapping[str, Any]]
    execution_id: str | None
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    flowables: list[str] = field(default_factory=list)

    def node(self, uid: str, kind: str, **extra: Any) -> str:
        self.nodes.append({"uid": uid, "type": kind, **{k: v for k, v in extra.items() if v is not None}})
        return uid

    def edge(self, source: str, target: str, relation: str | None = None, value: str | None = None) -> None:
        shaped = {k: v for k, v in (("relationType", relation), ("value", value)) if v is not None}
        self.edges.append({"source": source, "target": target, "relation": shaped})

    def task(self, uid: str, task: TaskSpec, relation: str, branch: str | None) -> str:
        run = self.runs.get(task.id)
        return self.node(uid, TASK, task=task_json(task), relationType=relation, branchType=branch,
                         taskRun=dict(run) if run is not None else None,
                         executionId=self.execution_id if run is not None else None)


def task_json(task: Any) -> dict[str, Any]:
    """A task or trigger as written, in Kestra's JSON (camelCase, defaults left out)."""
    shaped: dict[str, Any] = task.model_dump(mode="json", by_alias=True, exclude_defaults=True, serialize_as_any=True)
    return shaped | {"type": task.TYPE}


def flow_graph(flow: Flow, runs: Mapping[str, Mapping[str, Any]] | None = None,
               execution_id: str | None = None) -> dict[str, Any]:
    """``{nodes, edges, clusters, flowables}``; ``runs``: an execution's last task run per task id."""
    graph = _Graph(runs or {}, execution_id)
    start, end = graph.node("root._start", START), graph.node("root._end", END)
    _branch(graph, "root", flow.tasks, start, end, SEQUENTIAL, None, None, [])
    for tasks, kind in ((flow.errors, ERROR), (flow.finally_, FINALLY), (flow.after_execution, AFTER_EXECUTION)):
        _branch(graph, "root", tasks, start, end, kind, None, kind, [])
    if flow.triggers:
        _triggers(graph, flow, start)
    return {"nodes": graph.nodes, "edges": graph.edges, "clusters": graph.clusters, "flowables": graph.flowables}


def _triggers(graph: _Graph, flow: Flow, target: str) -> None:
    prefix = "root.Triggers"
    start, end = graph.node(f"{prefix}._start", START), graph.node(f"{prefix}._end", END)
    uids = [start, end]
    for trigger in flow.triggers:
        uid = graph.node(f"{prefix}.{trigger.id}", TRIGGER, trigger=task_json(trigger))
        graph.edge(start, uid)
        graph.edge(uid, end)
        uids.append(uid)
    graph.edge(end, target)
    graph.clusters.append({"cluster": {"uid": f"cluster_{prefix}", "type": CLUSTER}, "nodes": uids,
                           "parents": [], "start": start, "end": end})


def _branch(graph: _Graph, prefix: str, tasks: Sequence[TaskSpec], start: str, end: str, relation: str,
            value: str | None, branch: str | None, parents: list[str]) -> list[str]:
    """Place ``tasks`` between ``start`` and ``end``: one after the other, or side by side (PARALLEL);
    the uids placed."""
    placed: list[str] = []
    previous = start
    for index, task in enumerate(tasks):
        entry, exit_, uids = _place(graph, prefix, task, relation, branch, parents)
        placed += uids
        if relation == PARALLEL:
            graph.edge(start, entry, relation, value)
            graph.edge(exit_, end)
        else:
            graph.edge(previous, entry, relation, value if index == 0 else None)
            previous = exit_
    if relation != PARALLEL and tasks:
        graph.edge(previous, end)
    return placed


def _place(graph: _Graph, prefix: str, task: TaskSpec, relation: str, branch: str | None,
           parents: list[str]) -> tuple[str, str, list[str]]:
    """A task's nodes: (where edges enter, where they leave, every uid placed)."""
    uid = f"{prefix}.{task.id}"
    if not isinstance(task, FlowableTask):
        graph.task(uid, task, relation, branch)
        return uid, uid, [uid]
    cluster = f"cluster_{uid}"
    graph.flowables.append(uid)
    start, end = graph.node(f"{uid}._start", START), graph.node(f"{uid}._end", END)
    graph.task(uid, task, relation, branch)
    graph.edge(start, uid)
    inside, uids = parents + [cluster], [start, uid, end]
    for _field, tasks, kind, value in _children(task):
        if kind == "DAG":
            uids += _dag(graph, uid, tasks, uid, end, inside)
        else:
            uids += _branch(graph, uid, tasks, uid, end, kind, value, None, inside)
    for name, kind in _SIDE:
        side = getattr(task, name, None) or []
        uids += _branch(graph, uid, side, uid, end, kind, None, kind, inside)
    graph.clusters.append({"cluster": {"uid": cluster, "type": CLUSTER, "relationType": relation},
                           "nodes": uids, "parents": list(parents), "start": start, "end": end})
    return start, end, uids


def _children(task: FlowableTask) -> list[tuple[str, list[Any], str, str | None]]:
    """(field, tasks, relation, branch value) of each branch of a flowable task, in its fields' order."""
    parallel = task.TYPE.endswith(("Parallel", "EachParallel"))
    found: list[tuple[str, list[Any], str, str | None]] = []
    for name, info in type(task).model_fields.items():
        if name in ("errors", "finally_"):
            continue
        value = getattr(task, name)
        alias = info.alias or name
        if isinstance(value, list) and value and all(isinstance(v, TaskSpec) for v in value):
            kind = CHOICE if alias in _CHOICES else PARALLEL if parallel else SEQUENTIAL
            found.append((alias, value, kind, alias if kind == CHOICE else None))
        elif isinstance(value, list) and value and all(isinstance(v, Spec) and isinstance(getattr(v, "task", None),
                                                                                        TaskSpec) for v in value):
            found.append((alias, value, "DAG", None))
        elif isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
            for key, tasks in value.items():
                if tasks and all(isinstance(t, TaskSpec) for t in tasks):
                    found.append((alias, tasks, CHOICE, str(key)))
    return found


def _dag(graph: _Graph, prefix: str, items: list[Any], start: str, end: str, parents: list[str]) -> list[str]:
    """A Dag's tasks: each follows the tasks it depends on (the start when none), and the ones nothing
    depends on lead to the end."""
    placed: dict[str, tuple[str, str]] = {}
    uids: list[str] = []
    for item in items:
        entry, exit_, inner = _place(graph, prefix, item.task, PARALLEL, None, parents)
        placed[item.task.id] = (entry, exit_)
        uids += inner
    needed = {dependency for item in items for dependency in item.depends_on}
    for item in items:
        entry, exit_ = placed[item.task.id]
        sources = [placed[d][1] for d in item.depends_on if d in placed] or [start]
        for source in sources:
            graph.edge(source, entry, PARALLEL)
        if item.task.id not in needed:
            graph.edge(exit_, end)
    return uids
