"""Logging and debugging tasks: Log, Return, Echo."""

from __future__ import annotations

import time
from typing import Any, Literal

from lanner.log_level import LEVEL_NAMES, LogLevel
from lanner.model.spec import Dynamic
from lanner.tasks.runnable import Metric, RunContext, RunnableTask, TaskFailure, TaskOutput

CORE = "io.kestra.plugin.core"
LEGACY = "io.kestra.core.tasks"


class Log(RunnableTask):
    TYPE = f"{CORE}.log.Log"
    ALIASES = (f"{LEGACY}.log.Log",)

    message: str | list[str]
    level: Dynamic[LogLevel] = LogLevel.INFO

    def run(self, context: RunContext) -> TaskOutput:
        level = _level(self.level, context)
        messages = self.message if isinstance(self.message, list) else [self.message]
        # Render and log one by one, as Kestra does: messages before a failing one are still logged.
        for message in messages:
            context.log(level, str(context.render(message)))
        return TaskOutput()


def _level(level: Any, context: RunContext) -> str:
    if isinstance(level, LogLevel):
        return level.value
    rendered = context.render(level)
    if rendered not in LEVEL_NAMES:
        raise TaskFailure(f"Invalid log level {str(rendered)!r}: expected one of {', '.join(LEVEL_NAMES)}")
    return str(rendered)


class Return(RunnableTask):
    TYPE = f"{CORE}.debug.Return"
    ALIASES = (f"{LEGACY}.debugs.Return",)

    format: str | None = None

    def run(self, context: RunContext) -> TaskOutput:
        started = time.perf_counter()
        value = None if self.format is None else str(context.render(self.format))
        elapsed = time.perf_counter() - started
        if value is not None:
            context.log(LogLevel.DEBUG.value, value)
        return TaskOutput(
            outputs={"value": value},
            metrics=(
                Metric("length", len(value) if value is not None else 0, "counter"),
                Metric("duration", elapsed, "timer"),
            ),
        )


class Echo(RunnableTask):
    TYPE = f"{CORE}.debug.Echo"
    ALIASES = (f"{LEGACY}.debugs.Echo",)
    REPLACED_BY = f"{CORE}.log.Log"

    format: str
    level: Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] = "INFO"

    def run(self, context: RunContext) -> TaskOutput:
        context.log(self.level, str(context.render(self.format)))
        return TaskOutput()


TYPES = [Log, Return, Echo]
