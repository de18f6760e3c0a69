"""Property: any text renders to a string or fails with ExpressionError, quickly.

Arbitrary Unicode rarely contains a tag, so a second strategy draws from the
language's own characters and words, which reaches the lexer, parser and compiler
with broken and odd-but-valid templates alike.
"""

from __future__ import annotations

import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lanner.expr import ExpressionError, render

CONTEXT: dict[str, Any] = {
    "inputs": {"name": "ada", "n": 3, "items": [1, 2, 3], "map": {"a": 1}},
    "outputs": {"t1": {"value": "v"}},
    "x": None,
    "s": "text",
}

_PIECES = [
    "{{", "}}", "{%", "%}", "{#", "#}", "{{-", "-}}", "{%-", "-%}", " ", "\n", "(", ")", "[", "]", "{", "}",
    ",", ".", ":", "?", "??", "???", "=", "==", "!=", "<", ">", "+", "-", "*", "/", "%", "~", "|", "..",
    "'", '"', "\\", "'a'", '"b"', "0", "1", "2.5", "-1", "true", "null", "and", "or", "not", "is", "is not",
    "in", "contains", "equals", "defined", "empty", "if", "elseif", "else", "endif", "for", "endfor", "set",
    "raw", "endraw", "filter", "endfilter", "inputs", "outputs", "x", "s", "loop", "name", "items", "map",
    "upper", "length", "default", "first", "join", "split", "replace", "date", "dateAdd", "jq", "toJson",
    "yaml", "number", "slice", "sort", "range", "max", "render", "secret", "json", "now", "__class__",
]  # fmt: skip

templatish = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)
FUZZ = settings(deadline=1000, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


def _renders_or_fails_cleanly(text: str) -> None:
    started = time.perf_counter()
    try:
        result = render(text, CONTEXT)
    except ExpressionError as exc:
        assert isinstance(exc.message, str) and exc.message  # noqa: PT017 - any input, so no pytest.raises
    else:
        assert isinstance(result, str)
    assert time.perf_counter() - started < 1.0


@FUZZ
@given(st.text(max_size=3000))
def test_any_text_renders_or_raises_expression_error(text: str) -> None:
    _renders_or_fails_cleanly(text)


@FUZZ
@given(templatish)
def test_template_like_text_renders_or_raises_expression_error(text: str) -> None:
    _renders_or_fails_cleanly(text)


@FUZZ
@given(st.text(max_size=200), st.text(alphabet="{}%#-' \"|?:()[].,~=<>!+*/0123456789abcnotis", max_size=200))
def test_text_around_and_inside_tags(outer: str, inner: str) -> None:
    _renders_or_fails_cleanly(outer + "{{ " + inner + " }}" + outer)
    _renders_or_fails_cleanly("{% if " + inner + " %}" + outer + "{% endif %}")
