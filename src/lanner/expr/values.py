"""What values mean to the expression language: printing, truth, equality, arithmetic, lookup.

Kestra evaluates templates in Java, so a value behaves as its Java counterpart would:
a Python ``int`` is a ``Long``, a ``float`` a ``Double``, a ``dict`` a ``Map`` and a
``list`` a ``List``.  The rules that follow from that, and that differ from Python:

- ``5 / 2`` is ``2``: integer division truncates toward zero, as ``Long`` division does
  (and ``-5 / 2`` is ``-2``, ``-5 % 3`` is ``-2``).  One float operand makes it ``2.5``.
- ``true == 1`` is false: a boolean is not a number.  ``1 == 1.0`` is true.
- A float prints as Java prints a ``Double``: ``1.0``, ``1.0E20``, ``Infinity``.
- A map or a list prints as compact JSON, as Kestra's output writer does, so
  ``{{ outputs.task.rows }}`` can be pasted into a JSON body.
- ``null`` prints as nothing; a datetime prints as ISO-8601 (``...Z`` in UTC).

Lookups are closed: ``a.b`` and ``a['b']`` read a key of a mapping or an index of a
list, and nothing else.  There is no attribute access on Python objects at all, so a
template cannot walk from a value to its class, its module or ``os``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from lanner.expr.errors import EvalError, Undefined, type_name

NUMBERS = (int, float, Decimal)


def is_number(value: object) -> bool:
    return isinstance(value, NUMBERS) and not isinstance(value, bool)


# --- printing -----------------------------------------------------------------------


def java_double(value: float) -> str:
    """Format a float as Java's ``Double.toString`` does (``1.0``, ``1.5E-5``, ``NaN``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        if "e" in text or "E" in text:  # repr may still pick an exponent for e.g. 1e-3
            text = format(value, "f").rstrip("0")
        return text if "." in text else text + ".0"
    # Computerised scientific notation: shortest round-trip digits, one before the point.
    digits, exponent = _shortest_digits(magnitude)
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return f"{'-' if value < 0 else ''}{mantissa}E{exponent}"


def _shortest_digits(magnitude: float) -> tuple[str, int]:
    sign_digits_exp = Decimal(repr(magnitude)).as_tuple()
    digits = "".join(str(d) for d in sign_digits_exp.digits).rstrip("0") or "0"
    exponent = int(sign_digits_exp.exponent) + len(sign_digits_exp.digits) - 1
    return digits, exponent


def datetime_text(value: datetime) -> str:
    """ISO-8601 as ``java.time`` prints it: ``Z`` for UTC, fraction in groups of three."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    micros = value.microsecond
    if micros:
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    offset = value.utcoffset()
    if offset is None:
        return text
    return text + offset_text(offset, zero="Z")


def offset_text(offset: timedelta, zero: str = "Z", colon: bool = True, seconds: bool = True) -> str:
    total = int(offset.total_seconds())
    if total == 0 and zero:
        return zero
    sign = "-" if total < 0 else "+"
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    sep = ":" if colon else ""
    text = f"{sign}{hours:02d}{sep}{minutes:02d}"
    if secs and seconds:
        text += f"{sep}{secs:02d}"
    return text


def to_text(value: Any) -> str:
    """How a value prints inside ``{{ }}``."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return java_double(value)
    if isinstance(value, (dict, list, tuple, Mapping)):
        return to_json(value)
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):  # a str subclass
        return str.__str__(value)
    if isinstance(value, int):
        return str(int(value))
    raise EvalError(f"cannot print a value of type {type_name(value)}")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise EvalError(f"cannot convert a value of type {type_name(value)} to JSON")


def to_json(value: Any) -> str:
    """Compact JSON, as Jackson writes it (Kestra's ``toJson`` and map/list printing)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as exc:  # non-string keys that JSON cannot hold, cycles
        raise EvalError(f"cannot convert the value to JSON ({type(exc).__name__})") from None


def plain(value: Any) -> Any:
    """The JSON-compatible form of a value (datetimes become ISO strings), for jq and YAML."""
    return json.loads(to_json(value))


# --- truth, equality, comparison ----------------------------------------------------


def truth(value: Any) -> bool:
    """The truth of a condition: booleans, null (false), numbers, and 'true'/'false' strings."""
    if value is True:
        return True
    if value is False or value is None:
        return False
    if is_number(value):
        return bool(value != 0)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    raise EvalError(f"expected a boolean but got a {type_name(value)}")


def equals(left: Any, right: Any) -> bool:
    """``==``: numbers compare by value, anything else as Java's ``Objects.equals``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if is_number(left) and is_number(right):
        try:
            return bool(left == right)
        except TypeError:  # Decimal against float
            return float(left) == float(right)
    try:
        return bool(left == right)
    except TypeError:  # aware against naive datetimes
        return False


def compare(left: Any, right: Any, operator: str) -> bool:
    """``<``, ``<=``, ``>``, ``>=`` over numbers, strings (Kestra adds those) and datetimes."""
    comparable = (
        (is_number(left) and is_number(right))
        or (isinstance(left, str) and isinstance(right, str))
        or (isinstance(left, (datetime, date)) and isinstance(right, (datetime, date)))
    )
    if not comparable:
        raise EvalError(f"cannot compare a {type_name(left)} with a {type_name(right)} using `{operator}`")
    if isinstance(left, Decimal) != isinstance(right, Decimal):
        left, right = float(left), float(right)
    try:
        if operator == "<":
            return bool(left < right)
        if operator == "<=":
            return bool(left <= right)
        if operator == ">":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        raise EvalError(f"cannot compare a {type_name(left)} with a {type_name(right)}") from None


def contains(container: Any, item: Any) -> bool:
    """Pebble's ``contains``: list membership (all of a list), map key, or substring."""
    if container is None:
        return False
    if isinstance(container, (list, tuple)):
        if isinstance(item, (list, tuple)):
            return all(_list_has(container, each) for each in item)
        return _list_has(container, item)
    if isinstance(container, Mapping):
        try:
            return item in container
        except TypeError:
            return False
    if isinstance(container, str):
        return to_text(item) in container
    raise EvalError(f"`contains` works on lists, maps and strings, not on a {type_name(container)}")


def is_in(item: Any, container: Any) -> bool:
    """Kestra's ``isIn``: ``item`` printed equals an item (or a map key or value) printed."""
    if item is None or container is None:
        return False
    wanted = to_text(item)
    if isinstance(container, Mapping):
        return any(to_text(key) == wanted or to_text(value) == wanted for key, value in container.items())
    if isinstance(container, (list, tuple)):
        return any(to_text(each) == wanted for each in container)
    return False


def _list_has(items: list[Any] | tuple[Any, ...], item: Any) -> bool:
    return any(equals(each, item) for each in items)


# --- arithmetic ---------------------------------------------------------------------


def _numbers(left: Any, right: Any, operator: str) -> tuple[Any, Any]:
    if not (is_number(left) and is_number(right)):
        raise EvalError(f"cannot apply `{operator}` to a {type_name(left)} and a {type_name(right)}")
    if isinstance(left, Decimal) != isinstance(right, Decimal) and (
        isinstance(left, float) or isinstance(right, float)
    ):
        return float(left), float(right)
    return left, right


def add(left: Any, right: Any) -> Any:
    # Pebble's `+` concatenates as soon as one side is a string, and appends to a list.
    if isinstance(left, str) or isinstance(right, str):
        return ("null" if left is None else to_text(left)) + ("null" if right is None else to_text(right))
    if isinstance(left, list):
        return [*left, *right] if isinstance(right, list) else [*left, right]
    left, right = _numbers(left, right, "+")
    return left + right


def subtract(left: Any, right: Any) -> Any:
    if isinstance(left, list):
        return [each for each in left if not equals(each, right)]
    left, right = _numbers(left, right, "-")
    return left - right


def multiply(left: Any, right: Any) -> Any:
    left, right = _numbers(left, right, "*")
    return left * right


def divide(left: Any, right: Any) -> Any:
    left, right = _numbers(left, right, "/")
    if type(left) is int and type(right) is int:
        if right == 0:
            raise EvalError("division by zero")
        quotient = abs(left) // abs(right)  # truncate toward zero, as Java's long division
        return quotient if (left < 0) == (right < 0) else -quotient
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        if right == 0:
            raise EvalError("division by zero")
        return Decimal(left) / Decimal(right)
    if right == 0:  # a Double division by zero is not an error in Java
        if left == 0 or math.isnan(left):
            return math.nan
        return math.copysign(math.inf, left) * math.copysign(1.0, right)
    return left / right


def modulo(left: Any, right: Any) -> Any:
    left, right = _numbers(left, right, "%")
    if type(left) is int and type(right) is int:
        if right == 0:
            raise EvalError("division by zero")
        remainder = abs(left) % abs(right)  # the sign follows the dividend, as in Java
        return -remainder if left < 0 else remainder
    if right == 0:
        return math.nan
    return math.fmod(left, right)


def negate(value: Any) -> Any:
    if not is_number(value):
        raise EvalError(f"cannot negate a {type_name(value)}")
    return -value


def concat(left: Any, right: Any) -> str:
    """``~``: both sides printed, null as nothing."""
    return to_text(left) + to_text(right)


# --- lookup ---------------------------------------------------------------------------


def get_item(container: Any, key: Any, label: str | None = None) -> Any:
    """``a.b`` / ``a['b']`` / ``a[0]``: a mapping key or a list index, nothing else.

    A missing key or index raises :class:`Undefined` so ``??`` and ``default`` can
    supply a value; any other kind of value refuses the access outright.
    """
    name = label if label is not None else str(key)
    if isinstance(container, Mapping):
        try:
            return container[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable key (a list or a map) cannot be a key
            raise EvalError(f"a {type_name(key)} cannot be used as a map key") from None
        if is_number(key) and not isinstance(key, bool):
            try:
                return container[to_text(key)]
            except KeyError:
                pass
        raise Undefined(name)
    if isinstance(container, (list, tuple)):
        index = _index(key)
        if index is None:
            raise EvalError(f"access to `{name}` is not allowed on a list; use an integer index")
        if 0 <= index < len(container):
            return container[index]
        raise Undefined(name)
    if container is None:
        raise Undefined(name)
    raise EvalError(f"access to `{name}` is not allowed on a {type_name(container)}")


def _index(key: Any) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    if isinstance(key, float) and key.is_integer():
        return int(key)
    if isinstance(key, str) and key.isdigit() and key.isascii():
        return int(key)
    return None
