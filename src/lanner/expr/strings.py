"""Filters on text: case, trimming, replacing, splitting, slicing by separator, encodings.

A string filter given null returns null (Kestra's filters do), and given a number or
a boolean works on its printed form.  Where Kestra's filter takes a Java regular
expression (``split``, ``replace(..., regexp=true)``), Python's ``re`` reads it: the
syntax is the same for everything a flow realistically uses, and ``$1`` in a
replacement means group 1 as in Java.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import regex

from lanner.expr.errors import EvalError, type_name
from lanner.expr.frame import Frame
from lanner.expr.registry import bool_arg, filter_, int_arg, required, string_arg, text_input
from lanner.expr.values import to_text

# A user's regular expression may backtrack catastrophically: the ``regex`` module can be
# stopped (and matches without holding the interpreter), where ``re`` runs to the end.
REGEX_TIMEOUT = 5.0  # seconds one split or replace may take


# A memo of a pure function (same text, same immutable result): it has no observable effect,
# so decide may reach it (see lanner.engine.core.surroundings).
@lru_cache(maxsize=512)
def java_regex(pattern: str) -> regex.Pattern[str]:
    try:
        return regex.compile(pattern)
    except (regex.error, RecursionError, OverflowError):
        raise EvalError("invalid regular expression") from None


def _too_slow() -> EvalError:
    return EvalError(f"the regular expression ran longer than {REGEX_TIMEOUT:g} s and was stopped")


def _java_replacement(replacement: str) -> str:
    # Java writes group references as $1 and escapes with a backslash; Python wants \g<1>.
    escaped = replacement.replace("\\$", "\0").replace("\\", "\\\\")
    return re.sub(r"\$(\d+)", r"\\g<\1>", escaped).replace("\0", "$")


@filter_("upper")
def upper(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    return None if value is None else text_input(value, "upper").upper()


@filter_("lower")
def lower(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    return None if value is None else text_input(value, "lower").lower()


@filter_("capitalize")
def capitalize(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    text = text_input(value, "capitalize")
    return text[:1].upper() + text[1:]


@filter_("title")
def title(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    chars, start = [], True
    for char in text_input(value, "title"):
        chars.append(char.upper() if start else char.lower())
        start = char.isspace()
    return "".join(chars)


@filter_("trim")
def trim(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    return None if value is None else text_input(value, "trim").strip()


@filter_("abbreviate", "length")
def abbreviate(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    text = text_input(value, "abbreviate")
    length = int_arg(args, "length", "the `abbreviate` filter")
    if length < 0:
        raise EvalError("the `abbreviate` filter expects a positive `length`")
    if len(text) <= length:
        return text
    return text[:length] if length < 4 else text[: length - 3] + "..."


@filter_("replace", "replace_pairs", "regexp")
def replace(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    pairs = required(args, "replace_pairs", "the `replace` filter")
    if not isinstance(pairs, Mapping):
        raise EvalError(f"the `replace` filter expects a map of replacements, not a {type_name(pairs)}")
    regexp = bool_arg(args, "regexp", "the `replace` filter", False)
    rules = [(to_text(old), to_text(new)) for old, new in pairs.items()]

    def one(text: str) -> str:
        for old, new in rules:
            if regexp:
                try:
                    text = java_regex(old).sub(_java_replacement(new), text, timeout=REGEX_TIMEOUT)
                except TimeoutError:
                    raise _too_slow() from None
            else:
                text = text.replace(old, new)
        return text

    return _deep(value, one)


def _deep(value: Any, apply: Any) -> Any:
    """Apply a string function to a string, or to every leaf of a map or list."""
    if isinstance(value, Mapping):
        return {key: _deep(item, apply) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_deep(item, apply) for item in value]
    return apply(to_text(value) if value is not None else "null")


@filter_("escapeChar", "type")
def escape_char(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    kind = string_arg(args, "type", "the `escapeChar` filter").lower()
    rules = {"single": ("'", "\\'"), "double": ('"', '\\"'), "shell": ("'", "'\\''")}
    if kind not in rules:
        raise EvalError("the `escapeChar` filter expects `type` to be 'single', 'double' or 'shell'")
    old, new = rules[kind]
    return _deep(value, lambda text: text.replace(old, new))


@filter_("split", "delimiter", "limit")
def split(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    text = text_input(value, "split")
    delimiter = string_arg(args, "delimiter", "the `split` filter")
    limit = int_arg(args, "limit", "the `split` filter", 0)
    return java_split(java_regex(delimiter), text, limit)


def java_split(pattern: regex.Pattern[str], text: str, limit: int) -> list[str]:
    """``String.split(regex, limit)``: no captured groups, Java's rules for empty parts."""
    if not text:
        return [""]
    try:
        return _split(pattern, text, limit)
    except TimeoutError:
        raise _too_slow() from None


def _split(pattern: regex.Pattern[str], text: str, limit: int) -> list[str]:
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(text, timeout=REGEX_TIMEOUT):
        if limit > 0 and len(parts) == limit - 1:
            break
        if match.end() == 0:  # a zero-width match at the start makes no empty first part
            continue
        parts.append(text[last : match.start()])
        last = match.end()
    if not parts:
        return [text]
    parts.append(text[last:])
    if limit == 0:
        while parts and parts[-1] == "":
            parts.pop()
    return parts


@filter_("slugify")
def slugify(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    text = unicodedata.normalize("NFKD", text_input(value, "slugify"))
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _separator(args: dict[str, Any], owner: str) -> str:
    return string_arg(args, "separator", f"the `{owner}` filter")


@filter_("substringBefore", "separator")
def substring_before(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    text, separator = text_input(value, ""), _separator(args, "substringBefore")
    index = text.find(separator)
    return text if index < 0 else text[:index]


@filter_("substringAfter", "separator")
def substring_after(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    text, separator = text_input(value, ""), _separator(args, "substringAfter")
    index = text.find(separator)
    return "" if index < 0 else text[index + len(separator) :]


@filter_("substringBeforeLast", "separator")
def substring_before_last(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    text, separator = text_input(value, ""), _separator(args, "substringBeforeLast")
    index = text.rfind(separator) if separator else -1
    return text if index < 0 else text[:index]


@filter_("substringAfterLast", "separator")
def substring_after_last(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    text, separator = text_input(value, ""), _separator(args, "substringAfterLast")
    index = text.rfind(separator) if separator else -1
    return "" if index < 0 or index + len(separator) == len(text) else text[index + len(separator) :]


@filter_("startsWith", "prefix")
def starts_with(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return False
    return text_input(value, "").startswith(string_arg(args, "prefix", "the `startsWith` filter"))


@filter_("endsWith", "suffix")
def ends_with(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return False
    return text_input(value, "").endswith(string_arg(args, "suffix", "the `endsWith` filter"))


def _indent(value: Any, args: dict[str, Any], owner: str, leading: bool) -> Any:
    if value is None:
        return None
    text = text_input(value, owner)
    if not text:
        return text
    amount = int_arg(args, "amount", f"the `{owner}` filter")
    if amount < 0:
        raise EvalError(f"the `{owner}` filter expects a positive `amount`")
    prefix = string_arg(args, "prefix", f"the `{owner}` filter", " ") * amount
    newline = next((sep for sep in ("\r\n", "\n\r", "\n", "\r") if sep in text), "\n")
    if leading:
        text = newline + text
    return text.replace(newline, newline + prefix)


@filter_("indent", "amount", "prefix")
def indent(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    """Indent every line but the first (which sits where the expression is)."""
    return _indent(value, args, "indent", leading=False)


@filter_("nindent", "amount", "prefix")
def nindent(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    """Start with a newline, then indent every line."""
    return _indent(value, args, "nindent", leading=True)


@filter_("urlencode")
def urlencode(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    # Java's URLEncoder: space as '+', keeps only letters, digits and . - * _
    return quote_plus(text_input(value, "urlencode"), safe="*").replace("~", "%7E")


@filter_("urldecode")
def urldecode(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    return unquote_plus(text_input(value, "urldecode"), errors="strict")


@filter_("base64encode")
def base64encode(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    return base64.b64encode(text_input(value, "base64encode").encode()).decode("ascii")


@filter_("base64decode")
def base64decode(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    try:
        return base64.b64decode(text_input(value, "base64decode"), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise EvalError("the `base64decode` filter was given a value that is not valid base64 of UTF-8 text") from None


def _digest(name: str) -> None:
    def digest(value: Any, args: dict[str, Any], frame: Frame) -> Any:
        if value is None:
            return None
        return hashlib.new(name, text_input(value, name).encode()).hexdigest()

    filter_(name)(digest)


for _algorithm in ("md5", "sha1", "sha256", "sha512"):
    _digest(_algorithm)


@filter_("string")
def string(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    return None if value is None else to_text(value)
