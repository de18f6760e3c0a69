"""Script tasks, run as local processes (Kestra's Process task runner semantics).

Lanner runs no containers: a ``taskRunner`` other than ``io.kestra.plugin.core.runner.Process``
is a validation error rather than a surprise at run time.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lanner.model.task import TaskSpec

SCRIPTS = "io.kestra.plugin.scripts"
PROCESS_RUNNER = "io.kestra.plugin.core.runner.Process"


class _ScriptTask(TaskSpec):
    before_commands: list[str] = []
    env: dict[str, Any] = {}
    input_files: dict[str, str] | str | None = None
    output_files: list[str] = []
    namespace_files: dict[str, Any] | None = None
    interpreter: list[str] | None = None
    warning_on_std_err: bool = True
    fail_fast: bool = True
    task_runner: dict[str, Any] | None = None
    container_image: str | None = None
    docker: dict[str, Any] | None = None

    def problems(self) -> list[tuple[tuple[Any, ...], str]]:
        runner = (self.task_runner or {}).get("type")
        if runner is not None and str(runner).lower() != PROCESS_RUNNER.lower():
            return [(("taskRunner", "type"),
                     f"task runner '{runner}' is not supported: Lanner runs scripts as local processes; "
                     f"use {PROCESS_RUNNER} or remove taskRunner")]
        return []


class _Commands(_ScriptTask):
    commands: list[str] = Field(min_length=1)


class _Script(_ScriptTask):
    script: str


class ShellCommands(_Commands):
    TYPE = f"{SCRIPTS}.shell.Commands"


class ShellScript(_Script):
    TYPE = f"{SCRIPTS}.shell.Script"


class PythonCommands(_Commands):
    TYPE = f"{SCRIPTS}.python.Commands"


class PythonScript(_Script):
    TYPE = f"{SCRIPTS}.python.Script"


TYPES = [ShellCommands, ShellScript, PythonCommands, PythonScript]
