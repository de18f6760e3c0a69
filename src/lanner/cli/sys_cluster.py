"""``lanner sys cluster``: the cluster's service instances, as the database records them."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options

if TYPE_CHECKING:
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
    from lanner.store import service_instances
    from lanner.store.engine import check_connection, create_engine, masked_url, unavailable
    from lanner.store.schema_state import read_state, verify
    from lanner.store.tables import service_instances as table

    config = app.loaded.settings.database
    engine = create_engine(config, create=False)
    try:
        check_connection(engine)
        try:
            with engine.connect() as connection:
                state = read_state(connection)
                if not state.known:
                    verify(state, masked_url(config.url))  # a newer Lanner's schema: refuse, exit 3
                now = service_instances.database_now(connection)
                # A database with no schema yet has no instances (status must not create anything).
                found: list[Instance] = (service_instances.list_instances(connection)
                                         if sa.inspect(connection).has_table(table.name) else [])
        except sa.exc.OperationalError as exc:  # lost between the check and the reads
            raise unavailable(engine, exc) from None
    finally:
        engine.dispose()
    shown = [i for i in found if show_all or i.state != ServiceState.EMPTY]
    shown.sort(key=lambda i: (i.started_at, i.id), reverse=True)
    from lanner.cluster.versions import skew_warning

    return {
        "database": masked_url(config.url), "schemaVersion": state.current, "now": _iso(now),
        "hidden": len(found) - len(shown),
        "versionWarning": skew_warning(i.lanner_version for i in found if i.state.alive),
        "instances": [_instance(i, now) for i in shown],
    }


def _instance(value: Instance, now: datetime) -> dict[str, Any]:
    """The shape of ``GET /api/v1/cluster/instances``."""
    return {
        "id": value.id, "type": value.service_type, "hostname": value.hostname, "pid": value.pid,
        "version": value.lanner_version, "schemaVersion": value.schema_version, "state": str(value.state),
        "startedAt": _iso(value.started_at), "heartbeatAt": _iso(value.heartbeat_at),
        "heartbeatAgeSeconds": round(max(0.0, (now - value.heartbeat_at).total_seconds()), 3),
        "runningJobs": value.running_jobs, "settings": value.settings,
        "histories": [dict(h) for h in value.history],
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _print(info: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    # Piped output (scripts, CI logs) gets a wide fixed width instead of being folded at 80 columns.
    console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    console.print(f"Database:     {info['database']}")
    if info.get("versionWarning"):
        console.print(f"[bold yellow]Warning:[/] {info['versionWarning']}")
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
