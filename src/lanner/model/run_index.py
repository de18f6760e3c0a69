"""Indexes over an execution's task runs, kept up to date run by run: what makes a decision cost what changed.

``decide`` asks questions such as "the children of this run for that task", "the runs
waiting to be dispatched", "the flowables still running", "how many iterations of this
loop are in progress": scanning every task run for each would make a decision cost the
size of the execution, and a loop of 100,000 iterations quadratic.  :class:`RunIndex`
answers each from a dictionary or a set that :meth:`RunIndex.put` updates in O(1).

An index is built once per execution (O(n)) and then handed from each decision to the
next on a :class:`Shelf` the caller owns: :meth:`Shelf.take` gives the index of
``execution.task_runs`` when one was left by the previous decision (checked by identity
of the tuple, so a stale index is never used) and builds one otherwise;
:meth:`Shelf.leave` files the index of the decision's result.
Taking removes the index from the shelf, so two threads never update one index, and a
decision that fails half-way leaves nothing behind: the next one builds a fresh index.
The values ``decide`` returns do not depend on whether an index was found or built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from lanner.model.execution import TaskRun
from lanner.model.state import State

_PENDING = (State.CREATED, State.RESTARTED)
_LIVE = (State.RUNNING, State.PAUSED)


class LoopTally:
    """A loop's iterations, from its children's states: counts that every put updates in O(1)."""

    __slots__ = ("counts", "failed", "failed_over", "ok_by_count", "running", "top", "unfinished")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}  # iteration -> task runs it has
        self.unfinished: dict[int, int] = {}  # iteration -> those not ended
        self.failed: dict[int, int] = {}  # iteration -> those ended failed
        self.running: set[int] = set()  # iterations with a task run not ended
        self.failed_over: set[int] = set()  # every task run ended, one failed
        self.ok_by_count: dict[int, set[int]] = {}  # every task run ended, none failed: by how many
        self.top = -1  # the highest iteration started

    @property
    def started(self) -> int:
        return len(self.counts)

    def _classify(self, iteration: int, sign: int) -> None:
        count = self.counts.get(iteration, 0)
        if not count:
            return
        if self.unfinished.get(iteration, 0):
            group: set[int] = self.running
        elif self.failed.get(iteration, 0):
            group = self.failed_over
        else:
            group = self.ok_by_count.setdefault(count, set())
        if sign > 0:
            group.add(iteration)
        else:
            group.discard(iteration)

    def change(self, iteration: int, old: TaskRun | None, new: TaskRun | None) -> None:
        self._classify(iteration, -1)
        for run, sign in ((old, -1), (new, 1)):
            if run is None:
                continue
            self.counts[iteration] = self.counts.get(iteration, 0) + sign
            state = run.current
            if not state.terminal:
                self.unfinished[iteration] = self.unfinished.get(iteration, 0) + sign
            elif state.failed:
                self.failed[iteration] = self.failed.get(iteration, 0) + sign
        if not self.counts[iteration]:
            del self.counts[iteration]
        self.top = max(self.top, iteration)
        self._classify(iteration, 1)


class RunIndex:
    """An execution's task runs with the lookups ``decide`` needs; see the module's docstring."""

    def __init__(self, runs: Iterable[TaskRun]) -> None:
        self.seq: list[TaskRun] = []  # in creation order: Execution.task_runs
        self.position: dict[str, int] = {}
        self.runs: dict[str, TaskRun] = {}
        self.by_parent: dict[str | None, list[str]] = {}
        self.by_parent_task: dict[tuple[str | None, str], list[str]] = {}
        self.by_iteration: dict[tuple[str | None, int], list[str]] = {}
        self.by_task: dict[str, list[str]] = {}
        self.pending: set[str] = set()  # CREATED or RESTARTED: to dispatch
        self.live: dict[str, set[str]] = {}  # task id -> its RUNNING or PAUSED runs
        self.paused: set[str] = set()
        self.unfinished: set[str] = set()
        self.loops: dict[str | None, LoopTally] = {}  # parent run id -> its iterations
        self.memo: dict[Any, Any] = {}  # values a flowable computes once per run (a loop's rendered values)
        self.tuple: tuple[TaskRun, ...] | None = None  # the Execution.task_runs this index describes
        self.base: tuple[TaskRun, ...] | None = None  # the task runs the current decision started from
        self.touched: set[int] = set()  # positions in ``base`` of the task runs it replaced
        self.examined = 0  # task runs handed to the decision: what tests count
        for run in runs:
            self.put(run)

    def put(self, run: TaskRun) -> bool:
        """Add or replace a task run (by id); True when it is new."""
        old = self.runs.get(run.id)
        self.runs[run.id] = run
        if old is None:
            self.position[run.id] = len(self.seq)
            self.seq.append(run)
            self.by_parent.setdefault(run.parent_task_run_id, []).append(run.id)
            self.by_parent_task.setdefault((run.parent_task_run_id, run.task_id), []).append(run.id)
            self.by_task.setdefault(run.task_id, []).append(run.id)
            if run.iteration is not None:
                self.by_iteration.setdefault((run.parent_task_run_id, run.iteration), []).append(run.id)
        else:
            self.seq[self.position[run.id]] = run
            self.touched.add(self.position[run.id])
            if old.current is run.current:
                return False
            self._state_sets(old, -1)
        self._state_sets(run, 1)
        if run.iteration is not None and (old is None or old.current is not run.current):
            self.loops.setdefault(run.parent_task_run_id, LoopTally()).change(run.iteration, old, run)
        return old is None

    def _state_sets(self, run: TaskRun, sign: int) -> None:
        state = run.current
        change: Callable[[set[str]], Any] = (lambda s: s.add(run.id)) if sign > 0 else (lambda s: s.discard(run.id))
        if state in _PENDING:
            change(self.pending)
        if state in _LIVE:
            change(self.live.setdefault(run.task_id, set()))
        if state is State.PAUSED:
            change(self.paused)
        if not state.terminal:
            change(self.unfinished)

    def ordered(self, ids: Iterable[str], reverse: bool = False) -> list[TaskRun]:
        """These task runs in creation order (or the reverse)."""
        found = sorted(ids, key=self.position.__getitem__, reverse=reverse)
        self.examined += len(found)
        return [self.runs[i] for i in found]

    def children(self, parent_id: str | None, task_ids: Iterable[str]) -> list[TaskRun]:
        """The children of ``parent_id`` that run one of ``task_ids``, in creation order."""
        lists = [found for task_id in dict.fromkeys(task_ids)
                 if (found := self.by_parent_task.get((parent_id, task_id)))]
        if not lists:
            return []
        if len(lists) == 1:
            self.examined += len(lists[0])
            return [self.runs[i] for i in lists[0]]
        return self.ordered([i for found in lists for i in found])

    def iteration(self, parent_id: str | None, iteration: int) -> list[TaskRun]:
        found = self.by_iteration.get((parent_id, iteration), ())
        self.examined += len(found)
        return [self.runs[i] for i in found]


# -- handing an index from one decision to the next ---------------------------------------------
_SHELF_SIZE = 16  # large executions decided in turn; each index costs about what its task runs do
# Smaller executions are indexed afresh by each decision (it costs less than their decision):
# only large ones take a place on the shelf, where a busy executor's many small ones would
# otherwise push them out.
_SHELVED_FROM = 256


class Shelf:
    """Where decisions leave their indexes for the next: the caller owns it and hands it to ``decide``.

    ``decide`` reaches no module state (lanner.engine.core.surroundings): the executor gives it
    the process's :data:`SHELF`, which the store also reads (:func:`replaced`) to write only
    the task runs a decision changed; a test gives its own, or a new one (nothing handed on).
    """

    def __init__(self) -> None:
        self._indexes: dict[int, RunIndex] = {}
        self._lock = threading.Lock()

    def take(self, runs: tuple[TaskRun, ...]) -> RunIndex:
        """The index of ``runs``, left by the decision that made them, or a new one."""
        with self._lock:
            index = self._indexes.pop(id(runs), None) if len(runs) >= _SHELVED_FROM else None
        if index is None or index.tuple is not runs:
            index = RunIndex(runs)
            index.tuple = runs
        index.examined, index.base, index.touched = 0, runs, set()
        return index

    def leave(self, index: RunIndex, runs: tuple[TaskRun, ...]) -> None:
        """File ``index`` as the index of ``runs`` (a decision's result), for the next decision to take."""
        index.tuple = runs
        if len(runs) < _SHELVED_FROM:
            return
        with self._lock:
            self._indexes[id(runs)] = index
            while len(self._indexes) > _SHELF_SIZE:
                self._indexes.pop(next(iter(self._indexes)))

    def peek(self, runs: tuple[TaskRun, ...]) -> RunIndex | None:
        """The index filed for ``runs``, left in place (what tests look at)."""
        with self._lock:
            index = self._indexes.get(id(runs))
        return index if index is not None and index.tuple is runs else None


SHELF = Shelf()  # the process's: its executor's decisions and its store share it


def peek(runs: tuple[TaskRun, ...]) -> RunIndex | None:
    """The index filed for ``runs`` on the process's shelf."""
    return SHELF.peek(runs)


def replaced(before: tuple[TaskRun, ...], after: tuple[TaskRun, ...]) -> list[int] | None:
    """Positions of the task runs of ``before`` that the decision from ``before`` to ``after`` replaced.

    None when unknown (no index filed for ``after`` on the process's shelf, or made from
    other task runs): the caller compares the two tuples instead.  New task runs are
    those past ``len(before)``.
    """
    index = peek(after)
    if index is None or index.base is not before:
        return None
    return sorted(position for position in index.touched if position < len(before))
