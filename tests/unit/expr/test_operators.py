"""Operators: arithmetic with Java's rules, comparison, logic, coalescing, tests, precedence."""

from __future__ import annotations

import pytest

from tests.unit.expr.helpers import fails, r


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 1 + 2 }}", "3"),
        ("{{ 1 + 2.5 }}", "3.5"),
        ("{{ 5 - 7 }}", "-2"),
        ("{{ 3 * 4 }}", "12"),
        ("{{ 2 * 1.5 }}", "3.0"),
        ("{{ 5 / 2 }}", "2"),  # Long division truncates, as in Pebble
        ("{{ -5 / 2 }}", "-2"),  # toward zero, not floor
        ("{{ 5 / 2.0 }}", "2.5"),
        ("{{ 6 / 3 }}", "2"),
        ("{{ 1.0 / 0 }}", "Infinity"),
        ("{{ -1.0 / 0 }}", "-Infinity"),
        ("{{ 0.0 / 0 }}", "NaN"),
        ("{{ 7 % 3 }}", "1"),
        ("{{ -7 % 3 }}", "-1"),  # the sign follows the dividend, as in Java
        ("{{ 7.5 % 2 }}", "1.5"),
        ("{{ 2 + 2 / (10 % 3) * (8 - 1) }}", "16"),
        ("{{ -(2 + 3) }}", "-5"),
        ("{{ 'a' + 1 }}", "a1"),  # Pebble's + concatenates when one side is a string
        ("{{ 1 + 'a' }}", "1a"),
        ("{{ [1] + 2 }}", "[1,2]"),
        ("{{ [1, 2, 1] - 1 }}", "[2]"),
        ("{{ 'a' ~ 1 ~ true ~ null ~ 1.5 }}", "a1true1.5"),
        ("{{ 'n: ' ~ [1, 2] }}", "n: [1,2]"),
    ],
)
def test_arithmetic_and_concatenation(template: str, expected: str) -> None:
    assert r(template) == expected


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ 1 % 0 }}", "division by zero"),
        ("{{ 1 - 'a' }}", "cannot apply `-` to a integer and a string"),
        ("{{ true * 2 }}", "cannot apply `*` to a boolean and a integer"),
        ("{{ null + 1 }}", "cannot apply `+` to a null"),
        ("{{ -'a' }}", "cannot negate a string"),
        ("{{ +'a' }}", "unary `+`"),
    ],
)
def test_arithmetic_errors(template: str, fragment: str) -> None:
    fails(template, fragment, "Unable to render the expression", "at line 1")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 1 == 1 }}", "true"),
        ("{{ 1 == 1.0 }}", "true"),
        ("{{ 1 == '1' }}", "false"),
        ("{{ true == 1 }}", "false"),
        ("{{ 'a' equals 'a' }}", "true"),
        ("{{ null == null }}", "true"),
        ("{{ [1, 2] == [1, 2] }}", "true"),
        ("{{ 1 != 2 }}", "true"),
        ("{{ 'x' != 'x' }}", "false"),
        ("{{ 2 > 1 }}{{ 2 >= 2 }}{{ 1 < 2 }}{{ 2 <= 1 }}", "truetruetruefalse"),
        ("{{ 1.5 > 1 }}", "true"),
        ("{{ 'apple' < 'banana' }}", "true"),  # Kestra adds string comparison
        ("{{ 'b' >= 'a' }}", "true"),
    ],
)
def test_comparison(template: str, expected: str) -> None:
    assert r(template) == expected


def test_comparing_unlike_types_fails() -> None:
    fails("{{ 1 < 'a' }}", "cannot compare a integer with a string using `<`")
    fails("{{ null > 1 }}", "cannot compare a null")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ true and false }}", "false"),
        ("{{ true or false }}", "true"),
        ("{{ not true }}", "false"),
        ("{{ not false and false }}", "false"),  # not binds tightest (Pebble 3)
        ("{{ not (true and false) }}", "true"),
        ("{{ false and missing }}", "false"),  # short-circuit: the right side is not evaluated
        ("{{ true or missing }}", "true"),
        ("{{ null or 'true' }}", "true"),  # null is false; 'true' and 'false' strings are booleans
        ("{{ 1 and 0 }}", "false"),
        ("{{ true or false and false }}", "true"),  # and binds tighter than or
    ],
)
def test_logic(template: str, expected: str) -> None:
    assert r(template) == expected


def test_logic_on_a_non_boolean_fails() -> None:
    fails("{{ [1] and true }}", "expected a boolean but got a list")
    fails("{{ not 'maybe' }}", "expected a boolean but got a string")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ [1, 2] contains 2 }}", "true"),
        ("{{ [1, 2] contains 3 }}", "false"),
        ("{{ [1, 2, 3] contains [1, 3] }}", "true"),
        ("{{ [1, 2, 3] contains [1, 4] }}", "false"),
        ("{{ {'a': 1} contains 'a' }}", "true"),
        ("{{ {'a': 1} contains 1 }}", "false"),
        ("{{ 'kestra' contains 'str' }}", "true"),
        ("{{ null contains 'x' }}", "false"),
        ("{{ [1.0] contains 1 }}", "true"),
    ],
)
def test_contains(template: str, expected: str) -> None:
    assert r(template) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ state isIn ['SUCCESS', 'KILLED'] }}", "true"),
        ("{{ state isIn ['FAILED'] }}", "false"),
        ("{{ state notIn ['FAILED'] }}", "true"),
        ("{{ 1 isIn ['1', 2] }}", "true"),  # Kestra compares the printed forms
        ("{{ 'v' isIn {'k': 'v'} }}{{ 'k' isIn {'k': 'v'} }}", "truetrue"),
        ("{{ null isIn [null] }}{{ 'a' isIn null }}{{ 'a' isIn 'abc' }}", "falsefalsefalse"),
        ("{{ state isIn ['SUCCESS'] and true }}", "true"),
    ],
)
def test_is_in(template: str, expected: str) -> None:
    assert r(template, state="SUCCESS") == expected


def test_contains_on_a_number_fails() -> None:
    fails("{{ 12 contains 1 }}", "`contains` works on lists, maps and strings, not on a integer")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 1..4 }}", "[1,2,3,4]"),
        ("{{ 3..1 }}", "[]"),  # as Pebble: a positive step never goes down
        ("{{ 'a'..'c' }}", '["a","b","c"]'),
        ("{{ true ? 'y' : 'n' }}", "y"),
        ("{{ false ? 'y' : 'n' }}", "n"),
        ("{{ 1 > 2 ? 'a' : 2 > 1 ? 'b' : 'c' }}", "b"),
        ("{{ x == null ? 'none' : x }}", "none"),
    ],
)
def test_range_and_ternary(template: str, expected: str) -> None:
    assert r(template, x=None) == expected


def test_null_coalescing_takes_the_right_side_for_null_or_undefined() -> None:
    assert r("{{ missing ?? 'd' }}") == "d"
    assert r("{{ x ?? 'd' }}", x=None) == "d"
    assert r("{{ x ?? 'd' }}", x=0) == "0"
    assert r("{{ x ?? 'd' }}", x="") == ""
    assert r("{{ inputs.nope ?? 'd' }}", inputs={}) == "d"
    assert r("{{ a.b.c.d ?? 'deep' }}", a={"b": None}) == "deep"
    assert r("{{ missing ?? other ?? 'last' }}") == "last"
    assert r("{{ missing ?? x }}", x=[1]) == "[1]"


def test_null_coalescing_with_everything_undefined_fails_like_kestra() -> None:
    fails("{{ foo ?? bar ?? raise }}", "Unable to find `raise`")


def test_undefined_coalescing_takes_the_right_side_only_when_undefined() -> None:
    assert r("{{ missing ??? 'd' }}") == "d"
    assert r("[{{ x ??? 'd' }}]", x=None) == "[]"
    assert r("{{ (x ??? 'mydefault') ?? 'other' }}", x=None) == "other"
    assert r("{{ inputs.undefined_input ??? 'mydefault' }}", inputs={}) == "mydefault"


def test_coalescing_does_not_hide_real_errors() -> None:
    fails("{{ (1 / 0) ?? 'd' }}", "division by zero")
    fails("{{ 'text'.length ?? 'd' }}", "access to `length` is not allowed on a string")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'a' ~ 'b' | upper }}", "AB"),  # ~ binds tighter than |
        ("{{ x ?? 'fallback' | upper }}", "FALLBACK"),  # the filter applies to the coalesced value
        ("{{ 1 + 2 * 3 }}", "7"),
        ("{{ (1 + 2) * 3 }}", "9"),
        ("{{ 10 - 2 - 3 }}", "5"),  # left-associative
        ("{{ 100 / 10 / 5 }}", "2"),
        ("{{ 1 + 1 == 2 }}", "true"),
        ("{{ 1 < 2 and 2 < 3 }}", "true"),
        ("{{ -2 | abs }}", "2"),
        ("{{ 1 + [1, 2] | length }}", "3"),  # the filter binds tighter than +
        ("{{ 2 is even and 3 is odd }}", "true"),
        ("{{ 1 == 1 ? 'y' : 'n' }}", "y"),
    ],
)
def test_precedence(template: str, expected: str) -> None:
    assert r(template) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ x is defined }}", "true"),
        ("{{ missing is defined }}", "false"),
        ("{{ missing is not defined }}", "true"),
        ("{{ x.nope is defined }}", "false"),
        ("{{ n is null }}", "true"),
        ("{{ x is null }}", "false"),
        ("{{ x is not null }}", "true"),
        ("{{ '' is empty }}", "true"),
        ("{{ '  ' is empty }}", "true"),  # a blank string is empty
        ("{{ [] is empty }}{{ {} is empty }}{{ n is empty }}", "truetruetrue"),
        ("{{ [0] is empty }}{{ 0 is empty }}", "falsefalse"),
        ("{{ 2 is even }}{{ 3 is even }}{{ 3 is odd }}{{ -3 is odd }}", "truefalsetruetrue"),
        ("{{ [1] is iterable }}{{ {} is iterable }}{{ 'ab' is iterable }}", "truefalsefalse"),
        ("{{ {} is map }}{{ [] is map }}", "truefalse"),
        ("{{ '{\"test\": 1}' is json }}{{ 'nope' is json }}{{ 1 is json }}", "truefalsefalse"),
        ("{{ 3 is not even }}", "true"),
    ],
)
def test_tests(template: str, expected: str) -> None:
    assert r(template, x={"a": 1}, n=None) == expected


def test_tests_that_need_a_value_fail_on_undefined_in_strict_mode() -> None:
    fails("{{ missing is null }}", "Unable to find `missing` used in the expression `{{ missing is null }}`")
    fails("{{ n is even }}", "the `even` test cannot be applied to null", n=None)
    fails("{{ 'a' is odd }}", "the `odd` test works on a number, not on a string")
