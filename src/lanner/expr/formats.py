"""JSON, YAML and jq: turning values into documents and documents into values.

- ``toJson`` (also ``json``, ``jsonEncode``) writes compact JSON; ``json()`` /
  ``fromJson()`` reads it back.
- The ``yaml`` *filter* writes YAML (Kestra's ``toYaml``); the ``yaml()`` *function*
  reads it with the loader flows use (:mod:`lanner.plain_yaml`): plain data only, and
  the same caps on alias expansion and nesting depth, so a small "billion laughs"
  document fails at once instead of exhausting memory.
- ``jq(expr)`` runs a jq program with the ``jq`` library and, as in Kestra, always
  returns the list of its results: chain ``| first`` when you want the one value.
  A string input is read as a JSON document; anything else is used as it is.

A jq program runs in a child process bounded in time and memory, with an empty
environment (:mod:`lanner.expr.jq_process`); an endless stream of results such as
``repeat(1)`` is cut off after 100,000 of them.
"""

from __future__ import annotations

import io
import json
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from lanner import plain_yaml
from lanner.expr import jq_process
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


def _jq_failure(reason: str, value: Any) -> str:
    return {
        "compile": "the `jq` filter was given an expression that does not compile",
        "too-many": f"the `jq` filter produced more than {MAX_JQ_RESULTS} results",
        "timeout": f"the `jq` filter ran longer than {jq_process.TIMEOUT:g} s and was stopped",
        "memory": f"the `jq` filter needed more than {jq_process.MEMORY_LIMIT >> 20} MB of memory and was stopped",
    }.get(reason, f"the `jq` filter failed on a {type_name(value)} input")


@filter_("jq", "expression")
def jq_filter(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    program = string_arg(args, "expression", "the `jq` filter")
    try:
        document = value if isinstance(value, str) else json.dumps(plain(value), allow_nan=False)
    except ValueError:
        raise EvalError(f"the `jq` filter cannot read a {type_name(value)} holding NaN or Infinity") from None
    try:
        return jq_process.RUNNER.run(program, document, MAX_JQ_RESULTS)
    except jq_process.JqFailure as failure:
        raise EvalError(_jq_failure(failure.reason, value)) from None


def _yaml_writer() -> YAML:
    yaml = YAML(typ="safe", pure=True)
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
        _yaml_writer().dump(plain(value), stream)
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
        return plain_yaml.parse(text).data
    except plain_yaml.YamlError as exc:
        # The parser's own words may quote the document (a secret, say): only say where.
        where = f" at line {exc.line}, column {exc.column}" if exc.line else ""
        why = "" if exc.message.startswith("invalid YAML") else f": {exc.message}"
        raise EvalError(f"the `yaml` function was given a string that is not valid YAML{where}{why}") from None
