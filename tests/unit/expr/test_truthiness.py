"""Kestra's truthiness rule for rendered conditions, and its reading of plain values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lanner.expr import render
from lanner.expr.truthiness import FALSE_TEXTS, truthy


@pytest.mark.parametrize(
    "value",
    [
        # The four texts Kestra reads as false, exactly.
        "false", "0", "-0", "",
        # Plain values.
        None, False, 0, 0.0, -0.0, [], {}, (),
    ],
)
def test_false(value):
    assert truthy(value) is False


@pytest.mark.parametrize(
    "value",
    [
        "true", "TRUE", "True", "1", "yes", "anything",
        # Kestra compares exactly: other spellings of false, padded text and other zeros are true.
        "False", "FALSE", " false", "false\n", "0.0", "00", "+0", "null", "[]", "{}",
        True, 1, -1, 0.5, [0], {"a": None}, ("",), object(),
    ],
)
def test_true(value):
    assert truthy(value) is True


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 1 == 1 }}", True), ("{{ 1 == 2 }}", False), ("{{ 0 }}", False), ("{{ 3 - 3 }}", False),
        ("{{ 'x' }}", True), ("{{ '' }}", False), ("{{ [] | length > 0 }}", False),
    ],
)
def test_rendered_expressions(template, expected):
    assert truthy(render(template, {})) is expected


@given(st.text())
def test_text_is_false_exactly_for_the_four_false_texts(text):
    assert truthy(text) is (text not in FALSE_TEXTS)


@given(st.one_of(st.integers(), st.floats(allow_nan=False)))
def test_numbers_are_false_exactly_at_zero(number):
    assert truthy(number) is (number != 0)
