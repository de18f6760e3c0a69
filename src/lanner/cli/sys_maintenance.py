"""``lanner sys maintenance``: pause the instance (nothing starts, nothing is refused), see when it is quiet."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options, open_database
from lanner.durations import parse_duration

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Engine

    from lanner.ops.maintenance import Status


@click.group(context_settings=CONTEXT_SETTINGS)
def maintenance() -> None:
    """Maintenance mode: new executions wait in QUEUED, running tasks finish, nothing new starts."""


def _database(app: App) -> AbstractContextManager[Engine]:
    from lanner.store.tables import instance_settings

    return open_database(app, instance_settings.name)


@maintenance.command(context_settings=CONTEXT_SETTINGS)
@click.option("--reason", help="Why (shown with the status and on the UI's banner).")
@click.option("--wait", "wait", is_flag=True, help="Return once no task runs any more (exit 1 after --timeout).")
@click.option("--timeout", default="5m", show_default=True, help="How long --wait waits (e.g. 90s, 10m).")
@common_options
def enter(app: App, reason: str | None, wait: bool, timeout: str) -> None:
    """Enter maintenance mode: once this returns, no task starts anywhere until `exit`."""
    from lanner.ops import maintenance as ops

    seconds = _seconds(timeout)
    with _database(app) as engine:
        current = ops.enter(engine, reason=reason)
        click.echo(f"Maintenance mode on. {_summary(current)}")
        if wait and not current.quiet:
            click.echo(f"Waiting up to {timeout} for the running tasks to finish...")
            current = ops.wait_for_quiet(engine, seconds)
            click.echo(_summary(current))
            if not current.quiet:
                click.echo(f"error: still {current.running_tasks} task(s) running after {timeout}; maintenance "
                           "mode stays on (run `lanner sys maintenance status` to follow them)", err=True)
                sys.exit(1)
        if current.quiet:
            click.echo(f"The instance is quiet: no task is running. {current.paused_executions} execution(s) "
                       "paused mid-way and the queued ones go on at `lanner sys maintenance exit`.")


@maintenance.command("exit", context_settings=CONTEXT_SETTINGS)
@common_options
def exit_(app: App) -> None:
    """Leave maintenance mode: queued executions start in creation order, held tasks run."""
    from lanner.ops import maintenance as ops

    with _database(app) as engine:
        restarted = ops.leave(engine)
    click.echo(f"Maintenance mode off. {restarted} queued execution(s) sent to the executors, oldest first.")


@maintenance.command(context_settings=CONTEXT_SETTINGS)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
def status(app: App, fmt: str) -> None:
    """Whether maintenance mode is on, and what still runs."""
    from lanner.ops import maintenance as ops

    with _database(app) as engine:
        current = ops.status(engine)
    if fmt == "json":
        click.echo(json.dumps(current.as_json(), indent=2))
        return
    if current.on:
        why = f" ({current.reason})" if current.reason else ""
        click.echo(f"Maintenance mode: on since {current.since} by {current.by}{why}")
    else:
        click.echo("Maintenance mode: off")
    click.echo(_summary(current))


def _summary(current: Status) -> str:
    return (f"Running tasks: {current.running_tasks}; running executions: {current.running_executions}; "
            f"queued executions: {current.queued_executions}; tasks waiting for a worker: {current.waiting_jobs} "
            f"(of {current.paused_executions} execution(s)); "
            f"instances alive: {current.instances}; quiet: {'yes' if current.quiet else 'no'}.")


def _seconds(text: str) -> float:
    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--timeout") from None
