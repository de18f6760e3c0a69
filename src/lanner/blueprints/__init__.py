"""Lanner's own catalogue of blueprints: ready-made flows shipped in the package, served offline.

Kestra's ``/blueprints/community`` routes proxy Kestra's online catalogue; Lanner serves these
instead (``catalogue.yaml`` lists them, ``flows/`` holds their sources).  Every flow here uses only
tasks Lanner runs, and a test validates each of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from lanner.plain_yaml import parse


@dataclass(frozen=True)
class Blueprint:
    id: str
    title: str
    description: str
    tags: tuple[str, ...]
    source: str
    published_at: datetime
    included_tasks: tuple[str, ...]


def tag_id(name: str) -> str:
    """A tag's id: its name in lower case, words joined by ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _types(value: Any) -> list[str]:
    """The plugin types a flow uses, in the order they appear."""
    found: list[str] = []
    if isinstance(value, dict):
        if isinstance(value.get("type"), str) and "id" in value:
            found.append(value["type"])
        for key, item in value.items():
            if key not in ("inputs", "outputs"):  # their types are value types, not plugins
                found += _types(item)
    elif isinstance(value, list):
        for item in value:
            found += _types(item)
    return found


@cache
def catalogue() -> tuple[Blueprint, ...]:
    """Every shipped blueprint, in the catalogue's order."""
    package = resources.files(__name__)
    entries = parse(package.joinpath("catalogue.yaml").read_text(encoding="utf-8")).data
    found = []
    for entry in entries:
        source = package.joinpath("flows", entry["file"]).read_text(encoding="utf-8")
        types = _types(parse(source).data)
        found.append(Blueprint(
            id=entry["id"], title=entry["title"], description=entry["description"], tags=tuple(entry["tags"]),
            source=source, published_at=datetime.fromisoformat(str(entry["publishedAt"]).replace("Z", "+00:00")),
            included_tasks=tuple(dict.fromkeys(types))))
    return tuple(found)


def find(blueprint_id: str) -> Blueprint | None:
    return next((b for b in catalogue() if b.id == blueprint_id), None)
