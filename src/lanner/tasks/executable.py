"""Executable tasks: they start an execution of another flow (Kestra's ``ExecutableTask``: Subflow).

A type subclasses :class:`ExecutableTask`.  The executor asks it, in the task run's
context, which execution to start (:meth:`ExecutableTask.child_execution`, a
:class:`Child`); the engine creates that execution and records the parent in its
trigger, under the task's type name.  When the request waits, the task run stays
RUNNING until the child ends, then ends as the child did; :meth:`ExecutableTask.fails_with_child`
says whether a failed child fails it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lanner.model.task import TaskSpec

if TYPE_CHECKING:
    from lanner.model.execution import Execution
    from lanner.tasks.flowable import Scope


@dataclass(frozen=True)
class Child:
    """An execution of another flow that an executable task run (Subflow) starts; the executor creates it."""

    task_run_id: str
    namespace: str
    flow_id: str
    revision: int | None
    inputs: dict[str, Any]
    labels: dict[str, str]
    wait: bool
    delay: float = 0.0  # scheduleDate: seconds from now before it may start
    execution_id: str = ""  # chosen by decide, so the parent's task run names it before it exists
    # Secret values revealed while rendering it: masked in its inputs, but for a SECRET input (encrypted).
    secrets: frozenset[str] = frozenset()
    # The starting task's type name: the child's trigger records it (Kestra's shape), set by decide.
    started_by: str = ""
    task_id: str = ""  # the starting task's id: the child's trigger id (Kestra's shape), set by decide


class ExecutableTask(TaskSpec):
    """A task whose task run starts an execution of another flow, and (when it waits) ends as it ends."""

    def child_execution(self, scope: Scope, parent: Execution) -> Child:
        """What to start, rendered in the task run's context (raise ValueError to fail the task run with why).

        The default is for a type whose properties Lanner knows but whose behaviour it lacks (ForEachItem).
        """
        raise ValueError(f"{self.type} is not supported by this version of Lanner yet")

    def fails_with_child(self) -> bool:
        """Whether a child ending FAILED, KILLED or CANCELLED fails this task run (Kestra's ``transmitFailed``)."""
        return True
