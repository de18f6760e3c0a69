"""The tests of ``x is <test>`` and ``x is not <test>``.

``defined`` is not here: it must see whether evaluating ``x`` fails, so the compiler
builds it.  Every other test receives the value, which means ``missing is null`` is an
error in strict mode (as in Kestra), while ``missing is defined`` is simply false.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lanner.expr.errors import EvalError, type_name
from lanner.expr.frame import Frame
from lanner.expr.registry import test
from lanner.expr.sequences import is_empty


@test("null")
def null(value: Any, args: dict[str, Any], frame: Frame) -> bool:
    return value is None


@test("empty")
def empty(value: Any, args: dict[str, Any], frame: Frame) -> bool:
    return is_empty(value)


def _integer(value: Any, name: str) -> int:
    if value is None:
        raise EvalError(f"the `{name}` test cannot be applied to null")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvalError(f"the `{name}` test works on a number, not on a {type_name(value)}")
    return int(value)


@test("even")
def even(value: Any, args: dict[str, Any], frame: Frame) -> bool:
    return _integer(value, "even") % 2 == 0


@test("odd")
def odd(value: Any, args: dict[str, Any], frame: Frame) -> bool:
    return _integer(value, "odd") % 2 == 1


@test("iterable")
def iterable(value: Any, args: dict[str, Any], frame: Frame) -> bool:
    return isinstance(value, (list, tuple))  # a Java Map is not Iterable, nor is a String


@test("map")
def is_map(value: Any, args: dict[str, Any], frame: Frame) -> bool:
    return isinstance(value, Mapping)


@test("json")
def is_json(value: Any, args: dict[str, Any], frame: Frame) -> bool:
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except (ValueError, RecursionError):
        return False
    return True
