"""Executions, task runs, flows and log lines in the JSON shapes of Kestra's API (camelCase).

An encrypted value (a SECRET input or output) is shown as ``******``.
"""

from __future__ import annotations

import json
from typing import Any

from lanner.encryption import masked
from lanner.model.execution import Attempt, Execution, TaskRun
from lanner.model.state import StateHistory
from lanner.store.flow_repository import FlowRevision
from lanner.store.log_lines import LogEntry
from lanner.timestamps import instant
from lanner.web.schemas.logs import log_entry


def state(history: StateHistory) -> dict[str, Any]:
    start, end = history.start_date, history.end_date
    duration = None if end is None else _iso_duration((end - start).total_seconds())
    return {"current": str(history.current), "histories": [{"state": str(t.state), "date": instant(t.date)}
                                                           for t in history.histories],
            "startDate": instant(start), "endDate": instant(end), "duration": duration}


def execution(value: Execution) -> dict[str, Any]:
    return {
        "id": value.id, "namespace": value.namespace, "flowId": value.flow_id, "flowRevision": value.flow_revision,
        "tenantId": value.tenant_id, "state": state(value.state), "inputs": masked(value.inputs or {}),
        "outputs": masked(value.outputs or {}), "labels": [{"key": k, "value": v} for k, v in value.labels.items()],
        "trigger": value.trigger, "parentId": value.parent_id, "originalId": value.original_id or value.id,
        "taskRunList": [task_run(value, run) for run in value.task_runs], "deleted": False,
        # Kestra's ExecutionMetadata: the attempt grows with each restart.
        "metadata": {"attemptNumber": 1 + sum(h.state == "RESTARTED" for h in value.state.histories),
                     "originalCreatedDate": instant(value.state.start_date)},
    }


def task_run(parent: Execution, run: TaskRun) -> dict[str, Any]:
    return {
        "id": run.id, "executionId": parent.id, "namespace": parent.namespace, "flowId": parent.flow_id,
        "taskId": run.task_id, "parentTaskRunId": run.parent_task_run_id, "value": run.value,
        "iteration": run.iteration, "attempts": [attempt(a) for a in run.attempts],
        "outputs": masked(run.outputs or {}), "state": state(run.state),
    }


def attempt(value: Attempt) -> dict[str, Any]:
    shaped: dict[str, Any] = {"state": state(value.state)}
    if value.worker_id:
        shaped["workerId"] = value.worker_id
    if value.message:
        shaped["message"] = value.message
    return shaped


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


def _iso_duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S".replace(".000S", "S")
