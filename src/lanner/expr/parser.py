"""From tokens to a syntax tree: tags by recursive descent, expressions by precedence climbing.

Operators bind as in Pebble 3 (higher binds tighter; all are left-associative)::

    10 or    15 and    20 is, is not, contains    30 == != < > <= >= equals isIn notIn
    40 + -   60 * / %  100 | (filter)    110 ~    120 .. ?? ???
    500 unary not, -, +

then ``cond ? a : b`` over the whole expression.  Three consequences surprise people
who know other languages, and are Pebble's: ``'a' ~ 'b' | upper`` is ``AB`` (``~``
binds tighter than ``|``); ``x ?? y | upper`` filters the coalesced value; and
``not a == b`` means ``(not a) == b`` (write ``a != b`` or ``is not``).

Nesting is bounded (parentheses, tags, operator chains), so no template, however
hostile, can exhaust Python's stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from lanner.expr.errors import ExpressionError
from lanner.expr.lexer import END, FLOAT, INT, NAME, OP, PUNCT, STRING, Piece, Token, lex, position, syntax_error
from lanner.expr.nodes import (
    Arguments,
    Binary,
    Call,
    Expr,
    Filter,
    FilterBlock,
    For,
    GetItem,
    If,
    ListLiteral,
    Literal,
    MapLiteral,
    Name,
    Output,
    Set,
    Stmt,
    Ternary,
    Test,
    Text,
    Unary,
)

BINARY = {
    "or": 10, "and": 15, "is": 20, "is not": 20, "contains": 20,
    "==": 30, "equals": 30, "!=": 30, "<": 30, ">": 30, "<=": 30, ">=": 30, "isIn": 30, "notIn": 30,
    "+": 40, "-": 40, "*": 60, "/": 60, "%": 60, "|": 100, "~": 110,
    "..": 120, "??": 120, "???": 120,
}  # fmt: skip
UNARY = {"not": 500, "-": 500, "+": 500}
CONSTANTS = {"true": True, "TRUE": True, "false": False, "FALSE": False,
             "null": None, "NULL": None, "none": None, "NONE": None}  # fmt: skip
MAX_NESTING = 64
T = TypeVar("T")
_UNSUPPORTED_TAGS = frozenset({"macro", "block", "include", "import", "from", "extends", "embed",
                               "autoescape", "parallel", "cache", "flush"})  # fmt: skip


def parse(source: str) -> tuple[Stmt, ...]:
    """The statements of a whole template; raises ExpressionError on a syntax error."""
    return _TemplateParser(source).parse()


def refuse_private(name: str, source: str, token: Token, tag: str) -> None:
    # Double-underscore names are how a Python sandbox escape starts (__class__,
    # __globals__...).  Lookups are keys only, so these could never reach an object, but
    # refusing them outright gives the clearest answer.
    if name.startswith("__"):
        line, column = position(source, token.pos)
        raise ExpressionError(
            f"Access to `{name}` is not allowed in the expression `{tag}` at line {line}, column {column}"
        )


class _TemplateParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pieces = lex(source)
        self.index = 0

    def parse(self) -> tuple[Stmt, ...]:
        body, closing, _ = self._body((), 0)
        if closing is not None:
            raise self._unexpected(closing)
        return body

    def _body(self, stops: tuple[str, ...], depth: int) -> tuple[tuple[Stmt, ...], Piece | None, str]:
        if depth > MAX_NESTING:
            piece = self.pieces[self.index - 1]
            raise syntax_error(self.source, piece.start, piece.text, "tags are nested too deeply")
        nodes: list[Stmt] = []
        while self.index < len(self.pieces):
            piece = self.pieces[self.index]
            self.index += 1
            if piece.kind == "text":
                nodes.append(Text(piece.text))
                continue
            stream = _Expressions(self.source, piece)
            if piece.kind == "print":
                expr = stream.expression()
                stream.end()
                nodes.append(Output(expr, piece.text, self._line(piece)))
                continue
            keyword = stream.keyword()
            if keyword in stops:
                return tuple(nodes), piece, keyword
            nodes.append(self._statement(keyword, piece, stream, depth))
        return tuple(nodes), None, ""

    def _statement(self, keyword: str, piece: Piece, stream: _Expressions, depth: int) -> Stmt:
        line = self._line(piece)
        if keyword == "if":
            return self._if(piece, stream, depth)
        if keyword == "for":
            variable = stream.name("a loop variable")
            refuse_private(variable, self.source, stream.tokens[1], piece.text)
            stream.word("in")
            iterable = stream.expression()
            stream.end()
            body, closing, word = self._closed(("else", "endfor"), piece, depth)
            otherwise: tuple[Stmt, ...] = ()
            if word == "else":
                _Expressions(self.source, closing).after_keyword_end()
                otherwise, closing, word = self._closed(("endfor",), piece, depth)
            _Expressions(self.source, closing).after_keyword_end()
            return For(variable, iterable, body, otherwise, piece.text, line)
        if keyword == "set":
            variable = stream.name("a variable name")
            refuse_private(variable, self.source, stream.tokens[1], piece.text)
            stream.punct("=")
            expr = stream.expression()
            stream.end()
            return Set(variable, expr, piece.text, line)
        if keyword == "filter":
            filters = [stream.filter_call()]
            while stream.accept(OP, "|"):
                filters.append(stream.filter_call())
            stream.end()
            body, closing, _ = self._closed(("endfilter",), piece, depth)
            _Expressions(self.source, closing).after_keyword_end()
            return FilterBlock(tuple(filters), body, piece.text, line)
        if keyword in _UNSUPPORTED_TAGS:
            raise syntax_error(self.source, piece.start, piece.text, f"the `{keyword}` tag is not supported")
        raise self._unexpected(piece)

    def _if(self, piece: Piece, stream: _Expressions, depth: int) -> If:
        branches = []
        condition, tag = stream.expression(), piece
        stream.end()
        while True:
            body, closing, word = self._closed(("elseif", "else", "endif"), piece, depth)
            branches.append((condition, tag.text, self._line(tag), body))
            assert closing is not None
            if word != "elseif":
                break
            stream = _Expressions(self.source, closing)
            stream.keyword()
            condition, tag = stream.expression(), closing
            stream.end()
        otherwise: tuple[Stmt, ...] = ()
        if word == "else":
            _Expressions(self.source, closing).after_keyword_end()
            otherwise, closing, _ = self._closed(("endif",), piece, depth)
        _Expressions(self.source, closing).after_keyword_end()
        return If(tuple(branches), otherwise)

    def _closed(self, stops: tuple[str, ...], opening: Piece, depth: int) -> tuple[tuple[Stmt, ...], Piece, str]:
        body, closing, word = self._body(stops, depth + 1)
        if closing is None:
            expected = " or ".join(f"`{{% {stop} %}}`" for stop in stops)
            problem = f"the tag is never closed; expected {expected}"
            raise syntax_error(self.source, opening.start, opening.text, problem)
        return body, closing, word

    def _unexpected(self, piece: Piece) -> ExpressionError:
        return syntax_error(self.source, piece.start, piece.text, f"unexpected tag `{piece.tokens[0].value}`")

    def _line(self, piece: Piece) -> int:
        return position(self.source, piece.start)[0]


class _Expressions:
    """A cursor over the tokens of one tag, with the expression grammar."""

    def __init__(self, source: str, piece: Piece | None) -> None:
        assert piece is not None
        self.source = source
        self.piece = piece
        self.tokens = piece.tokens
        self.index = 0
        self.depth = 0

    # --- cursor helpers ---------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def _peek(self) -> Token:
        return self.tokens[min(self.index + 1, len(self.tokens) - 1)]

    def _advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != END:
            self.index += 1
        return token

    def accept(self, kind: str, value: object) -> bool:
        token = self.current
        if token.kind == kind and token.value == value:
            self._advance()
            return True
        return False

    def error(self, problem: str, token: Token | None = None) -> ExpressionError:
        token = token or self.current
        return syntax_error(self.source, token.pos, self.piece.text, problem)

    def _found(self, expected: str) -> ExpressionError:
        token = self.current
        found = "the end of the tag" if token.kind == END else f"`{self.source[token.pos : token.pos + 20].split()[0]}`"
        return self.error(f"expected {expected} but found {found}")

    def punct(self, value: str) -> None:
        if not self.accept(PUNCT, value):
            raise self._found(f"`{value}`")

    def word(self, value: str) -> None:
        if not self.accept(NAME, value):
            raise self._found(f"`{value}`")

    def name(self, what: str) -> str:
        token = self.current
        if token.kind != NAME:
            raise self._found(what)
        self._advance()
        return str(token.value)

    def keyword(self) -> str:
        token = self.current
        if token.kind != NAME:
            raise self._found("a tag name such as `if`, `for` or `set`")
        self._advance()
        return str(token.value)

    def end(self) -> None:
        if self.current.kind != END:
            raise self._found("the end of the tag")

    def after_keyword_end(self) -> None:
        self.keyword()
        self.end()

    # --- grammar ----------------------------------------------------------------------

    def expression(self, min_precedence: int = 0) -> Expr:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error("the expression is nested too deeply")
        token = self.current
        expr: Expr
        if token.kind == OP and token.value in UNARY:
            self._advance()
            operand = self.expression(UNARY[str(token.value)])
            if token.value == "-" and isinstance(operand, Literal) and type(operand.value) in (int, float):
                expr = Literal(-operand.value)
            else:
                expr = Unary(str(token.value), operand)
        else:
            expr = self._primary()
        while True:
            token = self.current
            if token.kind != OP or token.value not in BINARY or BINARY[str(token.value)] < min_precedence:
                break
            operator = str(token.value)
            self._advance()
            if operator == "|":
                name, arguments = self.filter_call()
                expr = Filter(expr, name, arguments)
            elif operator in ("is", "is not"):
                name = self.name("the name of a test such as `defined` or `null`")
                expr = Test(expr, name, self._optional_arguments(), operator == "is not")
            else:
                expr = Binary(operator, expr, self.expression(BINARY[operator] + 1))
        if min_precedence == 0 and self.accept(PUNCT, "?"):
            then = self.expression()
            self.punct(":")
            expr = Ternary(expr, then, self.expression())
        self.depth -= 1
        return expr

    def filter_call(self) -> tuple[str, Arguments]:
        """A filter's name and arguments (after ``|``, or in ``{% filter %}``)."""
        name = self.name("the name of a filter")
        return name, self._optional_arguments()

    def _optional_arguments(self) -> Arguments:
        return self._arguments() if self.current.kind == PUNCT and self.current.value == "(" else Arguments()

    def _primary(self) -> Expr:
        token = self.current
        expr: Expr
        if token.kind == PUNCT and token.value == "(":
            self._advance()
            expr = self.expression()
            self.punct(")")
        elif token.kind == PUNCT and token.value == "[":
            self._advance()
            expr = ListLiteral(tuple(self._sequence("]", self.expression)))
        elif token.kind == PUNCT and token.value == "{":
            self._advance()
            expr = MapLiteral(tuple(self._sequence("}", self._pair)))
        elif token.kind == NAME:
            self._advance()
            name = str(token.value)
            if name in CONSTANTS:
                expr = Literal(CONSTANTS[name])
            elif self.current.kind == PUNCT and self.current.value == "(":
                expr = Call(name, self._arguments())
            else:
                refuse_private(name, self.source, token, self.piece.text)
                expr = Name(name)
        elif token.kind in (INT, FLOAT, STRING):
            self._advance()
            expr = Literal(token.value)
        else:
            raise self._found("an expression")
        return self._postfix(expr)

    def _postfix(self, expr: Expr) -> Expr:
        while True:
            token = self.current
            if token.kind == PUNCT and token.value == ".":
                self._advance()
                attribute = self.current
                if attribute.kind in (NAME, OP) and isinstance(attribute.value, str) and " " not in attribute.value:
                    refuse_private(attribute.value, self.source, attribute, self.piece.text)
                    self._advance()
                    if self.current.kind == PUNCT and self.current.value == "(":
                        raise self.error(f"calling methods is not supported (`.{attribute.value}(...)`)")
                    expr = GetItem(expr, Literal(attribute.value))
                elif attribute.kind == INT:
                    self._advance()
                    expr = GetItem(expr, Literal(attribute.value))
                else:
                    raise self._found("an attribute name after `.`")
            elif token.kind == PUNCT and token.value == "[":
                self._advance()
                key = self.expression()
                self.punct("]")
                expr = GetItem(expr, key)
            elif token.kind == PUNCT and token.value == "(":
                raise self.error("only named functions can be called")
            else:
                return expr

    def _pair(self) -> tuple[Expr, Expr]:
        key = self.expression()
        self.punct(":")
        return key, self.expression()

    def _sequence(self, closer: str, item: Callable[[], T]) -> list[T]:
        items: list[T] = []
        if self.accept(PUNCT, closer):
            return items
        while True:
            items.append(item())
            if self.accept(PUNCT, closer):
                return items
            if not self.accept(PUNCT, ","):
                raise self._found(f"`,` or `{closer}`")

    def _arguments(self) -> Arguments:
        self.punct("(")
        positional: list[Expr] = []
        named: list[tuple[str, Expr]] = []
        if self.accept(PUNCT, ")"):
            return Arguments()
        while True:
            token = self.current
            if token.kind == NAME and self._peek().kind == PUNCT and self._peek().value == "=":
                self._advance()
                self._advance()
                named.append((str(token.value), self.expression()))
            elif named:
                raise self.error("a positional argument cannot follow a named one")
            else:
                positional.append(self.expression())
            if self.accept(PUNCT, ")"):
                return Arguments(tuple(positional), tuple(named))
            if not self.accept(PUNCT, ","):
                raise self._found("`,` or `)`")
