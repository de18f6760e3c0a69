"""Executions, task runs, flows and log lines in the JSON shapes of Kestra's API (camelCase).

An encrypted value (a SECRET input or output) is shown as ``******``.
"""

from __future__ import annotations

import json
from typing import Any

from lanner.model.execution import Execution, TaskRun
from lanner.model.state import StateHistory
from lanner.store.flow_repository import FlowRevision
from lanner.store.log_lines import LogEntry
from lanner.web.schemas import executions as schemas
from lanner.web.schemas.logs import log_entry


def state(history: StateHistory) -> dict[str, Any]:
    return schemas.state(history).model_dump(mode="json")


def execution(value: Execution) -> dict[str, Any]:
    """The execution as :class:`lanner.web.schemas.executions.Execution` sends it."""
    return schemas.execution(value).model_dump(mode="json")


def task_run(parent: Execution, run: TaskRun) -> dict[str, Any]:
    return schemas.task_run(parent, run).model_dump(mode="json")


def flow(revision: FlowRevision, *, with_source: bool) -> dict[str, Any]:
    """What Kestra adds to a flow's definition (which a route sends with it): labels as a list of
    ``{key, value}`` whichever way the source wrote them, as Kestra serialises them."""
    parsed = revision.parsed()
    shaped: dict[str, Any] = {"id": revision.flow_id, "namespace": revision.namespace,
                              "revision": revision.revision, "deleted": revision.deleted,
                              "disabled": parsed.get("disabled") is True, "draft": False}
    if isinstance(labels := parsed.get("labels"), dict):
        shaped["labels"] = [{"key": str(k), "value": v if isinstance(v, str) else json.dumps(v)}
                            for k, v in labels.items()]
    if with_source:
        shaped["source"] = revision.source
    return shaped


def log(entry: LogEntry) -> dict[str, Any]:
    """Kestra's ``LogEntry`` (:class:`lanner.web.schemas.logs.LogEntry`) as JSON."""
    return log_entry(entry).model_dump(mode="json")

