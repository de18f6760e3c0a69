"""Strict mode: undefined variables and attributes fail with Kestra's message, except where Pebble allows."""

from __future__ import annotations

import pytest

from lanner.expr import ExpressionError, render
from tests.unit.expr.helpers import fails, r


def test_undefined_variable_message_is_kestras() -> None:
    with pytest.raises(ExpressionError) as caught:
        render("{{ x }}", {})
    assert str(caught.value) == "Unable to find `x` used in the expression `{{ x }}` at line 1"


def test_the_message_quotes_the_whole_tag_as_written_and_its_line() -> None:
    template = "Hello\n\n  {{inputs.name  |  upper}} and {{ outputs.task.value }}"
    message = fails(template, inputs={"name": "a"}, outputs={})
    assert message == "Unable to find `task` used in the expression `{{ outputs.task.value }}` at line 3"
    message = fails("a\n{%- if nope -%}x{% endif %}")
    assert message == "Unable to find `nope` used in the expression `{%- if nope -%}` at line 2"


@pytest.mark.parametrize(
    "template",
    [
        "{{ x ?? 'ok' }}",
        "{{ x ??? 'ok' }}",
        "{{ x | default('ok') }}",
        "{{ x.y.z | default('ok') }}",
        "{% if x is defined %}no{% else %}ok{% endif %}",
        "{% if x is not defined %}ok{% endif %}",
        "{{ inputs.optional ?? 'ok' }}",
        "{{ trigger.date ?? 'ok' }}",
    ],
)
def test_where_pebble_allows_undefined(template: str) -> None:
    assert r(template, inputs={}) == "ok"


@pytest.mark.parametrize(
    ("template", "name"),
    [
        ("{{ x | upper }}", "x"),
        ("{{ x ~ 'a' }}", "x"),
        ("{{ inputs.missing }}", "missing"),
        ("{{ 'a' ~ inputs.x.y }}", "x"),
        ("{{ (x ?? y).z }}", "y"),
        ("{{ [x] }}", "x"),
        ("{{ f(x) }}", ""),
        ("{{ upper(x) }}", ""),
        ("{{ x | default(y) | upper }}", "y"),
        ("{{ range(0, x) }}", "x"),
    ],
)
def test_undefined_everywhere_else_is_an_error(template: str, name: str) -> None:
    if not name:  # unknown functions are refused when compiling
        fails(template, "Unknown function")
        return
    fails(template, f"Unable to find `{name}` used in the expression `{template}` at line 1", inputs={})


def test_context_variables_are_plain_keys() -> None:
    context = {
        "flow": {"id": "f", "namespace": "company.team"},
        "execution": {"id": "e1"},
        "task": {"id": "t"},
        "taskrun": {"value": "v"},
        "parent": {"taskrun": {"value": "pv"}},
        "parents": [{"taskrun": {"value": "pv"}}],
        "inputs": {"n": 3},
        "outputs": {"t1": {"value": "o"}},
        "vars": {"v": 1},
        "labels": {"env": "prod"},
        "trigger": {"date": "2024-01-01"},
        "envs": {"foo": "bar"},
        "globals": {"g": True},
    }
    template = (
        "{{ flow.namespace }} {{ execution.id }} {{ task.id }} {{ taskrun.value }} {{ parent.taskrun.value }} "
        "{{ parents[0].taskrun.value }} {{ inputs.n }} {{ outputs.t1.value }} {{ vars.v }} {{ labels.env }} "
        "{{ trigger.date }} {{ envs.foo }} {{ globals.g }}"
    )
    assert render(template, context) == "company.team e1 t v pv pv 3 o 1 prod 2024-01-01 bar true"
