"""A flow as someone who runs it needs it (Kestra's FlowForExecution): its inputs, outputs and the tree of its
task and trigger ids and types, without the tasks' properties.

Built from a revision's source as written (``inputs`` as declared, a flow's ``labels`` as a map).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field

from lanner.store.flow_repository import FlowRevision
from lanner.timestamps import as_utc
from lanner.web.schemas.base import KestraModel

# Where a flowable task keeps its children (Kestra's flowable tasks: Sequential, If, Switch, Parallel...).
_CHILDREN = ("tasks", "then", "else", "errors", "finally", "defaults")


class TaskForExecution(KestraModel):
    id: str
    type: str
    version: str | None = None
    tasks: list[TaskForExecution] | None = None
    inputs: list[dict[str, Any]] | None = None
    subflow_id: dict[str, Any] | None = None


class TriggerForExecution(KestraModel):
    id: str
    type: str
    version: str | None = None


class FlowForExecution(KestraModel):
    id: str
    namespace: str
    revision: int
    updated: datetime | None = None
    description: str | None = None
    inputs: list[dict[str, Any]] | None = None
    outputs: list[dict[str, Any]] | None = None
    disabled: bool = False
    draft: bool = False
    labels: dict[str, str] | None = None
    variables: dict[str, Any] | None = None
    worker_selector: dict[str, Any] | None = None
    deleted: bool = False
    tasks: list[TaskForExecution] = Field(default_factory=list)
    errors: list[TaskForExecution] | None = None
    finally_: list[TaskForExecution] | None = Field(None, alias="finally")
    after_execution: list[TaskForExecution] | None = None
    triggers: list[TriggerForExecution] | None = None


def of(revision: FlowRevision) -> FlowForExecution:
    source = revision.parsed()
    return FlowForExecution(
        id=revision.flow_id, namespace=revision.namespace, revision=revision.revision,
        updated=as_utc(revision.created_at) if revision.created_at else None,
        description=_text(source.get("description")), inputs=_inputs(source.get("inputs")),
        outputs=_dicts(source.get("outputs")), disabled=bool(source.get("disabled", False)),
        labels=_labels(source.get("labels")), variables=_mapping(source.get("variables")),
        deleted=revision.deleted, tasks=_tasks(source.get("tasks")) or [], errors=_tasks(source.get("errors")),
        finally_=_tasks(source.get("finally")), after_execution=_tasks(source.get("afterExecution")),
        triggers=[TriggerForExecution(id=str(t["id"]), type=str(t["type"]), version=_text(t.get("version")))
                  for t in _dicts(source.get("triggers")) or [] if t.get("id") and t.get("type")] or None,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _mapping(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, Mapping) else None


def _dicts(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    return [dict(item) for item in value if isinstance(item, Mapping)]


def _inputs(value: Any) -> list[dict[str, Any]] | None:
    found = _dicts(value)
    for item in found or ():
        if isinstance(item.get("type"), str):
            item["type"] = item["type"].upper()
        if "name" in item and "id" not in item:  # Kestra's name before id
            item["id"] = item.pop("name")
        if "defaults" in item:
            item["defaults"] = property_value(item["defaults"])
    return found


def property_value(value: Any) -> Any:
    """A property as Kestra sends one: an object as it is, anything else as its text (``1``, ``true``, ``[1, 2]``)."""
    if value is None or isinstance(value, (str, dict)):
        return value
    return json.dumps(value, default=str)


def _labels(value: Any) -> dict[str, str] | None:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {str(item.get("key")): str(item.get("value")) for item in value if isinstance(item, Mapping)}
    return None


def _tasks(value: Any) -> list[TaskForExecution] | None:
    if not isinstance(value, list):
        return None
    return [_task(item) for item in value if isinstance(item, Mapping) and item.get("id") and item.get("type")]


def _task(task: Mapping[str, Any]) -> TaskForExecution:
    children: list[TaskForExecution] = []
    for key in _CHILDREN:
        children += _tasks(task.get(key)) or []
    cases = task.get("cases")
    if isinstance(cases, Mapping):
        for branch in cases.values():
            children += _tasks(branch) or []
    branches = task.get("branches")
    if isinstance(branches, list):
        for branch in branches:
            if isinstance(branch, Mapping):
                children += _tasks(branch.get("tasks")) or []
    kind = str(task["type"])
    subflow = None
    if kind.endswith(".Subflow") and task.get("namespace") and task.get("flowId"):
        subflow = {"namespace": str(task["namespace"]), "flowId": str(task["flowId"])}
    return TaskForExecution(id=str(task["id"]), type=kind, version=_text(task.get("version")),
                            tasks=children or None, subflow_id=subflow)
