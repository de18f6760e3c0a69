"""The syntax tree of a template: frozen values the parser builds and the compiler reads.

Two families.  Expression nodes (``Literal``, ``Name``, ``Binary``, ``Filter``...)
compute a value.  Statement nodes (``Text``, ``Output``, ``If``, ``For``...) produce
text; each tag-backed statement keeps the tag as written and its line, which is what
an error message quotes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Expr:
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Literal(Expr):
    value: Any


@dataclass(frozen=True, slots=True)
class ListLiteral(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class MapLiteral(Expr):
    pairs: tuple[tuple[Expr, Expr], ...]


@dataclass(frozen=True, slots=True)
class Name(Expr):
    name: str


@dataclass(frozen=True, slots=True)
class GetItem(Expr):
    """``obj.name`` (``key`` is a Literal string) or ``obj[key]``."""

    obj: Expr
    key: Expr


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    operator: str  # "not", "-" or "+"
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    operator: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Ternary(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True, slots=True)
class Arguments:
    positional: tuple[Expr, ...] = ()
    named: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class Filter(Expr):
    value: Expr
    name: str
    arguments: Arguments


@dataclass(frozen=True, slots=True)
class Test(Expr):
    value: Expr
    name: str
    arguments: Arguments
    negated: bool


@dataclass(frozen=True, slots=True)
class Call(Expr):
    name: str
    arguments: Arguments


class Stmt:
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Text(Stmt):
    text: str


@dataclass(frozen=True, slots=True)
class Output(Stmt):
    expr: Expr
    tag: str
    line: int


@dataclass(frozen=True, slots=True)
class If(Stmt):
    branches: tuple[tuple[Expr, str, int, tuple[Stmt, ...]], ...]  # condition, tag, line, body
    otherwise: tuple[Stmt, ...]


@dataclass(frozen=True, slots=True)
class For(Stmt):
    variable: str
    iterable: Expr
    body: tuple[Stmt, ...]
    otherwise: tuple[Stmt, ...]
    tag: str
    line: int


@dataclass(frozen=True, slots=True)
class Set(Stmt):
    variable: str
    expr: Expr
    tag: str
    line: int


@dataclass(frozen=True, slots=True)
class FilterBlock(Stmt):
    """``{% filter upper | trim %}...{% endfilter %}``: the filters apply to the body's text."""

    filters: tuple[tuple[str, Arguments], ...]
    body: tuple[Stmt, ...]
    tag: str
    line: int
