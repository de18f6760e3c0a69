"""Lexing and parsing: delimiters, whitespace control, raw, comments, literals, syntax errors."""

from __future__ import annotations

import pytest

from lanner.expr import compile_template
from tests.unit.expr.helpers import fails, r


def test_text_without_tags_is_returned_unchanged() -> None:
    text = "no {braces} here, not even { { this"
    assert r(text) == text
    assert r("") == ""


def test_print_tag_renders_an_expression() -> None:
    assert r("a{{ 1 }}b{{ 'x' }}c") == "a1bxc"


def test_closing_delimiter_inside_strings_and_brackets_does_not_close_the_tag() -> None:
    assert r("{{ '}}' }}") == "}}"
    assert r("{{ {'a': {'b': 1}}}}") == '{"a":{"b":1}}'
    assert r("{{ ['%}'] | first }}") == "%}"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("a  {{- 'x' }}  b", "ax  b"),
        ("a  {{ 'x' -}}  \n b", "a  xb"),
        ("a \n {{- 'x' -}} \n b", "axb"),
        ("a  {%- if true %}x{% endif %}", "ax"),
        ("{% if true -%}  \n x  {%- endif %}", "x"),
        ("a \n {%- set y = 1 -%} \n b", "ab"),
        ("line\n{% if true %}\nkept\n{% endif %}\n", "line\n\nkept\n\n"),  # no newline trimming
    ],
)
def test_whitespace_control(template: str, expected: str) -> None:
    assert r(template) == expected


def test_comments_are_dropped() -> None:
    assert r("a{# a {{ comment }} #}b") == "ab"
    fails("a{# never closed", "never closed", "`#}`", "line 1")


def test_raw_keeps_its_content_verbatim() -> None:
    assert r("{% raw %}{{ x }} {% if %}{% endraw %}") == "{{ x }} {% if %}"
    assert r("a {%- raw -%}  {{ x }}  {%- endraw -%} b") == "a{{ x }}b"
    assert r("{% verbatim %}{{ y }}{% endverbatim %}") == "{{ y }}"
    fails("{% raw %}{{ x }}", "`{% endraw %}`")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'single' }}", "single"),
        ('{{ "double" }}', "double"),
        (r"{{ 'it\'s' }}", "it's"),
        (r'{{ "a\"b" }}', 'a"b'),
        (r"{{ 'tab\there' }}", "tab\there"),
        (r"{{ 'line\nbreak' }}", "line\nbreak"),
        (r"{{ 'back\\slash' }}", "back\\slash"),
        (r"{{ '\u00e9' }}", "é"),
        (r"{{ 'regex\.kept' }}", r"regex\.kept"),
        ("{{ 42 }}", "42"),
        ("{{ 42L }}", "42"),
        ("{{ 2.50 }}", "2.5"),
        ("{{ true }}{{ false }}{{ TRUE }}", "truefalsetrue"),
        ("[{{ null }}][{{ none }}][{{ NULL }}]", "[][][]"),
        ("{{ [1, 'a', [true]] }}", '[1,"a",[true]]'),
        ("{{ {'a': 1, 'b': [2]} }}", '{"a":1,"b":[2]}'),
        ("{{ [] }}{{ {} }}", "[]{}"),
        ("{{ -3 }} {{ - 3 }} {{ +3 }}", "-3 -3 3"),
    ],
)
def test_literals(template: str, expected: str) -> None:
    assert r(template) == expected


def test_map_keys_are_expressions_as_in_pebble() -> None:
    assert r("{{ {k: 1} }}", k="dynamic") == '{"dynamic":1}'
    assert r("{{ {1: 'one'} }}") == '{"1":"one"}'


@pytest.mark.parametrize(
    ("template", "fragments"),
    [
        ("{{ }}", ("expected an expression", "found the end of the tag", "column 4")),
        ("{{ 1 + }}", ("expected an expression", "column 8")),
        ("{{ 1 2 }}", ("expected the end of the tag", "found `2`")),
        ("{{ x", ("never closed with `}}`",)),
        ("{{ 'abc }}", ("string is never closed",)),
        ("{{ (1 }}", ("never closed",)),
        ("{{ 1) }}", ("unbalanced `)`",)),
        ("{{ a[1 }}", ("never closed",)),
        ("{{ f(a=1, 2) }}", ("positional argument cannot follow a named one",)),
        ("{{ [1, 2 }}", ("never closed",)),
        ("{{ {'a' 1} }}", ("expected `:`",)),
        ("{{ a ? b }}", ("expected `:`",)),
        ("{{ a.b() }}", ("calling methods is not supported",)),
        ("{{ (a)(1) }}", ("only named functions can be called",)),
        ("{{ a. }}", ("attribute name after `.`",)),
        ("{{ 99999999999999999999 }}", ("too large",)),
        ("{{ 1 $ 2 }}", ("unexpected character `$`",)),
        ("{% if true %}x", ("never closed", "`{% endif %}`")),
        ("{% for x in y %}", ("`{% else %}` or `{% endfor %}`",)),
        ("{% endif %}", ("unexpected tag `endif`",)),
        ("{% else %}", ("unexpected tag `else`",)),
        ("{% frobnicate %}", ("unexpected tag `frobnicate`",)),
        ("{% macro m() %}{% endmacro %}", ("`macro` tag is not supported",)),
        ("{% %}", ("expected a tag name",)),
        ("{% set = 1 %}", ("expected a variable name",)),
        ("{% set x 1 %}", ("expected `=`",)),
        ("{% for x y %}{% endfor %}", ("expected `in`",)),
        ("{% if true %}{% endif extra %}", ("expected the end of the tag",)),
    ],
)
def test_syntax_errors_say_what_was_expected_and_where(template: str, fragments: tuple[str, ...]) -> None:
    message = fails(template, *fragments)
    assert message.startswith("Unable to parse the expression `")
    assert "line 1" in message


def test_syntax_errors_count_lines_and_columns_from_one() -> None:
    template = "first line\nsecond {{ ok }}\n  third {{ 1 + * }}"
    message = fails(template, "at line 3, column 16", "`{{ 1 + * }}`")
    assert "found `*`" in message


def test_unknown_names_are_refused_when_compiling() -> None:
    fails("{% if false %}{{ x | nosuchfilter }}{% endif %}", "Unknown filter `nosuchfilter`", "line 1")
    fails("{{ nosuchfunction() }}", "Unknown function `nosuchfunction`")
    fails("{{ 1 is nosuchtest }}", "Unknown test `nosuchtest`")
    fails("{{ 'a' | upper(1) }}", "Too many arguments for the `upper` filter")
    fails("{{ 'a' | date(nope='x') }}", "Unknown argument `nope`", "accepted: format, timeZone")
    fails("{{ 'a' | date('y', format='y') }}", "`format` is given twice")


def test_nesting_is_bounded_so_hostile_input_cannot_exhaust_the_stack() -> None:
    fails("{{ " + "(" * 200 + "1" + ")" * 200 + " }}", "nested too deeply")
    fails("{{ " + " + ".join(["1"] * 300) + " }}", "nested too deeply")
    fails("{% if true %}" * 100 + "{% endif %}" * 100, "nested too deeply")
    assert r("{{ " + "(" * 30 + "1" + ")" * 30 + " }}") == "1"


def test_compile_template_caches_by_text() -> None:
    first = compile_template("{{ cached_x }}")
    assert compile_template("{{ cached_x }}") is first
    assert first.render({"cached_x": 5}) == "5"
    assert first.render({"cached_x": 6}) == "6"
