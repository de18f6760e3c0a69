"""JSON, YAML and jq: turning values into documents and documents into values.

- ``toJson`` (also ``json``, ``jsonEncode``) writes compact JSON; ``json()`` /
  ``fromJson()`` reads it back.
- The ``yaml`` *filter* writes YAML (Kestra's ``toYaml``); the ``yaml()`` *function*
  reads it, with ruamel's safe loader, so a document can build no Python object.
- ``jq(expr)`` runs a jq program with the ``jq`` library and, as in Kestra, always
  returns the list of its results: chain ``| first`` when you want the one value.
  A string input is read as a JSON document; anything else is used as it is.

A jq program runs to completion once started (the library cannot be interrupted), so
an endless program such as ``repeat(1)`` is cut off after 100,000 results.
"""

from __future__ import annotations

import io
import itertools
import json
from functools import lru_cache
from typing import Any

import jq
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from lanner.expr.errors import EvalError, type_name
from lanner.expr.frame import Frame
from lanner.expr.registry import FILTERS, FUNCTIONS, alias, filter_, function, required, string_arg
from lanner.expr.values import plain, to_json

MAX_JQ_RESULTS = 100_000


@filter_("toJson")
def to_json_filter(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    return to_json(value)


alias(FILTERS, "json", "toJson")  # the name before Kestra 0.18
alias(FILTERS, "jsonEncode", "toJson")


def parse_json(text: Any, owner: str) -> Any:
    if text is None:
        return None
    if not isinstance(text, str):
        raise EvalError(f"{owner} expects a string, not a {type_name(text)}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise EvalError(f"{owner} was given a string that is not valid JSON") from None


@function("fromJson", "json")
def from_json(args: dict[str, Any], frame: Frame) -> Any:
    return parse_json(required(args, "json", "the `fromJson` function"), "the `fromJson` function")


alias(FUNCTIONS, "json", "fromJson")
alias(FUNCTIONS, "jsonDecode", "fromJson")


@lru_cache(maxsize=256)
def _jq_program(expression: str) -> Any:
    try:
        return jq.compile(expression)
    except ValueError:
        raise EvalError("the `jq` filter was given an expression that does not compile") from None


@filter_("jq", "expression")
def jq_filter(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    program = _jq_program(string_arg(args, "expression", "the `jq` filter"))
    try:
        results = program.input_text(value) if isinstance(value, str) else program.input_value(plain(value))
        found = list(itertools.islice(iter(results), MAX_JQ_RESULTS + 1))
    except ValueError:
        raise EvalError(f"the `jq` filter failed on a {type_name(value)} input") from None
    if len(found) > MAX_JQ_RESULTS:
        raise EvalError(f"the `jq` filter produced more than {MAX_JQ_RESULTS} results")
    return found


def _yaml(kind: str) -> YAML:
    yaml = YAML(typ="safe", pure=True)
    if kind == "dump":
        yaml.default_flow_style = False
        yaml.allow_unicode = True
        yaml.width = 1 << 30  # never fold long lines
        yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


@filter_("yaml")
def to_yaml(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return "null"
    stream = io.StringIO()
    try:
        _yaml("dump").dump(plain(value), stream)
    except (YAMLError, RecursionError):
        raise EvalError(f"cannot write a {type_name(value)} as YAML") from None
    text = stream.getvalue()
    return text[: -len("...\n")] if text.endswith("\n...\n") else text


@function("yaml", "yaml")
def from_yaml(args: dict[str, Any], frame: Frame) -> Any:
    text = required(args, "yaml", "the `yaml` function")
    if text is None:
        return None
    if not isinstance(text, str):
        raise EvalError(f"the `yaml` function expects a string, not a {type_name(text)}")
    try:
        return _yaml("load").load(text)
    except (YAMLError, RecursionError, ValueError):
        raise EvalError("the `yaml` function was given a string that is not valid YAML") from None
