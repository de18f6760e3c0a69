"""Pydantic's error records rewritten as sentences a flow author can act on."""

from __future__ import annotations

from typing import Any

from pydantic_core import ErrorDetails

_ID_RULES = {
    r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$": "letters, digits, '_' and '-', starting with a letter or digit",
    r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$": "letters, digits, '.', '_' and '-', starting with a letter or digit",
    r"^[a-z0-9][a-z0-9._-]*$": "lower-case letters, digits, '.', '_' and '-', starting with a letter or digit",
    r"^[a-zA-Z0-9][.a-zA-Z0-9_-]*$": "letters, digits, '.', '_' and '-', starting with a letter or digit",
}


def kind(value: Any) -> str:
    """How a value's type reads in a sentence: 'a list', 'a mapping', 'the number 3', 'nothing'."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _short(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def describe(error: ErrorDetails) -> str:
    kind_ = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    got = f", got {kind(value)}"
    if kind_ == "string_pattern_mismatch":
        rule = _ID_RULES.get(ctx.get("pattern", ""), f"the pattern {ctx.get('pattern')}")
        return f"{_short(str(value))} is not a valid id: use {rule}"
    if kind_ == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind_ in ("literal_error", "enum"):
        return f"expected one of {ctx.get('expected')}{got}"
    if kind_ == "union_tag_invalid":
        return f"unknown type {_short(str(ctx.get('tag')))}; expected one of {ctx.get('expected_tags')}"
    if kind_ == "union_tag_not_found":
        return "missing required property 'type'"
    if kind_ in ("int_parsing", "int_type", "int_from_float"):
        return f"expected an integer or an expression{got}"
    if kind_ in ("float_parsing", "float_type"):
        return f"expected a number{got}"
    if kind_ in ("bool_parsing", "bool_type"):
        return f"expected true or false{got}"
    if kind_ == "string_type":
        return f"expected a string{got}"
    if kind_ == "list_type":
        return f"expected a list{got}"
    if kind_ in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping{got}"
    if kind_ == "too_short":
        minimum = ctx.get("min_length", 1)
        return "must not be empty" if minimum == 1 else f"must have at least {minimum} items"
    if kind_ in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind_]
        bound = next(iter(ctx.values()), "")
        return f"must be {sign} {bound}{got}"
    if kind_ == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{error['msg'][0].lower()}{error['msg'][1:]}{got}"


def merge(first: str, second: str) -> str:
    """``expected a string, got a mapping`` + ``expected a list, got a mapping`` -> one sentence."""
    a_expected, _, a_got = first.partition(", got ")
    b_expected, _, b_got = second.partition(", got ")
    if a_expected.startswith("expected ") and b_expected.startswith("expected ") and a_got == b_got:
        alternatives = f"{a_expected} or {b_expected.removeprefix('expected ')}"
        return f"{alternatives}, got {a_got}" if a_got else alternatives
    return first
