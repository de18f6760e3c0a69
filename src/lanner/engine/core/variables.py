"""The variables a task's expressions see: Kestra's ``flow``, ``execution``, ``outputs``...

Built from the execution as it is when the task runs:

* ``flow``: id, namespace, revision, tenantId; ``execution``: id, startDate, originalId, state;
* ``inputs``, ``vars`` (the flow's ``variables``), ``labels``, ``trigger``, ``envs``;
* ``outputs``: the outputs of every task run that ended well, by task id; a task run
  inside loops is filed under its loop values, outermost first
  (``outputs['task-id'][value].value``);
* ``task``: id and type; ``taskrun``: id, startDate, attemptsCount, value, parentId;
* ``parent`` and ``parents``: the enclosing task runs, nearest first, each with its
  ``taskrun`` (``parent.taskrun.value`` inside a loop) and ``outputs``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from lanner.expr import envs as env_variables
from lanner.expr import render_value
from lanner.expr.errors import mask
from lanner.model.execution import Execution, TaskRun
from lanner.model.flow import Flow
from lanner.model.inputs import in_declared_order
from lanner.model.state import State
from lanner.model.task import TaskSpec
from lanner.timestamps import instant

_ENDED_WELL = (State.SUCCESS, State.WARNING)


def flow_variables(flow: Flow, execution: Execution, environ: Mapping[str, str], *,
                   outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """What every expression of this execution sees (``outputs``: given, or those of every task run).

    ``envs`` comes from ``environ``, which the caller gives (the process's, or a decision's surroundings).
    """
    return {
        "flow": {"id": flow.id, "namespace": flow.namespace, "revision": execution.flow_revision,
                 "tenantId": execution.tenant_id},
        "execution": {"id": execution.id, "startDate": instant(execution.state.start_date),
                      "originalId": execution.original_id or execution.id, "state": str(execution.current)},
        "inputs": in_declared_order(execution.inputs, flow.inputs),
        "vars": flow.variables,
        "labels": execution.labels,
        "trigger": trigger_variables(execution.trigger),
        "envs": env_variables(environ),
        "outputs": outputs_of(execution) if outputs is None else outputs,
    }


def rendered_labels(labels: Mapping[str, Any] | None, variables: Mapping[str, Any]) -> dict[str, str]:
    """A trigger's labels with their values rendered (``day: "{{ trigger.date }}"``), as Kestra renders them.

    A secret a label reveals (``secret()``) is masked: labels are shown everywhere.
    """
    revealed: set[str] = set()
    rendered = render_value(dict(labels or {}), dict(variables), None, revealed)
    return {str(key): mask(str(value), revealed) for key, value in rendered.items()}


def trigger_variables(trigger: Mapping[str, Any] | None) -> dict[str, Any]:
    """``trigger.*``: a trigger's ``variables`` (Kestra's shape: ``{id, type, variables}``), or the flat record."""
    if not trigger:
        return {}
    if isinstance(trigger.get("variables"), Mapping):
        return {**trigger["variables"], "id": trigger.get("id"), "type": trigger.get("type")}
    return dict(trigger)


def outputs_of(execution: Execution) -> dict[str, Any]:
    return collect_outputs(execution.task_runs, {run.id: run for run in execution.task_runs})


def collect_outputs(runs: Iterable[TaskRun], by_id: Mapping[str, TaskRun],
                    outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``outputs`` variable made of ``runs`` (in creation order), added to ``outputs`` when given."""
    outputs = {} if outputs is None else outputs
    for run in runs:
        # A running flowable's own outputs count too (WaitFor's iterationCount, read by its tasks).
        if (run.current not in _ENDED_WELL and run.current is not State.RUNNING) or not run.outputs:
            continue
        values = loop_values(run, by_id)
        if not values:
            outputs[run.task_id] = run.outputs
            continue
        target = outputs.setdefault(run.task_id, {})
        for value in values[:-1]:
            target = target.setdefault(value, {})
        target[values[-1]] = run.outputs
    return outputs


# Whole-`outputs` uses: piped (`outputs | keys`), printed, or indexed by a computed key, or
# templates rendered from data (`render(...)`): the task then gets every output.
_ALL_OUTPUTS = re.compile(r"outputs\s*(?:\||\)|\}|,|\[\s*[^'\"\s])|render(?:Once)?\s*\(")


def referenced_task_ids(task_ids: Iterable[str], text: str) -> list[str] | None:
    """The task ids whose outputs ``text`` may read; None: all of them (see :func:`referenced_outputs`)."""
    if _ALL_OUTPUTS.search(text):
        return None
    if "outputs" not in text:
        return []
    return [task_id for task_id in task_ids if task_id in text]


def referenced_outputs(outputs: Mapping[str, Any], task_text: str) -> dict[str, Any]:
    """The outputs a task can reach: those whose task id its properties mention.

    A job carries the outputs its task may read, not the whole execution's: without
    this, each task of a 1,000-iteration ForEach would carry 1,000 outputs.
    """
    wanted = referenced_task_ids(outputs, task_text)
    return dict(outputs) if wanted is None else {task_id: outputs[task_id] for task_id in wanted}


def loop_values(run: TaskRun, by_id: Mapping[str, TaskRun]) -> list[str]:
    """The loop values a task run is under, outermost first (its own value last)."""
    values: list[str] = []
    current: TaskRun | None = run
    while current is not None:
        if current.value is not None:
            values.append(current.value)
        current = by_id.get(current.parent_task_run_id) if current.parent_task_run_id else None
    return list(reversed(values))


def task_variables(base: Mapping[str, Any], execution: Execution, task: TaskSpec, run: TaskRun | None,
                   by_id: Mapping[str, TaskRun]) -> dict[str, Any]:
    """``base`` (from :func:`flow_variables`) plus ``task``, ``taskrun``, ``parent`` and ``parents``."""
    variables = dict(base)
    variables["task"] = {"id": task.id, "type": task.type}
    if run is None:
        return variables
    variables["taskrun"] = _taskrun(run)
    parents = []
    parent = by_id.get(run.parent_task_run_id) if run.parent_task_run_id else None
    while parent is not None:
        parents.append({"taskrun": _taskrun(parent), "outputs": parent.outputs})
        parent = by_id.get(parent.parent_task_run_id) if parent.parent_task_run_id else None
    if parents:
        variables["parent"] = parents[0]
        variables["parents"] = parents
    return variables


def _taskrun(run: TaskRun) -> dict[str, Any]:
    return {"id": run.id, "startDate": instant(run.state.start_date), "attemptsCount": run.attempt_number,
            "value": run.value, "parentId": run.parent_task_run_id, "iteration": run.iteration}
