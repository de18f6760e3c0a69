"""Filters on lists and maps (and the few on numbers): keys, first, join, sort, slice, merge...

Filters never change their input: each returns a new list or map, so a value from the
context can be shared between renders.  Sorting follows the comparison rules of the
language (numbers with numbers, strings with strings); a list that mixes them cannot
be sorted and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from lanner.expr.errors import EvalError, type_name
from lanner.expr.frame import Frame
from lanner.expr.registry import FILTERS, alias, filter_, int_arg, required, string_arg
from lanner.expr.values import compare, equals, is_number, to_text


def _list(value: Any, owner: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise EvalError(f"the `{owner}` filter works on a list, not on a {type_name(value)}")


@filter_("keys")
def keys(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return list(value.keys())
    if isinstance(value, (list, tuple)):
        return list(range(len(value)))
    raise EvalError(f"the `keys` filter works on a map or a list, not on a {type_name(value)}")


@filter_("values")
def values(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return list(value.values())
    raise EvalError(f"the `values` filter works on a map, not on a {type_name(value)}")


def _ends(value: Any, owner: str, index: int) -> Any:
    if value is None:
        return None
    if isinstance(value, (str, list, tuple)):
        return value[index] if value else None
    if isinstance(value, Mapping):
        items = list(value.values())
        return items[index] if items else None
    raise EvalError(f"the `{owner}` filter works on a list or a string, not on a {type_name(value)}")


@filter_("first")
def first(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    return _ends(value, "first", 0)


@filter_("last")
def last(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    return _ends(value, "last", -1)


@filter_("length")
def length(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return 0
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    return 0  # Pebble's length of anything else


@filter_("join", "separator")
def join(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    separator = string_arg(args, "separator", "the `join` filter", "")
    return separator.join(to_text(item) for item in _list(value, "join"))


@filter_("flatten")
def flatten(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    flat: list[Any] = []
    for item in _list(value, "flatten"):
        flat.extend(item) if isinstance(item, (list, tuple)) else flat.append(item)
    return flat


@filter_("chunk", "size")
def chunk(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    items = _list(value, "chunk")
    size = int_arg(args, "size", "the `chunk` filter")
    if size <= 0:
        raise EvalError("the `chunk` filter expects a `size` greater than zero")
    return [items[start : start + size] for start in range(0, len(items), size)]


def _sorted(value: Any, owner: str, reverse: bool) -> Any:
    if value is None:
        return None
    items = _list(value, owner)
    key = _SortKey
    return sorted(items, key=key, reverse=reverse)


class _SortKey:
    """Orders items with the language's own comparison, so mixed types fail clearly."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _SortKey) -> bool:
        return compare(self.value, other.value, "<")


@filter_("sort")
def sort(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    return _sorted(value, "sort", reverse=False)


@filter_("rsort")
def rsort(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    return _sorted(value, "rsort", reverse=True)


@filter_("reverse")
def reverse(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value[::-1]
    return _list(value, "reverse")[::-1]


@filter_("slice", "fromIndex", "toIndex")
def slice_(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    if not isinstance(value, (str, list, tuple)):
        raise EvalError(f"the `slice` filter works on a list or a string, not on a {type_name(value)}")
    start = int_arg(args, "fromIndex", "the `slice` filter", 0)
    end = int_arg(args, "toIndex", "the `slice` filter", len(value))
    if start < 0 or end < start:
        raise EvalError("the `slice` filter expects 0 <= fromIndex <= toIndex")
    part = value[start:end]
    return list(part) if isinstance(part, tuple) else part


@filter_("merge", "items")
def merge(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    other = required(args, "items", "the `merge` filter")
    if isinstance(value, Mapping) and isinstance(other, Mapping):
        return {**value, **other}
    if isinstance(value, (list, tuple)):
        if isinstance(other, (list, tuple)):
            return [*value, *other]
        if isinstance(other, Mapping):
            return [*value, *other.items()]
    raise EvalError(f"the `merge` filter cannot merge a {type_name(other)} into a {type_name(value)}")


@filter_("distinct")
def distinct(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    kept: list[Any] = []
    for item in _list(value, "distinct"):
        if not any(equals(item, seen) and type(item) is type(seen) for seen in kept):
            kept.append(item)
    return kept


alias(FILTERS, "unique", "distinct")


def is_empty(value: Any) -> bool:
    """Pebble's emptiness: null, a blank string, an empty list or map."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, Mapping)):
        return not value
    return False


@filter_("default", "default", lenient=True)
def default(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    return args.get("default") if is_empty(value) else value


@filter_("abs")
def abs_(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    if not is_number(value):
        raise EvalError(f"the `abs` filter works on a number, not on a {type_name(value)}")
    return abs(value)


_NUMBER_TYPES = ("INT", "LONG", "BIGINTEGER", "FLOAT", "DOUBLE", "BIGDECIMAL")


@filter_("number", "type")
def number(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    """Parse a string as a number: an integer when it has no point or exponent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise EvalError(f"the `number` filter works on a string, not on a {type_name(value)}")
    kind = string_arg(args, "type", "the `number` filter", "").upper()
    if kind and kind not in _NUMBER_TYPES:
        raise EvalError(f"the `number` filter's `type` is one of {', '.join(_NUMBER_TYPES)}")
    text = value.strip()
    try:
        if kind in ("INT", "LONG", "BIGINTEGER"):
            return int(text, 0) if text.lower().startswith(("0x", "-0x")) else int(text)
        if kind in ("FLOAT", "DOUBLE"):
            return float(text.rstrip("dDfF"))
        if kind == "BIGDECIMAL":
            return Decimal(text)
        if text.lower().startswith(("0x", "-0x", "#")):
            return int(text.replace("#", "0x", 1), 16)
        if text[-1:] in "lL" and text[:-1].lstrip("+-").isdigit():
            return int(text[:-1])
        if any(char in text for char in ".eE") or text[-1:] in "dDfF":
            return float(text.rstrip("dDfF"))
        return int(text)
    except (ValueError, InvalidOperation, IndexError):
        raise EvalError("the `number` filter was given a string that is not a number") from None
