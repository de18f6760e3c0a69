"""What the executor's transition function takes in (events) and gives back (a decision and its effects).

Plain values: ``decide`` (:mod:`lanner.engine.core.decide`) turns an execution and events
into a :class:`Decision`; the executor and :mod:`lanner.engine.shell.effects` carry it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lanner.model.execution import Execution
from lanner.model.state import State
from lanner.tasks.executable import Child


# -- events ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Start:
    """A new execution (CREATED or QUEUED) may start."""


@dataclass(frozen=True)
class TaskResult:
    """A worker's result for one attempt of one task run."""

    task_run_id: str
    attempt: int
    state: State  # SUCCESS, WARNING, FAILED or KILLED
    outputs: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[dict[str, Any], ...] = ()
    labels: dict[str, str] | None = None
    message: str | None = None
    worker_id: str | None = None


@dataclass(frozen=True)
class Kill:
    """Stop the execution: running tasks are stopped, nothing new starts."""


@dataclass(frozen=True)
class Restart:
    """Run a FAILED or KILLED execution again from its failed task runs (same id)."""


@dataclass(frozen=True)
class Pause:
    """An operator pauses a RUNNING execution: its running tasks finish, nothing new starts until resumed."""


@dataclass(frozen=True)
class Unqueue:
    """An operator takes a QUEUED execution out of its flow's queue: it runs now (RUNNING, past the
    concurrency limit) or ends (CANCELLED or FAILED) without running."""

    state: State = State.RUNNING


@dataclass(frozen=True)
class MarkTaskRun:
    """An operator sets an ended task run's state (SUCCESS, WARNING, FAILED…) and the FAILED or KILLED
    execution goes on from there, as a restart does (Kestra's task run state change)."""

    task_run_id: str
    state: State


@dataclass(frozen=True)
class Tick:
    """A timer a flowable asked for (Pause's delay or timeout, WaitFor's interval) is due."""

    task_run_id: str


@dataclass(frozen=True)
class Resume:
    """Resume a PAUSED execution: its paused task runs (or only ``task_run_id``) go on, with ``inputs``."""

    inputs: dict[str, Any] = field(default_factory=dict)
    task_run_id: str | None = None


@dataclass(frozen=True)
class ChildEnded:
    """An execution started by a Subflow task run ended (or, with ``wait: false``, was created)."""

    task_run_id: str
    execution_id: str
    state: State
    outputs: dict[str, Any] = field(default_factory=dict)
    message: str | None = None  # why it could not even start


@dataclass(frozen=True)
class Resubmit:
    """The worker holding this attempt died or was stopped: run the task again on another worker.

    ``fail`` (strategy NEVER): fail the task run instead.  After ``max_resubmissions``
    resubmissions of one task run it fails too: a task that kills every worker it runs
    on must not take the whole cluster down.
    """

    task_run_id: str
    attempt: int
    reason: str
    fail: bool = False
    max_resubmissions: int = 3


Event = Start | TaskResult | Kill | Restart | Tick | Resume | ChildEnded | Resubmit | Pause | Unqueue | MarkTaskRun


# -- effects -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """Run one attempt of a runnable task on a worker."""

    execution_id: str
    task_run_id: str
    attempt: int
    task: dict[str, Any]  # the task's properties, unrendered, as written (camelCase)
    variables: dict[str, Any]  # what its expressions see
    timeout: float | None = None  # seconds
    delay: float = 0.0  # seconds before it may start (retries)


@dataclass(frozen=True)
class Note:
    """A log line the executor writes about an execution (or one of its task runs)."""

    level: str
    message: str
    task_run_id: str | None = None
    task_id: str | None = None
    attempt: int | None = None


@dataclass(frozen=True)
class Timer:
    """Send a :class:`Tick` for ``task_run_id`` to this execution in ``delay`` seconds."""

    task_run_id: str
    delay: float


@dataclass(frozen=True)
class Decision:
    execution: Execution
    jobs: tuple[Job, ...] = ()
    notes: tuple[Note, ...] = ()
    kills: tuple[str, ...] = ()  # task runs whose running attempt must be stopped
    ended: bool = False  # the execution is over in this decision: terminal, its afterExecution tasks ended
    timers: tuple[Timer, ...] = ()
    children: tuple[Child, ...] = ()
    child_kills: tuple[str, ...] = ()  # executions started by task runs of this one, to kill
