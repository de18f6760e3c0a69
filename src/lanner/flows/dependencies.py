"""Which flows depend on which (Kestra's flow topology): pure, over validated flows.

Two relations, as Kestra draws them:

- ``FLOW_TASK``: a flow starts another with a Subflow (or ForEachItem) task; the edge goes from the
  parent to the child;
- ``FLOW_TRIGGER``: a flow's Flow trigger waits for another flow (``preconditions.flows``, or an
  ``ExecutionFlow`` condition); the edge goes from the upstream flow to the flow it triggers.  A
  precondition naming only a namespace links every flow of that namespace.

A namespace or flow id written as an expression (``{{ ... }}``) is only known when the task runs:
it draws no edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lanner.model.flow import Flow
from lanner.model.spec import Spec
from lanner.tasks.executable import ExecutableTask

FLOW_TASK, FLOW_TRIGGER = "FLOW_TASK", "FLOW_TRIGGER"
Key = tuple[str, str]  # (namespace, flow id)


@dataclass(frozen=True)
class Edge:
    source: Key
    target: Key
    relation: str


def edges(flows: Sequence[Flow]) -> list[Edge]:
    """Every dependency between ``flows`` (flows outside the list are left out), without duplicates."""
    known = {(f.namespace, f.id) for f in flows}
    found: dict[tuple[Key, Key, str], Edge] = {}
    for flow in flows:
        me = (flow.namespace, flow.id)
        for child in _subflows(flow):
            if child in known:
                found.setdefault((me, child, FLOW_TASK), Edge(me, child, FLOW_TASK))
        for namespace, flow_id in _upstreams(flow):
            matching = [k for k in known if k[0] == namespace and (flow_id is None or k[1] == flow_id)]
            for upstream in matching:
                if upstream != me:
                    found.setdefault((upstream, me, FLOW_TRIGGER), Edge(upstream, me, FLOW_TRIGGER))
    return list(found.values())


def around(all_edges: Iterable[Edge], start: Iterable[Key], *, destination_only: bool, expand: bool) -> list[Edge]:
    """The edges touching ``start``: those leading to it only with ``destination_only``, else both ways;
    with ``expand``, followed on from each flow reached."""
    pending, seen, kept = list(start), set(start), []
    edge_list = list(all_edges)
    while pending:
        key = pending.pop()
        for edge in edge_list:
            touches = edge.target == key or (not destination_only and edge.source == key)
            if not touches or edge in kept:
                continue
            kept.append(edge)
            other = edge.source if edge.target == key else edge.target
            if expand and other not in seen:
                seen.add(other)
                pending.append(other)
    return kept


def _literal(value: Any) -> str | None:
    return value if isinstance(value, str) and value and "{{" not in value and "{%" not in value else None


def _subflows(flow: Flow) -> Iterator[Key]:
    for task in flow.all_tasks():
        if isinstance(task, ExecutableTask):
            namespace, flow_id = _literal(getattr(task, "namespace", None)), _literal(getattr(task, "flow_id", None))
            if namespace and flow_id:
                yield namespace, flow_id


def _upstreams(flow: Flow) -> Iterator[tuple[str, str | None]]:
    for trigger in flow.triggers:
        if trigger.TYPE.rsplit(".", 1)[-1] == "Flow":
            yield from _named_flows(trigger)


def _named_flows(value: Any, depth: int = 0) -> Iterator[tuple[str, str | None]]:
    """(namespace, flow id or None) of every part of a trigger that names a flow (preconditions, conditions)."""
    if depth > 8:
        return
    if isinstance(value, Spec):
        fields = type(value).model_fields
        namespace = _literal(getattr(value, "namespace", None)) if "namespace" in fields else None
        if namespace and "flow_id" in fields and depth > 0:
            yield namespace, _literal(getattr(value, "flow_id", None))
        for name in fields:
            yield from _named_flows(getattr(value, name), depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _named_flows(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _named_flows(item, depth + 1)
