"""Untrusted YAML to plain values, remembering where every key and value was written.

Flow sources come from users and API clients, and expressions read YAML too (``yaml()``),
so loading must be safe and fast:

* Only plain data is produced (mappings, lists, strings, numbers, booleans, null).
  Tags that would construct objects (``!!python/object``...) are errors; nothing in
  a document can run code.
* Aliases (``*anchor``) are followed, but the number of values a document expands to
  is capped, so a "billion laughs" document fails at once instead of exhausting
  memory; nesting depth is capped too.
* The document is built straight from the parser's events (libyaml through
  ``ruamel.yaml.clib``), skipping ruamel's node and constructor layers: 1 MB parses in
  a fraction of a second.  Plain scalars are typed by the YAML 1.2 core schema, as
  ruamel does (``yes`` stays a string).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

Path = tuple[str | int, ...]  # keys and indexes from the document's root

MAX_VALUES = 200_000
MAX_DEPTH = 100
_TAG = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


class YamlError(Exception):
    """A document that cannot be read as YAML; ``line``/``column`` are 1-based."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass
class Document:
    data: Any
    # Position of each value, and of each mapping key under ``path + ("<key>",)``.
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path) -> tuple[int, int] | None:
        """Where to point for ``path``: its key if it has one, else its value, else its nearest parent."""
        for length in range(len(path), -1, -1):
            prefix = path[:length]
            if prefix in self.key_positions:
                return self.key_positions[prefix]
            if prefix in self.positions:
                return self.positions[prefix]
        return None


def parse(text: str) -> Document:
    """Parse one YAML document into plain values with positions; raise :class:`YamlError`."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    document = Document(None)
    try:
        builder = _Builder(YAML(typ="safe").parse(text), document)
        document.data = builder.document()
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        raise YamlError(f"invalid YAML: {problem}", mark.line + 1 if mark else None,
                        mark.column + 1 if mark else None) from None
    except YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}") from None
    return document


class _Builder:
    def __init__(self, events: Iterator[Any], document: Document) -> None:
        self.events, self.doc = events, document
        self.count = 0
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, number of values inside)

    def document(self) -> Any:
        data = None
        for event in self.events:
            kind = type(event).__name__
            if kind == "DocumentStartEvent":
                if data is not None or self.count:
                    _fail("a flow source holds one YAML document; found another one", event)
                data = self.value(next(self.events), (), 0)
            elif kind not in ("StreamStartEvent", "DocumentEndEvent", "StreamEndEvent"):
                data = self.value(event, (), 0)
        return data

    def value(self, event: Any, path: Path, depth: int) -> Any:
        kind = type(event).__name__
        if kind == "AliasEvent":
            if event.anchor not in self.anchors:
                _fail(f"unknown alias *{event.anchor}", event)
            anchored, size = self.anchors[event.anchor]
            self._count(size, event)
            return anchored
        if depth > MAX_DEPTH:
            _fail(f"the document nests deeper than {MAX_DEPTH} levels", event)
        before = self.count
        self._count(1, event)
        mark = event.start_mark
        self.doc.positions[path] = (mark.line + 1, mark.column + 1)
        if kind == "ScalarEvent":
            value: Any = _scalar(event)
        elif kind == "SequenceStartEvent":
            _check_collection_tag(event, "seq")
            value = []
            for item in self.events:
                if type(item).__name__ == "SequenceEndEvent":
                    break
                value.append(self.value(item, path + (len(value),), depth + 1))
        elif kind == "MappingStartEvent":
            _check_collection_tag(event, "map")
            value = self.mapping(path, depth)
        else:
            _fail(f"unexpected YAML element {kind}", event)
        if getattr(event, "anchor", None):
            self.anchors[event.anchor] = (value, self.count - before)
        return value

    def mapping(self, path: Path, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        merges: list[Any] = []
        for key_event in self.events:
            kind = type(key_event).__name__
            if kind == "MappingEndEvent":
                break
            if kind != "ScalarEvent":
                _fail("a mapping key must be a plain value, not a list, mapping or alias", key_event)
            mark = key_event.start_mark
            if key_event.value == "<<" and not key_event.style:
                merged = self.value(next(self.events), path, depth + 1)
                merges.extend(merged if isinstance(merged, list) else [merged])
                continue
            key = _scalar(key_event)
            key = key if isinstance(key, str) else _render_key(key)
            line = mark.line + 1
            if key in first_seen:
                _fail(f"duplicate key '{key}' (first set at line {first_seen[key]})", key_event)
            first_seen[key] = line
            self.doc.key_positions[path + (key,)] = (line, mark.column + 1)
            result[key] = self.value(next(self.events), path + (key,), depth + 1)
        for merged in merges:
            if not isinstance(merged, dict):
                raise YamlError("'<<' can only merge mappings", *self.doc.positions.get(path, (None, None)))
            for key, value in merged.items():
                result.setdefault(key, value)
        return result

    def _count(self, amount: int, event: Any) -> None:
        self.count += amount
        if self.count > MAX_VALUES:
            _fail(f"the document expands to more than {MAX_VALUES} values; "
                  "YAML aliases (*name) that repeat large anchors are not allowed to grow it further", event)


def _fail(message: str, event: Any) -> NoReturn:
    mark = event.start_mark
    raise YamlError(message, mark.line + 1, mark.column + 1)


def _check_collection_tag(event: Any, expected: str) -> None:
    if event.tag not in (None, _TAG + expected, _TAG + "omap") and not (event.implicit and event.tag is None):
        _fail(f"unsupported YAML tag {_short_tag(event.tag)}: flows hold plain data only", event)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag


def _render_key(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _scalar(event: Any) -> Any:
    text, tag = event.value, event.tag
    if "\x00" in text:  # an escaped "\0": no database column can store it
        _fail("a NUL character (\\0) cannot be stored; remove it or encode the data (base64)", event)
    if tag is None or tag == "!":
        if event.style:  # quoted or block scalars are strings
            return text
        return _plain_or_fail(text, event)
    if not tag.startswith(_TAG):
        _fail(f"unsupported YAML tag {_short_tag(tag)}: flows hold plain data only", event)
    kind = tag[len(_TAG):]
    if kind in ("str", "timestamp", "binary"):
        return text
    value = _plain_or_fail(text, event)
    tag_types: dict[str, type | tuple[type, ...]] = {
        "null": type(None), "bool": bool, "int": int, "float": (int, float)}
    expected = tag_types.get(kind)
    if expected is None:
        _fail(f"unsupported YAML tag !!{kind}: flows hold plain data only", event)
    valid = isinstance(value, expected) and not (kind == "int" and isinstance(value, bool))
    if not valid:
        _fail(f"{text!r} is not a valid !!{kind}", event)
    return float(value) if kind == "float" else value


def _plain_or_fail(text: str, event: Any) -> Any:
    try:
        return _plain(text)
    except ValueError:  # Python reads at most sys.get_int_max_str_digits() (4,300) digits
        _fail(f"the number {text[:12]}... has {len(text)} digits: too long to be a number "
              "(quote it to keep it as text)", event)


def _plain(text: str) -> Any:
    if _NULL.match(text):
        return None
    if _BOOL.match(text):
        return text.lower() == "true"
    if _INT.match(text):
        return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)
    if _FLOAT.match(text):
        lowered = text.lower()
        if lowered.endswith("inf"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        if lowered == ".nan":
            return float("nan")
        return float(text)
    return text
