"""Building blocks shared by every flow model: the base class, ids, durations, dynamic values.

A Kestra property can usually hold either a value or an expression rendered at run
time (``concurrencyLimit: "{{ inputs.n }}"``).  :data:`Dynamic` marks such properties:
validation accepts the value's type, or any string containing template syntax, which is
kept unrendered until execution.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WrapValidator
from pydantic.alias_generators import to_camel

from lanner.durations import parse_duration

T = TypeVar("T")
_TEMPLATE = re.compile(r"\{\{|\{%|\{#")  # the same rule as lanner.expr.is_expression


def is_template(value: object) -> bool:
    return isinstance(value, str) and _TEMPLATE.search(value) is not None


class Spec(BaseModel):
    """Base of every flow model: frozen, camelCase in YAML, unknown properties refused."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=False,
        arbitrary_types_allowed=True, protected_namespaces=(),
    )


def _keep_templates(value: Any, handler: Any) -> Any:
    return value if is_template(value) else handler(value)


# ``Dynamic[int]``: an int, or an expression string rendered at run time. Validation checks
# the value's type and keeps template strings as they are; so for the type checker the property
# holds the value or a string (a generic alias, where ``Dynamic[int]`` is ``int | str``).
if TYPE_CHECKING:
    Dynamic: TypeAlias = T | str
else:
    Dynamic = Annotated[T, WrapValidator(_keep_templates)]
# Non-negative and positive counts that may also be expressions; the bound applies to literal values only.
Count = Annotated[int, Field(ge=0)]
PositiveCount = Annotated[int, Field(ge=1)]


def _duration(value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError("expected an ISO-8601 duration such as PT30S or PT1H (or 30s, 1h)") from exc


Duration = Annotated[timedelta, BeforeValidator(_duration)]

# Kestra's identifier rules.
TaskId = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$", max_length=100)]
FlowId = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$", max_length=100)]
Namespace = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=150)]
InputId = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$", max_length=100)]


def _labels(value: Any) -> Any:
    """Labels are a map, or Kestra's list of ``{key, value}``; both become ``{key: value}``."""
    if isinstance(value, list):
        result = {}
        for index, item in enumerate(value):
            if not isinstance(item, dict) or set(item) != {"key", "value"}:
                raise ValueError(f"item {index}: expected a mapping with exactly 'key' and 'value'")
            result[str(item["key"])] = item["value"]
        return result
    return value


def _label_values(value: dict[str, Any]) -> dict[str, Any]:
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            raise ValueError(f"label '{key}': expected a plain value, not a {type(item).__name__}")
    return {k: (v if isinstance(v, str) or v is None else str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in value.items()}


Labels = Annotated[dict[str, Any], BeforeValidator(_labels), AfterValidator(_label_values)]
