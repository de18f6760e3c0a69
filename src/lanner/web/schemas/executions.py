"""Executions, task runs, attempts and states in the shapes of Kestra's API (``/api/v1/{tenant}/executions``).

Every field Kestra's open-source edition sends is declared, null (or false) where Lanner has no value:
``fixtures``, ``breakpoints``, ``loopRun`` (test and playground runs), ``traceParent`` (tracing),
``scheduleDate``, a task run's ``dynamic``, ``forceExecution``, ``assetEmits``, an attempt's
``logFile``.  Lanner sends a little more than Kestra where it knows more: a task run's ``metrics``,
an attempt's ``message``.

A state carries ``duration``, ``startDate`` and ``endDate`` as Kestra computes them (the duration runs
to the latest change, or to now while the state has had none; the end date is set once ended or
paused), and again as ``getDuration``, ``getStartDate`` and ``getEndDate``, which kestrapy's model
requires; while the state has not ended, ``getEndDate`` is the date of its latest change.

Encrypted values (SECRET inputs and outputs) are shown as ``******`` (:func:`lanner.encryption.masked`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from lanner.encryption import masked
from lanner.model import execution as model
from lanner.model.state import State as StateType
from lanner.model.state import StateHistory
from lanner.web.schemas.base import KestraModel, Label, labels

SUBFLOW_TYPE = "io.kestra.plugin.core.flow.Subflow"


class History(KestraModel):
    state: StateType
    date: datetime


class State(KestraModel):
    current: StateType
    histories: list[History]
    duration: str | None = Field(None, description="ISO 8601 duration, from the first change to the latest "
                                                   "(to now while there is only one)")
    start_date: datetime
    end_date: datetime | None = Field(None, description="Set once the state has ended or is paused")
    get_duration: str | None = Field(None, description="`duration` again (kestrapy reads this name)")
    get_start_date: datetime = Field(description="`startDate` again (kestrapy reads this name)")
    get_end_date: datetime = Field(description="`endDate` again, or the latest change's date while not ended "
                                               "(kestrapy requires a value)")


class TaskRunAttempt(KestraModel):
    state: State
    worker_id: str | None = None
    log_file: str | None = None
    message: str | None = Field(None, description="Why the attempt ended as it did, when known (Lanner)")


class TaskRun(KestraModel):
    id: str
    tenant_id: str
    execution_id: str
    namespace: str
    flow_id: str
    task_id: str
    parent_task_run_id: str | None = None
    value: str | None = None
    iteration: int | None = None
    attempts: list[TaskRunAttempt] | None = None
    outputs: dict[str, Any] | None = None
    metrics: list[dict[str, Any]] = Field(default_factory=list)
    state: State
    dynamic: bool | None = None
    force_execution: bool | None = None
    asset_emits: list[dict[str, Any]] | None = None


class ExecutionTrigger(KestraModel):
    id: str
    type: str
    variables: dict[str, Any] | None = None
    log_file: str | None = None


class ExecutionMetadata(KestraModel):
    attempt_number: int = Field(1, description="1, plus one per restart")
    original_created_date: datetime
    concurrency_scopes: list[str] | None = None
    execution_depth: int | None = None


class Execution(KestraModel):
    id: str
    namespace: str
    flow_id: str
    flow_revision: int
    tenant_id: str
    labels: list[Label] = Field(default_factory=list)
    task_run_list: list[TaskRun] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    variables: dict[str, Any] | None = None
    state: State
    parent_id: str | None = None
    original_id: str
    trigger: ExecutionTrigger | None = None
    deleted: bool = False
    metadata: ExecutionMetadata
    schedule_date: datetime | None = None
    trace_parent: str | None = None
    fixtures: list[dict[str, Any]] | None = None
    kind: str | None = Field(None, description="null for a normal execution (Kestra's TEST and PLAYGROUND "
                                               "runs do not exist in Lanner)")
    breakpoints: list[dict[str, Any]] | None = None
    loop_run: dict[str, Any] | None = None


# --- built from Lanner's values --------------------------------------------------------------------------
# Built with model_construct: the values are Lanner's own, already valid, and an execution of thousands of
# task runs is shaped on every read (validation would cost ten times the rest).

def state(history: StateHistory, now: datetime | None = None) -> State:
    """Kestra's state: the duration to the latest change (to ``now`` while there is one change)."""
    first, last = history.histories[0], history.histories[-1]
    span = (last.date if len(history.histories) > 1 else (now or datetime.now(UTC))) - first.date
    ended = history.current.terminal or history.current is StateType.PAUSED
    duration = iso_duration(span)
    return State.model_construct(
        current=history.current, histories=[History.model_construct(state=t.state, date=t.date)
                                            for t in history.histories],
        duration=duration, start_date=first.date, end_date=last.date if ended else None, get_duration=duration,
        get_start_date=first.date, get_end_date=last.date)


def attempt(value: model.Attempt) -> TaskRunAttempt:
    return TaskRunAttempt.model_construct(state=state(value.state), worker_id=value.worker_id, log_file=None,
                                          message=value.message)


def task_run(parent: model.Execution, run: model.TaskRun) -> TaskRun:
    return TaskRun.model_construct(
        id=run.id, tenant_id=parent.tenant_id, execution_id=parent.id, namespace=parent.namespace,
        flow_id=parent.flow_id, task_id=run.task_id, parent_task_run_id=run.parent_task_run_id, value=run.value,
        iteration=run.iteration, attempts=[attempt(a) for a in run.attempts], outputs=masked(run.outputs or {}),
        metrics=list(run.metrics), state=state(run.state), dynamic=None, force_execution=None, asset_emits=None)


def trigger(value: dict[str, Any] | None) -> ExecutionTrigger | None:
    """Kestra's ``{id, type, variables}``; a subflow's trigger (stored flat: executionId, namespace...) as
    Kestra shapes it, its variables naming the parent execution."""
    if not value:
        return None
    if isinstance(value.get("variables"), dict) or "id" in value:
        return ExecutionTrigger(id=str(value.get("id") or _short(value.get("type"))),
                                type=str(value.get("type") or ""), variables=masked(value.get("variables")))
    variables = {key: item for key, item in value.items() if key not in ("type", "id", "taskId", "wait")}
    return ExecutionTrigger(id=str(value.get("taskId") or _short(value.get("type"))),
                            type=str(value.get("type") or SUBFLOW_TYPE), variables=masked(variables))


def _short(kind: Any) -> str:
    return str(kind or "trigger").rsplit(".", 1)[-1].lower()


def execution(value: model.Execution) -> Execution:
    restarts = sum(1 for t in value.state.histories if t.state is StateType.RESTARTED)
    metadata = ExecutionMetadata.model_construct(attempt_number=1 + restarts,
                                                 original_created_date=value.state.start_date,
                                                 concurrency_scopes=None, execution_depth=None)
    return Execution.model_construct(
        id=value.id, namespace=value.namespace, flow_id=value.flow_id, flow_revision=value.flow_revision,
        tenant_id=value.tenant_id, labels=labels(value.labels),
        task_run_list=[task_run(value, run) for run in value.task_runs], inputs=masked(value.inputs or {}),
        outputs=masked(value.outputs or {}), variables=masked(value.variables) or None, state=state(value.state),
        parent_id=value.parent_id, original_id=value.original_id or value.id, trigger=trigger(value.trigger),
        deleted=False, metadata=metadata, schedule_date=None, trace_parent=None, fixtures=None, kind=None,
        breakpoints=None, loop_run=None)


def iso_duration(span: timedelta) -> str:
    """``PT1.5S``, ``PT1M30S``, ``PT0S``: as Java's ``Duration.toString()`` writes a span."""
    seconds = span.total_seconds()
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, rest = divmod(rest, 60)
    parts = ""
    if hours:
        parts += f"{int(hours)}H"
    if minutes:
        parts += f"{int(minutes)}M"
    if rest or not parts:
        text = f"{rest:.6f}".rstrip("0").rstrip(".")
        parts += f"{text}S"
    return f"{sign}PT{parts}"


class LastExecution(KestraModel):
    """A flow's latest execution (``POST /executions/latest``)."""

    id: str
    flow_id: str
    namespace: str
    start_date: datetime
    status: StateType


class EvalResult(KestraModel):
    """What an expression rendered to, or why it could not be."""

    result: str | None = None
    error: str | None = None
    stack_trace: str | None = None


class FileMetas(KestraModel):
    size: int


class FilePreview(KestraModel):
    """A file's first rows or characters (Kestra's FileRender)."""

    extension: str
    type: str = Field(description="TEXT, LIST (JSON lines, CSV, Ion), IMAGE or PDF")
    content: Any
    truncated: bool = False
    max_line: int = Field(description="The lines asked for (maxRows)")
