"""The payloads exchanged through the queue, and the topic names.

Every payload carries a ``v`` (format version): a component that receives a version
it does not know leaves the message for one that does, which is what lets two Lanner
versions run side by side during a rolling upgrade.
"""

from __future__ import annotations

from typing import Any

from lanner.engine.core.decide import (
    ChildEnded,
    Event,
    Job,
    Kill,
    MarkTaskRun,
    Pause,
    Restart,
    Resubmit,
    Resume,
    Start,
    TaskResult,
    Tick,
    Unqueue,
)
from lanner.model.state import State
from lanner.model.tenant import DEFAULT_TENANT

FORMAT = 1
EXECUTOR = "executor"
WORKER = "worker"
ENDED = "ended"  # signal only, no messages: some execution ended (what `wait` listens for)
ENDED_EXECUTIONS = "ended.executions"  # one message per ended execution, for flow triggers


def kill_topic(worker_id: str) -> str:
    return f"kill.{worker_id}"


def event_payload(execution_id: str, event: Event, tenant_id: str = DEFAULT_TENANT) -> dict[str, Any]:
    payload: dict[str, Any] = {"v": FORMAT, "executionId": execution_id, "tenantId": tenant_id}
    if isinstance(event, TaskResult):
        payload.update(type="result", taskRunId=event.task_run_id, attempt=event.attempt, state=str(event.state),
                       outputs=event.outputs, metrics=list(event.metrics), labels=event.labels,
                       message=event.message, workerId=event.worker_id)
    elif isinstance(event, Kill):
        payload["type"] = "kill"
    elif isinstance(event, Restart):
        payload["type"] = "restart"
    elif isinstance(event, Pause):
        payload["type"] = "pause"
    elif isinstance(event, MarkTaskRun):
        payload.update(type="mark", taskRunId=event.task_run_id, state=str(event.state))
    elif isinstance(event, Unqueue):
        payload.update(type="unqueue", state=str(event.state))
    elif isinstance(event, Tick):
        payload.update(type="tick", taskRunId=event.task_run_id)
    elif isinstance(event, Resume):
        payload.update(type="resume", taskRunId=event.task_run_id, inputs=event.inputs)
    elif isinstance(event, ChildEnded):
        payload.update(type="childEnded", taskRunId=event.task_run_id, childId=event.execution_id,
                       state=str(event.state), outputs=event.outputs, message=event.message)
    elif isinstance(event, Resubmit):
        payload.update(type="resubmit", taskRunId=event.task_run_id, attempt=event.attempt, reason=event.reason,
                       fail=event.fail, maxResubmissions=event.max_resubmissions)
    else:
        payload["type"] = "start"
    return payload


def event_of(payload: dict[str, Any]) -> Event:
    kind = payload["type"]
    if kind == "result":
        return TaskResult(payload["taskRunId"], int(payload["attempt"]), State(payload["state"]),
                          payload.get("outputs") or {}, tuple(payload.get("metrics") or ()), payload.get("labels"),
                          payload.get("message"), payload.get("workerId"))
    if kind == "kill":
        return Kill()
    if kind == "restart":
        return Restart()
    if kind == "pause":
        return Pause()
    if kind == "mark":
        return MarkTaskRun(payload["taskRunId"], State(payload["state"]))
    if kind == "unqueue":
        return Unqueue(State(payload.get("state") or State.RUNNING))
    if kind == "tick":
        return Tick(payload["taskRunId"])
    if kind == "resume":
        return Resume(payload.get("inputs") or {}, payload.get("taskRunId"))
    if kind == "childEnded":
        return ChildEnded(payload["taskRunId"], payload["childId"], State(payload["state"]),
                          payload.get("outputs") or {}, payload.get("message"))
    if kind == "resubmit":
        return Resubmit(payload["taskRunId"], int(payload["attempt"]), str(payload.get("reason") or "worker lost"),
                        bool(payload.get("fail")), int(payload.get("maxResubmissions", 3)))
    if kind == "start":
        return Start()
    raise ValueError(f"unknown event type {kind!r}")


def ended_payload(execution: Any) -> dict[str, Any]:
    """What flow triggers (and a schedule's ``stopAfter``) need to know of an execution that ended."""
    trigger = execution.trigger or {}
    return {"v": FORMAT, "executionId": execution.id, "tenantId": execution.tenant_id,
            "namespace": execution.namespace, "flowId": execution.flow_id, "flowRevision": execution.flow_revision,
            "state": str(execution.current), "outputs": execution.outputs, "labels": execution.labels,
            "triggerId": trigger.get("id"), "triggerType": trigger.get("type"),
            "endDate": end.isoformat() if (end := execution.state.end_date) is not None else None}


def job_payload(job: Job, tenant_id: str, namespace: str, flow_id: str) -> dict[str, Any]:
    payload = {"v": FORMAT, "executionId": job.execution_id, "taskRunId": job.task_run_id, "attempt": job.attempt,
               "task": job.task, "variables": job.variables, "timeout": job.timeout, "tenantId": tenant_id,
               "namespace": namespace, "flowId": flow_id}
    inputs = job.variables.get("inputs")
    if isinstance(inputs, dict) and len(inputs) > 1:
        # PostgreSQL's JSONB does not keep key order: the worker puts the inputs back in this one
        # (declared order).  A worker of an earlier version ignores the key.
        payload["inputsOrder"] = list(inputs)
    return payload


def job_of(payload: dict[str, Any]) -> Job:
    variables = payload["variables"]
    order, inputs = payload.get("inputsOrder"), variables.get("inputs")
    if order and isinstance(inputs, dict):
        variables = {**variables, "inputs": {**{key: inputs[key] for key in order if key in inputs}, **inputs}}
    return Job(payload["executionId"], payload["taskRunId"], int(payload["attempt"]), payload["task"],
               variables, payload.get("timeout"))
