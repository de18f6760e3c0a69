"""How values print, compare and are looked up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lanner.expr.values import java_double
from tests.unit.expr.helpers import fails, r


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-12, "-12"),
        (1.0, "1.0"),
        (2.5, "2.5"),
        (-0.0, "-0.0"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (1234567.0, "1234567.0"),
        (12345678.0, "1.2345678E7"),
        (1e20, "1.0E20"),
        (1.5e-7, "1.5E-7"),
        (float("inf"), "Infinity"),
        (float("nan"), "NaN"),
        (Decimal("12.50"), "12.50"),
        ("text", "text"),
        ([1, "a", None, True, 1.5], '[1,"a",null,true,1.5]'),
        ({"a": {"b": [1]}}, '{"a":{"b":[1]}}'),
        ((1, 2), "[1,2]"),
    ],
)
def test_printing(value: object, expected: str) -> None:
    assert r("{{ v }}", v=value) == expected


@pytest.mark.parametrize("value", [0.1, 1.0, 123.456, 1e-3, 9999999.0, 1e7, 3.14e300, 5e-324, 1 / 3])
def test_java_double_text_reads_back_as_the_same_float(value: float) -> None:
    assert float(java_double(value)) == value
    assert float(java_double(-value)) == -value


def test_unprintable_values_fail_clearly() -> None:
    fails("{{ v }}", "cannot print a value of type object", v=object())
    fails("{{ v }}", "cannot convert a value of type object to JSON", v=[object()])


def test_lookups_read_keys_and_indexes() -> None:
    context = {"a": {"b": {"c": 1}, "list": [10, 20], "with-dash": "d", "0": "zero"}}
    assert r("{{ a.b.c }}{{ a['b']['c'] }}{{ a.list[1] }}{{ a.list.0 }}{{ a['with-dash'] }}{{ a[0] }}", **context) == (
        "112010dzero"
    )
    assert r("{{ a.list['1'] }}", **context) == "20"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ a.nope }}", "Unable to find `nope` used in the expression `{{ a.nope }}` at line 1"),
        ("{{ a.list[5] }}", "Unable to find `5` used in the expression `{{ a.list[5] }}` at line 1"),
        ("{{ a.list[-1] }}", "Unable to find `-1`"),
        ("{{ a.n.deeper }}", "Unable to find `deeper`"),  # an attribute of null
        ("{{ a.list.first }}", "access to `first` is not allowed on a list; use an integer index"),
        ("{{ a.text.length }}", "access to `length` is not allowed on a string"),
        ("{{ a.number.real }}", "access to `real` is not allowed on a integer"),
        ("{{ a[[1]] }}", "a list cannot be used as a map key"),
        ("{{ {[1]: 2} }}", "a list cannot be a map key"),
    ],
)
def test_lookup_failures(template: str, message: str) -> None:
    context = {"a": {"list": [1], "text": "abc", "number": 3, "n": None}}
    fails(template, message, **context)
