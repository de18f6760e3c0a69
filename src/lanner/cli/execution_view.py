"""Printing an execution for people: the task-run tree, then the logs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from lanner.encryption import masked
from lanner.model.execution import Execution, TaskRun


def _duration(run: TaskRun | Execution) -> str:
    duration = run.state.duration
    if duration is None:
        return "-"
    seconds = duration.total_seconds()
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(masked(value), default=str, ensure_ascii=False)  # an encrypted value shows as ******
    return text if len(text) <= limit else text[: limit - 3] + "..."


def print_execution(execution: Execution, logs: Sequence[Any] = ()) -> None:
    click.echo(f"Execution {execution.id} of {execution.namespace}.{execution.flow_id} "
               f"(revision {execution.flow_revision}): {execution.current} in {_duration(execution)}")
    children: dict[str | None, list[TaskRun]] = {}
    for run in execution.task_runs:
        children.setdefault(run.parent_task_run_id, []).append(run)

    def show(parent: str | None, depth: int) -> None:
        for run in children.get(parent, []):
            label = run.task_id + (f" [{run.value}]" if run.value is not None else "")
            attempts = f"{run.attempt_number} attempt{'s' if run.attempt_number != 1 else ''}" if run.attempts else ""
            outputs = _short(run.outputs) if run.outputs else ""
            click.echo(f"{'  ' * (depth + 1)}{label:<{max(30 - 2 * depth, 10)}} {run.current:<9} {attempts:<11} "
                       f"{_duration(run):>8}  {outputs}".rstrip())
            show(run.id, depth + 1)

    show(None, 0)
    if execution.outputs:
        click.echo(f"Outputs: {_short(execution.outputs, 200)}")
    if logs:
        click.echo("Logs:")
        for entry in logs:
            where = entry.task_id or "execution"
            click.echo(f"  {entry.timestamp.strftime('%H:%M:%S.%f')[:-3]} {entry.level:<5} {where}: {entry.message}")
