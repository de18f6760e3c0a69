"""An execution's inputs: the values given when it is created, read through the flow's declared inputs.

A flow declares its inputs (``inputs:``), each with a type, constraints, ``required``
and ``defaults``.  Creating an execution supplies some values; :func:`resolve_inputs`
turns them into the execution's ``inputs`` mapping:

1. For each declared input, in declaration order, decide whether it is asked at all: an
   input with ``dependsOn`` is skipped when an input it follows was skipped, or when its
   ``condition`` does not render to ``true`` (Kestra's rule: ``yes`` or ``1`` do not
   count).  A skipped input has no value, not even ``null``, whether required or not.
2. Take the given value; when none was given, take its ``defaults`` (an expression
   default is rendered first); when there is no default either, the input is missing.
   Expressions (a condition, a default) see the inputs resolved before as ``inputs``.
3. A missing required input is an error.  A missing optional input is still present,
   as ``null``, so ``{{ inputs.x }}`` is defined and ``{{ inputs.x ?? 'fallback' }}``
   works.
4. The value is converted and checked by the input's own type (``InputSpec.check``).
5. A SECRET value is encrypted (:mod:`lanner.encryption`): the execution stores it
   sealed, and an expression that reaches it gets the clear text, masked wherever it
   is recorded.  Any other result is made JSON-ready the way Kestra shows inputs:
   instants as ISO-8601 UTC text (``2024-01-31T10:00:00Z``), dates as ``2024-01-31``,
   times as ``10:15:00``, durations as ISO-8601 (``PT1H30M``), JSON and ARRAY values
   parsed, YAML text parsed.

Values given for names the flow does not declare are ignored, as Kestra does.  Every
problem is collected before anything is reported, so a user fixes them all in one go:
one :class:`InputsError` lists them, one per line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from lanner import encryption
from lanner.encryption import EncryptionError
from lanner.errors import UsageError
from lanner.expr import ExpressionError, render_value
from lanner.expr.errors import mask_value
from lanner.model.flow import Flow
from lanner.model.inputs import InputSpec, SecretInput, resolution_order
from lanner.model.spec import is_template
from lanner.plain_yaml import YamlError
from lanner.plain_yaml import parse as parse_yaml

# How much of an offending value a message shows: enough to recognise it, never a wall of text.
_SHOWN_CHARS = 60

# Renders an expression (a condition, a default) given the inputs resolved so far.
Render = Callable[[Any, Mapping[str, Any]], Any]


class InputsError(UsageError):
    """The given values do not fit the flow's inputs; ``problems`` holds one line per input."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def resolve_inputs(flow: Flow, given: Mapping[str, Any], *, render: Render | None = None,
                   secrets: set[str] | None = None) -> dict[str, Any]:
    """The execution's inputs, in declaration order; raise :class:`InputsError` listing every problem.

    ``render(expression, inputs)`` renders an expression ``defaults`` or ``dependsOn``
    condition; without it an expression default is used as written and a condition sees
    the inputs alone.  ``secrets`` holds the secret values known to have reached the
    given values or the renders (``render`` adds those it reveals to the same set):
    they are kept only by a SECRET input, which encrypts them, and masked in any other.
    """
    return resolve_specs(flow.inputs, given, render=render, secrets=secrets)


def resolve_specs(
    specs: Sequence[InputSpec], given: Mapping[str, Any], *, render: Render | None = None,
    secrets: set[str] | None = None,
) -> dict[str, Any]:
    """:func:`resolve_inputs` for any list of input declarations (a Pause task's ``onResume``)."""
    resolved: dict[str, Any] = {}
    skipped: set[str] = set()
    failed: set[str] = set()
    problems: list[str] = []
    for spec in resolution_order(specs):  # an input comes after those it depends on
        try:
            asked = _asked(spec, resolved, skipped, failed, render)
        except ExpressionError as exc:
            problems.append(f"Invalid dependsOn condition of input `{spec.id}`: {exc.message}")
            asked = None
        if asked is None:
            failed.add(spec.id)
        elif not asked:
            skipped.add(spec.id)
        else:
            problem = _resolve_value(spec, given, render, resolved)
            if problem:
                problems.append(problem)
                failed.add(spec.id)
    if problems:
        raise InputsError(problems)
    result = {spec.id: resolved[spec.id] for spec in specs if spec.id in resolved}  # in declaration order
    # A secret is stored only encrypted: a SECRET input's value is sealed, mask_value leaves it be.
    return mask_value(result, secrets) if secrets else result


def _asked(spec: InputSpec, resolved: Mapping[str, Any], skipped: set[str], failed: set[str],
           render: Render | None) -> bool | None:
    """Whether ``spec`` is asked for a value; None when an input it follows has a problem of its own."""
    if spec.depends_on is None:
        return True
    following = spec.depends_on.inputs
    if any(other in skipped for other in following):
        return False  # as in Kestra: what follows a skipped input is skipped too
    if any(other in failed for other in following):
        # That problem is reported already; judging this input on a value that does not exist would only add noise.
        return None
    if spec.depends_on.condition is None:
        return True
    rendered = (render or _render_bare)(spec.depends_on.condition, resolved)
    # Kestra asks the input only when the condition is true itself, not merely truthy.
    return rendered is True or (isinstance(rendered, str) and rendered.strip() == "true")


def _render_bare(expression: Any, inputs: Mapping[str, Any]) -> Any:
    return render_value(expression, {"inputs": dict(inputs)})


def _resolve_value(spec: InputSpec, given: Mapping[str, Any], render: Render | None,
                   resolved: dict[str, Any]) -> str | None:
    """Put ``spec``'s value into ``resolved``, or return the problem that prevents it."""
    try:
        value = _raw_value(spec, given, render, resolved)
    except ExpressionError as exc:
        return f"Invalid defaults of input `{spec.id}`: {exc.message}"
    if value is None:
        if spec.required:
            return f"Missing required input `{spec.id}` ({spec.TYPE_NAME})"
        resolved[spec.id] = None
        return None
    try:
        checked = spec.check(value)
        if spec.TYPE_NAME == "YAML":
            checked = _parse_yaml(checked)
        resolved[spec.id] = encryption.seal(checked) if isinstance(spec, SecretInput) else json_ready(checked)
    except EncryptionError as exc:
        return f"Input `{spec.id}`: {exc}"
    except ValueError as exc:
        return f"Invalid input `{spec.id}`: {exc}{_got(spec, value)}"
    return None


def _raw_value(spec: InputSpec, given: Mapping[str, Any], render: Render | None, resolved: Mapping[str, Any]) -> Any:
    if given.get(spec.id) is not None:
        return given[spec.id]
    if render is not None and is_template(spec.defaults):
        return render(spec.defaults, resolved)
    return spec.defaults


def _parse_yaml(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # already structured (given through the API as JSON)
    try:
        return parse_yaml(value).data
    except YamlError as exc:
        raise ValueError(f"expected YAML: {exc.message}") from None


def _got(spec: InputSpec, value: Any) -> str:
    # A secret's value must not reach a message, which may end up in a log or a UI.
    if isinstance(spec, SecretInput):
        return ""
    shown = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    if len(shown) > _SHOWN_CHARS:
        shown = shown[: _SHOWN_CHARS - 3] + "..."
    return f", got {shown}"


def json_ready(value: Any) -> Any:
    """``value`` with every date, time and duration (at any depth) in the text form Kestra shows."""
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration_iso(value)
    if isinstance(value, Mapping):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return value


def format_instant(value: datetime) -> str:
    """An instant as Kestra prints one: UTC with ``Z``, fractions only when present (in 3-digit groups).

    A date-time written without an offset is taken as UTC.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # within hours of year 1 or 9999, the UTC moment is not representable
        raise ValueError("the date-time is out of range once converted to UTC") from None
    text = value.replace(tzinfo=None, microsecond=0).isoformat()
    if value.microsecond:
        text += "." + _fraction(value.microsecond)
    return text + "Z"


def _fraction(microseconds: int) -> str:
    digits = f"{microseconds:06d}"
    # Java prints milliseconds when that is exact, microseconds otherwise.
    return digits[:3] if digits.endswith("000") else digits


def format_duration_iso(value: timedelta) -> str:
    """A duration as ISO-8601, the way Java's ``Duration`` prints it: ``PT5M``, ``PT1H30M``, ``PT0.5S``, ``PT48H``.

    Hours are the largest unit (days are not calendar-safe); zero is ``PT0S``.
    """
    micros = value // timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    parts = [f"{sign}{hours}H" if hours else "", f"{sign}{minutes}M" if minutes else ""]
    if seconds or micros or not (hours or minutes):
        fraction = f"{micros:06d}".rstrip("0")
        parts.append(f"{sign}{seconds}{'.' + fraction if fraction else ''}S")
    return "PT" + "".join(parts)
