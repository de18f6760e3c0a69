"""Executions, task runs, flows and log lines in the JSON shapes of Kestra's API (camelCase).

An encrypted value (a SECRET input or output) is shown as ``******``.
"""

from __future__ import annotations

from typing import Any

from lanner.model.execution import Execution, TaskRun
from lanner.model.state import StateHistory
from lanner.store.flow_repository import FlowRevision
from lanner.store.log_lines import LogEntry
from lanner.timestamps import instant
from lanner.web.schemas import executions as schemas


def state(history: StateHistory) -> dict[str, Any]:
    return schemas.state(history).model_dump(mode="json")


def execution(value: Execution) -> dict[str, Any]:
    """The execution as :class:`lanner.web.schemas.executions.Execution` sends it."""
    return schemas.execution(value).model_dump(mode="json")


def task_run(parent: Execution, run: TaskRun) -> dict[str, Any]:
    return schemas.task_run(parent, run).model_dump(mode="json")


def flow(revision: FlowRevision, *, with_source: bool) -> dict[str, Any]:
    shaped: dict[str, Any] = {"id": revision.flow_id, "namespace": revision.namespace,
                              "revision": revision.revision, "deleted": revision.deleted}
    if with_source:
        shaped["source"] = revision.source
    return shaped


def log(entry: LogEntry) -> dict[str, Any]:
    return {"namespace": entry.namespace, "flowId": entry.flow_id, "executionId": entry.execution_id,
            "taskRunId": entry.task_run_id, "taskId": entry.task_id, "attemptNumber": entry.attempt,
            "triggerId": entry.trigger_id, "level": entry.level, "message": entry.message,
            "timestamp": instant(entry.timestamp)}

