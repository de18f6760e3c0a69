"""Untrusted YAML to plain values, remembering where every key and value was written.

Flow sources come from users and API clients, so loading must be safe and fast:

* Only plain data is produced (mappings, lists, strings, numbers, booleans, null).
  Tags that would construct objects (``!!python/object``...) are errors; nothing in
  a document can run code.
* Aliases (``*anchor``) are followed, but the total number of values a document
  expands to is capped, so a "billion laughs" document fails fast instead of
  exhausting memory.
* Parsing uses libyaml through ``ruamel.yaml.clib`` (about 0.3 s for 1 MB, against 3 s
  for the pure-Python parser) and composes nodes only, which carry their positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lanner.flows.problems import Path

MAX_VALUES = 200_000
_TAG = "tag:yaml.org,2002:"


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
    node = _compose(text)
    document = Document(None)
    if node is None:
        return document
    counter = [0]
    document.data = _convert(node, (), document, counter)
    return document


def _compose(text: str) -> Any:
    try:
        from ruamel.yaml.cyaml import CSafeLoader as Loader
    except ImportError:  # no C extension: correct, only slower
        from ruamel.yaml import SafeLoader as Loader  # type: ignore[assignment]
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    loader = Loader(text)
    try:
        return loader.get_single_node()
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        raise YamlError(f"invalid YAML: {problem}", mark.line + 1 if mark else None,
                        mark.column + 1 if mark else None) from None
    except YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}") from None
    finally:
        if hasattr(loader, "dispose"):
            loader.dispose()


def _convert(node: Any, path: Path, document: Document, counter: list[int]) -> Any:
    counter[0] += 1
    if counter[0] > MAX_VALUES:
        raise YamlError(
            f"the document expands to more than {MAX_VALUES} values; "
            "YAML aliases (*name) that repeat large anchors are not allowed to grow it further",
            node.start_mark.line + 1, node.start_mark.column + 1,
        )
    document.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    kind = type(node).__name__
    if kind == "MappingNode":
        return _mapping(node, path, document, counter)
    if kind == "SequenceNode":
        return [_convert(item, path + (index,), document, counter) for index, item in enumerate(node.value)]
    return _scalar(node)


def _mapping(node: Any, path: Path, document: Document, counter: list[int]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    first_seen: dict[str, int] = {}
    merges: list[dict[str, Any]] = []
    for key_node, value_node in node.value:
        if key_node.tag == _TAG + "merge":
            merged = _convert(value_node, path, document, counter)
            merges.extend(merged if isinstance(merged, list) else [merged])
            continue
        if type(key_node).__name__ != "ScalarNode":
            raise YamlError("a mapping key must be a plain value, not a list or mapping",
                            key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        key = _scalar(key_node)
        key = key if isinstance(key, str) else _render_key(key)
        line = key_node.start_mark.line + 1
        if key in first_seen:
            raise YamlError(f"duplicate key '{key}' (first set at line {first_seen[key]})", line,
                            key_node.start_mark.column + 1)
        first_seen[key] = line
        document.key_positions[path + (key,)] = (line, key_node.start_mark.column + 1)
        result[key] = _convert(value_node, path + (key,), document, counter)
    for merged in merges:
        if not isinstance(merged, dict):
            raise YamlError("'<<' can only merge mappings", node.start_mark.line + 1, node.start_mark.column + 1)
        for key, value in merged.items():
            result.setdefault(key, value)
    return result


def _render_key(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _scalar(node: Any) -> Any:
    tag, text = node.tag, node.value
    if not tag.startswith(_TAG):
        raise YamlError(f"unsupported YAML tag {tag}: flows hold plain data only",
                        node.start_mark.line + 1, node.start_mark.column + 1)
    kind = tag[len(_TAG):]
    if kind in ("str", "timestamp", "binary") or node.style in ("'", '"', "|", ">"):
        return text
    if kind == "null":
        return None
    if kind == "bool":
        return text.lower() in ("true", "yes", "on", "y")
    if kind == "int":
        digits = text.replace("_", "")
        try:
            return int(digits, 0)
        except ValueError:
            try:
                return int(digits, 10)
            except ValueError:
                return text
    if kind == "float":
        lowered = text.replace("_", "").lower()
        if lowered in (".inf", "+.inf"):
            return float("inf")
        if lowered == "-.inf":
            return float("-inf")
        if lowered == ".nan":
            return float("nan")
        try:
            return float(lowered)
        except ValueError:
            return text
    raise YamlError(f"unsupported YAML tag !!{kind}: flows hold plain data only",
                    node.start_mark.line + 1, node.start_mark.column + 1)
