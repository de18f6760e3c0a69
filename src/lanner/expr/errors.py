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

import base64
import json
from typing import TypeVar, cast

from lanner.encryption import MASK, is_sealed
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


T = TypeVar("T")


def mask(message: str, secrets: set[str]) -> str:
    """Replace every secret value inside ``message`` by stars, longest first, in each form it may be
    written in: as it is, base64-encoded (the form ``SECRET_*`` variables hold), JSON-escaped."""
    for form in sorted({form for secret in secrets if secret for form in _forms(secret)}, key=len, reverse=True):
        message = message.replace(form, MASK)
    return message


def mask_value(value: T, secrets: set[str]) -> T:
    """:func:`mask` applied to every string inside a structure (a task's outputs), of the same shape."""
    if not secrets or is_sealed(value):  # an encrypted value holds no clear text (and must stay intact)
        return value
    if isinstance(value, str):
        return cast(T, mask(value, secrets))
    if isinstance(value, dict):
        return cast(T, {key: mask_value(item, secrets) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return cast(T, [mask_value(item, secrets) for item in value])
    return value


def _forms(secret: str) -> set[str]:
    return {secret, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1]}
