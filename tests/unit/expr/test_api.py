"""The public API: render, render_value, is_expression, compile_template, envs, build_context."""

from __future__ import annotations

import pytest

from lanner.errors import LannerError
from lanner.expr import (
    ExpressionError,
    Template,
    build_context,
    compile_template,
    envs,
    is_expression,
    render,
    render_value,
)


def test_expression_error_is_a_lanner_error() -> None:
    assert issubclass(ExpressionError, LannerError)
    with pytest.raises(LannerError):
        render("{{ x }}", {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ inputs.n }}", True),
        ("{% if x %}{% endif %}", True),
        ("{# note #}", True),
        ("plain text", False),
        ("{ not } { { an } expression", False),
        ("", False),
    ],
)
def test_is_expression(text: str, expected: bool) -> None:
    assert is_expression(text) is expected


def test_plain_strings_are_returned_as_they_are_without_parsing() -> None:
    text = "a string with a lone { and } but no tag"
    assert render(text, {}) is text


def test_render_value_renders_every_string_in_a_structure() -> None:
    context = {"inputs": {"n": 3, "name": "ada"}}
    value = {
        "{{ inputs.name }}": ["{{ inputs.n }}", 4, None, {"nested": "x{{ inputs.n * 2 }}"}],
        "count": 5,
        "flag": True,
        "pair": ("{{ inputs.name | upper }}", 1.5),
    }
    assert render_value(value, context) == {
        "ada": ["3", 4, None, {"nested": "x6"}],
        "count": 5,
        "flag": True,
        "pair": ("ADA", 1.5),
    }
    assert render_value(7, context) == 7
    assert render_value("{{ inputs.n }}", context) == "3"


def test_render_value_collects_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_K", "dmFsdWU=")
    seen: set[str] = set()
    assert render_value(["{{ secret('K') }}"], {}, secrets=seen) == ["value"]
    assert seen == {"value"}


def test_compiled_templates_render_many_times() -> None:
    template = compile_template("{{ n * 2 }}")
    assert isinstance(template, Template)
    assert template.source == "{{ n * 2 }}"
    assert [template.render({"n": n}) for n in range(3)] == ["0", "2", "4"]


def test_syntax_errors_are_raised_at_compile_time() -> None:
    with pytest.raises(ExpressionError, match="Unable to parse"):
        compile_template("{{ 1 + }}")


def test_envs_follows_kestras_rule() -> None:
    environ = {"ENV_FOO": "bar", "ENV_My_Var": "x", "PATH": "/bin", "ENVIRONMENT": "no", "SECRET_X": "c2VjcmV0"}
    assert envs(environ) == {"foo": "bar", "my_var": "x"}
    assert render("{{ envs.foo }}", {"envs": envs(environ)}) == "bar"


def test_build_context_defines_only_what_it_is_given() -> None:
    context = build_context(flow={"id": "f"}, inputs={"a": 1}, environ={"ENV_X": "1"}, labels={"l": "v"}, trigger=None)
    assert context == {"flow": {"id": "f"}, "inputs": {"a": 1}, "envs": {"x": "1"}, "labels": {"l": "v"}}
    with pytest.raises(ExpressionError, match="Unable to find `trigger`"):
        render("{{ trigger.date }}", context)
