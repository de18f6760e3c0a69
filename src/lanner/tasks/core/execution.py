"""Tasks acting on executions: Fail, Labels, OutputValues, Resume."""

from __future__ import annotations

import json
from typing import Any

from lanner.errors import LannerError
from lanner.expr.truthiness import truthy
from lanner.model.spec import Labels
from lanner.tasks.runnable import RunContext, RunnableTask, TaskFailure, TaskOutput

CORE = "io.kestra.plugin.core"
LEGACY = "io.kestra.core.tasks"

# Labels under this prefix are written by the server itself (Kestra's system labels).
_SYSTEM_PREFIX = "system."


class Fail(RunnableTask):
    TYPE = f"{CORE}.execution.Fail"
    ALIASES = (f"{LEGACY}.executions.Fail",)

    condition: str | bool | None = None
    error_message: str = "Task failure"

    def run(self, context: RunContext) -> TaskOutput:
        if self.condition is not None:
            # A literal boolean needs no rendering; text is rendered and read by Kestra's truthiness rule.
            value = self.condition if isinstance(self.condition, bool) else context.render(self.condition)
            if not truthy(value):
                return TaskOutput()
        raise TaskFailure(str(context.render(self.error_message)))


class SetLabels(RunnableTask):
    TYPE = f"{CORE}.execution.Labels"
    ALIASES = (f"{LEGACY}.executions.Labels",)

    labels: Labels | str

    def run(self, context: RunContext) -> TaskOutput:
        if isinstance(self.labels, str):
            pairs = _pairs(_parse_json(context.render(self.labels)))
        else:
            pairs = _pairs(self.labels)
            # Keys may be expressions too; later pairs win, as when a list repeats a key.
            pairs = [(context.render(key), context.render(value)) for key, value in pairs]
        labels: dict[str, str] = {}
        for key, value in pairs:
            key_text = _label_text(key)
            if not key_text:
                raise TaskFailure("A label key is empty")
            if value is None:
                raise TaskFailure(f"Label `{key_text}` has no value")
            labels[key_text] = _label_text(value)
        reserved = [key for key in labels if key.startswith(_SYSTEM_PREFIX)]
        if reserved:
            raise TaskFailure(
                f"Label `{reserved[0]}` is a system label: labels starting with `{_SYSTEM_PREFIX}` "
                "are reserved for the server and cannot be set by a task"
            )
        return TaskOutput(labels=labels)


def _parse_json(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise TaskFailure(
            f"The rendered labels are not JSON of a map or a list of {{key, value}}: {exc}"
        ) from None


def _pairs(labels: Any) -> list[tuple[Any, Any]]:
    """Labels as (key, value) pairs, from a mapping or a list of ``{key, value}`` mappings."""
    if isinstance(labels, dict):
        return list(labels.items())
    if isinstance(labels, list):
        pairs = []
        for index, item in enumerate(labels):
            if not isinstance(item, dict) or "key" not in item or "value" not in item:
                raise TaskFailure(f"Labels item {index} is not a mapping with `key` and `value`")
            pairs.append((item["key"], item["value"]))
        return pairs
    raise TaskFailure(f"Expected labels as a map or a list of {{key, value}}, got {type(labels).__name__}")


def _label_text(value: Any) -> str:
    # Label values are text; structured values are kept as compact JSON (as Kestra does for maps).
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


class OutputValues(RunnableTask):
    TYPE = f"{CORE}.output.OutputValues"
    ALIASES = (f"{LEGACY}.outputs.OutputValues",)

    values: dict[str, Any] = {}

    def run(self, context: RunContext) -> TaskOutput:
        return TaskOutput(outputs={"values": context.render(self.values)})


class Resume(RunnableTask):
    """Resume a PAUSED execution: this one (a Pause in a parallel branch) or, with ``executionId``, another.

    ``namespace`` and ``flowId`` name the flow that execution must belong to (Kestra asks
    for them to make explicit which flow's executions a task may resume).
    """

    TYPE = f"{CORE}.execution.Resume"

    execution_id: str | None = None
    namespace: str | None = None
    flow_id: str | None = None
    inputs: dict[str, Any] = {}

    def run(self, context: RunContext) -> TaskOutput:
        target = str(context.render(self.execution_id)) if self.execution_id else context.execution_id
        namespace = _rendered_text(context, self.namespace)
        flow_id = _rendered_text(context, self.flow_id)
        try:
            context.resume_execution(target, context.render(dict(self.inputs)), namespace=namespace, flow_id=flow_id)
        except LannerError as exc:  # not paused, unknown, of another flow, inputs that do not fit its onResume
            raise TaskFailure(f"cannot resume execution {target}: {exc}") from None
        return TaskOutput()


def _rendered_text(context: RunContext, value: str | None) -> str | None:
    # Rendering to nothing counts as not given, as an unset property.
    text = str(context.render(value)) if value is not None else ""
    return text or None


TYPES = [Fail, SetLabels, OutputValues, Resume]
