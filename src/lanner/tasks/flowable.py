"""Flowable tasks: how they steer an execution, and the helpers they share.

A flowable type subclasses :class:`FlowableTask` (Kestra's ``FlowableTask``).  The
executor never names a flowable type.  For a running flowable task run it asks
the task two questions through :class:`Scope`, each answered from the task runs that
exist (no hidden cursor, so a restart or a resubmission needs no special path):

* ``next_runs(scope)``: which child task runs to create now;
* ``resolve_state(scope)``: the parent's final state once it is done, else None; or a
  non-final state to move to: PAUSED (the execution pauses with it), or RUNNING again.

``sequential_*`` and ``parallel_*`` implement the two shapes most flowables are made
of, with Kestra's ``errors`` and ``finally`` branches: when a child fails, the
``errors`` tasks run, then ``finally`` always runs; the parent ends FAILED when a child
failed even if ``errors`` succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import Field

from lanner.model.execution import TaskRun
from lanner.model.inputs import Input
from lanner.model.state import State
from lanner.model.task import TaskSpec

# A decision creates at most this many task runs; a flowable that wants more gets them in the
# decisions that follow (each a transaction of bounded size, with other executions' in between).
NEW_RUNS_PER_DECISION = 1000
# A loop without a concurrency limit (ForEach's concurrencyLimit 0, EachParallel's concurrent 0)
# keeps at most this many iterations in progress: jobs are queued first in, first out, so a loop
# of 100,000 values would otherwise queue 100,000 jobs ahead of every other execution's.
LOOP_WINDOW = 100


@dataclass(frozen=True)
class NewRun:
    """A child task run to create: which task, for which loop value."""

    task: TaskSpec
    value: str | None = None
    iteration: int | None = None


class Scope(Protocol):
    """What a flowable task sees of the execution: its own task run and its children."""

    @property
    def run(self) -> TaskRun | None:
        """The flowable's own task run (None for the flow's top level)."""

    def children(self, tasks: Sequence[TaskSpec], value: str | None = None,
                 iteration: int | None = None) -> list[TaskRun]:
        """The task runs of ``tasks`` under this run, in creation order; only one loop iteration's when given."""

    def render(self, value: Any) -> Any:
        """``value`` with its expressions rendered in this run's context."""

    def set_outputs(self, outputs: dict[str, Any]) -> None:
        """Record outputs of the flowable's own task run (Switch's ``value``...)."""

    def log(self, level: str, message: str) -> None:
        """A log line on the flowable's own task run (why a branch was taken, why it failed)."""

    @property
    def now(self) -> datetime:
        """The decision's time (the executor's clock)."""

    def wake_in(self, seconds: float) -> None:
        """Decide again in ``seconds`` even if nothing happens meanwhile (Pause's delay, WaitFor's interval)."""

    def iterations(self) -> Any:
        """This run's loop iterations, tallied by state (lanner.model.run_index.LoopTally)."""

    def remember(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once for this run, kept from one decision to the next (a loop's rendered values)."""


def own_run(scope: Scope) -> TaskRun:
    """The flowable's own task run: only the flow's top level has none, and it is not a task."""
    run = scope.run
    if run is None:
        raise RuntimeError("a flowable task's scope has no task run")
    return run


class FlowableTask(TaskSpec):
    """A task the executor resolves itself: it decides which child task runs come next, and how it ends.

    Kestra's ``errors`` and ``finally`` branches are every flowable's.  The defaults fail a
    type that declares its properties but whose behaviour Lanner lacks.
    """

    errors: list[TaskSpec] = []
    finally_: list[TaskSpec] = Field([], alias="finally")

    def next_runs(self, scope: Scope) -> list[NewRun]:
        """The child task runs to create now."""
        return []

    def resolve_state(self, scope: Scope) -> State | None:
        """Its final state once done, else None; or PAUSED, or RUNNING again (see the module's docstring)."""
        scope.log("ERROR", f"{self.TYPE} is not supported by this version of Lanner yet")
        return State.FAILED

    def resume_inputs(self) -> list[Input]:
        """The inputs a resume of its PAUSED task run takes (Pause's ``onResume``); none by default."""
        return []


def enabled(tasks: Sequence[TaskSpec]) -> list[TaskSpec]:
    return [task for task in tasks if not task.disabled]


def _ended_ok(run: TaskRun) -> bool:
    return run.current in (State.SUCCESS, State.WARNING, State.SKIPPED)


def _failed(runs: Sequence[TaskRun]) -> bool:
    return any(run.current.failed for run in runs)


def _one_after_another(tasks: Sequence[TaskSpec], runs: Sequence[TaskRun], value: str | None) -> list[NewRun]:
    """The next task of a sequence: the first when none ran, the one after the last when it ended well."""
    if not tasks:
        return []
    if not runs:
        return [NewRun(tasks[0], value)]
    last = runs[-1]
    if not last.current.terminal or not _ended_ok(last):
        return []
    done = {run.task_id for run in runs}
    remaining = [task for task in tasks if task.id not in done]
    return [NewRun(remaining[0], value)] if remaining else []


def _branches(scope: Scope, tasks: Sequence[TaskSpec], errors: Sequence[TaskSpec], finally_: Sequence[TaskSpec],
              value: str | None) -> tuple[list[TaskRun], list[TaskRun], list[TaskRun]]:
    return (scope.children(tasks, value), scope.children(errors, value), scope.children(finally_, value))


def _all_done(tasks: Sequence[TaskSpec], runs: Sequence[TaskRun]) -> bool:
    return len(runs) >= len(tasks) and all(run.current.terminal for run in runs)


def after_main(scope: Scope, main_failed: bool, errors: Sequence[TaskSpec], finally_: Sequence[TaskSpec],
               value: str | None = None) -> list[NewRun]:
    """Once the main tasks are over: ``errors`` if they failed, then ``finally``."""
    errors, finally_ = enabled(errors), enabled(finally_)
    error_runs = scope.children(errors, value)
    if main_failed and errors:
        if not all(run.current.terminal for run in error_runs):
            return []  # an errors task is still running
        if not _failed(error_runs):  # a failing errors task ends the branch; finally still runs
            nexts = _one_after_another(errors, error_runs, value)
            if nexts:
                return nexts
    return _one_after_another(finally_, scope.children(finally_, value), value)


def final_state(runs: Sequence[TaskRun], error_runs: Sequence[TaskRun], finally_runs: Sequence[TaskRun]) -> State:
    everything = [*runs, *error_runs, *finally_runs]
    if any(run.current is State.KILLED for run in everything):
        return State.KILLED
    if _failed(everything):
        return State.FAILED
    if any(run.current is State.WARNING for run in everything):
        return State.WARNING
    return State.SUCCESS


def sequential_next(scope: Scope, tasks: Sequence[TaskSpec], errors: Sequence[TaskSpec] = (),
                    finally_: Sequence[TaskSpec] = (), value: str | None = None) -> list[NewRun]:
    tasks, errors, finally_ = enabled(tasks), enabled(errors), enabled(finally_)
    runs = scope.children(tasks, value)
    failed = _failed(runs)
    if not failed:
        nexts = _one_after_another(tasks, runs, value)
        if nexts:
            return nexts
    done = (failed and all(run.current.terminal for run in runs)) or _all_done(tasks, runs)
    return after_main(scope, failed, errors, finally_, value) if done else []


def sequential_state(scope: Scope, tasks: Sequence[TaskSpec], errors: Sequence[TaskSpec] = (),
                     finally_: Sequence[TaskSpec] = (), value: str | None = None) -> State | None:
    tasks, errors, finally_ = enabled(tasks), enabled(errors), enabled(finally_)
    if sequential_next(scope, tasks, errors, finally_, value):
        return None
    runs, error_runs, finally_runs = _branches(scope, tasks, errors, finally_, value)
    if not all(run.current.terminal for run in [*runs, *error_runs, *finally_runs]):
        return None
    return final_state(runs, error_runs, finally_runs)


def parallel_next(scope: Scope, tasks: Sequence[TaskSpec], errors: Sequence[TaskSpec] = (),
                  finally_: Sequence[TaskSpec] = (), *, concurrency: int = 0, value: str | None = None) -> list[NewRun]:
    """Start children side by side, at most ``concurrency`` at a time (0: all); none after a failure."""
    tasks, errors, finally_ = enabled(tasks), enabled(errors), enabled(finally_)
    runs = scope.children(tasks, value)
    failed = _failed(runs)
    if not failed:
        started = {run.task_id for run in runs}
        waiting = [task for task in tasks if task.id not in started]
        running = sum(not run.current.terminal for run in runs)
        room = len(waiting) if concurrency <= 0 else max(concurrency - running, 0)
        if waiting and room:
            return [NewRun(task, value) for task in waiting[:room]]
        if waiting:
            return []
    done = all(run.current.terminal for run in runs) and (failed or len(runs) >= len(tasks))
    return after_main(scope, failed, errors, finally_, value) if done else []


def parallel_state(scope: Scope, tasks: Sequence[TaskSpec], errors: Sequence[TaskSpec] = (),
                   finally_: Sequence[TaskSpec] = (), *, concurrency: int = 0,
                   value: str | None = None) -> State | None:
    if parallel_next(scope, tasks, errors, finally_, concurrency=concurrency, value=value):
        return None
    tasks, errors, finally_ = enabled(tasks), enabled(errors), enabled(finally_)
    runs, error_runs, finally_runs = _branches(scope, tasks, errors, finally_, value)
    everything = [*runs, *error_runs, *finally_runs]
    if not all(run.current.terminal for run in everything):
        return None
    if not _failed(runs) and len(runs) < len(tasks):
        return None
    return final_state(runs, error_runs, finally_runs)
