"""Configuration keys in use that a release deprecated or removed, found where they are written.

The loader accepts older spellings (``terminateGracePeriod``) and maps them to the current
key, so its result no longer says which spelling the file used: the file is read again
here, walking the same settings sections and their aliases, and every ``LANNER_*``
variable is matched against removed keys.  Each finding names its source (``file:line``
or the variable) and the replacement.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lanner.config.keys import display, env_name, normalise
from lanner.config.loader import ROOT_KEY, LoadedConfig, _section_type
from lanner.config.settings import Settings
from lanner.upgrade.changes import AffectsKind, Change, ChangesFile, Kind


@dataclass(frozen=True)
class ConfigFinding:
    key: str  # as written, dotted: lanner.server.terminateGracePeriod
    canonical: str  # lanner.server.terminate-grace-period (the spelling the change names)
    source: str  # "file /etc/lanner.yml:12" or "env LANNER_..."
    change: Change

    @property
    def replacement(self) -> str | None:
        return self.change.replacement


def scan(loaded: LoadedConfig, changes: ChangesFile, environ: Mapping[str, str] | None = None) -> list[ConfigFinding]:
    environ = os.environ if environ is None else environ
    by_key = {normalise_display(c.affects.name): c for c in changes.for_kind(AffectsKind.CONFIG_KEY)
              if c.kind in (Kind.DEPRECATION, Kind.REMOVAL)}
    if not by_key:
        return []
    found: list[ConfigFinding] = []
    if loaded.file_path is not None:
        for raw, spelled, where in _file_keys(loaded.file_path):
            change = by_key.get(spelled)
            if change is not None:
                found.append(ConfigFinding(raw, change.affects.name, f"file {where}", change))
    for spelled, change in by_key.items():
        variable = env_name(tuple(spelled.split(".")[1:]))
        if variable in environ:
            found.append(ConfigFinding(variable, change.affects.name, f"env {variable}", change))
    return found


def normalise_display(key: str) -> str:
    """``lanner.server.terminateGracePeriod`` -> ``lanner.server.terminate_grace_period``."""
    return ".".join(normalise(part) for part in key.split("."))


def _file_keys(path: Path) -> list[tuple[str, str, str]]:
    """(key as written, normalised dotted key, file:line) of every key under ``lanner:``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        document = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError):
        return []  # the loader already reported it
    if not isinstance(document, Mapping) or not isinstance(document.get(ROOT_KEY), Mapping):
        return []
    found: list[tuple[str, str, str]] = []
    _walk(path, document[ROOT_KEY], Settings, (ROOT_KEY,), (ROOT_KEY,), found)
    return found


def _walk(path: Path, node: Any, model: Any, written: tuple[str, ...], canonical: tuple[str, ...],
          found: list[tuple[str, str, str]]) -> None:
    for raw in node:
        key = normalise(str(raw))
        try:
            line = node.lc.key(raw)[0] + 1
        except (AttributeError, KeyError, TypeError):
            line = 0
        found.append((".".join((*written, str(raw))), ".".join((*canonical, key)), f"{path}:{line}"))
        name = model.aliases.get(key, key) if model is not None else key
        field = model.model_fields.get(name) if model is not None else None
        sub = _section_type(field.annotation) if field is not None else None
        value = node[raw]
        if isinstance(value, Mapping):
            _walk(path, value, sub, (*written, str(raw)), (*canonical, name), found)


__all__ = ["ConfigFinding", "display", "scan"]
