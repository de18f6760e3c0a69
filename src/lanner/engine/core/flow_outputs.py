"""A flow's outputs (``outputs:``): rendered when the execution succeeds, then converted to their types.

Each output declares a ``type`` (the inputs' types) and whether it is ``required``
(default true).  As Kestra does when an execution ends:

- a required output whose value cannot be rendered, renders to nothing (null or an
  empty text), or does not fit its type fails the execution, with a message naming the
  output; every such problem is reported at once;
- an optional output that cannot be rendered or renders to nothing is null (the
  former with a warning, since a broken expression is rarely meant).

A value is converted by its input type's own check (:meth:`InputSpec.check`), so
``"42"`` becomes the number 42 for an ``INT`` and ``"{\\"a\\": 1}"`` a mapping for a
``JSON``, then made JSON-ready the way inputs are (instants, dates and durations as
ISO-8601 text).  Outputs carry no constraints (``values``, ``min``, ``itemType``...):
``ENUM`` and ``SELECT`` are text, ``ARRAY`` any list.  A ``SECRET`` output is text
stored encrypted, as a SECRET input is (:mod:`lanner.encryption`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lanner import encryption
from lanner.engine.core.inputs import json_ready
from lanner.expr import ExpressionError
from lanner.model.flow import Output
from lanner.model.inputs import INPUT_TYPES
from lanner.plain_yaml import YamlError
from lanner.plain_yaml import parse as parse_yaml

# Types kept as text: ENUM and SELECT would check against values an output does not declare.
_TEXT = frozenset({"STRING", "SECRET", "ENUM", "SELECT"})
# How much of an offending value a message shows: enough to recognise it, never a wall of text.
_SHOWN_CHARS = 60


@dataclass
class TypedOutputs:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # each fails the execution
    warnings: list[str] = field(default_factory=list)  # optional outputs left null


def typed_outputs(outputs: Sequence[Output], render: Callable[[Any], Any]) -> TypedOutputs:
    """Every output rendered by ``render`` and converted; the problems say which output and why."""
    result = TypedOutputs()
    for output in outputs:
        try:
            value = render(output.value)
        except (ExpressionError, ValueError) as exc:
            if output.required:
                result.errors.append(f"Invalid output `{output.id}`: its value cannot be rendered: {exc}")
            else:
                result.warnings.append(f"Optional output `{output.id}` is null: its value cannot be rendered: {exc}")
                result.values[output.id] = None
            continue
        if value is None or value == "":
            if output.required:
                result.errors.append(f"Missing required output `{output.id}` ({output.type}): its value is empty; "
                                     "make it render to a value, or set required: false")
            else:
                result.values[output.id] = None
            continue
        try:
            result.values[output.id] = typed_output(output, value)
        except ValueError as exc:
            shown = "" if output.type == "SECRET" else _got(value)  # a secret's value never reaches a message
            result.errors.append(f"Invalid output `{output.id}` ({output.type}): {exc}{shown}; "
                                 "fix its value, or declare the type it has")
    return result


def typed_output(output: Output, value: Any) -> Any:
    """``value`` as ``output``'s type, JSON-ready; ``ValueError`` saying why it does not fit."""
    if output.type in _TEXT:
        # Kestra keeps the text of anything given to a text output (a number's digits, a mapping's JSON).
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        return encryption.seal(text) if output.type == "SECRET" else text
    if output.type == "ARRAY":
        return json_ready(_list(value))
    checked = INPUT_TYPES[output.type].model_construct(id=output.id, type=output.type).check(value)
    if output.type == "YAML" and isinstance(checked, str):
        try:
            checked = parse_yaml(checked).data
        except YamlError as exc:
            raise ValueError(f"expected YAML: {exc.message}") from None
    return json_ready(checked)


def _list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("expected a list, such as a JSON array") from None
    if not isinstance(value, list):
        raise ValueError("expected a list, such as a JSON array")
    return value


def _got(value: Any) -> str:
    shown = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    if len(shown) > _SHOWN_CHARS:
        shown = shown[: _SHOWN_CHARS - 3] + "..."
    return f", got {shown}"
