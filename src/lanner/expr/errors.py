"""How the expression language fails: one public error, two private signals.

Every parse or render failure reaches a caller as :class:`ExpressionError`, whose
message reads like Kestra's so an operator who knows Kestra recognises it:
``Unable to find `x` used in the expression `{{ x }}` at line 1``.

Inside the evaluator two lighter exceptions travel instead, because the code that
notices a problem (a filter, a key lookup) does not know which tag it is in:

- :class:`Undefined` says a variable or key does not exist.  ``??``, ``???``,
  ``is defined`` and the ``default`` filter catch it; anything else lets it reach the
  tag, which turns it into the Kestra message above.
- :class:`EvalError` carries a message about a value (wrong type, bad argument); the
  tag adds where it happened.

Messages name types, variables, filters and the template text, never a runtime
value: a value may be a secret, and secrets must not reach logs through errors.
"""

from __future__ import annotations

from lanner.errors import LannerError


class ExpressionError(LannerError):
    """A template that cannot be parsed or rendered; the message says what and where."""


class Undefined(Exception):
    """A variable, key or index that does not exist (``name`` is what was looked up)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class EvalError(Exception):
    """A render-time failure about a value; the enclosing tag adds the location."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def type_name(value: object) -> str:
    """The Pebble-ish name of a value's type, safe to put in a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def mask(message: str, secrets: set[str]) -> str:
    """Replace every secret value inside ``message`` by stars, longest first."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            message = message.replace(secret, "******")
    return message
