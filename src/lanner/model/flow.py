"""A flow as Kestra's YAML describes it, validated: the value the engine executes.

``source`` is not part of the model: revisions keep the YAML text verbatim beside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, model_validator

from lanner.model.inputs import ITEM_TYPES, Input
from lanner.model.spec import Duration, FlowId, Labels, Namespace, Spec, TaskId
from lanner.model.task import PluginSpec, Retry, TaskSpec, TriggerSpec


class Output(Spec):
    id: TaskId
    type: Literal[ITEM_TYPES + ("SECRET", "ARRAY", "SELECT", "ENUM", "MULTISELECT", "FILE", "YAML")]  # type: ignore[valid-type]
    value: Any
    display_name: str | None = None
    description: str | None = None
    required: bool = True


class ConcurrencyBehavior(StrEnum):
    QUEUE = "QUEUE"
    CANCEL = "CANCEL"
    FAIL = "FAIL"


class Concurrency(Spec):
    limit: int = Field(ge=1)
    behavior: ConcurrencyBehavior = ConcurrencyBehavior.QUEUE


class Sla(Spec):
    id: TaskId
    type: Literal["MAX_DURATION", "EXECUTION_ASSERTION"]
    behavior: Literal["FAIL", "CANCEL", "NONE"] = "FAIL"
    duration: Duration | None = None
    assert_: str | None = Field(None, alias="assert")
    labels: Labels | None = None

    @model_validator(mode="after")
    def _complete(self) -> Sla:
        # Refused rather than accepted: an SLA without what its type checks would never be violated.
        if self.type == "MAX_DURATION" and self.duration is None:
            raise ValueError("a MAX_DURATION SLA needs a duration (such as PT1H): add one, or remove the SLA")
        if self.type == "EXECUTION_ASSERTION" and not self.assert_:
            raise ValueError("an EXECUTION_ASSERTION SLA needs an assert expression (such as "
                             "\"{{ outputs.check.value == 'ok' }}\"): add one, or remove the SLA")
        if self.type == "MAX_DURATION" and self.assert_ is not None:
            raise ValueError("assert: only an EXECUTION_ASSERTION SLA checks an assertion; "
                             "move it to an SLA of that type")
        if self.type == "EXECUTION_ASSERTION" and self.duration is not None:
            raise ValueError("duration: only a MAX_DURATION SLA has a duration; move it to an SLA of that type")
        return self


class PluginDefault(Spec):
    """Default property values for every task whose type is, or starts with, ``type``."""

    type: str
    forced: bool = False
    values: dict[str, Any] = {}


class Flow(Spec):
    id: FlowId
    namespace: Namespace
    revision: int | None = Field(None, ge=1)
    description: str | None = None
    labels: Labels = {}
    inputs: list[Input] = []
    variables: dict[str, Any] = {}
    tasks: list[TaskSpec] = Field(min_length=1)
    errors: list[TaskSpec] = []
    finally_: list[TaskSpec] = Field([], alias="finally")
    after_execution: list[TaskSpec] = []
    outputs: list[Output] = []
    plugin_defaults: list[PluginDefault] = []
    # Kestra's name before pluginDefaults; merged into plugin_defaults by the validator.
    task_defaults: list[PluginDefault] = []
    concurrency: Concurrency | None = None
    retry: Retry | None = None
    sla: list[Sla] = []
    disabled: bool = False
    deleted: bool = False
    triggers: list[TriggerSpec] = []
    tenant_id: str | None = None

    @cached_property
    def tasks_by_id(self) -> dict[str, TaskSpec]:
        """Every task by id; computed once per flow value (walking a flow costs more than a decision).

        Kept on the (frozen) flow itself rather than in a module-level cache: it lives and dies
        with the flow, and equality and dumps look at fields only.
        """
        return {task.id: task for task in self.all_tasks()}

    def all_tasks(self) -> Iterator[TaskSpec]:
        """Every task, nested ones included, depth first in document order."""
        for group in (self.tasks, self.errors, self.finally_, self.after_execution):
            for task in group:
                yield from walk(task)


def walk(spec: PluginSpec) -> Iterator[Any]:
    """``spec`` and every task nested in its properties, depth first."""
    yield spec
    for name in type(spec).model_fields:
        yield from _nested(getattr(spec, name))


def _nested(value: Any) -> Iterator[Any]:
    if isinstance(value, TaskSpec):
        yield from walk(value)
    elif isinstance(value, Spec):
        for name in type(value).model_fields:
            yield from _nested(getattr(value, name))
    elif isinstance(value, list):
        for item in value:
            yield from _nested(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _nested(item)
