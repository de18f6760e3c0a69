"""Task, trigger and condition types by name: Kestra's names, their aliases, and plugins.

Types are found case-insensitively by their Kestra name
(``io.kestra.plugin.core.log.Log``) or by an older alias
(``io.kestra.core.tasks.log.Log``); an alias still works but the validator reports it
as a deprecation naming the replacement.  Types come from Lanner's own plugin module
(``lanner.tasks.core``), from installed packages declaring an entry point in the
``lanner.plugins`` group, and from Python files in the ``-p/--plugins`` folder.  A
plugin module exposes ``TYPES``: a list of :class:`~lanner.model.task.PluginSpec`
subclasses.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from lanner.model.task import ConditionSpec, PluginSpec, TaskSpec, TriggerSpec
from lanner.tasks.executable import ExecutableTask
from lanner.tasks.flowable import FlowableTask
from lanner.tasks.runnable import RunnableTask

BASES: tuple[type[PluginSpec], ...] = (TaskSpec, TriggerSpec, ConditionSpec)
BASE_NAMES = {TaskSpec: "task", TriggerSpec: "trigger", ConditionSpec: "condition"}
ENTRY_POINT_GROUP = "lanner.plugins"
BUILTIN_MODULES = ("lanner.tasks.core",)


class PluginError(Exception):
    """A plugin that cannot be loaded or clashes with a type already known."""


@dataclass(frozen=True)
class Resolved:
    cls: type[PluginSpec]
    alias: str | None  # the deprecated name that was used, if any


class Registry:
    def __init__(self) -> None:
        self._names: dict[type[PluginSpec], dict[str, tuple[type[PluginSpec], bool]]] = {b: {} for b in BASES}

    def register(self, cls: type[PluginSpec]) -> None:
        base = next((b for b in BASES if issubclass(cls, b)), None)
        if base is None or not cls.TYPE:
            raise PluginError(
                f"{cls.__module__}.{cls.__qualname__} is not a task, trigger or condition type with a TYPE")
        if base is TaskSpec:
            _check_task_kind(cls)
        names = self._names[base]
        for name, is_alias in ((cls.TYPE, False), *((alias, True) for alias in cls.ALIASES)):
            known = names.get(name.lower())
            if known is not None and known[0] is not cls:
                raise PluginError(f"type name {name} is declared by both {known[0].__module__} and {cls.__module__}")
            names[name.lower()] = (cls, is_alias)

    def register_module(self, module: ModuleType) -> None:
        types = getattr(module, "TYPES", None)
        if not isinstance(types, (list, tuple)):
            raise PluginError(f"plugin module {module.__name__} has no TYPES list")
        for cls in types:
            self.register(cls)

    def resolve(self, base: type[PluginSpec], name: str) -> Resolved | None:
        found = self._names[self._base(base)].get(name.lower())
        if found is None:
            return None
        cls, is_alias = found
        return Resolved(cls, name if is_alias else None)

    def kind_of(self, name: str) -> str | None:
        """Which kind of type (task, trigger, condition) ``name`` is, if any."""
        return next((BASE_NAMES[base] for base, names in self._names.items() if name.lower() in names), None)

    def types(self, base: type[PluginSpec]) -> list[type[PluginSpec]]:
        return sorted({cls for cls, _ in self._names[self._base(base)].values()}, key=lambda c: c.TYPE)

    def suggest(self, base: type[PluginSpec], name: str) -> str | None:
        """The closest known type name, by full name or by its last segment (``Log``)."""
        canonical = [cls.TYPE for cls in self.types(base)]
        close = difflib.get_close_matches(name.lower(), [t.lower() for t in canonical], n=1, cutoff=0.8)
        if close:
            return next(t for t in canonical if t.lower() == close[0])
        last = name.rsplit(".", 1)[-1].lower()
        segments: dict[str, list[str]] = {}
        for type_name in canonical:
            segments.setdefault(type_name.rsplit(".", 1)[-1].lower(), []).append(type_name)
        near = difflib.get_close_matches(last, list(segments), n=1, cutoff=0.75)
        return segments[near[0]][0] if near and len(segments[near[0]]) == 1 else None

    @staticmethod
    def _base(base: type[PluginSpec]) -> type[PluginSpec]:
        return next(b for b in BASES if issubclass(base, b))


KINDS: tuple[type[TaskSpec], ...] = (RunnableTask, FlowableTask, ExecutableTask)


def _check_task_kind(cls: type[PluginSpec]) -> None:
    """A task type must be able to run: what validates, runs (a plugin's mistake is refused at load)."""
    name = f"{cls.__module__}.{cls.__qualname__} ({cls.TYPE})"
    kinds = [kind for kind in KINDS if issubclass(cls, kind)]
    if len(kinds) != 1:
        raise PluginError(f"{name} must subclass exactly one task kind: lanner.tasks.runnable.RunnableTask "
                          "(runs on a worker: implement run(context)), lanner.tasks.flowable.FlowableTask or "
                          "lanner.tasks.executable.ExecutableTask")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        raise PluginError(f"{name} does not implement {missing}, which a {kinds[0].__name__} must")


def build_registry(plugins_dir: Path | None = None, *, entry_points: bool = True) -> Registry:
    registry = Registry()
    for name in BUILTIN_MODULES:
        registry.register_module(importlib.import_module(name))
    if entry_points:
        for module in _entry_point_modules():
            registry.register_module(module)
    if plugins_dir is not None:
        for module in _folder_modules(plugins_dir):
            registry.register_module(module)
    return registry


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The registry of built-in and installed plugins, built once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = build_registry()
    return _DEFAULT


def _entry_point_modules() -> Iterable[ModuleType]:
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.value in BUILTIN_MODULES:
            continue
        try:
            loaded = entry.load()
        except Exception as exc:  # a broken third-party plugin must be named, not crash validation
            raise PluginError(f"cannot load plugin {entry.name} ({entry.value}): {exc}") from exc
        if isinstance(loaded, ModuleType):
            yield loaded
        else:
            yield _synthetic(entry.name, [loaded])


def _folder_modules(folder: Path) -> Iterable[ModuleType]:
    if not folder.is_dir():
        raise PluginError(f"plugins directory {folder} does not exist")
    for path in sorted(folder.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"lanner_plugin_{path.stem}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise PluginError(f"cannot load plugin file {path}: {exc}") from exc
        yield module


def _synthetic(name: str, types: list[type]) -> ModuleType:
    module = ModuleType(name)
    module.TYPES = types  # type: ignore[attr-defined]
    return module


def describe(base: type[PluginSpec]) -> str:
    return BASE_NAMES[Registry._base(base)]
