"""Compiled templates and the rendering entry points the rest of Lanner calls.

``compile_template`` parses and compiles a template once and keeps it in an LRU cache
keyed by its text, so the thousands of renders of the same ``{{ inputs.x }}`` across
executions cost a dictionary lookup and a few closure calls.  Text with no ``{{``,
``{%`` or ``{#`` never reaches the parser.

A render reads only the context mapping it is given (and the environment, through
``secret()``).  When a render used a secret and then fails, every secret value in the
message is replaced by ``******`` and the exception chain is cut, so an error can go
to a log as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lanner.expr.compiler import compile_body
from lanner.expr.errors import ExpressionError, mask
from lanner.expr.frame import Frame, Runtime
from lanner.expr.parser import parse
from lanner.expr.services import Services

CACHE_SIZE = 4096


def is_expression(text: str) -> bool:
    """Whether ``text`` contains template syntax (and so must be rendered before use)."""
    return "{{" in text or "{%" in text or "{#" in text


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled template: render it with a context as often as needed."""

    source: str
    _render: Callable[[Frame], str] = field(repr=False, compare=False)

    def render(
        self, context: Mapping[str, Any], services: Services | None = None, secrets: set[str] | None = None
    ) -> str:
        """The rendered text.  ``secrets``, when given, receives every secret value used."""
        rt = Runtime(services, secrets, _render_nested)
        try:
            return self._render(Frame(context, rt))
        except ExpressionError as exc:
            if rt.secrets:
                raise ExpressionError(mask(exc.message, rt.secrets), exc.hint) from None
            raise


# A memo of a pure function (same text, same immutable result): it has no observable effect,
# so decide may reach it (see lanner.engine.core.surroundings).
@lru_cache(maxsize=CACHE_SIZE)
def compile_template(template: str) -> Template:
    """Parse and compile ``template`` (cached); raises ExpressionError on a syntax error."""
    try:
        body = parse(template)
        return Template(template, compile_body(body))
    except RecursionError:
        raise ExpressionError("Unable to parse the template: it is nested too deeply") from None


def _render_nested(template: str, variables: Mapping[str, Any], rt: Runtime) -> str:
    """``render()`` inside a template: same variables, same runtime (secrets, depth)."""
    if not is_expression(template):
        return template
    return compile_template(template)._render(Frame(variables, rt))


def render(
    template: str,
    context: Mapping[str, Any],
    services: Services | None = None,
    secrets: set[str] | None = None,
) -> str:
    """Render a template string with ``context``; text without template syntax is returned as is."""
    if "{" not in template or not is_expression(template):
        return template
    return compile_template(template).render(context, services, secrets)


def render_value(
    value: Any,
    context: Mapping[str, Any],
    services: Services | None = None,
    secrets: set[str] | None = None,
) -> Any:
    """Render every string in a structure: dict keys and values, list items; other values as they are."""
    if isinstance(value, str):
        return render(value, context, services, secrets)
    if isinstance(value, Mapping):
        return {
            render_value(key, context, services, secrets): render_value(item, context, services, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [render_value(item, context, services, secrets) for item in value]
    if isinstance(value, tuple):
        return tuple(render_value(item, context, services, secrets) for item in value)
    return value
