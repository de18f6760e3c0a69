"""Flowable tasks: the executor resolves them into which child tasks run next.

Sequential, Parallel, If, Switch, ForEach (and the deprecated EachSequential and
EachParallel), Dag, Pause, WaitFor, WorkingDirectory and the deprecated AllowFailure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from lanner.durations import parse_duration
from lanner.expr.truthiness import truthy
from lanner.model.execution import TaskRun
from lanner.model.inputs import Input, dependency_problems
from lanner.model.spec import Count, Duration, Dynamic, Spec
from lanner.model.state import State
from lanner.model.task import TaskSpec
from lanner.tasks.flowable import (
    LOOP_WINDOW,
    FlowableTask,
    NewRun,
    Scope,
    after_main,
    final_state,
    own_run,
    parallel_next,
    parallel_state,
    sequential_next,
    sequential_state,
)

CORE = "io.kestra.plugin.core.flow"
LEGACY = "io.kestra.core.tasks.flows"


class _SequentialBody(FlowableTask):
    """A flowable whose ``tasks`` run one after the other."""

    tasks: list[TaskSpec] = Field(min_length=1)

    def next_runs(self, scope: Scope) -> list[NewRun]:
        return sequential_next(scope, self.tasks, self.errors, self.finally_)

    def resolve_state(self, scope: Scope) -> State | None:
        return sequential_state(scope, self.tasks, self.errors, self.finally_)


class Sequential(_SequentialBody):
    TYPE = f"{CORE}.Sequential"
    ALIASES = (f"{LEGACY}.Sequential",)


class Parallel(FlowableTask):
    TYPE = f"{CORE}.Parallel"
    ALIASES = (f"{LEGACY}.Parallel",)

    tasks: list[TaskSpec] = Field(min_length=1)
    concurrent: Dynamic[Count] = 0

    def next_runs(self, scope: Scope) -> list[NewRun]:
        return parallel_next(scope, self.tasks, self.errors, self.finally_, concurrency=_count(scope, self.concurrent))

    def resolve_state(self, scope: Scope) -> State | None:
        return parallel_state(scope, self.tasks, self.errors, self.finally_, concurrency=_count(scope, self.concurrent))


def _count(scope: Scope, value: Any) -> int:
    rendered = scope.render(value)
    try:
        return max(int(rendered), 0)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {rendered!r}") from None


class If(FlowableTask):
    TYPE = f"{CORE}.If"
    ALIASES = (f"{LEGACY}.If",)

    condition: Dynamic[bool] | str
    then: list[TaskSpec] = Field(min_length=1)
    else_: list[TaskSpec] = Field([], alias="else")

    def _branch(self, scope: Scope) -> list[TaskSpec]:
        # Decided once: a branch that has started is the branch, whatever the condition says now.
        if scope.children(self.then):
            return self.then
        if scope.children(self.else_):
            return self.else_
        return self.then if truthy(scope.render(self.condition)) else self.else_

    def next_runs(self, scope: Scope) -> list[NewRun]:
        return sequential_next(scope, self._branch(scope), self.errors, self.finally_)

    def resolve_state(self, scope: Scope) -> State | None:
        return sequential_state(scope, self._branch(scope), self.errors, self.finally_)


class Switch(FlowableTask):
    TYPE = f"{CORE}.Switch"
    ALIASES = (f"{LEGACY}.Switch",)

    value: Any
    cases: dict[str, list[TaskSpec]] = {}
    defaults: list[TaskSpec] = []

    def _branch(self, scope: Scope) -> list[TaskSpec] | None:
        for tasks in (*self.cases.values(), self.defaults):
            if tasks and scope.children(tasks):
                return tasks
        rendered = scope.render(self.value)
        key = rendered if isinstance(rendered, str) else json.dumps(rendered)
        if key in self.cases:
            scope.set_outputs({"value": key, "defaults": False})
            return self.cases[key]
        if self.defaults:
            scope.set_outputs({"value": key, "defaults": True})
            return self.defaults
        scope.log("ERROR", f"no case matches the value '{key}' and there are no defaults")
        return None

    def next_runs(self, scope: Scope) -> list[NewRun]:
        branch = self._branch(scope)
        return [] if branch is None else sequential_next(scope, branch, self.errors, self.finally_)

    def resolve_state(self, scope: Scope) -> State | None:
        branch = self._branch(scope)
        return State.FAILED if branch is None else sequential_state(scope, branch, self.errors, self.finally_)


class _Loop(FlowableTask):
    """Runs ``tasks`` once per value, each iteration sequential, ``_limit`` iterations at a time."""

    tasks: list[TaskSpec] = Field(min_length=1)

    def _raw_values(self) -> Any:
        raise NotImplementedError

    def _limit(self, scope: Scope) -> int:
        raise NotImplementedError

    def _values(self, scope: Scope) -> list[str]:
        # Rendered once per loop run (while the executor keeps the execution's index): rendering
        # 100,000 values for each of the 100,000 decisions of a loop would be quadratic.
        values: list[str] = scope.remember("values", lambda: self._render_values(scope))
        return values

    def _render_values(self, scope: Scope) -> list[str]:
        rendered = scope.render(self._raw_values())
        if isinstance(rendered, str):
            try:
                rendered = json.loads(rendered)
            except ValueError:
                raise ValueError(f"values: expected a list or a JSON array, got {rendered!r}") from None
        if isinstance(rendered, dict):
            rendered = [{"key": k, "value": v} for k, v in rendered.items()]
        if not isinstance(rendered, list):
            raise ValueError(f"values: expected a list, got {type(rendered).__name__}")
        return [item if isinstance(item, str) else json.dumps(item) for item in rendered]

    def _room(self, scope: Scope, running: int) -> int:
        limit = self._limit(scope)
        return max((LOOP_WINDOW if limit <= 0 else limit) - running, 0)

    def _iterations(self, scope: Scope) -> tuple[list[NewRun], bool, bool]:
        """(runs to create now, all iterations over, one failed), from the runs that exist."""
        values = self._values(scope)
        body = [task for task in self.tasks if not task.disabled]
        if not body:
            return [], True, False
        tally = scope.iterations()
        # Only the iterations between two of their tasks are looked at; the others are counted.
        nexts: list[NewRun] = []
        running, failed = len(tally.running), bool(tally.failed_over)
        for count, group in tally.ok_by_count.items():
            if count >= len(body):
                continue  # every task of these iterations ended well
            for index in sorted(group):
                state = sequential_state(_Iteration(scope, index), self.tasks, value=values[index])
                if state is None:
                    running += 1
                    nexts.extend(NewRun(new.task, values[index], index)
                                 for new in sequential_next(_Iteration(scope, index), self.tasks, value=values[index]))
                elif state.failed:
                    failed = True
        not_started: Sequence[int] = range(tally.started, len(values))
        if tally.top + 1 != tally.started:  # iterations are started in order: this is only a safeguard
            not_started = [index for index in range(len(values)) if index not in tally.counts]
        if not failed:
            nexts.extend(NewRun(body[0], values[index], index)
                         for index in not_started[:self._room(scope, running)])
        over = running == 0 and (failed or not not_started)
        return nexts, over, failed

    def next_runs(self, scope: Scope) -> list[NewRun]:
        nexts, over, failed = self._iterations(scope)
        return after_main(scope, failed, self.errors, self.finally_) if over else nexts

    def resolve_state(self, scope: Scope) -> State | None:
        nexts, over, failed = self._iterations(scope)
        if nexts or not over or after_main(scope, failed, self.errors, self.finally_):
            return None
        everything = [*scope.children(self.tasks), *scope.children(self.errors), *scope.children(self.finally_)]
        if not all(run.current.terminal for run in everything):
            return None
        return final_state(everything, [], [])


class ForEach(_Loop):
    TYPE = f"{CORE}.ForEach"

    values: Dynamic[list[Any]] | Dynamic[dict[str, Any]] | str
    concurrency_limit: Dynamic[Count] = 1

    def _raw_values(self) -> Any:
        return self.values

    def _limit(self, scope: Scope) -> int:
        return _count(scope, self.concurrency_limit)


class EachSequential(_Loop):
    TYPE = f"{CORE}.EachSequential"
    ALIASES = (f"{LEGACY}.EachSequential",)
    REPLACED_BY = f"{CORE}.ForEach"

    value: list[Any] | str

    def _raw_values(self) -> Any:
        return self.value

    def _limit(self, scope: Scope) -> int:
        return 1


class EachParallel(_Loop):
    TYPE = f"{CORE}.EachParallel"
    ALIASES = (f"{LEGACY}.EachParallel",)
    REPLACED_BY = f"`{CORE}.ForEach` with concurrencyLimit"

    value: list[Any] | str
    concurrent: Dynamic[Count] = 0

    def _raw_values(self) -> Any:
        return self.value

    def _limit(self, scope: Scope) -> int:
        return _count(scope, self.concurrent)


class _Iteration:
    """The scope of one loop iteration: children are matched by iteration number.

    It stands in for the loop's :class:`Scope` (everything but ``children`` is the loop's own).
    """

    def __init__(self, scope: Scope, iteration: int) -> None:
        self._scope, self._iteration = scope, iteration

    @property
    def run(self) -> TaskRun | None:
        return self._scope.run

    def children(self, tasks: Sequence[TaskSpec], value: str | None = None,
                 iteration: int | None = None) -> list[TaskRun]:
        return self._scope.children(tasks, value, self._iteration)

    def render(self, value: Any) -> Any:
        return self._scope.render(value)

    def set_outputs(self, outputs: dict[str, Any]) -> None:
        self._scope.set_outputs(outputs)

    def log(self, level: str, message: str) -> None:
        self._scope.log(level, message)

    @property
    def now(self) -> datetime:
        return self._scope.now

    def wake_in(self, seconds: float) -> None:
        self._scope.wake_in(seconds)

    def iterations(self) -> Any:
        return self._scope.iterations()

    def remember(self, key: str, compute: Callable[[], Any]) -> Any:
        return self._scope.remember(key, compute)


class DagTask(Spec):
    task: TaskSpec
    depends_on: list[str] = []


class Dag(FlowableTask):
    TYPE = f"{CORE}.Dag"
    ALIASES = (f"{LEGACY}.Dag",)

    tasks: list[DagTask] = Field(min_length=1)
    concurrent: Dynamic[Count] = 0

    def problems(self) -> list[tuple[tuple[Any, ...], str]]:
        """dependsOn must name tasks of this Dag, without cycles."""
        ids = {item.task.id: index for index, item in enumerate(self.tasks)}
        found: list[tuple[tuple[Any, ...], str]] = []
        for index, item in enumerate(self.tasks):
            for dep_index, dependency in enumerate(item.depends_on):
                if dependency not in ids:
                    found.append((("tasks", index, "dependsOn", dep_index),
                                  f"'{dependency}' is not a task of this Dag (its tasks: {', '.join(ids)})"))
        cycle = _cycle({item.task.id: [d for d in item.depends_on if d in ids] for item in self.tasks})
        if cycle:
            found.append((("tasks", ids[cycle[0]], "dependsOn"), f"dependency cycle: {' -> '.join(cycle)}"))
        return found

    def next_runs(self, scope: Scope) -> list[NewRun]:
        items = [item for item in self.tasks if not item.task.disabled]
        runs = {run.task_id: run for run in scope.children([item.task for item in items])}
        failed = any(run.current.failed for run in runs.values())
        if not failed:
            running = sum(not run.current.terminal for run in runs.values())
            enabled_ids = {item.task.id for item in items}
            ready = [item.task for item in items if item.task.id not in runs and all(
                dep not in enabled_ids or (dep in runs and runs[dep].current in _OK) for dep in item.depends_on)]
            limit = _count(scope, self.concurrent)
            room = len(ready) if limit <= 0 else max(limit - running, 0)
            if ready:
                return [NewRun(task) for task in ready[:room]]
            if len(runs) < len(items):
                return []  # waiting for dependencies still running
        if not all(run.current.terminal for run in runs.values()):
            return []
        return after_main(scope, failed, self.errors, self.finally_)

    def resolve_state(self, scope: Scope) -> State | None:
        if self.next_runs(scope):
            return None
        tasks = [item.task for item in self.tasks if not item.task.disabled]
        runs = scope.children(tasks)
        error_runs, finally_runs = scope.children(self.errors), scope.children(self.finally_)
        everything = [*runs, *error_runs, *finally_runs]
        if not all(run.current.terminal for run in everything):
            return None
        if len(runs) < len(tasks) and not any(run.current.failed for run in runs):
            return None
        return final_state(runs, error_runs, finally_runs)


_OK = (State.SUCCESS, State.WARNING, State.SKIPPED)


def _cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle as a list of ids ending where it started, or None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


class Pause(FlowableTask):
    """Pause the execution until it is resumed (with ``onResume`` inputs), or for ``delay``.

    The task run goes PAUSED (and the execution with it); it is RUNNING again once
    resumed, then runs its ``tasks`` if any.  ``delay`` (``pauseDuration``) resumes it on
    its own (``behavior`` says how it ends then); ``timeout`` fails it when nobody resumed
    it in time.  Timers are asked of the executor through ``scope.wake_in``.
    """

    TYPE = f"{CORE}.Pause"
    ALIASES = (f"{LEGACY}.Pause",)

    delay: Dynamic[Duration] | None = None
    pause_duration: Dynamic[Duration] | None = None
    timeout: Dynamic[Duration] | None = None
    behavior: Literal["RESUME", "WARN", "CANCEL", "FAIL"] = "RESUME"
    on_resume: list[Input] = []
    tasks: list[TaskSpec] = []

    def problems(self) -> list[tuple[tuple[Any, ...], str]]:
        """An onResume input follows (dependsOn) only onResume inputs declared before it."""
        return [(("onResume", *where), message) for where, message in dependency_problems(self.on_resume, "onResume")]

    def resume_inputs(self) -> list[Input]:
        return self.on_resume

    def next_runs(self, scope: Scope) -> list[NewRun]:
        if self._phase(scope) != "resumed" or not self.tasks:
            return []
        return sequential_next(scope, self.tasks)

    def resolve_state(self, scope: Scope) -> State | None:
        phase = self._phase(scope)
        if phase == "resumed":
            return sequential_state(scope, self.tasks) if self.tasks else State.SUCCESS
        if phase == "timed out":
            scope.log("ERROR", "nobody resumed the execution before the pause's timeout")
            return State.FAILED
        if phase == "delay over":
            if self.behavior == "RESUME":
                return State.RUNNING if own_run(scope).current is State.PAUSED or self.tasks else State.SUCCESS
            return {"WARN": State.WARNING, "CANCEL": State.CANCELLED, "FAIL": State.FAILED}[self.behavior]
        return State.PAUSED

    def _phase(self, scope: Scope) -> str:
        """Where the pause stands: "resumed", "delay over", "timed out" or "paused" (asking for a timer)."""
        run = own_run(scope)
        was_paused = [t.date for t in run.state.histories if t.state is State.PAUSED]
        if was_paused and run.current is State.RUNNING:
            return "resumed"
        since = was_paused[0] if was_paused else scope.now
        elapsed = (scope.now - since).total_seconds()
        delay = self._seconds(scope, self.delay or self.pause_duration)
        timeout = self._seconds(scope, self.timeout)
        if delay is not None and elapsed >= delay:
            return "delay over"
        if timeout is not None and elapsed >= timeout:
            return "timed out"
        waits = [limit - elapsed for limit in (delay, timeout) if limit is not None]
        if waits:
            scope.wake_in(min(waits))
        return "paused"

    @staticmethod
    def _seconds(scope: Scope, value: Any) -> float | None:
        if value is None:
            return None
        rendered = scope.render(value) if isinstance(value, str) else value
        return parse_duration(rendered).total_seconds() if isinstance(rendered, str) else rendered.total_seconds()


class CheckFrequency(Spec):
    max_iterations: int = Field(100, ge=1)
    max_duration: Duration | None = None
    interval: Duration | None = None


class WaitFor(FlowableTask):
    """Run ``tasks`` again and again, ``interval`` apart, until ``condition`` holds.

    Each iteration is a sequence of task runs numbered by ``iteration``; after each, the
    condition is rendered (the last iteration's outputs, and ``iterationCount``, in
    scope).  ``maxIterations`` or ``maxDuration`` reached ends the loop: FAILED with
    ``failOnMaxReached``, SUCCESS otherwise.
    """

    TYPE = f"{CORE}.WaitFor"

    condition: str
    tasks: list[TaskSpec] = Field(min_length=1)
    check_frequency: CheckFrequency = CheckFrequency()
    fail_on_max_reached: bool = False

    def next_runs(self, scope: Scope) -> list[NewRun]:
        return self._plan(scope)[0]

    def resolve_state(self, scope: Scope) -> State | None:
        return self._plan(scope)[1]

    def _plan(self, scope: Scope) -> tuple[list[NewRun], State | None]:
        """(runs to create now, final state or None), from the iterations that exist."""
        runs = scope.children(self.tasks)
        last = max((run.iteration for run in runs if run.iteration is not None), default=None)
        if last is None:
            return self._start(scope, 0), None
        iteration = _Iteration(scope, last)
        nexts = sequential_next(iteration, self.tasks)
        if nexts:
            return [replace(new, iteration=last) for new in nexts], None
        state = sequential_state(iteration, self.tasks)
        if state is None:
            return [], None
        if state in (State.FAILED, State.KILLED):
            return [], state
        count = last + 1
        scope.set_outputs({"iterationCount": count})
        if truthy(scope.render(self.condition)):
            return [], State.SUCCESS
        frequency = self.check_frequency
        started = min(run.state.start_date for run in runs)
        max_duration = (frequency.max_duration or timedelta(hours=1)).total_seconds()
        if count >= frequency.max_iterations or (scope.now - started).total_seconds() >= max_duration:
            scope.log("WARN" if not self.fail_on_max_reached else "ERROR",
                      f"the condition still does not hold after {count} iteration(s)")
            return [], State.FAILED if self.fail_on_max_reached else State.SUCCESS
        ended = max(run.state.end_date or run.state.start_date for run in iteration.children(self.tasks))
        wait = (frequency.interval or timedelta(seconds=1)).total_seconds() - (scope.now - ended).total_seconds()
        if wait > 0:
            scope.wake_in(wait)
            return [], None
        return self._start(scope, count), None

    def _start(self, scope: Scope, iteration: int) -> list[NewRun]:
        return [replace(new, iteration=iteration) for new in sequential_next(_Iteration(scope, iteration), self.tasks)]


class WorkingDirectory(_SequentialBody):
    """Its tasks run in order, as in Kestra; unlike Kestra, each in a directory of its own (said when saved)."""

    TYPE = f"{CORE}.WorkingDirectory"
    ALIASES = (f"{LEGACY}.WorkingDirectory",)
    CAVEAT: ClassVar[str] = ("its tasks run one after the other but do not share a working directory in Lanner "
                             "yet: each runs in its own. Pass files between them with a task's outputFiles and the "
                             "next one's inputFiles (\"{{ outputs.<task>.outputFiles['name'] }}\")")

    input_files: dict[str, str] | str | None = None
    output_files: list[str] | None = None
    namespace_files: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _no_shared_files(self) -> WorkingDirectory:
        given = [name for name, value in (("inputFiles", self.input_files), ("outputFiles", self.output_files),
                                          ("namespaceFiles", self.namespace_files)) if value is not None]
        if given:
            raise ValueError(f"{' and '.join(given)} of a WorkingDirectory are not supported by Lanner yet (its tasks "
                             "do not share a directory): set them on the script tasks that use the files")
        return self


class AllowFailure(_SequentialBody):
    TYPE = f"{CORE}.AllowFailure"
    ALIASES = (f"{LEGACY}.AllowFailure",)
    REPLACED_BY = "the allowFailure: true property on the tasks themselves"

    def resolve_state(self, scope: Scope) -> State | None:
        state = super().resolve_state(scope)
        return State.WARNING if state is State.FAILED else state


TYPES = [Sequential, Parallel, If, Switch, ForEach, EachSequential, EachParallel, Dag, Pause, WaitFor,
         WorkingDirectory, AllowFailure]
