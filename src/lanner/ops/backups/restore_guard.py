"""Who else uses the target database: a restore never pulls it from under running servers.

Before a restore writes anything, it looks at the service instances recorded in the
target (:mod:`lanner.store.service_instances`).  An instance in a live state (CREATED,
RUNNING, TERMINATING) that heartbeated within its liveness timeout (the larger of the
one it runs with and the restoring process's ``lanner.server.liveness.timeout``) is
a server still using the database: the restore is refused (exit 12), naming each.

``--force`` restores under running servers anyway, and only while maintenance mode is
on (executors start nothing, workers take nothing).  The restore then, in the
transaction that replaces the content (:func:`mark_restored`), renews the database's
epoch (:mod:`lanner.store.database_epoch`), removes every instance row, and keeps the
target's maintenance flag on: each running server finds the new epoch at its next
heartbeat and exits with code 13 so that its supervisor restarts it on the restored
content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.errors import RestoreBlockedError
from lanner.model.service_state import ALIVE
from lanner.store import database_epoch, maintenance_flag, settings_repository
from lanner.store import service_instances as instances
from lanner.store.tables import service_instances

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from lanner.store.service_instances import Instance


@dataclass(frozen=True)
class Guard:
    """What the check found: the live instances (only with ``force``) and the maintenance flag to keep."""

    live: list[Instance] = field(default_factory=list)
    maintenance: dict[str, Any] | None = None  # the target's flag while it is on


def check(engine: Engine, where: str, *, force: bool, liveness_timeout: float) -> Guard:
    """Refuse (:class:`RestoreBlockedError`) while live servers use the database, unless forced in maintenance."""
    with engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())
        flag = maintenance_flag.read(connection) if "instance_settings" in present else None
        live, now = [], None
        if service_instances.name in present:
            now = instances.database_now(connection)
            live = [i for i in instances.list_instances(connection, list(ALIVE))
                    if (now - i.heartbeat_at).total_seconds() <= timeout_of(i, liveness_timeout)]
    on = bool(flag and flag.get("on"))
    if force and not on:
        raise RestoreBlockedError(
            f"--force restores under running servers and is accepted only while maintenance mode is on; "
            f"maintenance mode is off on {where}. Nothing was written.",
            "Enter maintenance mode first ('lanner sys maintenance enter --wait'), then run the restore again "
            "with --force; or stop every Lanner component using the database and restore without --force.")
    if live and not force:
        assert now is not None
        described = "\n".join(f"  {describe(i, now)}" for i in live)
        raise RestoreBlockedError(
            f"the database {where} is in use by {len(live)} live Lanner instance{'s' if len(live) > 1 else ''} "
            f"(a heartbeat within the liveness timeout):\n{described}\n"
            "Restoring now would replace the content under them. Nothing was written.",
            "Stop every Lanner component using this database ('lanner sys cluster status' lists them) and run the "
            "restore again; an instance counts as stopped once it has ended or its last heartbeat is older than its "
            "liveness timeout. Or restore under them: 'lanner sys maintenance enter --wait', then the restore again "
            "with --force; each running server then exits with code 13 at its next heartbeat, for its supervisor "
            "(systemd, Kubernetes) to start it again on the restored data.")
    return Guard(live=live, maintenance=flag if on else None)


def timeout_of(instance: Instance, configured: float) -> float:
    """Seconds of silence after which the instance no longer counts as live."""
    return max(instance.seconds("timeout", configured), configured)


def describe(instance: Instance, now: datetime) -> str:
    age = (now - instance.heartbeat_at).total_seconds()
    return (f"{instance.service_type} {instance.id} on host {instance.hostname}, pid {instance.pid}, "
            f"Lanner {instance.lanner_version}, {instance.state}, last heartbeat "
            f"{instance.heartbeat_at.isoformat(timespec='seconds')} ({age:.1f} s ago)")


def kept_settings(guard: Guard) -> tuple[str, ...]:
    """The target's ``instance_settings`` rows a restore in place leaves where they are.

    The maintenance flag's row stays (updated, never deleted and inserted again): a
    worker's take locks it ``FOR SHARE`` on PostgreSQL, and must find it on after the
    restore commits (:mod:`lanner.store.maintenance_flag`).
    """
    return (maintenance_flag.KEY,) if guard.maintenance is not None else ()


def mark_restored(connection: Connection, guard: Guard, where: str) -> None:
    """In the restore's transaction, after the load: a new epoch, no instance rows, maintenance kept.

    ``connection`` may work in a schema of its own that is swapped in later (PostgreSQL).
    """
    if service_instances.name in set(sa.inspect(connection).get_table_names()):
        connection.execute(sa.delete(service_instances))
    database_epoch.renew(connection, f"lanner backups restore {where}")
    if guard.maintenance is not None:
        settings_repository.put(connection, maintenance_flag.KEY, guard.maintenance)
