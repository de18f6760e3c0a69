"""Tasks acting on the execution itself: Fail, Labels, OutputValues."""

from __future__ import annotations

from typing import Any

from lanner.model.spec import Labels
from lanner.model.task import TaskSpec

CORE = "io.kestra.plugin.core"
LEGACY = "io.kestra.core.tasks"


class Fail(TaskSpec):
    TYPE = f"{CORE}.execution.Fail"
    ALIASES = (f"{LEGACY}.executions.Fail",)

    condition: str | bool | None = None
    error_message: str = "Task failure"


class SetLabels(TaskSpec):
    TYPE = f"{CORE}.execution.Labels"
    ALIASES = (f"{LEGACY}.executions.Labels",)

    labels: Labels | str


class OutputValues(TaskSpec):
    TYPE = f"{CORE}.output.OutputValues"
    ALIASES = (f"{LEGACY}.outputs.OutputValues",)

    values: dict[str, Any] = {}


TYPES = [Fail, SetLabels, OutputValues]
