"""Flows in Kestra's JSON shapes: Flow, FlowWithSource, FlowInterface, validation results, graphs.

A flow is answered from its stored revision: the definition parsed from its source when it was
saved, completed with what the revision itself knows (revision, deletion, date, tenant).  Labels,
written in YAML as a mapping or a list, are always sent as ``[{key, value}]``.  Fields Kestra's
open-source edition sends that Lanner has no use for (``draft``, ``workerSelector``, ``checks``...)
are sent as Kestra sends them when unset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from lanner.timestamps import utc_instant
from lanner.web.schemas.base import KestraModel, Label

if TYPE_CHECKING:
    from lanner.store.flow_repository import FlowRevision

Json = dict[str, Any]


class Flow(KestraModel):
    """A flow's definition (Kestra's ``Flow``), without its source."""

    id: str
    namespace: str
    revision: int | None = None
    updated: str | None = None
    description: str | None = None
    inputs: list[Json] | None = None
    outputs: list[Json] | None = None
    disabled: bool = False
    draft: bool = False
    labels: list[Label] | None = None
    variables: Json | None = None
    worker_selector: Json | None = None
    worker_group: Json | None = None
    deleted: bool = False
    finally_: list[Json] | None = Field(None, alias="finally")
    tasks: list[Json] = Field(default_factory=list)
    errors: list[Json] | None = None
    after_execution: list[Json] | None = None
    listeners: list[Json] | None = None
    triggers: list[Json] | None = None
    plugin_defaults: list[Json] | None = None
    policy_refs: list[str] | None = None
    concurrency: Json | None = None
    retry: Json | None = None
    sla: list[Json] | None = None
    checks: list[Json] | None = None
    quotas: list[Json] | None = None
    tenant_id: str | None = None


class FlowWithSource(Flow):
    """A flow's definition with its YAML source as written (Kestra's ``FlowWithSource``)."""

    source: str | None = None


class FlowInterface(KestraModel):
    """What the bulk routes answer per flow (Kestra's ``FlowInterface``)."""

    id: str
    namespace: str
    revision: int | None = None
    tenant_id: str | None = None
    deleted: bool = False
    description: str | None = None
    disabled: bool = False
    draft: bool = False
    labels: list[Label] | None = None
    inputs: list[Json] | None = None
    outputs: list[Json] | None = None
    concurrency: Json | None = None
    sla: list[Json] | None = None
    source: str | None = None


class ValidateConstraintViolation(KestraModel):
    """One validated flow, task or trigger: ``constraints`` is null when it is valid.

    ``problems`` is Lanner's: every problem with its path, line and column."""

    index: int | None = None
    filename: str | None = None
    namespace: str | None = None
    flow: str | None = None
    constraints: str | None = None
    outdated: bool = False
    deprecation_paths: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    infos: list[str] = Field(default_factory=list)
    problems: list[Json] = Field(default_factory=list)


class NamespaceDeployed(KestraModel):
    """``POST /flows/{namespace}`` with Lanner's ``?states=true``: what happened to each flow."""

    namespace: str
    id: str
    revision: int | None
    state: str


# -- graphs (Kestra's FlowGraph, the topology of FlowTopologyGraph) ---------------------------------

class Relation(KestraModel):
    relation_type: str | None = None
    value: str | None = None


class GraphEdge(KestraModel):
    source: str
    target: str
    relation: Relation = Field(default_factory=Relation)


class GraphNode(KestraModel):
    """A node: ``type`` is Kestra's class name (GraphTask, GraphTrigger, GraphClusterRoot...)."""

    uid: str
    type: str
    branch_type: str | None = None
    task: Json | None = None
    trigger_: Json | None = Field(None, alias="trigger")
    relation_type: str | None = None
    task_run: Json | None = None
    execution_id: str | None = None


class GraphCluster(KestraModel):
    cluster: GraphNode
    nodes: list[str]
    parents: list[str]
    start: str
    end: str


class FlowGraph(KestraModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    clusters: list[GraphCluster]
    flowables: list[str] = Field(default_factory=list)


class FlowNode(KestraModel):
    uid: str
    namespace: str
    id: str


class TopologyEdge(KestraModel):
    source: str
    target: str
    relation: str


class FlowTopologyGraph(KestraModel):
    nodes: list[FlowNode]
    edges: list[TopologyEdge]


class SourceMatch(KestraModel):
    line: int
    column: int
    snippet: str


class SourceSearchResult(KestraModel):
    namespace: str
    id: str
    editable: bool = True
    matches: list[SourceMatch]


# -- building answers from stored revisions -----------------------------------------------------

_LISTS = ("inputs", "outputs", "tasks", "errors", "finally", "afterExecution", "listeners", "triggers",
          "pluginDefaults", "sla", "checks", "quotas")
_MAPS = ("variables", "concurrency", "retry", "workerSelector", "workerGroup")


def labels_of(raw: Any) -> list[Label]:
    """Labels written as a mapping or as ``[{key, value}]``, as Kestra sends them."""
    if isinstance(raw, dict):
        return [Label(key=str(k), value=_text(v)) for k, v in raw.items()]
    if isinstance(raw, list):
        return [Label(key=str(item.get("key")), value=_text(item.get("value"))) for item in raw
                if isinstance(item, dict) and "key" in item]
    return []


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _fields(revision: FlowRevision) -> dict[str, Any]:
    data = revision.parsed()
    fields: dict[str, Any] = {
        "id": revision.flow_id, "namespace": revision.namespace, "revision": revision.revision,
        "updated": utc_instant(revision.created_at),
        "deleted": revision.deleted, "tenantId": revision.tenant_id,
        "disabled": data.get("disabled") is True,
        "description": data["description"] if isinstance(data.get("description"), str) else None,
        "labels": labels_of(data.get("labels")),
    }
    for key in _LISTS:
        value = data.get(key)
        fields[key] = [item for item in value if isinstance(item, dict)] if isinstance(value, list) else None
    if fields["pluginDefaults"] is None and isinstance(data.get("taskDefaults"), list):
        fields["pluginDefaults"] = [item for item in data["taskDefaults"] if isinstance(item, dict)]
    for key in _MAPS:
        fields[key] = data.get(key) if isinstance(data.get(key), dict) else None
    if fields["concurrency"] is not None:  # Kestra sends the default behavior
        fields["concurrency"] = {"behavior": "QUEUE", **fields["concurrency"]}
    if fields["sla"] is not None:
        fields["sla"] = [{"behavior": "FAIL", **item} for item in fields["sla"]]
    if fields["tasks"] is None:
        fields["tasks"] = []
    return fields


def flow(revision: FlowRevision) -> Flow:
    return Flow.model_validate(_fields(revision))


def flow_with_source(revision: FlowRevision) -> FlowWithSource:
    return FlowWithSource.model_validate({**_fields(revision), "source": revision.source})


def interface(revision: FlowRevision) -> FlowInterface:
    fields = _fields(revision)
    return FlowInterface.model_validate({key: fields.get(key) for key in (
        "id", "namespace", "revision", "tenantId", "deleted", "description", "disabled", "labels", "inputs",
        "outputs", "concurrency", "sla")} | {"source": revision.source})
