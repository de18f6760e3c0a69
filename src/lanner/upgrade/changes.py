"""The machine-readable release notes: ``changes.yaml``, shipped inside the package.

Each release lists its breaking changes, removals and deprecations with what they
affect and the action to take; an entry may name an automatic ``fix`` that
``lanner flow migrate`` applies.  The file is validated on load: a malformed entry is a
:class:`ChangesFileError` naming the entry and what is wrong, never a half-read list.
"""

from __future__ import annotations

import functools
from enum import StrEnum
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lanner import versions

RESOURCE = "changes.yaml"
ALIAS_WILDCARD = "*alias*"


class ChangesFileError(Exception):
    """changes.yaml is missing or malformed (a packaging or editing mistake)."""


class Kind(StrEnum):
    BREAKING = "breaking"
    DEPRECATION = "deprecation"
    REMOVAL = "removal"


class AffectsKind(StrEnum):
    CONFIG_KEY = "config key"
    TASK_TYPE = "task type"
    TASK_PROPERTY = "task property"
    API_ROUTE = "API route"
    CLI_FLAG = "CLI flag"
    SCHEMA_CHANGE = "schema change"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Affects(_Strict):
    kind: AffectsKind
    name: str = Field(min_length=1)


class Change(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: Kind
    summary: str = Field(min_length=1)
    affects: Affects
    action: str = Field(min_length=1)
    fix: str | None = None
    replacement: str | None = None  # the key or type to use instead, when there is one

    @field_validator("summary", "action")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return " ".join(value.split())


class Release(_Strict):
    version: str
    changes: list[Change] = []

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> str:
        text = str(value)
        versions.key(text)  # raises ValueError: "not a version"
        return text


class ChangesFile(_Strict):
    versions: list[Release]

    @model_validator(mode="after")
    def _consistent(self) -> ChangesFile:
        keys = [versions.key(r.version) for r in self.versions]
        if keys != sorted(keys, reverse=True) or len(set(keys)) != len(keys):
            raise ValueError("versions must be listed newest first, each once")
        seen: set[str] = set()
        for release in self.versions:
            for change in release.changes:
                if change.id in seen:
                    raise ValueError(f"change id {change.id!r} is used twice")
                seen.add(change.id)
        return self

    def between(self, after: str | None, up_to: str) -> list[Release]:
        """The releases newer than ``after`` (None: all) up to ``up_to`` included, oldest first.

        ``Unreleased`` is always included: it is what this build holds beyond its
        numbered release (``up_to`` is this build's version).
        """
        low = versions.parse_or_none(after)
        high = versions.key(up_to)
        chosen = [r for r in self.versions
                  if r.version == versions.UNRELEASED
                  or ((low is None or versions.key(r.version) > low) and versions.key(r.version) <= high)]
        return list(reversed(chosen))

    def all_changes(self) -> list[tuple[Release, Change]]:
        return [(release, change) for release in self.versions for change in release.changes]

    def by_id(self) -> dict[str, Change]:
        return {change.id: change for _, change in self.all_changes()}

    def for_kind(self, kind: AffectsKind) -> list[Change]:
        return [change for _, change in self.all_changes() if change.affects.kind is kind]


def parse(text: str, where: str = RESOURCE) -> ChangesFile:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise ChangesFileError(f"{where}: invalid YAML: {exc}") from None
    try:
        return ChangesFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = _describe_loc(data, error["loc"])
            problems.append(f"  {path}: {error['msg']}")
        raise ChangesFileError(f"{where} is malformed:\n" + "\n".join(problems)) from None


def _describe_loc(data: Any, loc: tuple[Any, ...]) -> str:
    """``versions[0].changes[2] (id task-defaults).kind`` from pydantic's location."""
    parts: list[str] = []
    current = data
    for part in loc:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
            current = current[part] if isinstance(current, list) and part < len(current) else None
            if isinstance(current, dict) and "id" in current and "summary" in current:
                parts[-1] += f" (id {current['id']})"
        else:
            parts.append(str(part))
            current = current.get(part) if isinstance(current, dict) else None
    return ".".join(parts) or "the file"


@functools.cache
def load() -> ChangesFile:
    """The changes file shipped with this Lanner (read once per process)."""
    try:
        text = resources.files("lanner.upgrade").joinpath(RESOURCE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise ChangesFileError(f"{RESOURCE} is missing from the lanner.upgrade package: {exc}") from None
    return parse(text)
