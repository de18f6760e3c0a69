"""Runnable tasks: what one sees while it runs on a worker, and what it gives back.

A runnable task type subclasses :class:`RunnableTask` and implements
``run(self, context: RunContext) -> TaskOutput`` (Kestra's ``RunnableTask``).  Its
properties arrive unrendered (expressions are still strings): the task renders what it
uses through ``context.render``, so an undefined variable fails that task with Kestra's
message.  Raising :class:`TaskFailure` fails the attempt with a message; any other
exception fails it too, reported as an unexpected error.  The worker — not the task —
decides retries, timeouts and kills.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lanner.model.state import State
from lanner.model.task import TaskSpec

if TYPE_CHECKING:
    from lanner.files import Storage
    from lanner.tasks.core.run_as import RunAs


class TaskFailure(Exception):
    """The task ran and failed for a reason it can state (the attempt ends FAILED)."""


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    type: str = "counter"  # "counter" or "timer" (seconds), as Kestra's metrics
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskOutput:
    outputs: dict[str, Any] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    # WARNING lets a task succeed with a warning; SUCCESS otherwise.
    state: State = State.SUCCESS
    # Labels the execution should get (the Labels task): merged into the execution's labels.
    labels: dict[str, str] | None = None


class RunContext(Protocol):
    execution_id: str
    task_run_id: str
    attempt: int  # counted from 1
    tenant_id: str
    namespace: str
    flow_id: str
    task_id: str
    storage: Storage  # internal storage (lanner.files)
    run_as: RunAs | None  # the user script processes run as (lanner.worker.run-as); None: the worker's own

    @property
    def kv(self) -> Any:
        """The key-value store in this tenant (lanner.store.kv_repository.KVStore)."""

    @property
    def stop_event(self) -> threading.Event:
        """Set when the attempt is killed or times out; long-running tasks watch it."""

    def storage_uri(self, name: str) -> str:
        """The ``kestra:///`` URI under which this task run stores the file ``name``."""

    def resume_execution(self, execution_id: str, inputs: dict[str, Any], *, namespace: str | None = None,
                         flow_id: str | None = None) -> None:
        """Resume a PAUSED execution, of flow ``namespace``.``flow_id`` when given (LannerError when it cannot)."""

    def render(self, value: Any) -> Any:
        """``value`` with every expression rendered (recursing into lists and mappings)."""

    def log(self, level: str, message: str) -> None:
        """Record a task-run log line at TRACE, DEBUG, INFO, WARN or ERROR."""

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when the attempt was stopped (killed or timed out) meanwhile."""


class RunnableTask(TaskSpec):
    """A task the executor hands to a worker as a job; the worker calls :meth:`run`."""

    @abstractmethod
    def run(self, context: RunContext) -> TaskOutput:
        """Do the work of one attempt (raise :class:`TaskFailure` to fail it with a message)."""


def render_flag(context: RunContext, value: Any, name: str) -> bool:
    """A boolean property that may be an expression: true/false, or text rendering to it."""
    rendered = context.render(value)
    if isinstance(rendered, bool):
        return rendered
    if isinstance(rendered, str) and rendered.strip().lower() in ("true", "false"):
        return rendered.strip().lower() == "true"
    raise TaskFailure(f"`{name}` must be true or false, not {rendered!r}")
