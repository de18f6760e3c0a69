"""``lanner trigger``: list triggers with their next fire date and state; enable, disable, unlock one.

The same operations as the API's ``/api/v1/triggers`` (:mod:`lanner.ops.triggers`), straight
on the database: each change is one transaction with the trigger's row locked, so a
running scheduler sees it on its next pass.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options, open_database

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Engine

    from lanner.store.trigger_repository import TriggerRow


@click.group(context_settings=CONTEXT_SETTINGS)
def trigger() -> None:
    """Triggers: list them with their next fire date; enable, disable or unlock one."""


def _engine(app: App) -> AbstractContextManager[Engine]:
    from lanner.store.tables import triggers

    return open_database(app, triggers.name)


@trigger.command("list", context_settings=CONTEXT_SETTINGS)
@click.option("--namespace", help="Only this namespace and its children.")
@click.option("--flow-id", help="Only this flow's triggers.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
def list_(app: App, namespace: str | None, flow_id: str | None, fmt: str) -> None:
    """List triggers: type, next and last fire date (UTC), disabled, backfill progress, holder."""
    from lanner.ops import triggers as ops

    with _engine(app) as engine, engine.connect() as connection:
        found, _ = ops.search(connection, namespace=namespace, flow_id=flow_id)
    if fmt == "json":
        click.echo(json.dumps([ops.describe(row) for row in found], indent=2))
    else:
        _print(found)


def _print(found: list[TriggerRow]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from lanner.ops import triggers as ops

    console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    if not found:
        console.print("No triggers.")
        return
    table = Table(box=box.SIMPLE)
    for column in ("Namespace", "Flow", "Trigger", "Type", "Next fire (UTC)", "Last fire (UTC)", "Disabled",
                   "Backfill"):
        table.add_column(column, overflow="fold")
    for row in found:
        shown = ops.describe(row)
        next_fire = _when(shown["nextExecutionDate"]) or ("planning" if row.scheduled and not row.disabled else "-")
        table.add_row(row.namespace, row.flow_id, row.trigger_id, ops.short_type(row.type), next_fire,
                      _when(shown["lastExecutionDate"]) or "-", "yes" if row.disabled else "no",
                      ops.backfill_progress(row.backfill) or "-")
    console.print(table)
    console.print(f"{len(found)} trigger(s)")


def _when(iso: str | None) -> str:
    return "" if not iso else iso.replace("T", " ").replace("Z", "").split(".")[0]


def _change(app: App, operation: Callable[..., TriggerRow], *args: Any) -> TriggerRow:
    with _engine(app) as engine:
        return operation(engine, *args)


@trigger.command(context_settings=CONTEXT_SETTINGS)
@click.argument("namespace_id", metavar="NAMESPACE")
@click.argument("flow_id", metavar="FLOW_ID")
@click.argument("trigger_id", metavar="TRIGGER_ID")
@common_options
def disable(app: App, namespace_id: str, flow_id: str, trigger_id: str) -> None:
    """Disable a trigger: it fires nothing until enabled again."""
    from lanner.ops import triggers as ops

    _change(app, ops.set_disabled, namespace_id, flow_id, trigger_id, True)
    click.echo(f"Trigger {trigger_id} of flow {namespace_id}.{flow_id} disabled.")


@trigger.command(context_settings=CONTEXT_SETTINGS)
@click.argument("namespace_id", metavar="NAMESPACE")
@click.argument("flow_id", metavar="FLOW_ID")
@click.argument("trigger_id", metavar="TRIGGER_ID")
@common_options
def enable(app: App, namespace_id: str, flow_id: str, trigger_id: str) -> None:
    """Enable a trigger; a schedule is planned from now (the ticks missed while disabled do not fire)."""
    from lanner.ops import triggers as ops

    _change(app, ops.set_disabled, namespace_id, flow_id, trigger_id, False)
    click.echo(f"Trigger {trigger_id} of flow {namespace_id}.{flow_id} enabled.")


@trigger.command(context_settings=CONTEXT_SETTINGS)
@click.argument("namespace_id", metavar="NAMESPACE")
@click.argument("flow_id", metavar="FLOW_ID")
@click.argument("trigger_id", metavar="TRIGGER_ID")
@common_options
def unlock(app: App, namespace_id: str, flow_id: str, trigger_id: str) -> None:
    """Forget the scheduler that last held a trigger and plan it again from now.

    Ticks between its old next fire date and now are not fired (see docs/triggers.md).
    """
    from lanner.ops import triggers as ops

    before = None
    with _engine(app) as engine:
        with engine.connect() as connection:
            before = ops.get(connection, namespace_id, flow_id, trigger_id).scheduler_id
        ops.unlock(engine, namespace_id, flow_id, trigger_id)
    held = f" (was held by scheduler {before})" if before else ""
    click.echo(f"Trigger {trigger_id} of flow {namespace_id}.{flow_id} unlocked{held}.")
