"""Load settings from defaults, a YAML file and ``LANNER_*`` variables, remembering each source.

Precedence, lowest first: the defaults in :mod:`lanner.config.settings`, the YAML file
(``-c/--config``, else ``~/.lanner/config.yml`` when it exists), then the environment.
An unknown key is a warning (naming the file, line and the closest known key) so that
a config written for a newer Lanner still starts an older one during a rollback; an
invalid value is a :class:`~lanner.errors.ConfigError` naming key, value, source and
what was expected.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lanner.config.keys import display, env_name, normalise
from lanner.config.settings import Settings, _Section
from lanner.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("~/.lanner/config.yml")
ROOT_KEY = "lanner"

KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class Source:
    """Where a value came from: ``default``, ``file`` (with ``path:line``) or ``env`` (the variable)."""

    kind: str
    location: str = ""

    def __str__(self) -> str:
        return self.kind if not self.location else f"{self.kind} {self.location}"


DEFAULT = Source("default")


@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    sources: Mapping[KeyPath, Source]
    warnings: tuple[str, ...] = ()
    # The file given with -c, if any: hints repeat it so a suggested command uses the same config.
    explicit_path: Path | None = None
    file_path: Path | None = None

    def source_of(self, path: KeyPath) -> Source:
        return self.sources.get(path, DEFAULT)


@dataclass
class _Collected:
    values: dict[KeyPath, Any] = field(default_factory=dict)
    sources: dict[KeyPath, Source] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def leaf_paths(model: type[BaseModel] = Settings, prefix: KeyPath = ()) -> list[KeyPath]:
    """Every settable key path, in declaration order."""
    paths: list[KeyPath] = []
    for name, info in model.model_fields.items():
        sub = _section_type(info.annotation)
        paths.extend(leaf_paths(sub, prefix + (name,)) if sub else [prefix + (name,)])
    return paths


def _section_type(annotation: Any) -> type[_Section] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, _Section) else None


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Build the effective settings.  ``path`` is the ``-c`` option (None: the optional default file)."""
    environ = os.environ if environ is None else environ
    collected = _Collected()
    explicit = Path(path) if path is not None else None
    file_path: Path | None = explicit if explicit is not None else DEFAULT_CONFIG_PATH.expanduser()
    if explicit is not None and not explicit.is_file():
        raise ConfigError(
            f"configuration file {explicit} does not exist" if not explicit.exists()
            else f"configuration path {explicit} is not a file",
            "Check the path given with -c/--config, or omit it to use the defaults.",
        )
    if file_path is not None and file_path.is_file():
        _read_file(file_path, collected)
    else:
        file_path = None
    _read_environment(environ, collected)
    settings = _validate(collected)
    return LoadedConfig(settings, dict(collected.sources), tuple(collected.warnings), explicit, file_path)


def _read_file(path: Path, collected: _Collected) -> None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc}") from None
    try:
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(
            f"{where}: invalid YAML: {exc.problem or exc.context}",
            "Fix the syntax at that line (indentation, a missing ':' or an unclosed quote).",
        ) from None
    except YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if document is None:
        return
    if not isinstance(document, Mapping):
        raise ConfigError(
            f"{path}:1: the configuration must be a mapping with a top-level '{ROOT_KEY}:' key",
            "Example:\n  lanner:\n    database:\n      url: sqlite:///./data/lanner.db",
        )
    for key in document:
        if key == ROOT_KEY:
            section = document[key]
            if section is None:
                continue
            if not isinstance(section, Mapping):
                raise ConfigError(f"{_where(path, document, key)}: '{ROOT_KEY}' must be a mapping of settings")
            _walk(path, section, Settings, (), collected)
        else:
            collected.warnings.append(
                f"{_where(path, document, key)}: unknown top-level key '{key}' ignored; "
                f"Lanner reads its settings under '{ROOT_KEY}:'"
            )


def _walk(path: Path, node: Mapping[Any, Any], model: type[_Section], prefix: KeyPath, collected: _Collected) -> None:
    seen: dict[str, str] = {}
    for raw_key in node:
        key = normalise(str(raw_key))
        name = model.aliases.get(key, key)
        where = _where(path, node, raw_key)
        if name not in model.model_fields:
            collected.warnings.append(
                f"{where}: unknown key '{display(prefix)}.{raw_key}' ignored{_suggest(prefix, key, model)}")
            continue
        if name in seen:
            collected.warnings.append(
                f"{where}: '{raw_key}' sets {display(prefix + (name,))} again (also spelled '{seen[name]}'); "
                "the last one wins"
            )
        seen[name] = str(raw_key)
        value = node[raw_key]
        sub = _section_type(model.model_fields[name].annotation)
        if sub is not None:
            if value is None:
                continue
            if not isinstance(value, Mapping):  # the value is not echoed: it may be a misplaced secret
                raise ConfigError(
                    f"{where}: invalid value for {display(prefix + (name,))}: expected a mapping of settings, "
                    f"got {_kind(value)}"
                )
            _walk(path, value, sub, prefix + (name,), collected)
        else:
            collected.values[prefix + (name,)] = _plain(value)
            collected.sources[prefix + (name,)] = Source("file", where)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a text value"
    if isinstance(value, list):
        return "a list"
    return "a value of another kind"


def secret_kind(path: KeyPath) -> str | None:
    """``secret`` (shown as ``******``), ``url`` (shown with its password masked), or None for a plain key."""
    model: type[BaseModel] = Settings
    for part in path:
        info = model.model_fields.get(part)
        if info is None:
            return None
        sub = _section_type(info.annotation)
        if sub is None:
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            return "secret" if extra.get("secret") else "url" if extra.get("secret_url") else None
        model = sub
    return None


def shown(path: KeyPath, value: Any) -> Any:
    """A setting's value as it may be shown to people (outputs, errors): secrets masked."""
    from lanner.masking import MASK, mask_url_text

    kind = secret_kind(path)
    if kind == "secret":
        return MASK if value not in ("", None) else value
    if kind == "url" and isinstance(value, str):
        return mask_url_text(value)
    return value


def _plain(value: Any) -> Any:
    """ruamel's scalar subclasses (ScalarFloat, CommentedSeq...) as plain Python values."""
    if isinstance(value, bool) or value is None:
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _where(path: Path, node: Any, key: Any) -> str:
    try:
        line = node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return str(path)
    return f"{path}:{line}"


def _suggest(prefix: KeyPath, key: str, model: type[_Section]) -> str:
    candidates = list(model.model_fields) + list(model.aliases)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close:
        return ""
    name = model.aliases.get(close[0], close[0])
    return f"; did you mean '{display(prefix + (name,))}'?"


def _read_environment(environ: Mapping[str, str], collected: _Collected) -> None:
    for path in leaf_paths():
        variable = env_name(path)
        if variable in environ:
            collected.values[path] = environ[variable]
            collected.sources[path] = Source("env", variable)


def _validate(collected: _Collected) -> Settings:
    nested: dict[str, Any] = {}
    for path, value in collected.values.items():
        target = nested
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    try:
        return Settings.model_validate(nested)
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(error, collected) for error in exc.errors())) from None


def _describe(error: Mapping[str, Any], collected: _Collected) -> str:
    path = tuple(str(part) for part in error["loc"])
    leaf = next((path[:n] for n in range(len(path), 0, -1) if path[:n] in collected.values), None)
    expected = _expected(error)
    if leaf is None:
        # A section as a whole (e.g. basic-auth enabled without a password): its values are not echoed.
        within = sorted({str(source) for key, source in collected.sources.items() if key[:len(path)] == path})
        origin = f" (from {', '.join(within)})" if within else ""
        return f"invalid settings for {display(path)}{origin}: {expected}"
    value = shown(leaf, collected.values[leaf])
    return f"invalid value for {display(leaf)}: {value!r} (from {collected.sources.get(leaf, DEFAULT)}): {expected}"


def _expected(error: Mapping[str, Any]) -> str:
    expected: str = error["msg"]
    if expected.startswith("Value error, "):
        expected = expected[len("Value error, "):]
    elif error["type"] == "enum":
        expected = f"expected one of: {error['ctx']['expected']}"
    elif error["type"] in ("bool_parsing", "bool_type"):
        expected = "expected true or false"
    return expected
