"""The tables of filters, functions and tests, and the helpers their implementations share.

Each built-in declares its parameter names in order, as Pebble's ``getArgumentNames``
does, so ``date("yyyy", timeZone="UTC")`` and ``date(format="yyyy")`` bind the same
way.  The compiler binds arguments once, when a template is compiled: an unknown
filter, a misspelt argument name or too many arguments is a syntax error, not a
surprise at run time.

Implementations receive ``(value, args, frame)`` (filters and tests) or
``(args, frame)`` (functions), where ``args`` maps parameter names to the values
given; missing optional arguments are simply absent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lanner.expr.errors import EvalError, type_name
from lanner.expr.values import to_text


@dataclass(frozen=True, slots=True)
class Builtin:
    name: str
    fn: Callable[..., Any]
    parameters: tuple[str, ...]
    variadic: bool = False  # every positional argument goes to args["values"] (max, min)
    lenient: bool = False  # the filter receives None for an undefined input (default)


FILTERS: dict[str, Builtin] = {}
FUNCTIONS: dict[str, Builtin] = {}
TESTS: dict[str, Builtin] = {}


def filter_(name: str, *parameters: str, lenient: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        FILTERS[name] = Builtin(name, fn, parameters, lenient=lenient)
        return fn

    return register


def function(name: str, *parameters: str, variadic: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        FUNCTIONS[name] = Builtin(name, fn, parameters, variadic=variadic)
        return fn

    return register


def test(name: str, *parameters: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        TESTS[name] = Builtin(name, fn, parameters)
        return fn

    return register


def alias(table: dict[str, Builtin], name: str, existing: str) -> None:
    original = table[existing]
    table[name] = Builtin(name, original.fn, original.parameters, original.variadic, original.lenient)


# --- argument helpers -----------------------------------------------------------------


def required(args: dict[str, Any], name: str, owner: str) -> Any:
    if name not in args:
        raise EvalError(f"{owner} expects an argument `{name}`")
    return args[name]


def string_arg(args: dict[str, Any], name: str, owner: str, default: str | None = None) -> str:
    if name not in args or args[name] is None:
        if default is not None:
            return default
        raise EvalError(f"{owner} expects an argument `{name}`")
    value = args[name]
    if not isinstance(value, str):
        raise EvalError(f"{owner} expects `{name}` to be a string, not a {type_name(value)}")
    return value


def int_arg(args: dict[str, Any], name: str, owner: str, default: int | None = None) -> int:
    if name not in args or args[name] is None:
        if default is not None:
            return default
        raise EvalError(f"{owner} expects an argument `{name}`")
    value = args[name]
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise EvalError(f"{owner} expects `{name}` to be an integer, not a {type_name(value)}")
    return value


def bool_arg(args: dict[str, Any], name: str, owner: str, default: bool) -> bool:
    value = args.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise EvalError(f"{owner} expects `{name}` to be a boolean, not a {type_name(value)}")
    return value


def text_input(value: Any, owner: str) -> str:
    """The input of a string filter: strings as they are, numbers and booleans printed."""
    if isinstance(value, str):
        return value
    return to_text(value)
