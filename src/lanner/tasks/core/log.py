"""Logging and debugging tasks: Log, Return, Echo."""

from __future__ import annotations

from typing import Literal

from lanner.model.spec import Dynamic
from lanner.model.task import LogLevel, TaskSpec

CORE = "io.kestra.plugin.core"
LEGACY = "io.kestra.core.tasks"


class Log(TaskSpec):
    TYPE = f"{CORE}.log.Log"
    ALIASES = (f"{LEGACY}.log.Log",)

    message: str | list[str]
    level: Dynamic[LogLevel] = LogLevel.INFO


class Return(TaskSpec):
    TYPE = f"{CORE}.debug.Return"
    ALIASES = (f"{LEGACY}.debugs.Return",)

    format: str | None = None


class Echo(TaskSpec):
    TYPE = f"{CORE}.debug.Echo"
    ALIASES = (f"{LEGACY}.debugs.Echo",)
    REPLACED_BY = f"{CORE}.log.Log"

    format: str
    level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] = "INFO"


TYPES = [Log, Return, Echo]
