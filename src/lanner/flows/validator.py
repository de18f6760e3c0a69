"""Turn a flow document into a validated :class:`Flow`, collecting every problem at once.

The walk is ours, pydantic does the per-type checks: for every mapping that names a
``type`` (tasks, triggers, conditions, at any depth), the registry picks the model,
plugin defaults are applied, nested typed mappings are resolved first, then the model
validates the rest.  Each pydantic error is rewritten into a :class:`Problem` with the
path from the flow's root (``tasks[2].then[0].message``), the line and column it came
from, and wording a user can act on.  A problem in one task never hides problems in
its siblings.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from lanner import encryption
from lanner.flows import messages
from lanner.flows.problems import Problem, Severity
from lanner.flows.registry import Registry, default_registry, describe
from lanner.model.flow import Flow, PluginDefault
from lanner.model.inputs import SecretInput, dependency_problems
from lanner.model.spec import Spec
from lanner.model.task import PluginSpec, TaskSpec
from lanner.plain_yaml import Document, Path, YamlError, parse
from lanner.tasks.flowable import FlowableTask


@dataclass
class Validation:
    """The outcome of validating one flow source."""

    source: str
    file: str | None
    flow: Flow | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def valid(self) -> bool:
        return self.flow is not None and not self.errors


def validate_source(source: str, file: str | None = None, registry: Registry | None = None) -> Validation:
    result = Validation(source, file)
    try:
        document = parse(source)
    except YamlError as exc:
        result.problems.append(Problem(Severity.ERROR, (), exc.message, exc.line, exc.column, file))
        return result
    walker = _Walker(registry or default_registry(), document, file)
    result.flow = walker.flow(document.data)
    result.problems = sorted(walker.problems, key=lambda p: (p.line or 0, p.column or 0))
    if result.errors:
        result.flow = None
    return result


class _Walker:
    def __init__(self, registry: Registry, document: Document, file: str | None) -> None:
        self.registry, self.document, self.file = registry, document, file
        self.problems: list[Problem] = []
        self.defaults: list[PluginDefault] = []

    # -- reporting -------------------------------------------------------------------------
    def report(self, severity: Severity, path: Path, message: str) -> None:
        position = self.document.position(path)
        line, column = position if position else (None, None)
        self.problems.append(Problem(severity, path, message, line, column, self.file))

    def error(self, path: Path, message: str) -> None:
        self.report(Severity.ERROR, path, message)

    # -- the flow --------------------------------------------------------------------------
    def flow(self, data: Any) -> Flow | None:
        if not isinstance(data, dict):
            self.error((), "a flow must be a mapping with at least id, namespace and tasks")
            return None
        self._collect_defaults(data)
        flow = self.node(data, Flow, ())
        self._check_unique_ids(data, flow)
        self._check_trigger_conditions(flow)
        self._check_input_dependencies(flow)
        self._check_encryption(flow)
        return flow if not any(p.is_error for p in self.problems) else None

    def _collect_defaults(self, data: dict[str, Any]) -> None:
        if "taskDefaults" in data:
            self.report(Severity.DEPRECATION, ("taskDefaults",), "`taskDefaults` is replaced by `pluginDefaults`")
        for key in ("pluginDefaults", "taskDefaults"):
            entries = data.get(key)
            if not isinstance(entries, list):
                continue
            for entry in entries:
                try:
                    self.defaults.append(PluginDefault.model_validate(entry))
                except ValidationError:
                    pass  # reported when the flow itself is validated

    # -- any model ---------------------------------------------------------------------------
    def node(self, data: Any, cls: type[BaseModel], path: Path) -> Any:
        if not isinstance(data, dict):
            self.error(path, f"expected a mapping, got {messages.kind(data)}")
            return None
        values = dict(data)
        failed: set[str] = set()
        for key, annotation in _typed_fields(cls):
            if key in values:
                values[key], ok = self.resolve(values[key], annotation, path + (key,))
                if not ok:
                    failed.add(key)
        try:
            instance = cls.model_validate(values)
        except ValidationError as exc:
            reported: dict[Path, str] = {}
            for error in exc.errors():
                if error["loc"] and error["loc"][0] in failed:
                    continue  # the nested problem was reported where it is
                where, message = self._pydantic(error, cls, data, path)
                # A union reports one error per alternative at the same place: say it once.
                reported[where] = messages.merge(reported[where], message) if where in reported else message
            for where, message in reported.items():
                self.error(where, message)
            return None
        if failed:
            return None
        check = getattr(instance, "problems", None)
        if callable(check):
            for relative, message in check():
                self.error(path + tuple(relative), message)
        return instance

    def resolve(self, value: Any, annotation: Any, path: Path) -> tuple[Any, bool]:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            return self.resolve(value, typing.get_args(annotation)[0], path)
        if origin in (typing.Union, types.UnionType):
            if value is None:
                return value, True
            arms = [a for a in typing.get_args(annotation) if _polymorphic(a)]
            return self.resolve(value, arms[0], path) if arms else (value, True)
        if origin is list:
            if not isinstance(value, list):
                return value, True  # the model reports the wrong type
            item_type = typing.get_args(annotation)[0]
            results = [self.resolve(item, item_type, path + (i,)) for i, item in enumerate(value)]
            return [r for r, ok in results if ok], all(ok for _, ok in results)
        if origin is dict:
            if not isinstance(value, dict):
                return value, True
            item_type = typing.get_args(annotation)[1]
            resolved = {k: self.resolve(v, item_type, path + (k,)) for k, v in value.items()}
            return {k: r for k, (r, ok) in resolved.items() if ok}, all(ok for _, ok in resolved.values())
        if isinstance(annotation, type) and issubclass(annotation, PluginSpec):
            instance = self.plugin(value, annotation, path)
            return instance, instance is not None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            instance = self.node(value, annotation, path)
            return instance, instance is not None
        return value, True

    def plugin(self, value: Any, base: type[PluginSpec], path: Path) -> PluginSpec | None:
        kind = describe(base)
        if not isinstance(value, dict):
            self.error(path, f"expected a {kind} (a mapping with a type), got {messages.kind(value)}")
            return None
        name = value.get("type")
        if name is None:
            label = f" '{value['id']}'" if isinstance(value.get("id"), str) else ""
            self.error(path, f"missing required property 'type' of {kind}{label}")
            return None
        if not isinstance(name, str):
            self.error(path + ("type",), f"expected a {kind} type name, got {messages.kind(name)}")
            return None
        resolved = self.registry.resolve(base, name)
        if resolved is None:
            suggestion = self.registry.suggest(base, name)
            hint = f"; did you mean '{suggestion}'?" if suggestion else ""
            other = self.registry.kind_of(name)
            if other is not None:
                hint = f": it is a {other} type, not a {kind} type"
            self.error(path + ("type",), f"unknown {kind} type '{name}'{hint}")
            return None
        cls = resolved.cls
        if resolved.alias:
            self.report(Severity.DEPRECATION, path + ("type",), f"`{resolved.alias}` is replaced by `{cls.TYPE}`")
        for name, why in getattr(cls, "IGNORED", {}).items():
            if isinstance(value, dict) and name in value:
                self.report(Severity.WARNING, path + (name,), f"`{name}` is ignored: {why}")
        caveat = getattr(cls, "CAVEAT", None)
        if caveat:  # accepted, but not everything Kestra does with it: said rather than left to surprise
            self.report(Severity.WARNING, path + ("type",), f"`{cls.TYPE}`: {caveat}")
        if cls.REPLACED_BY:
            # A type name is quoted as code; an explanation ("the allowFailure property...") is not.
            instead = f"`{cls.REPLACED_BY}`" if " " not in cls.REPLACED_BY else cls.REPLACED_BY
            self.report(Severity.DEPRECATION, path + ("type",), f"`{cls.TYPE}` is deprecated; use {instead}")
        data = {**value, "type": cls.TYPE}
        if issubclass(cls, TaskSpec):
            data = self._apply_defaults(data, cls, name)
        spec: PluginSpec | None = self.node(data, cls, path)
        return spec

    def _apply_defaults(self, data: dict[str, Any], cls: type[PluginSpec], written: str) -> dict[str, Any]:
        names = {cls.TYPE.lower(), written.lower(), *(a.lower() for a in cls.ALIASES)}
        for default in self.defaults:
            wanted = default.type.lower()
            if wanted in names or any(n.startswith(wanted + ".") for n in names):
                data = _merge(data, default.values) if default.forced else _merge(default.values, data)
        return data

    # -- errors from pydantic -----------------------------------------------------------------
    def _pydantic(self, error: ErrorDetails, cls: type[BaseModel], data: Any, path: Path) -> tuple[Path, str]:
        kind = error["type"]
        loc = _clean_loc(error["loc"], data, keep_last=kind in ("missing", "extra_forbidden"))
        if not loc and kind in ("missing", "extra_forbidden"):  # a key YAML allows but no property can be
            return path, messages.describe(error)
        if kind == "missing":
            return path + loc[:-1], f"missing required property '{loc[-1]}'"
        if kind == "extra_forbidden":
            owner = _owner_name(cls, data, loc)
            suggestion = _closest(str(loc[-1]), _known_keys(cls, loc[:-1], data))
            hint = f"; did you mean '{suggestion}'?" if suggestion else ""
            return path + loc, f"unknown property '{loc[-1]}'{owner}{hint}"
        message = messages.describe(error)
        # A model-level check names the property it is about as "name: what is wrong".
        target = _at(data, loc)
        head, _, rest = message.partition(": ")
        if kind == "value_error" and rest and isinstance(target, dict) and head in target:
            loc, message = loc + (head,), rest
        return path + loc, message

    # -- whole-flow checks --------------------------------------------------------------------
    def _check_trigger_conditions(self, flow: Flow | None) -> None:
        """Warn of conditions a trigger ignores: they look at what it does not have (an execution, a date)."""
        for index, trigger in enumerate(flow.triggers if flow is not None else ()):
            sees = getattr(trigger, "CONDITIONS_SEE", None)
            if sees is None:
                continue
            for number, condition in enumerate(trigger.conditions):
                looks_at = getattr(condition, "LOOKS_AT", "anything")
                if looks_at != "anything" and looks_at not in sees:
                    what = "an ended execution" if looks_at == "execution" else "a date"
                    self.report(Severity.WARNING, ("triggers", index, "conditions", number, "type"),
                                f"`{condition.TYPE}` looks at {what}, which a `{trigger.TYPE}` trigger does not "
                                "have: it is ignored (remove it, or move it to a trigger that has one)")

    def _check_input_dependencies(self, flow: Flow | None) -> None:
        """An input follows (dependsOn) only inputs declared before it: they are resolved in that order."""
        if flow is not None:
            for relative, message in dependency_problems(flow.inputs, "this flow"):
                self.error(("inputs", *relative), message)

    def _check_encryption(self, flow: Flow | None) -> None:
        """A SECRET input or output is stored encrypted: refused when this process has no key to do it."""
        if flow is None or encryption.process_key() is not None:
            return
        secret: list[tuple[Path, str]] = [
            ((group, index, "type"), f"{group[:-1]} '{item.id}'")
            for group in ("inputs", "outputs") for index, item in enumerate(getattr(flow, group))
            if item.type == "SECRET"]
        pauses = {task.id: on_resume for task in flow.all_tasks()
                  if isinstance(task, FlowableTask) and (on_resume := task.resume_inputs())}
        for task_id, path in _task_id_paths(self.document.data) if pauses else ():
            for index, spec in enumerate(pauses.get(task_id, ())):
                if isinstance(spec, SecretInput):
                    secret.append((path[:-1] + ("onResume", index, "type"), f"onResume input '{spec.id}'"))
        for path, what in secret:
            self.error(path, encryption.no_key_message(f"the SECRET {what}"))

    def _check_unique_ids(self, data: dict[str, Any], flow: Flow | None) -> None:
        """Task ids are unique across the whole flow, nested tasks, errors and finally included."""
        seen: dict[str, Path] = {}
        for task_id, path in _task_id_paths(self.document.data):
            if task_id in seen:
                first = self.document.position(seen[task_id])
                where = f" (first used at line {first[0]})" if first else ""
                self.error(path, f"duplicate task id '{task_id}'{where}: task ids must be unique in the whole flow")
            else:
                seen[task_id] = path
        if flow is None:
            return
        triggers: dict[str, Path] = {}
        for index, trigger in enumerate(flow.triggers):
            if trigger.id in triggers:
                self.error(("triggers", index, "id"), f"duplicate trigger id '{trigger.id}'")
            triggers[trigger.id] = ("triggers", index)
        for group in ("inputs", "outputs"):
            seen_ids: set[str] = set()
            for index, item in enumerate(getattr(flow, group)):
                if item.id in seen_ids:
                    self.error((group, index, "id"), f"duplicate {group[:-1]} id '{item.id}'")
                seen_ids.add(item.id)


def _task_id_paths(data: Any, path: Path = ()) -> list[tuple[str, Path]]:
    """(id, path of the id) for every mapping that looks like a task: has ``id`` and ``type``, outside triggers."""
    found: list[tuple[str, Path]] = []
    if isinstance(data, dict):
        if isinstance(data.get("id"), str) and "type" in data and path and path[0] in _TASK_GROUPS:
            found.append((data["id"], path + ("id",)))
        for key, value in data.items():
            if not path and key not in _TASK_GROUPS:
                continue
            found.extend(_task_id_paths(value, path + (key,)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.extend(_task_id_paths(value, path + (index,)))
    return found


_TASK_GROUPS = ("tasks", "errors", "finally", "afterExecution")


@functools.cache
def _typed_fields(cls: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    """(key, annotation) of the fields of ``cls`` that hold typed mappings somewhere inside."""
    return tuple((info.alias or name, info.annotation) for name, info in cls.model_fields.items()
                 if _polymorphic(info.annotation))


def _polymorphic(annotation: Any, depth: int = 0) -> bool:
    """Whether a field's type holds typed mappings (tasks, triggers...) somewhere inside."""
    if depth > 6:
        return False
    if isinstance(annotation, type):
        if issubclass(annotation, PluginSpec):
            return True
        if issubclass(annotation, Spec):
            return any(_polymorphic(f.annotation, depth + 1) for f in annotation.model_fields.values())
        return False
    return any(_polymorphic(arg, depth + 1) for arg in typing.get_args(annotation))


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _clean_loc(loc: tuple[Any, ...], data: Any, *, keep_last: bool) -> Path:
    """Drop the union-tag and validator segments pydantic adds, keeping only real keys and indexes."""
    cleaned: list[str | int] = []
    current = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        if isinstance(current, dict):
            if part in current:
                cleaned.append(part)
                current = current[part]
                continue
            if last and keep_last:
                cleaned.append(part)  # the missing or unknown key itself
            # otherwise: a discriminated-union tag such as 'constant' or 'STRING'
            continue
        elif isinstance(current, list) and isinstance(part, int):
            cleaned.append(part)
            current = current[part] if part < len(current) else None
        else:
            cleaned.append(part)
            current = None
    return tuple(cleaned)


def _at(data: Any, loc: Path) -> Any:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _model_at(cls: Any, loc: Path, data: Any) -> type[BaseModel] | None:
    """The model that owns the mapping at ``loc`` under ``cls``, following the data's own types."""
    current: Any = cls
    value = data
    for part in loc:
        model = _pick_model(current, value)
        if model is None:
            return None
        if isinstance(part, int):
            value = value[part] if isinstance(value, list) and part < len(value) else None
            continue
        field_info = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field_info is None:
            return None
        current = field_info.annotation
        value = value.get(part) if isinstance(value, dict) else None
    return _pick_model(current, value)


def _pick_model(annotation: Any, value: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _pick_model(args[0], value)
    if origin in (typing.Union, types.UnionType):
        models = [a for a in (_pick_model(arg, value) for arg in args) if a is not None]
        if isinstance(value, dict) and "type" in value:
            for model in models:
                tag = model.model_fields.get("type")
                if tag is not None and value["type"] in typing.get_args(tag.annotation):
                    return model
        return models[0] if models else None
    if origin in (list, dict) and args:
        return _pick_model(args[-1], value)
    return None


def _known_keys(cls: type[BaseModel], loc: Path, data: Any) -> list[str]:
    model = _model_at(cls, loc, data)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _owner_name(cls: type[BaseModel], data: Any, loc: Path) -> str:
    model = _model_at(cls, loc[:-1], data)
    if model is not None and issubclass(model, PluginSpec) and model.TYPE:
        return f" of {model.TYPE}"
    return ""


def _closest(key: str, candidates: list[str]) -> str | None:
    lowered = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None

