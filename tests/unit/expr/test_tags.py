"""Control tags: if/elseif/else, for (with loop variables, maps, else), set and scoping."""

from __future__ import annotations

import pytest

from tests.unit.expr.helpers import fails, r


@pytest.mark.parametrize(
    ("category", "expected"),
    [("news", "N"), ("sports", "S"), ("other", "?")],
)
def test_if_elseif_else(category: str, expected: str) -> None:
    template = '{% if category == "news" %}N{% elseif category == "sports" %}S{% else %}?{% endif %}'
    assert r(template, category=category) == expected


def test_if_conditions() -> None:
    assert r("{% if users is empty %}none{% endif %}", users=[]) == "none"
    assert r("{% if x %}yes{% else %}no{% endif %}", x=None) == "no"
    assert r("{% if x %}yes{% endif %}", x="true") == "yes"
    assert r("{% if missing is defined %}yes{% else %}no{% endif %}") == "no"
    assert r("{% if false %}{{ never_evaluated }}{% endif %}") == ""
    fails("{% if x %}yes{% endif %}", "expected a boolean but got a map", "`{% if x %}`", x={"a": 1})
    fails("{% if missing %}yes{% endif %}", "Unable to find `missing` used in the expression `{% if missing %}`")


def test_for_loop_variables_are_peebles() -> None:
    template = (
        "{% for u in users %}{{ loop.index }}/{{ loop.revindex }}/{{ loop.length }}"
        "{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}={{ u }};{% endfor %}"
    )
    assert r(template, users=["a", "b", "c"]) == "0/2/3F=a;1/1/3=b;2/0/3L=c;"


def test_for_over_a_map_gives_entries_with_key_and_value() -> None:
    assert r("{% for e in m %}{{ e.key }}={{ e.value }} {% endfor %}", m={"x": 1, "y": [2]}) == "x=1 y=[2] "


def test_for_else_runs_for_an_empty_or_null_iterable() -> None:
    template = "{% for u in users %}{{ u }}{% else %}No users found.{% endfor %}"
    assert r(template, users=[]) == "No users found."
    assert r(template, users=None) == "No users found."
    assert r(template, users={}) == "No users found."
    assert r(template, users=["a"]) == "a"


def test_for_over_something_not_iterable_fails() -> None:
    fails("{% for c in s %}{{ c }}{% endfor %}", "cannot iterate over a string", "`{% for c in s %}`", s="abc")
    fails("{% for c in 5 %}{% endfor %}", "cannot iterate over a integer")
    fails("{% for c in missing %}{% endfor %}", "Unable to find `missing`")


def test_nested_loops_and_outer_variables() -> None:
    template = "{% for a in [1, 2] %}{% for b in ['x', 'y'] %}{{ a }}{{ b }}{{ sep }}{% endfor %}{% endfor %}"
    assert r(template, sep=",") == "1x,1y,2x,2y,"
    template = "{% for a in [1, 2] %}{% for b in [3] %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}"
    assert r(template) == "0001"  # the inner loop's `loop` does not leak into the outer one


def test_loop_variable_subscripts_outputs_as_in_foreach() -> None:
    outputs = {"process": {"a": {"value": "A!"}, "b": {"value": "B!"}, "1": {"value": "one"}}}
    assert r("{% for v in ['a', 'b'] %}{{ outputs.process[v].value }}{% endfor %}", outputs=outputs) == "A!B!"
    assert r("{{ outputs['process'][taskrun.value].value }}", outputs=outputs, taskrun={"value": "b"}) == "B!"
    assert r("{{ outputs.process[1].value }}", outputs=outputs) == "one"  # an integer finds a string key


def test_set_assigns_in_the_current_scope() -> None:
    assert r("{% set header = 'Welcome Page' %}{{ header }}") == "Welcome Page"
    assert r("{% set x = 1 %}{% set x = x + 1 %}{{ x }}") == "2"
    assert r("{% if true %}{% set x = 'in if' %}{% endif %}{{ x }}") == "in if"  # if opens no scope
    # A for loop has its own scope, kept across iterations and dropped after the loop.
    template = "{% set n = 0 %}{% for i in [1, 2, 3] %}{% set n = n + i %}{{ n }}{% endfor %}|{{ n }}"
    assert r(template) == "136|0"
    fails("{% for i in [1] %}{% set inner = 1 %}{% endfor %}{{ inner }}", "Unable to find `inner`")


def test_set_never_changes_the_callers_context() -> None:
    context = {"x": 1}
    assert r("{% set x = 2 %}{% set y = 3 %}{{ x }}{{ y }}", **context) == "23"
    assert context == {"x": 1}
