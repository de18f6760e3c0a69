"""What an operator's action on an execution does, as pure functions: who may take it, and its result.

The API's single and bulk actions (kill, pause, resume, restart, replay, force-run, unqueue,
labels, change-status) ask :func:`refusal` whether an execution can take the action (Kestra's
words, which the bulk routes list per refused id), and build their results here: a status
change, a new set of labels, a replay.  Nothing here reads or writes the database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from lanner.model.execution import Execution, TaskRun, new_id
from lanner.model.state import Cause, State, StateHistory

if TYPE_CHECKING:
    from datetime import datetime

SYSTEM_PREFIX = "system."
REPLAYED = "system.replayed"
CHANGED_BY_USER = "changed by user"
UNQUEUE_STATES = (State.RUNNING, State.CANCELLED, State.FAILED)  # what an unqueued execution may become


def _not_ended(execution: Execution) -> bool:
    return not execution.current.terminal


# action -> (refuses this execution, why): Kestra's reasons, as its bulk routes list them.
_RULES: Mapping[str, tuple[Callable[[Execution], bool], str]] = {
    "kill": (lambda e: e.current.terminal, "execution already finished"),
    "pause": (lambda e: e.current is not State.RUNNING, "execution not in state RUNNING"),
    "resume": (lambda e: e.current is not State.PAUSED, "execution not in state PAUSED"),
    "restart": (lambda e: e.current not in (State.FAILED, State.KILLED), "execution not in state FAILED or KILLED"),
    "unqueue": (lambda e: e.current is not State.QUEUED, "execution not in state QUEUED"),
    "force-run": (lambda e: e.current is not State.QUEUED, "execution not in state QUEUED"),
    "labels": (_not_ended, "execution is not terminated"),
    "change-status": (_not_ended, "execution not in a terminated state"),
    "replay": (_not_ended, "execution not terminated"),
    "delete": (_not_ended, "execution not terminated"),
}
ACTIONS = tuple(_RULES)


def refusal(action: str, execution: Execution) -> str | None:
    """Why ``execution`` cannot take ``action`` (a key of ACTIONS), or None when it can."""
    refuses, why = _RULES[action]
    return why if refuses(execution) else None


def held(execution: Execution) -> bool:
    """Paused by an operator (not by a Pause task): nothing new starts until it is resumed."""
    last = execution.state.histories[-1]
    return last.state is State.PAUSED and last.cause == Cause.PAUSED_BY_USER


def change_status(execution: Execution, status: State, now: datetime) -> Execution:
    """An ended execution marked ``status`` (an end state) by an operator; its task runs stay as they are."""
    if not status.terminal:
        raise ValueError(f"status {status}: an execution's status can only be changed to an end state "
                         f"({', '.join(s for s in State if s.terminal)})")
    if not execution.current.terminal:
        raise ValueError(f"execution {execution.id} is {execution.current}: only an ended execution's status "
                         "can be changed")
    return replace(execution, state=marked(execution.state, status, now))


def marked(history: StateHistory, state: State, now: datetime) -> StateHistory:
    """A task run's history set to ``state`` by an operator (whatever the transition table says)."""
    if state is history.current:
        return history
    return StateHistory(history.histories + (replace(history.histories[-1], state=state, date=now,
                                                     cause=CHANGED_BY_USER),))


def relabel(execution: Execution, labels: Iterable[tuple[str, str]], *, keep: bool = False) -> dict[str, str]:
    """The execution's labels once set to ``labels`` (``keep``: added to the ones it has).

    System labels (``system.*``) are Lanner's: the ones the execution has are kept, and a
    new one, or a new value of one, is refused (ValueError).  A label with an empty key
    and an empty value is dropped (what a form's blank row sends).
    """
    current = execution.labels
    system = {k: v for k, v in current.items() if k.startswith(SYSTEM_PREFIX)}
    wanted: dict[str, str] = dict(current) if keep else {}
    for key, value in labels:
        if "\x00" in key or "\x00" in value:
            raise ValueError(f"label {key!r}: a NUL character (\\0) cannot be stored; remove it")
        if key.startswith(SYSTEM_PREFIX) and system.get(key) != value:
            raise ValueError(f"label {key}={value}: system labels (system.*) are set by Lanner only; "
                             "remove it from the labels sent")
        if key or value:
            wanted[key] = value
    return {**wanted, **{k: v for k, v in system.items() if k not in wanted}}


def replay(source: Execution, now: datetime, *, task_run_id: str | None = None, revision: int | None = None,
           task_ids: Collection[str] | None = None, inputs: Mapping[str, object] | None = None,
           ids: Callable[[], str] = new_id) -> Execution:
    """A new CREATED execution replaying ``source``, linked to it (``originalId``).

    Without ``task_run_id`` it runs the flow again from its start with the same inputs
    (or ``inputs``).  With it, the task runs that ended before that one are copied (new
    ids); that task run, what it ran and what came after it are left out, so the execution
    runs them again; the flowables above it run again.  ``revision``: the flow revision to
    run (the source's by default), whose task ids are ``task_ids``: a copied task run of a
    task that revision lacks is refused (ValueError).
    """
    runs: tuple[TaskRun, ...] = ()
    if task_run_id is not None:
        runs = _replayed_runs(source, task_run_id, now, ids)
        missing = sorted({run.task_id for run in runs} - set(task_ids)) if task_ids is not None else []
        if missing:
            raise ValueError(f"revision {revision} of flow {source.namespace}.{source.flow_id} has no task "
                             f"{', '.join(missing)}: replay on a revision that has them")
    return Execution(id=ids(), namespace=source.namespace, flow_id=source.flow_id,
                     flow_revision=revision if revision is not None else source.flow_revision,
                     state=StateHistory.start(State.CREATED, now), tenant_id=source.tenant_id,
                     inputs=dict(inputs) if inputs is not None else dict(source.inputs),
                     labels={k: v for k, v in source.labels.items() if k != REPLAYED},
                     trigger=source.trigger, task_runs=runs, parent_id=source.parent_id,
                     original_id=source.original_id or source.id)


def _replayed_runs(source: Execution, task_run_id: str, now: datetime, ids: Callable[[], str]) -> tuple[TaskRun, ...]:
    by_id = {run.id: run for run in source.task_runs}
    target = by_id.get(task_run_id)
    if target is None:
        raise LookupError(f"execution {source.id} has no task run {task_run_id}")
    ancestors: list[str] = []
    parent = target.parent_task_run_id
    while parent is not None and parent in by_id:
        ancestors.append(parent)
        parent = by_id[parent].parent_task_run_id
    branch = {target.id, *ancestors}  # the target and each flowable above it
    order = {run.id: index for index, run in enumerate(source.task_runs)}
    dropped: set[str] = {target.id}
    for run in source.task_runs:  # siblings started after the branch, at each level
        owner = next((b for b in branch if by_id[b].parent_task_run_id == run.parent_task_run_id), None)
        if run.id not in branch and owner is not None and order[run.id] > order[owner]:
            dropped.add(run.id)
    changed = True
    while changed:  # and everything below a dropped run
        changed = False
        for run in source.task_runs:
            if run.id not in dropped and run.parent_task_run_id in dropped:
                dropped.add(run.id)
                changed = True
    renamed = {run.id: ids() for run in source.task_runs if run.id not in dropped}
    kept: list[TaskRun] = []
    for run in source.task_runs:
        if run.id in dropped:
            continue
        copy = replace(run, id=renamed[run.id], parent_task_run_id=renamed.get(run.parent_task_run_id or ""))
        if run.id in branch and run.current.terminal:
            copy = copy.to(State.RUNNING, now, Cause.RESTARTED)  # resolves again once the replayed run ends
        kept.append(copy)
    return tuple(kept)
