"""``lanner sys cluster``: the cluster's service instances, as the database records them."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options
from lanner.timestamps import instant

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Engine

    from lanner.store.service_instances import Instance


@click.group(context_settings=CONTEXT_SETTINGS)
def cluster() -> None:
    """The cluster: its service instances and their liveness."""


@cluster.command(context_settings=CONTEXT_SETTINGS)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Show ended instances (EMPTY) too.")
@common_options
def status(app: App, fmt: str, show_all: bool) -> None:
    """Show the service instances, newest first: type, host, pid, version, state, last heartbeat, jobs.

    Heartbeat ages are measured by the database's clock, the one the liveness
    coordinator judges instances by. Ended instances (EMPTY) are hidden unless --all.
    """
    info = _read(app, show_all)
    if fmt == "json":
        click.echo(json.dumps(info, indent=2))
    else:
        _print(info)


def _read(app: App, show_all: bool) -> dict[str, Any]:
    import sqlalchemy as sa

    from lanner.model.service_state import ServiceState
    from lanner.store import deliveries, service_instances
    from lanner.store.database import masked_url
    from lanner.store.schema_state import read_state
    from lanner.store.tables import service_instances as table

    config = app.loaded.settings.database
    with _database(app) as engine, engine.connect() as connection:
        state = read_state(connection)
        now = service_instances.database_now(connection)
        # A database with no schema yet has no instances (status must not create anything).
        found: list[Instance] = (service_instances.list_instances(connection)
                                 if sa.inspect(connection).has_table(table.name) else [])
        set_aside = deliveries.count(connection)
    shown = [i for i in found if show_all or i.state != ServiceState.EMPTY]
    shown.sort(key=lambda i: (i.started_at, i.id), reverse=True)
    from lanner.cluster.versions import skew_warning

    return {
        "database": masked_url(config.url), "schemaVersion": state.current, "now": instant(now),
        "hidden": len(found) - len(shown),
        "versionWarning": skew_warning(i.lanner_version for i in found if i.state.alive),
        "setAsideMessages": set_aside or 0,
        "instances": [_instance(i, now) for i in shown],
    }


@cluster.command("set-aside", context_settings=CONTEXT_SETTINGS)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--delete", "delete_ids", type=int, multiple=True, metavar="ID",
              help="Delete this set-aside message (repeatable).")
@click.option("--delete-all", is_flag=True, help="Delete every set-aside message.")
@common_options
def set_aside(app: App, fmt: str, delete_ids: tuple[int, ...], delete_all: bool) -> None:
    """List the messages set aside after lanner.queue.max-deliveries deliveries that did not complete.

    Each was delivered to the executor repeatedly and its processing never completed
    (the executor crashed, was killed, or raised); it is kept here instead of being
    delivered again, and the execution it names was failed with the reason. Read the
    reason, then delete them with --delete ID or --delete-all: nothing delivers them again.
    """
    from lanner.errors import UsageError
    from lanner.store import deliveries
    from lanner.store.database import write_connection

    if delete_ids and delete_all:
        raise UsageError("give --delete ID or --delete-all, not both")
    with _database(app) as engine, write_connection(engine) as connection, connection.begin():
        if deliveries.count(connection) is None:
            raise UsageError("this database's schema has no set-aside messages yet: run lanner sys database "
                             "migrate (or start a server) first")
        if delete_ids or delete_all:
            deleted = deliveries.delete(connection, list(delete_ids) if delete_ids else None)
            click.echo(f"deleted {deleted} set-aside message(s)")
            return
        found = [value.shape() for value in deliveries.listed(connection, limit=1000)]
    if fmt == "json":
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no message is set aside")
        return
    for row in found:
        click.echo(f"{row['id']}  {row['setAsideAt']}  {row['topic']}  execution {row['executionId'] or '-'}  "
                   f"({row['type'] or 'unknown type'}, tenant {row['tenantId']}): {row['reason']}")


def _database(app: App) -> AbstractContextManager[Engine]:
    """The configured database, checked reachable and of a known schema; disposed on exit."""
    import contextlib

    import sqlalchemy as sa

    from lanner.store.database import (
        check_connection,
        create_engine,
        masked_url,
        unavailable,
    )
    from lanner.store.schema_state import read_state, verify

    @contextlib.contextmanager
    def opened() -> Iterator[Engine]:
        config = app.loaded.settings.database
        engine = create_engine(config, create=False)
        try:
            check_connection(engine)
            try:
                with engine.connect() as connection:
                    state = read_state(connection)
                if not state.known:
                    verify(state, masked_url(config.url))  # a newer Lanner's schema: refuse, exit 3
                yield engine
            except sa.exc.OperationalError as exc:
                raise unavailable(engine, exc) from None
        finally:
            engine.dispose()

    return opened()


def _instance(value: Instance, now: datetime) -> dict[str, Any]:
    """The shape of ``GET /api/v1/cluster/instances``."""
    return {
        "id": value.id, "type": value.service_type, "hostname": value.hostname, "pid": value.pid,
        "version": value.lanner_version, "schemaVersion": value.schema_version, "state": str(value.state),
        "startedAt": instant(value.started_at), "heartbeatAt": instant(value.heartbeat_at),
        "heartbeatAgeSeconds": round(max(0.0, (now - value.heartbeat_at).total_seconds()), 3),
        "runningJobs": value.running_jobs, "settings": value.settings,
        "histories": [dict(h) for h in value.history],
    }


def _print(info: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    # Piped output (scripts, CI logs) gets a wide fixed width instead of being folded at 80 columns.
    console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    console.print(f"Database:     {info['database']}")
    if info.get("versionWarning"):
        console.print(f"[bold yellow]Warning:[/] {info['versionWarning']}")
    if info.get("setAsideMessages"):
        console.print(f"[bold yellow]Set aside:[/]    {info['setAsideMessages']} message(s) delivered repeatedly "
                      "without completing; their executions failed (lanner sys cluster set-aside lists them)")
    instances = info["instances"]
    hidden = f" ({info['hidden']} ended hidden, --all shows them)" if info["hidden"] else ""
    if not instances:
        console.print(f"Instances:    none{hidden}")
        return
    alive = sum(1 for i in instances if i["state"] in ("CREATED", "RUNNING", "TERMINATING"))
    console.print(f"Instances:    {len(instances)}, {alive} alive{hidden}")
    table = Table(box=box.SIMPLE)
    for column in ("Type", "Host", "Pid", "Version", "State", "Last heartbeat", "Jobs", "Started (UTC)", "Id"):
        table.add_column(column, overflow="fold", justify="right" if column in ("Pid", "Jobs") else "left")
    for row in instances:
        table.add_row(row["type"], row["hostname"], str(row["pid"]), row["version"], row["state"],
                      age(row["heartbeatAgeSeconds"]), str(row["runningJobs"]),
                      row["startedAt"][:19].replace("T", " "), row["id"])
    console.print(table)


def age(seconds: float) -> str:
    """``0.4 s ago``, ``12 s ago``, ``3 min ago``, ``2 h ago``, ``4 d ago``."""
    if seconds < 10:
        return f"{seconds:.1f} s ago"
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} d ago"
