"""Rewriting a flow's source to current syntax, keeping every byte it does not need to change.

The source is parsed with ruamel.yaml's round-trip loader, which knows where each key and
value sits; each fix then splices its edit into the original text (a type name replaced,
a key renamed, a line inserted), so comments, key order, quoting, indentation and blank
lines stay exactly as written.  The fixes are the ``fix`` ids of ``changes.yaml``:

* ``type-aliases``: every alias the type registry knows -> the current type name;
* ``task-defaults``: ``taskDefaults`` -> ``pluginDefaults``;
* ``each-to-foreach``: EachSequential -> ForEach (``value`` -> ``values``; ForEach's
  default concurrencyLimit is 1), EachParallel -> ForEach with its ``concurrent`` as
  ``concurrencyLimit`` (0, unlimited, when absent);
* ``echo-to-log``: Echo -> Log (``format`` -> ``message``).

A flow whose meaning could change is refused and left alone, with the reason: a flow
that does not validate, an EachParallel with several tasks (Kestra ran them at once in
each iteration, ForEach runs them in order), a property already present under its new
name, plugin defaults for a type being replaced, a flow-style mapping where a line must
be inserted.  The result is validated again, and a rewrite that only renames must yield
the very same flow model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lanner.flows.registry import BASES, Registry, default_registry
from lanner.model.task import ConditionSpec, TaskSpec, TriggerSpec

FLOW = "io.kestra.plugin.core.flow"
FOREACH = f"{FLOW}.ForEach"
EACH_SEQUENTIAL = f"{FLOW}.EachSequential"
EACH_PARALLEL = f"{FLOW}.EachParallel"
ECHO = "io.kestra.plugin.core.debug.Echo"
LOG = "io.kestra.plugin.core.log.Log"
FIXES = ("type-aliases", "task-defaults", "each-to-foreach", "echo-to-log")
_REPLACED = (EACH_SEQUENTIAL, EACH_PARALLEL, ECHO)


@dataclass
class Rewrite:
    """The outcome for one flow source: its new text, what changed, or why it was left alone."""

    source: str
    new_source: str
    changes: list[str] = field(default_factory=list)  # "tasks[0].type: io.kestra.core.tasks.log.Log -> ..."
    refused: list[str] = field(default_factory=list)  # why the flow is left alone (then new_source == source)

    @property
    def changed(self) -> bool:
        return self.new_source != self.source


@dataclass(frozen=True)
class _Edit:
    line: int
    column: int
    old: str
    new: str


class _Refuse(Exception):
    pass


def rewrite_source(source: str, registry: Registry | None = None) -> Rewrite:
    """The rewrite of one flow source (never raises for a bad flow: it is refused instead)."""
    from lanner.flows.validator import validate_source

    registry = registry or default_registry()
    before = validate_source(source, None, registry)
    if before.errors:
        return Rewrite(source, source, refused=[
            f"the flow does not validate ({len(before.errors)} error(s), e.g. {before.errors[0].format()}): "
            "fix it first (lanner flow validate)"])
    from ruamel.yaml import YAML

    document = YAML(typ="rt").load(source)
    planner = _Planner(source, registry)
    try:
        planner.flow(document)
    except _Refuse as exc:
        return Rewrite(source, source, refused=[str(exc)])
    if not planner.edits and not planner.inserts:
        return Rewrite(source, source)
    new_source = planner.apply()
    after = validate_source(new_source, None, registry)
    if after.errors:
        return Rewrite(source, source, refused=[
            f"the rewritten flow would not validate ({after.errors[0].format()}): left alone, please report it"])
    if not planner.structural and after.flow is not None and before.flow is not None \
            and after.flow.model_dump() != before.flow.model_dump():
        return Rewrite(source, source, refused=["the rewrite would change the flow's meaning: left alone"])
    return Rewrite(source, new_source, planner.changes)


class _Planner:
    def __init__(self, source: str, registry: Registry) -> None:
        self.lines = source.splitlines(keepends=True)
        self.registry = registry
        self.edits: list[_Edit] = []
        self.inserts: list[tuple[int, str]] = []  # (insert before this line index, text)
        self.changes: list[str] = []
        self.structural = False  # a type replaced by another (the flow model differs by construction)
        self.default_types: list[str] = []  # the types plugin defaults name (exact names or prefixes)

    # -- the walk ----------------------------------------------------------------------------
    def flow(self, document: Any) -> None:
        if not _is_map(document):
            return
        self.default_types = [str(entry["type"]) for key in ("pluginDefaults", "taskDefaults")
                              for entry in _seq(document.get(key)) if _is_map(entry) and "type" in entry]
        if "taskDefaults" in document:
            if "pluginDefaults" in document:
                raise _Refuse("the flow has both taskDefaults and pluginDefaults: merge them into pluginDefaults "
                              "by hand (their order decides which default wins)")
            self.rename_key(document, "taskDefaults", "pluginDefaults", "taskDefaults")
        for key in ("pluginDefaults", "taskDefaults"):
            for index, entry in enumerate(_seq(document.get(key))):
                self.plugin_default(entry, f"{key}[{index}]")
        for key, value in document.items():
            if key not in ("pluginDefaults", "taskDefaults"):
                self.walk(value, str(key), TriggerSpec if key == "triggers" else TaskSpec)

    def walk(self, node: Any, path: str, base: type) -> None:
        if _is_map(node):
            if isinstance(node.get("type"), str):
                self.typed(node, path, base)
            for key, value in node.items():
                child = ConditionSpec if key == "conditions" else TriggerSpec if key == "triggers" else base
                self.walk(value, f"{path}.{key}", child)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                self.walk(item, f"{path}[{index}]", base)

    def typed(self, node: Any, path: str, base: type) -> None:
        written = str(node["type"])
        resolved = self.registry.resolve(base, written)
        if resolved is None:
            return
        current = resolved.cls.TYPE
        if current in (EACH_SEQUENTIAL, EACH_PARALLEL):
            self.each_to_foreach(node, path, written, current)
        elif current == ECHO:
            self.echo_to_log(node, path, written)
        elif resolved.alias:
            self.replace_value(node, "type", written, current, f"{path}.type")

    def plugin_default(self, entry: Any, path: str) -> None:
        if not _is_map(entry) or not isinstance(entry.get("type"), str):
            return
        written = str(entry["type"])
        found = {r.cls.TYPE: r for base in BASES if (r := self.registry.resolve(base, written)) is not None}
        if any(name in _REPLACED for name in found):
            raise _Refuse(f"{path}: plugin defaults for {written}, which is replaced by another type: "
                          "rewrite its properties for the new type by hand")
        if len(found) == 1:
            resolved = next(iter(found.values()))
            if resolved.alias:
                self.replace_value(entry, "type", written, resolved.cls.TYPE, f"{path}.type")

    # -- fixes ---------------------------------------------------------------------------------
    def _check_defaults(self, path: str, node: Any, written: str, new: str) -> None:
        """Plugin defaults that match the old or the new type would apply differently after the change."""
        names = {new.lower(), written.lower()}
        for name in (written, new):
            resolved = self.registry.resolve(TaskSpec, name)
            if resolved is not None:
                names |= {resolved.cls.TYPE.lower(), *(alias.lower() for alias in resolved.cls.ALIASES)}
        for wanted in self.default_types:
            if any(name == wanted.lower() or name.startswith(wanted.lower() + ".") for name in names):
                raise _Refuse(f"{path}: plugin defaults for {wanted} would apply differently once {written} "
                              f"becomes {new}: change this task by hand")

    def each_to_foreach(self, node: Any, path: str, written: str, current: str) -> None:
        parallel = current == EACH_PARALLEL
        if "values" in node:
            raise _Refuse(f"{path}: {written} has both value and values; keep one, then run flow migrate again")
        if parallel and "concurrencyLimit" in node:
            raise _Refuse(f"{path}: {written} already has a concurrencyLimit property; remove it first")
        tasks = _seq(node.get("tasks"))
        if parallel and len(tasks) > 1:
            raise _Refuse(
                f"{path}: {written} has {len(tasks)} tasks, which Kestra ran at the same time in each iteration; "
                "ForEach runs them in order: wrap them in a io.kestra.plugin.core.flow.Parallel task "
                "(or a Sequential one to run them in order) before migrating")
        self._check_defaults(path, node, written, FOREACH)
        self.structural = True
        self.replace_value(node, "type", written, FOREACH, f"{path}.type")
        if "value" in node:
            self.rename_key(node, "value", "values", f"{path}.value")
        if parallel:
            if "concurrent" in node:
                self.rename_key(node, "concurrent", "concurrencyLimit", f"{path}.concurrent")
            else:
                self.insert_after(node, "type", "concurrencyLimit: 0", f"{path}.concurrencyLimit")

    def echo_to_log(self, node: Any, path: str, written: str) -> None:
        if "message" in node:
            raise _Refuse(f"{path}: {written} already has a message property; remove it first")
        self._check_defaults(path, node, written, LOG)
        self.structural = True
        self.replace_value(node, "type", written, LOG, f"{path}.type")
        if "format" in node:
            self.rename_key(node, "format", "message", f"{path}.format")

    # -- edits of the text -----------------------------------------------------------------------
    def replace_value(self, node: Any, key: str, old: str, new: str, where: str) -> None:
        line, column = node.lc.value(key)
        if not self._swap(line, column, old, new, where):
            raise _Refuse(f"{where}: cannot find {old!r} where the YAML parser put it (line {line + 1}); "
                          "edit it by hand")

    def rename_key(self, node: Any, old: str, new: str, where: str) -> None:
        line, column = node.lc.key(old)
        if not self._swap(line, column, old, new, where):
            raise _Refuse(f"{where}: cannot find the key {old!r} on line {line + 1}; edit it by hand")

    def _swap(self, line: int, column: int, old: str, new: str, where: str) -> bool:
        """Replace the scalar ``old`` (bare or quoted, its quotes kept) written at ``line``/``column``."""
        text = self.lines[line][column:]
        for quote in ('"', "'", ""):
            token = f"{quote}{old}{quote}"
            if text.startswith(token):
                self.edits.append(_Edit(line, column, token, f"{quote}{new}{quote}"))
                self.changes.append(f"{where}: {old} -> {new}")
                return True
        return False

    def insert_after(self, node: Any, key: str, text: str, where: str) -> None:
        if node.fa.flow_style():
            raise _Refuse(f"{where}: the task is written as a flow-style mapping ({{...}}); "
                          "write it as a block mapping first")
        key_line, column = node.lc.key(key)
        value_line, _ = node.lc.value(key)
        after = max(key_line, value_line) + 1
        self.inserts.append((after, " " * column + text + "\n"))
        self.changes.append(f"{where}: added ({text})")

    def apply(self) -> str:
        lines = list(self.lines)
        if lines and not lines[-1].endswith("\n") and any(index >= len(lines) for index, _ in self.inserts):
            lines[-1] += "\n"
        for edit in sorted(self.edits, key=lambda e: (e.line, e.column), reverse=True):
            row = lines[edit.line]
            lines[edit.line] = row[:edit.column] + edit.new + row[edit.column + len(edit.old):]
        for index, text in sorted(self.inserts, key=lambda i: i[0], reverse=True):
            lines.insert(index, text)
        return "".join(lines)


def _is_map(node: Any) -> bool:
    return isinstance(node, dict) and hasattr(node, "lc")


def _seq(node: Any) -> list[Any]:
    return list(node) if isinstance(node, list) else []
