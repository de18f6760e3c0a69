"""Executable tasks: they create another execution (Subflow, ForEachItem)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lanner.model.spec import Dynamic, FlowId, Labels, Namespace, PositiveCount, Spec
from lanner.model.task import TaskKind, TaskSpec

CORE = "io.kestra.plugin.core.flow"
LEGACY = "io.kestra.core.tasks.flows"


class _StartsExecutions(TaskSpec):
    """What every task creating executions of another flow says about them."""

    KIND = TaskKind.EXECUTABLE

    namespace: Namespace | str
    flow_id: FlowId | str
    inputs: dict[str, Any] = {}
    labels: Labels = {}
    wait: bool = True
    transmit_failed: bool = True
    inherit_labels: bool = False
    revision: Dynamic[PositiveCount] | None = None


class Subflow(_StartsExecutions):
    TYPE = f"{CORE}.Subflow"
    ALIASES = (f"{LEGACY}.Subflow", f"{LEGACY}.Flow")

    outputs: dict[str, Any] | None = None
    schedule_date: str | None = None


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
