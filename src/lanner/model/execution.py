"""Executions and task runs as frozen values: the engine's input and output.

Every change makes a new value (``dataclasses.replace``); nothing is mutated, so the
executor's decision function can be tested by comparing values.  Task runs are kept in
creation order; a task run is identified by its own id, and addressed in a flow by
(task id, loop value, parent task run id).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from lanner.model.state import (
    ATTEMPT_TRANSITIONS,
    EXECUTION_TRANSITIONS,
    TASK_RUN_TRANSITIONS,
    State,
    StateHistory,
)
from lanner.model.tenant import DEFAULT_TENANT

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_id() -> str:
    """A 22-character random base-62 id, like Kestra's short UUIDs."""
    number = secrets.randbits(128)
    chars = []
    for _ in range(22):
        number, index = divmod(number, 62)
        chars.append(_ALPHABET[index])
    return "".join(chars)


@dataclass(frozen=True, slots=True)
class Attempt:
    state: StateHistory
    # Which worker ran it, when one did: resubmission and fencing need to know.
    worker_id: str | None = None
    message: str | None = None

    def to(self, state: State, now: datetime, cause: str | None = None) -> Attempt:
        """This attempt in ``state`` (see lanner.model.state.ATTEMPT_TRANSITIONS)."""
        return replace(self, state=self.state.to(state, now, cause, table=ATTEMPT_TRANSITIONS, what="an attempt"))


@dataclass(frozen=True, slots=True)
class TaskRun:
    id: str
    task_id: str
    state: StateHistory
    parent_task_run_id: str | None = None
    value: str | None = None  # the loop value, for iterations of ForEach and friends
    iteration: int | None = None
    attempts: tuple[Attempt, ...] = ()
    outputs: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[dict[str, Any], ...] = ()

    @property
    def current(self) -> State:
        return self.state.current

    @property
    def attempt_number(self) -> int:
        """The number of the current attempt, counted from 1 (0: none started yet)."""
        return len(self.attempts)

    def to(self, state: State, now: datetime, cause: str | None = None) -> TaskRun:
        """This task run in ``state`` for ``cause`` (see lanner.model.state.TASK_RUN_TRANSITIONS)."""
        what = f"task run {self.id} ({self.task_id})"
        return replace(self, state=self.state.to(state, now, cause, table=TASK_RUN_TRANSITIONS, what=what))


@dataclass(frozen=True, slots=True)
class Execution:
    id: str
    namespace: str
    flow_id: str
    flow_revision: int
    state: StateHistory
    tenant_id: str = DEFAULT_TENANT
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    trigger: dict[str, Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    task_runs: tuple[TaskRun, ...] = ()
    parent_id: str | None = None
    original_id: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def current(self) -> State:
        return self.state.current

    def to(self, state: State, now: datetime, cause: str | None = None) -> Execution:
        """This execution in ``state`` for ``cause`` (see lanner.model.state.EXECUTION_TRANSITIONS)."""
        what = f"execution {self.id}"
        return replace(self, state=self.state.to(state, now, cause, table=EXECUTION_TRANSITIONS, what=what))

    def task_run(self, task_run_id: str) -> TaskRun:
        for run in self.task_runs:
            if run.id == task_run_id:
                return run
        raise KeyError(task_run_id)

    def children(self, parent_id: str | None) -> tuple[TaskRun, ...]:
        return tuple(run for run in self.task_runs if run.parent_task_run_id == parent_id)

    def with_task_run(self, updated: TaskRun) -> Execution:
        """This execution with ``updated`` replacing the task run of the same id, or appended."""
        runs = list(self.task_runs)
        for index, run in enumerate(runs):
            if run.id == updated.id:
                runs[index] = updated
                return replace(self, task_runs=tuple(runs))
        runs.append(updated)
        return replace(self, task_runs=tuple(runs))
