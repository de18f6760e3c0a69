"""The evaluator is closed: no Python attribute, method or global is reachable from a template, and its
work is bounded."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from lanner.expr import ExpressionError, render


class Leaky:
    secret = "attribute value"

    def method(self) -> str:
        return "method called"


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ self.__init__ }}",
        "{{ [].__class__.__base__ }}",
        "{{ x.__globals__ }}",
        "{{ range.__globals__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ __builtins__ }}",
        "{{ lipsum.__globals__.os.popen('id').read() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{% set __x = 1 %}",
        "{% for __i in [1] %}{% endfor %}",
        "{{ x.__dict__ }}",
    ],
)
def test_dunder_access_is_refused_by_construction(template: str) -> None:
    with pytest.raises(ExpressionError, match=r"Access to `__\w+` is not allowed"):
        render(template, {"x": Leaky(), "self": Leaky()})


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ obj.secret }}", "access to `secret` is not allowed on a Leaky"),
        ("{{ obj.method }}", "access to `method` is not allowed on a Leaky"),
        ("{{ obj['secret'] }}", "access to `secret` is not allowed on a Leaky"),
        ("{{ ns.attr }}", "access to `attr` is not allowed on a SimpleNamespace"),
        ("{{ 'abc'.upper }}", "access to `upper` is not allowed on a string"),
        ("{{ 'abc'['upper'] }}", "access to `upper` is not allowed on a string"),
        ("{{ [1].pop }}", "access to `pop` is not allowed on a list"),
        ("{{ {}.items }}", "Unable to find `items`"),  # a map only has keys
        ("{{ obj.method() }}", "calling methods is not supported"),
        ("{{ {'a': 1}.keys() }}", "calling methods is not supported"),
        ("{{ os }}", "Unable to find `os`"),
        ("{{ range }}", "Unable to find `range`"),  # functions are not values
        ("{{ print('x') }}", "Unknown function `print`"),
        ("{{ eval('1') }}", "Unknown function `eval`"),
        ("{{ open('/etc/passwd') }}", "Unknown function `open`"),
        ("{{ getattr(x, 'a') }}", "Unknown function `getattr`"),
    ],
)
def test_attribute_walks_are_refused(template: str, fragment: str) -> None:
    context = {"obj": Leaky(), "ns": SimpleNamespace(attr=os), "x": 1}
    with pytest.raises(ExpressionError) as caught:
        render(template, context)
    assert fragment in str(caught.value)
    assert "attribute value" not in str(caught.value)


def test_rendering_reads_no_files_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV_FOO", "from-environment")
    with pytest.raises(ExpressionError, match="Unable to find `envs`"):
        render("{{ envs.foo }}", {})  # envs come from the caller's context only
    with pytest.raises(ExpressionError, match="not available in this context"):
        render("{{ read('/etc/passwd') }}", {})


def test_a_template_cannot_loop_or_grow_without_bound() -> None:
    with pytest.raises(ExpressionError, match="loops would run more than 5,000,000 times"):
        render("{% for i in range(1, 1000000) %}{% for j in range(1, 1000000) %}{% endfor %}{% endfor %}", {})
    with pytest.raises(ExpressionError, match="loops wrote more than 50,000,000 characters"):
        render("{% for i in range(1, 1000) %}{{ text }}{% endfor %}", {"text": "x" * 100_000})
    assert render("{% for i in range(1, 3) %}{{ i }}{% endfor %}", {}) == "123"


def test_a_catastrophic_regular_expression_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    from lanner.expr import strings

    monkeypatch.setattr(strings, "REGEX_TIMEOUT", 0.2)
    text = "a" * 40 + "!"
    for template in ("{{ text | split('(a|aa)+$') }}", "{{ text | replace({'(a|aa)+$': 'b'}, regexp=true) }}"):
        with pytest.raises(ExpressionError, match="regular expression ran longer than 0.2 s and was stopped"):
            render(template, {"text": text})
    assert render("{{ 'a,b' | split(',') }}", {}) == '["a","b"]'
