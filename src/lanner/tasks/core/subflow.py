"""Executable tasks: they create another execution (Subflow, ForEachItem).

ForEachItem is declared (flows using it validate) but keeps :class:`ExecutableTask`'s
default behaviour: its task run fails, saying Lanner does not support it yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from lanner.model.spec import Dynamic, FlowId, Labels, Namespace, PositiveCount, Spec
from lanner.model.task import TaskSpec
from lanner.tasks.executable import Child, ExecutableTask

if TYPE_CHECKING:
    from lanner.model.execution import Execution
    from lanner.tasks.flowable import Scope

CORE = "io.kestra.plugin.core.flow"
LEGACY = "io.kestra.core.tasks.flows"


class _StartsExecutions(ExecutableTask):
    """What every task creating executions of another flow says about them."""

    namespace: Namespace | str
    flow_id: FlowId | str
    inputs: dict[str, Any] = {}
    labels: Labels = {}
    wait: bool = True
    transmit_failed: bool = True
    inherit_labels: bool = False
    revision: Dynamic[PositiveCount] | None = None

    def fails_with_child(self) -> bool:
        return self.transmit_failed


class Subflow(_StartsExecutions):
    """Start an execution of another flow; with ``wait``, end as it ends and expose its outputs."""

    TYPE = f"{CORE}.Subflow"
    ALIASES = (f"{LEGACY}.Subflow", f"{LEGACY}.Flow")
    IGNORED: ClassVar[dict[str, str]] = {
        **TaskSpec.IGNORED,
        "outputs": "declare them in the subflow itself (its flow `outputs`); they are exposed as "
                   "outputs.<task>.outputs (Kestra deprecated this map too)",
    }

    outputs: dict[str, Any] | None = None
    schedule_date: str | None = None

    def child_execution(self, scope: Scope, parent: Execution) -> Child:
        """What to start, rendered in the task run's context (the executor creates it)."""
        labels = {**(parent.labels if self.inherit_labels else {}),
                  **{str(k): str(v) for k, v in (scope.render(dict(self.labels)) or {}).items()}}
        revision = scope.render(self.revision) if isinstance(self.revision, str) else self.revision
        delay = 0.0
        if self.schedule_date:
            when = datetime.fromisoformat(str(scope.render(self.schedule_date)).replace("Z", "+00:00"))
            if when.tzinfo is None:
                raise ValueError(f"scheduleDate {when.isoformat()} has no time zone; add one (e.g. Z)")
            delay = max((when - scope.now).total_seconds(), 0.0)
        return Child(task_run_id="", namespace=str(scope.render(self.namespace)),
                     flow_id=str(scope.render(self.flow_id)),
                     revision=int(revision) if revision is not None else None, inputs=scope.render(dict(self.inputs)),
                     labels=labels, wait=self.wait, delay=delay)


class Batch(Spec):
    rows: Dynamic[PositiveCount] | None = None
    bytes: str | None = None
    partitions: Dynamic[PositiveCount] | None = None
    separator: str = "\n"


class ForEachItem(_StartsExecutions):
    TYPE = f"{CORE}.ForEachItem"
    ALIASES = (f"{LEGACY}.ForEachItem",)

    items: str
    batch: Batch = Batch(rows=1)


TYPES = [Subflow, ForEachItem]
