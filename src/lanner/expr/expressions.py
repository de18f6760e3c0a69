"""Compiling expressions into closures ``frame -> value``, and the guard around each tag.

Everything that can be decided before a render is decided here, once: which operator,
which filter, function or test (an unknown name is a syntax error), which argument is
which.  What remains at render time is a chain of plain Python calls.

The guard turns the evaluator's private signals (:class:`Undefined`, :class:`EvalError`,
and anything unexpected) into the public :class:`ExpressionError` that quotes the tag
as written and its line, as Kestra's messages do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lanner.encryption import ENCRYPTED_TYPE
from lanner.expr import dates, formats, functions, predicates, sequences, strings  # noqa: F401  (registers built-ins)
from lanner.expr.errors import EvalError, ExpressionError, Undefined, type_name
from lanner.expr.frame import Frame
from lanner.expr.functions import inclusive_range
from lanner.expr.lexer import short
from lanner.expr.nodes import (
    Arguments,
    Binary,
    Call,
    Expr,
    Filter,
    GetItem,
    ListLiteral,
    Literal,
    MapLiteral,
    Name,
    Ternary,
    Test,
    Unary,
)
from lanner.expr.registry import FILTERS, FUNCTIONS, TESTS, Builtin
from lanner.expr.values import (
    add,
    compare,
    concat,
    contains,
    divide,
    equals,
    get_item,
    is_in,
    is_number,
    modulo,
    multiply,
    negate,
    subtract,
    to_text,
    truth,
)

Eval = Callable[[Frame], Any]
MAX_DEPTH = 96  # expression tree depth; keeps evaluation far from Python's recursion limit
_NO_ARGS: dict[str, Any] = {}


class Where:
    """The tag being compiled, for compile-time errors about names."""

    __slots__ = ("line", "tag")

    def __init__(self, tag: str, line: int) -> None:
        self.tag, self.line = tag, line

    def error(self, problem: str) -> ExpressionError:
        return ExpressionError(f"{problem} in the expression `{short(self.tag)}` at line {self.line}")


def guard(fn: Eval, tag: str, line: int) -> Eval:
    """Run a tag's code; report any failure as an ExpressionError that quotes the tag."""
    quoted = f"`{short(tag)}` at line {line}"
    failed = f"Unable to render the expression {quoted}"

    def run(frame: Frame) -> Any:
        try:
            return fn(frame)
        except Undefined as exc:
            raise ExpressionError(f"Unable to find `{exc.name}` used in the expression {quoted}") from None
        except EvalError as exc:
            raise ExpressionError(f"{failed}: {exc.message}") from None
        except ExpressionError:
            raise
        except RecursionError:
            raise ExpressionError(f"{failed}: nested too deeply") from None
        except Exception as exc:  # a bug or an exotic value: still an ExpressionError, never a crash
            raise ExpressionError(f"{failed}: unexpected {type(exc).__name__}") from exc

    return run


def compile_expr(node: Expr, where: Where, depth: int = 0) -> Eval:
    if depth > MAX_DEPTH:
        raise where.error("The expression is nested too deeply")
    deeper = depth + 1
    if isinstance(node, Literal):
        constant = node.value
        return lambda frame: constant
    if isinstance(node, Name):
        return _name(node.name)
    if isinstance(node, GetItem):
        return _get_item(node, where, deeper)
    if isinstance(node, Binary):
        return _binary(node, where, deeper)
    if isinstance(node, Unary):
        return _unary(node, where, deeper)
    if isinstance(node, Ternary):
        condition = compile_expr(node.condition, where, deeper)
        then = compile_expr(node.then, where, deeper)
        otherwise = compile_expr(node.otherwise, where, deeper)
        return lambda frame: then(frame) if truth(condition(frame)) else otherwise(frame)
    if isinstance(node, Filter):
        return compile_filter(compile_expr(node.value, where, deeper), node.name, node.arguments, where, deeper)
    if isinstance(node, Test):
        return _test(node, where, deeper)
    if isinstance(node, Call):
        return _call(node, where, deeper)
    if isinstance(node, ListLiteral):
        items = [compile_expr(item, where, deeper) for item in node.items]
        return lambda frame: [item(frame) for item in items]
    if isinstance(node, MapLiteral):
        pairs = [(compile_expr(k, where, deeper), compile_expr(v, where, deeper)) for k, v in node.pairs]
        return lambda frame: _map(frame, pairs)
    raise AssertionError(f"unknown expression {type(node).__name__}")


def _map(frame: Frame, pairs: list[tuple[Eval, Eval]]) -> dict[Any, Any]:
    result = {}
    for key, value in pairs:
        name = key(frame)
        if isinstance(name, (list, dict)):
            raise EvalError(f"a {type_name(name)} cannot be a map key")
        result[name] = value(frame)
    return result


def _name(name: str) -> Eval:
    def lookup(frame: Frame) -> Any:
        try:
            return frame.vars[name]
        except KeyError:
            raise Undefined(name) from None

    return lookup


def _get_item(node: GetItem, where: Where, depth: int) -> Eval:
    container = compile_expr(node.obj, where, depth)
    if isinstance(node.key, Literal):
        key = node.key.value
        label = str(key)

        def attribute(frame: Frame) -> Any:
            obj = container(frame)
            if type(obj) is dict:
                try:
                    value = obj[key]
                except KeyError:
                    value = get_item(obj, key, label)
            else:
                value = get_item(obj, key, label)
            # A sealed value (a SECRET input or output) opens where an expression reaches it.
            if type(value) is dict and len(value) == 2 and value.get("type") == ENCRYPTED_TYPE:
                return frame.rt.unseal(value)
            return value

        return attribute
    key_of = compile_expr(node.key, where, depth)

    def subscript(frame: Frame) -> Any:
        obj = container(frame)
        key = key_of(frame)
        value = get_item(obj, key, key if isinstance(key, str) else to_text(key))
        if type(value) is dict and len(value) == 2 and value.get("type") == ENCRYPTED_TYPE:
            return frame.rt.unseal(value)
        return value

    return subscript


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": add, "-": subtract, "*": multiply, "/": divide, "%": modulo,
    "contains": contains, "..": lambda a, b: inclusive_range(a, b, 1),
    "isIn": is_in, "notIn": lambda a, b: not is_in(a, b),
}  # fmt: skip


def _binary(node: Binary, where: Where, depth: int) -> Eval:
    operator = node.operator
    left = compile_expr(node.left, where, depth)
    right = compile_expr(node.right, where, depth)
    if operator == "~":

        def concatenate(frame: Frame) -> str:
            a, b = left(frame), right(frame)
            if type(a) is str and type(b) is str:
                return a + b
            return concat(a, b)

        return concatenate
    if operator == "??":

        def coalesce(frame: Frame) -> Any:
            try:
                value = left(frame)
            except Undefined:
                return right(frame)
            return right(frame) if value is None else value

        return coalesce
    if operator == "???":

        def if_undefined(frame: Frame) -> Any:
            try:
                return left(frame)
            except Undefined:
                return right(frame)

        return if_undefined
    if operator == "and":
        return lambda frame: truth(left(frame)) and truth(right(frame))
    if operator == "or":
        return lambda frame: truth(left(frame)) or truth(right(frame))
    if operator in ("==", "equals"):
        return lambda frame: equals(left(frame), right(frame))
    if operator == "!=":
        return lambda frame: not equals(left(frame), right(frame))
    if operator in ("<", "<=", ">", ">="):
        return lambda frame: compare(left(frame), right(frame), operator)
    apply = _ARITHMETIC[operator]
    return lambda frame: apply(left(frame), right(frame))


def _unary(node: Unary, where: Where, depth: int) -> Eval:
    operand = compile_expr(node.operand, where, depth)
    if node.operator == "not":
        return lambda frame: not truth(operand(frame))
    if node.operator == "-":
        return lambda frame: negate(operand(frame))

    def plus(frame: Frame) -> Any:
        value = operand(frame)
        if not is_number(value):
            raise EvalError(f"cannot apply unary `+` to a {type_name(value)}")
        return value

    return plus


def _bind(builtin: Builtin, kind: str, arguments: Arguments, where: Where, depth: int) -> list[tuple[str, Eval]]:
    """Pair each argument with its parameter name, at compile time."""
    owner = f"the `{builtin.name}` {kind}"
    if builtin.variadic:
        if arguments.named:
            raise where.error(f"The `{builtin.name}` {kind} takes no named arguments")
        items = [compile_expr(arg, where, depth) for arg in arguments.positional]
        return [("values", lambda frame: [item(frame) for item in items])]
    if len(arguments.positional) > len(builtin.parameters):
        raise where.error(f"Too many arguments for {owner} (it takes {len(builtin.parameters)})")
    pairs = zip(builtin.parameters, arguments.positional, strict=False)
    bound = [(name, compile_expr(arg, where, depth)) for name, arg in pairs]
    for name, arg in arguments.named:
        if name not in builtin.parameters:
            accepted = ", ".join(builtin.parameters) or "none"
            raise where.error(f"Unknown argument `{name}` for {owner} (accepted: {accepted})")
        if any(name == taken for taken, _ in bound):
            raise where.error(f"The argument `{name}` is given twice to {owner}")
        bound.append((name, compile_expr(arg, where, depth)))
    return bound


def _arguments(bound: list[tuple[str, Eval]], frame: Frame) -> dict[str, Any]:
    return {name: value(frame) for name, value in bound}


def compile_filter(value: Eval, name: str, arguments: Arguments, where: Where, depth: int) -> Eval:
    builtin = FILTERS.get(name)
    if builtin is None:
        raise where.error(f"Unknown filter `{name}`")
    bound = _bind(builtin, "filter", arguments, where, depth)
    fn = builtin.fn
    if builtin.lenient:
        inner = value

        def value(frame: Frame) -> Any:  # an undefined input is what `default` is for
            try:
                return inner(frame)
            except Undefined:
                return None

    if not bound:
        return lambda frame: fn(value(frame), _NO_ARGS, frame)
    return lambda frame: fn(value(frame), _arguments(bound, frame), frame)


def _test(node: Test, where: Where, depth: int) -> Eval:
    value = compile_expr(node.value, where, depth)
    negated = node.negated
    if node.name == "defined":

        def defined(frame: Frame) -> bool:
            try:
                value(frame)
            except Undefined:
                return negated
            return not negated

        return defined
    builtin = TESTS.get(node.name)
    if builtin is None:
        raise where.error(f"Unknown test `{node.name}`")
    bound = _bind(builtin, "test", node.arguments, where, depth)
    fn = builtin.fn
    return lambda frame: fn(value(frame), _arguments(bound, frame), frame) != negated


def _call(node: Call, where: Where, depth: int) -> Eval:
    builtin = FUNCTIONS.get(node.name)
    if builtin is None:
        raise where.error(f"Unknown function `{node.name}`")
    bound = _bind(builtin, "function", node.arguments, where, depth)
    fn = builtin.fn
    return lambda frame: fn(_arguments(bound, frame), frame)
