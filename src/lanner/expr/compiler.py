"""Turning a syntax tree into a render function: compile once, render many times.

Each statement becomes a function ``(frame, out)`` that appends text to ``out``; the
expressions inside are compiled by :mod:`lanner.expr.expressions`.  Templates that are
a single ``{{ expr }}`` with text around it (most of Kestra's) skip the output list
entirely and render as one string concatenation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lanner.expr.errors import EvalError, type_name
from lanner.expr.expressions import Eval, Where, compile_expr, compile_filter, guard
from lanner.expr.frame import MAX_LOOP_OUTPUT, MAX_LOOP_STEPS, Frame
from lanner.expr.nodes import FilterBlock, For, If, Output, Set, Stmt, Text
from lanner.expr.values import to_text, truth

Emit = Callable[[Frame, list[str]], None]


def compile_body(body: tuple[Stmt, ...]) -> Callable[[Frame], str]:
    """The render function of a whole template."""
    if not body:
        return lambda frame: ""
    if all(isinstance(stmt, (Text, Output)) for stmt in body) and len(body) <= 3:
        fast = _concatenation(body)
        if fast is not None:
            return fast
    emit = _statements(body)

    def render(frame: Frame) -> str:
        out: list[str] = []
        emit(frame, out)
        return "".join(out)

    return render


def _concatenation(body: tuple[Stmt, ...]) -> Callable[[Frame], str] | None:
    """Text, ``{{ expr }}``, text: one string concatenation, no output list."""
    outputs = [stmt for stmt in body if isinstance(stmt, Output)]
    if len(outputs) > 1:
        return None
    if not outputs:
        text = "".join(stmt.text for stmt in body if isinstance(stmt, Text))
        return lambda frame: text
    index = body.index(outputs[0])
    before = "".join(stmt.text for stmt in body[:index] if isinstance(stmt, Text))
    after = "".join(stmt.text for stmt in body[index + 1 :] if isinstance(stmt, Text))
    printed = _printed(outputs[0])
    if not before and not after:
        return printed
    return lambda frame: before + printed(frame) + after


def _printed(stmt: Output) -> Eval:
    value = compile_expr(stmt.expr, Where(stmt.tag, stmt.line))

    def text(frame: Frame) -> str:
        result = value(frame)
        return result if type(result) is str else to_text(result)

    return guard(text, stmt.tag, stmt.line)


# --- statements -----------------------------------------------------------------------


def _statements(body: tuple[Stmt, ...]) -> Emit:
    emitters = [_statement(stmt) for stmt in body]
    if len(emitters) == 1:
        return emitters[0]

    def emit(frame: Frame, out: list[str]) -> None:
        for each in emitters:
            each(frame, out)

    return emit


def _statement(stmt: Stmt) -> Emit:
    if isinstance(stmt, Text):
        text = stmt.text
        return lambda frame, out: out.append(text)
    if isinstance(stmt, Output):
        printed = _printed(stmt)
        return lambda frame, out: out.append(printed(frame))
    if isinstance(stmt, If):
        return _if(stmt)
    if isinstance(stmt, For):
        return _for(stmt)
    if isinstance(stmt, Set):
        return _set(stmt)
    if isinstance(stmt, FilterBlock):
        return _filter_block(stmt)
    raise AssertionError(f"unknown statement {type(stmt).__name__}")


def _if(stmt: If) -> Emit:
    branches = [
        (guard(_condition(compile_expr(condition, Where(tag, line))), tag, line), _statements(body))
        for condition, tag, line, body in stmt.branches
    ]
    otherwise = _statements(stmt.otherwise) if stmt.otherwise else None

    def emit(frame: Frame, out: list[str]) -> None:
        for satisfied, body in branches:
            if satisfied(frame):
                body(frame, out)
                return
        if otherwise is not None:
            otherwise(frame, out)

    return emit


def _condition(test: Eval) -> Eval:
    return lambda frame: truth(test(frame))


def _iterable(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, Mapping):
        return [{"key": key, "value": item} for key, item in value.items()]
    raise EvalError(f"cannot iterate over a {type_name(value)}")


def _for(stmt: For) -> Emit:
    source = compile_expr(stmt.iterable, Where(stmt.tag, stmt.line))
    items_of = guard(lambda frame: _iterable(source(frame)), stmt.tag, stmt.line)
    body = _statements(stmt.body)
    otherwise = _statements(stmt.otherwise) if stmt.otherwise else None
    variable = stmt.variable
    where = Where(stmt.tag, stmt.line)

    def emit(frame: Frame, out: list[str]) -> None:
        items = items_of(frame)
        if not items:
            if otherwise is not None:
                otherwise(frame, out)
            return
        scope = frame.child()
        names = scope.vars
        length = len(items)
        rt = frame.rt
        rt.loop_steps += length
        if rt.loop_steps > MAX_LOOP_STEPS:
            raise where.error(f"The template's loops would run more than {MAX_LOOP_STEPS:,} times")
        for index, item in enumerate(items):
            names[variable] = item
            names["loop"] = {
                "index": index,
                "revindex": length - index - 1,
                "first": index == 0,
                "last": index == length - 1,
                "length": length,
            }
            written = len(out)
            body(scope, out)
            rt.loop_output += sum(map(len, out[written:]))
            if rt.loop_output > MAX_LOOP_OUTPUT:
                raise where.error(f"The template's loops wrote more than {MAX_LOOP_OUTPUT:,} characters")

    return emit


def _set(stmt: Set) -> Emit:
    value = guard(compile_expr(stmt.expr, Where(stmt.tag, stmt.line)), stmt.tag, stmt.line)
    variable = stmt.variable

    def emit(frame: Frame, out: list[str]) -> None:
        frame.assign(variable, value(frame))

    return emit


def _filter_block(stmt: FilterBlock) -> Emit:
    where = Where(stmt.tag, stmt.line)
    body = _statements(stmt.body)
    chain: Eval = lambda frame: frame.vars["\0body"]  # noqa: E731  (the body's text, set below)
    for name, arguments in stmt.filters:
        chain = compile_filter(chain, name, arguments, where, 0)
    apply = guard(lambda frame: to_text(chain(frame)), stmt.tag, stmt.line)

    def emit(frame: Frame, out: list[str]) -> None:
        inner: list[str] = []
        body(frame, inner)
        scope = frame.child()
        scope.vars["\0body"] = "".join(inner)
        out.append(apply(scope))

    return emit
