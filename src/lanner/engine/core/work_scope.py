"""A flowable's view of ``decide``'s working copy of an execution (see lanner.tasks.flowable.Scope).

Flowable tasks read their children, render values, set outputs, log and ask for timers
through it; ``decide`` hands one to each flowable it resolves.  The working copy
(``decide._Work``) is described by the :class:`WorkingCopy` protocol, so that this module
needs nothing from ``decide``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from lanner.engine.core.events import Timer
from lanner.model.execution import TaskRun
from lanner.model.run_index import LoopTally, RunIndex
from lanner.model.task import TaskSpec


class WorkingCopy(Protocol):
    """What a :class:`WorkScope` reads and changes of ``decide``'s working copy."""

    index: RunIndex
    runs: dict[str, TaskRun]
    now: datetime
    timers: list[Timer]

    def render(self, value: Any, task: TaskSpec | None, run: TaskRun | None) -> Any: ...
    def put(self, run: TaskRun) -> None: ...
    def note(self, level: str, message: str, run: TaskRun | None = None) -> None: ...


class WorkScope:
    """A flowable's view of the working copy (see lanner.tasks.flowable.Scope)."""

    def __init__(self, work: WorkingCopy, run: TaskRun | None, task: TaskSpec | None) -> None:
        self.work, self._run_id, self.task = work, run.id if run else None, task

    @property
    def run(self) -> TaskRun | None:
        return self.work.runs[self._run_id] if self._run_id else None

    def children(self, tasks: Sequence[TaskSpec], value: str | None = None,
                 iteration: int | None = None) -> list[TaskRun]:
        ids = [task.id for task in tasks]
        if not ids:
            return []
        if iteration is None:
            return self.work.index.children(self._run_id, ids)
        wanted = set(ids)
        return [run for run in self.work.index.iteration(self._run_id, iteration) if run.task_id in wanted]

    def iterations(self) -> LoopTally:
        """This run's loop iterations, tallied (see lanner.model.run_index.LoopTally)."""
        return self.work.index.loops.get(self._run_id) or LoopTally()

    def remember(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, once per task run: kept from one decision to the next while the index is."""
        memo = self.work.index.memo
        if (self._run_id, key) not in memo:
            memo[(self._run_id, key)] = compute()
        return memo[(self._run_id, key)]

    def render(self, value: Any) -> Any:
        return self.work.render(value, self.task, self.run)

    def set_outputs(self, outputs: dict[str, Any]) -> None:
        run = self.run
        if run is not None and any(run.outputs.get(k) != v for k, v in outputs.items()):
            self.work.put(replace(run, outputs={**run.outputs, **outputs}))

    def log(self, level: str, message: str) -> None:
        self.work.note(level, message, self.run)

    @property
    def now(self) -> datetime:
        return self.work.now

    def wake_in(self, seconds: float) -> None:
        if self._run_id is not None:
            self.work.timers.append(Timer(self._run_id, max(seconds, 0.0)))
