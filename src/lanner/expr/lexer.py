"""Cutting a Pebble template into text and tags, and a tag into tokens.

A template is text with three kinds of tag: ``{{ expr }}`` prints, ``{% ... %}``
controls (if, for, set, raw...), ``{# ... #}`` is a comment.  A ``-`` against a
delimiter (``{{-``, ``-}}``, ``{%-``, ``-%}``) removes all the whitespace, newlines
included, on that side of the tag, as Pebble does.  Kestra turns Pebble's newline
trimming off, so a tag never eats the newline after it on its own.

Inside a tag the lexer reads tokens until the closing delimiter *outside brackets and
strings*, so ``{{ {'a': 1}}}`` and ``{{ '}}' }}`` work.  ``{% raw %}`` is handled here:
what follows, up to ``{% endraw %}``, is text that is never parsed.

Tokens the lexer knows but Jinja's would not: ``??``, ``???``, ``?`` and ``:`` of the
ternary, and the word operators ``equals``, ``contains``, ``is not``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lanner.expr.errors import ExpressionError

# Token kinds.
NAME, INT, FLOAT, STRING, OP, PUNCT, END = "name", "int", "float", "string", "op", "punct", "end"

WORD_OPERATORS = frozenset({"and", "or", "not", "is", "equals", "contains", "isIn", "notIn"})
_SYMBOL_OPERATORS = ("???", "??", "==", "!=", "<=", ">=", "..", "+", "-", "*", "/", "%", "~", "|", "<", ">")
_PUNCTUATION = "()[]{},.:?="
_OPEN = re.compile(r"\{\{-?|\{%-?|\{#")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([lL])?")
_IS_NOT = re.compile(r"\s+not(?![A-Za-z0-9_])")
_RAW = ("raw", "verbatim")
_END_RAW = re.compile(r"\{%(-?)\s*end(raw|verbatim)\s*(-?)%\}")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_LONG_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: Any
    pos: int  # offset in the template, for line and column in messages


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text, or one tag with its tokens (the last token is always END)."""

    kind: str  # "text", "print" or "block"
    text: str  # the text itself, or the tag as written (for messages)
    tokens: tuple[Token, ...]
    start: int


def position(source: str, pos: int) -> tuple[int, int]:
    """Line and column, both counted from 1, of an offset in the template."""
    line = source.count("\n", 0, pos) + 1
    return line, pos - (source.rfind("\n", 0, pos) + 1) + 1


def syntax_error(source: str, pos: int, tag: str, problem: str) -> ExpressionError:
    line, column = position(source, pos)
    return ExpressionError(f"Unable to parse the expression `{short(tag)}` at line {line}, column {column}: {problem}")


def short(tag: str) -> str:
    return tag if len(tag) <= 200 else tag[:200] + "..."


def lex(source: str) -> list[Piece]:
    pieces: list[Piece] = []
    pos, strip_next = 0, False
    while True:
        found = _OPEN.search(source, pos)
        text = source[pos : found.start() if found else len(source)]
        if strip_next:
            text = text.lstrip()
        if found and found.group().endswith("-"):
            text = text.rstrip()
        if text:
            pieces.append(Piece("text", text, (), pos))
        if not found:
            return pieces
        opener = found.group()
        if opener == "{#":
            close = source.find("#}", found.end())
            if close < 0:
                raise syntax_error(source, found.start(), source[found.start() :], "the comment is never closed (`#}`)")
            pos, strip_next = close + 2, False
            continue
        closer = "}}" if opener.startswith("{{") else "%}"
        tokens, end, strip_next = _tokenize(source, found.start(), found.end(), closer)
        piece = Piece("print" if closer == "}}" else "block", source[found.start() : end], tokens, found.start())
        if piece.kind == "block" and len(tokens) == 2 and tokens[0].kind == NAME and tokens[0].value in _RAW:
            pos, strip_next = _raw(source, piece, end, strip_next, pieces)
            continue
        pieces.append(piece)
        pos = end


def _raw(source: str, piece: Piece, end: int, strip_after: bool, pieces: list[Piece]) -> tuple[int, bool]:
    closing = _END_RAW.search(source, end)
    if closing is None:
        raise syntax_error(source, piece.start, piece.text, "`{% raw %}` is never closed with `{% endraw %}`")
    text = source[end : closing.start()]
    if strip_after:
        text = text.lstrip()
    if closing.group(1):
        text = text.rstrip()
    if text:
        pieces.append(Piece("text", text, (), end))
    return closing.end(), bool(closing.group(3))


def _tokenize(source: str, start: int, pos: int, closer: str) -> tuple[tuple[Token, ...], int, bool]:
    """Tokens of one tag, the offset after its closing delimiter, and whether it strips after."""
    tokens: list[Token] = []
    brackets: list[str] = []
    size = len(source)
    while True:
        while pos < size and source[pos].isspace():
            pos += 1
        if pos >= size:
            raise syntax_error(source, start, source[start:], f"the tag is never closed with `{closer}`")
        if not brackets:
            if source.startswith(closer, pos):
                tokens.append(Token(END, closer, pos))
                return tuple(tokens), pos + 2, False
            if source.startswith("-" + closer, pos):
                tokens.append(Token(END, closer, pos))
                return tuple(tokens), pos + 3, True
        char = source[pos]
        if char.isalpha() or char == "_":
            match = _NAME.match(source, pos)
            if match is None:  # a non-ASCII letter
                raise syntax_error(source, pos, source[start : pos + 1], f"unexpected character `{char}`")
            word = match.group()
            if word == "is":
                negation = _IS_NOT.match(source, match.end())
                if negation:
                    tokens.append(Token(OP, "is not", pos))
                    pos = negation.end()
                    continue
            tokens.append(Token(OP if word in WORD_OPERATORS else NAME, word, pos))
            pos = match.end()
        elif "0" <= char <= "9":  # ASCII only: str.isdigit() also accepts superscripts
            pos = _number(source, start, pos, tokens)
        elif char in "'\"":
            pos = _string(source, start, pos, tokens)
        else:
            operator = next((op for op in _SYMBOL_OPERATORS if source.startswith(op, pos)), None)
            if operator is not None:
                tokens.append(Token(OP, operator, pos))
                pos += len(operator)
            elif char in _PUNCTUATION:
                _track(brackets, char, source, start, pos)
                tokens.append(Token(PUNCT, char, pos))
                pos += 1
            else:
                raise syntax_error(source, pos, source[start : pos + 1], f"unexpected character `{char}`")


def _track(brackets: list[str], char: str, source: str, start: int, pos: int) -> None:
    if char in "([{":
        brackets.append({"(": ")", "[": "]", "{": "}"}[char])
    elif char in ")]}":
        if not brackets:
            raise syntax_error(source, pos, source[start : pos + 1], f"unbalanced `{char}`")
        expected = brackets.pop()
        if expected != char:
            opening = {")": "(", "]": "[", "}": "{"}[expected]
            problem = f"`{opening}` is never closed (expected `{expected}`, found `{char}`)"
            raise syntax_error(source, pos, source[start : pos + 2], problem)


def _number(source: str, start: int, pos: int, tokens: list[Token]) -> int:
    match = _NUMBER.match(source, pos)
    assert match is not None  # the caller saw a digit
    digits = match.group()
    if match.group(1):
        tokens.append(Token(FLOAT, float(digits.rstrip("lL")), pos))
    else:
        number = int(digits.rstrip("lL")) if len(digits) <= 20 else _LONG_MAX + 1
        if number > _LONG_MAX:
            raise syntax_error(source, pos, source[start : match.end()], "the number is too large for a 64-bit integer")
        tokens.append(Token(INT, number, pos))
    return match.end()


def _string(source: str, start: int, pos: int, tokens: list[Token]) -> int:
    quote = source[pos]
    chars: list[str] = []
    index = pos + 1
    size = len(source)
    while index < size:
        char = source[index]
        if char == quote:
            tokens.append(Token(STRING, "".join(chars), pos))
            return index + 1
        if char == "\\" and index + 1 < size:
            escaped = source[index + 1]
            if escaped == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", source[index + 2 : index + 6]):
                chars.append(chr(int(source[index + 2 : index + 6], 16)))
                index += 6
                continue
            # An unknown escape keeps its backslash, so regular expressions read as written.
            chars.append(_ESCAPES.get(escaped, "\\" + escaped))
            index += 2
            continue
        chars.append(char)
        index += 1
    raise syntax_error(source, pos, source[start:], f"the string is never closed with `{quote}`")
