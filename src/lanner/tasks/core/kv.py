"""Tasks on the namespace key-value store: Set, Get, Delete."""

from __future__ import annotations

from typing import Any, Literal

from lanner.model.spec import Duration, Dynamic
from lanner.model.task import TaskSpec

CORE = "io.kestra.plugin.core.kv"


class KvSet(TaskSpec):
    TYPE = f"{CORE}.Set"

    key: str
    value: Any
    namespace: str | None = None
    overwrite: bool = True
    ttl: Dynamic[Duration] | None = None
    kv_type: Literal["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON"] | None = None
    description: str | None = None


class KvGet(TaskSpec):
    TYPE = f"{CORE}.Get"

    key: str
    namespace: str | None = None
    error_on_missing: bool = False


class KvDelete(TaskSpec):
    TYPE = f"{CORE}.Delete"

    key: str
    namespace: str | None = None
    error_on_missing: bool = False


TYPES = [KvSet, KvGet, KvDelete]
