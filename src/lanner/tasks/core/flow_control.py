"""Flowable tasks: the executor resolves them into which child tasks run next.

Sequential, Parallel, If, Switch, ForEach (and the deprecated EachSequential and
EachParallel), Dag, Pause, Sleep, WaitFor, WorkingDirectory and the deprecated
AllowFailure.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from lanner.model.spec import Duration, Dynamic, Spec
from lanner.model.task import TaskKind, TaskSpec

CORE = "io.kestra.plugin.core.flow"
LEGACY = "io.kestra.core.tasks.flows"


class FlowableTask(TaskSpec):
    KIND = TaskKind.FLOWABLE

    errors: list[TaskSpec] = []
    finally_: list[TaskSpec] = Field([], alias="finally")


class Sequential(FlowableTask):
    TYPE = f"{CORE}.Sequential"
    ALIASES = (f"{LEGACY}.Sequential",)

    tasks: list[TaskSpec] = Field(min_length=1)


class Parallel(FlowableTask):
    TYPE = f"{CORE}.Parallel"
    ALIASES = (f"{LEGACY}.Parallel",)

    tasks: list[TaskSpec] = Field(min_length=1)
    concurrent: Dynamic[int] = Field(0, ge=0)


class If(FlowableTask):
    TYPE = f"{CORE}.If"
    ALIASES = (f"{LEGACY}.If",)

    condition: Dynamic[bool] | str
    then: list[TaskSpec] = Field(min_length=1)
    else_: list[TaskSpec] = Field([], alias="else")


class Switch(FlowableTask):
    TYPE = f"{CORE}.Switch"
    ALIASES = (f"{LEGACY}.Switch",)

    value: Any
    cases: dict[str, list[TaskSpec]] = {}
    defaults: list[TaskSpec] = []


class ForEach(FlowableTask):
    TYPE = f"{CORE}.ForEach"

    values: Dynamic[list[Any]] | Dynamic[dict[str, Any]] | str
    tasks: list[TaskSpec] = Field(min_length=1)
    concurrency_limit: Dynamic[int] = Field(1, ge=0)


class EachSequential(FlowableTask):
    TYPE = f"{CORE}.EachSequential"
    ALIASES = (f"{LEGACY}.EachSequential",)
    REPLACED_BY = f"{CORE}.ForEach"

    value: list[Any] | str
    tasks: list[TaskSpec] = Field(min_length=1)


class EachParallel(FlowableTask):
    TYPE = f"{CORE}.EachParallel"
    ALIASES = (f"{LEGACY}.EachParallel",)
    REPLACED_BY = f"{CORE}.ForEach (with concurrencyLimit)"

    value: list[Any] | str
    tasks: list[TaskSpec] = Field(min_length=1)
    concurrent: Dynamic[int] = Field(0, ge=0)


class DagTask(Spec):
    task: TaskSpec
    depends_on: list[str] = []


class Dag(FlowableTask):
    TYPE = f"{CORE}.Dag"
    ALIASES = (f"{LEGACY}.Dag",)

    tasks: list[DagTask] = Field(min_length=1)
    concurrent: Dynamic[int] = Field(0, ge=0)

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
    TYPE = f"{CORE}.Pause"
    ALIASES = (f"{LEGACY}.Pause",)

    delay: Dynamic[Duration] | None = None
    pause_duration: Dynamic[Duration] | None = None
    timeout: Dynamic[Duration] | None = None
    behavior: Literal["RESUME", "WARN", "CANCEL", "FAIL"] = "RESUME"
    on_resume: list[dict[str, Any]] = []
    tasks: list[TaskSpec] = []


class Sleep(TaskSpec):
    TYPE = f"{CORE}.Sleep"

    duration: Dynamic[Duration]


class CheckFrequency(Spec):
    max_iterations: int = Field(100, ge=1)
    max_duration: Duration | None = None
    interval: Duration | None = None


class WaitFor(FlowableTask):
    TYPE = f"{CORE}.WaitFor"

    condition: str
    tasks: list[TaskSpec] = Field(min_length=1)
    check_frequency: CheckFrequency = CheckFrequency()
    fail_on_max_reached: bool = False


class WorkingDirectory(FlowableTask):
    TYPE = f"{CORE}.WorkingDirectory"
    ALIASES = (f"{LEGACY}.WorkingDirectory",)

    tasks: list[TaskSpec] = Field(min_length=1)
    input_files: dict[str, str] | str | None = None
    output_files: list[str] | None = None
    namespace_files: dict[str, Any] | None = None


class AllowFailure(FlowableTask):
    TYPE = f"{CORE}.AllowFailure"
    ALIASES = (f"{LEGACY}.AllowFailure",)
    REPLACED_BY = "the allowFailure: true property on the tasks themselves"

    tasks: list[TaskSpec] = Field(min_length=1)


TYPES = [Sequential, Parallel, If, Switch, ForEach, EachSequential, EachParallel, Dag, Pause, Sleep, WaitFor,
         WorkingDirectory, AllowFailure]
