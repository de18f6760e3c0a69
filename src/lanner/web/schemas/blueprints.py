"""Blueprints' bodies (Kestra's BlueprintController)."""

from __future__ import annotations

from datetime import datetime

from lanner.web.schemas.base import KestraModel


class BlueprintItem(KestraModel):
    id: str
    title: str
    description: str | None = None
    included_tasks: list[str]
    tags: list[str]
    published_at: datetime | None = None


class BlueprintItemWithSource(BlueprintItem):
    source: str
    kind: str = "FLOW"


class BlueprintTagItem(KestraModel):
    id: str
    name: str
    published_at: datetime | None = None
