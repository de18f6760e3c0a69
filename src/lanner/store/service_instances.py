"""Service instances in the database: registration, heartbeats, checked state transitions.

Every component process has one row.  Times are the database's clock on PostgreSQL
(machines' clocks need not agree) and this machine's on SQLite (one machine).  A state
change locks the row and checks the transition first (:mod:`lanner.cluster.states`), so
two writers (an instance stopping, the coordinator declaring it dead) cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.model.service_state import ALIVE, ServiceState, allowed
from lanner.store import database_epoch
from lanner.store.database import write_connection
from lanner.store.tables import service_instances, worker_jobs_running
from lanner.timestamps import as_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

_s, _j = service_instances, worker_jobs_running


class InvalidTransition(Exception):
    """A state change the lifecycle does not allow (the row is left as it was)."""


@dataclass(frozen=True)
class Instance:
    id: str
    service_type: str
    hostname: str
    pid: int
    lanner_version: str
    schema_version: str
    state: ServiceState
    started_at: datetime
    heartbeat_at: datetime
    settings: dict[str, Any] = field(default_factory=dict)
    history: tuple[dict[str, Any], ...] = ()
    running_jobs: int = 0
    updated_at: datetime | None = None

    def seconds(self, name: str, default: float) -> float:
        """One of the instance's own liveness settings, in seconds."""
        value = self.settings.get(name)
        return float(value) if isinstance(value, int | float) else default


def database_now(connection: Connection) -> datetime:
    """The time by the database's clock (PostgreSQL), or this machine's (SQLite)."""
    if connection.dialect.name == "postgresql":
        return as_utc(connection.execute(sa.select(sa.func.clock_timestamp())).scalar_one())
    return datetime.now(UTC)


def _now_value(connection: Connection) -> Any:
    return sa.func.clock_timestamp() if connection.dialect.name == "postgresql" else datetime.now(UTC)


def register(engine: Engine, *, instance_id: str, service_type: str, hostname: str, pid: int, lanner_version: str,
             schema_version: str, settings: dict[str, Any]) -> None:
    """Insert the instance in its initial state (CREATED)."""
    with write_connection(engine) as connection, connection.begin():
        now = database_now(connection)
        connection.execute(sa.insert(_s).values(
            id=instance_id, service_type=service_type, hostname=hostname, pid=pid, lanner_version=lanner_version,
            schema_version=schema_version, settings=settings, state=str(ServiceState.CREATED),
            state_history=[_entry(ServiceState.CREATED, now, "registered")],
            running_jobs=0, started_at=now, heartbeat_at=now, updated_at=now))


def transition(connection: Connection, instance_id: str, target: ServiceState, reason: str, *,
               expected: Sequence[ServiceState] | None = None) -> ServiceState:
    """Move the instance to ``target`` in the caller's transaction; returns the state it left.

    Raises :class:`InvalidTransition` when the lifecycle forbids it, or when the instance
    is not in one of the ``expected`` states (or does not exist).
    """
    query = sa.select(_s.c.state, _s.c.state_history).where(_s.c.id == instance_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        raise InvalidTransition(f"instance {instance_id} is not registered")
    current = ServiceState(row.state)
    if (expected is not None and current not in expected) or not allowed(current, target):
        raise InvalidTransition(f"instance {instance_id} cannot go from {current} to {target}")
    now = database_now(connection)
    connection.execute(sa.update(_s).where(_s.c.id == instance_id).values(
        state=str(target), state_history=[*row.state_history, _entry(target, now, reason)], updated_at=now))
    return current


def change_state(engine: Engine, instance_id: str, target: ServiceState, reason: str, **kwargs: Any) -> ServiceState:
    """:func:`transition` in a transaction of its own."""
    with write_connection(engine) as connection, connection.begin():
        return transition(connection, instance_id, target, reason, **kwargs)


class EpochChanged(Exception):
    """The database was restored since the instance started (:mod:`lanner.store.database_epoch`)."""

    def __init__(self, found: dict[str, Any] | None) -> None:
        super().__init__(f"the database was restored under this process ({database_epoch.explain(found)})")
        self.found = found


def heartbeat(engine: Engine, instance_id: str, running_jobs: int, *, check_epoch: bool = False,
              epoch: str | None = None) -> ServiceState | None:
    """Record that the instance is alive; returns its state (None: its row is gone).

    An instance the cluster no longer counts as alive (DISCONNECTED...) is not updated:
    it must stop, not come back.  With ``check_epoch``, the database's epoch is compared
    first: when it is no longer ``epoch`` (a restore replaced the content), nothing is
    written and :class:`EpochChanged` is raised.
    """
    with write_connection(engine) as connection, connection.begin():
        if check_epoch:
            _same_epoch(connection, epoch)
        alive = [str(state) for state in ALIVE]
        updated = connection.execute(
            sa.update(_s).where(_s.c.id == instance_id, _s.c.state.in_(alive))
            .values(heartbeat_at=_now_value(connection), running_jobs=running_jobs)
            .returning(_s.c.state)).scalar()
        if updated is not None:
            return ServiceState(updated)
        if check_epoch:
            # PostgreSQL: the update may have waited for a restore that removed the row; a new
            # statement sees the restore's commit, and the row's absence is reported as the restore.
            _same_epoch(connection, epoch)
        state = connection.execute(sa.select(_s.c.state).where(_s.c.id == instance_id)).scalar()
        return None if state is None else ServiceState(state)


def _same_epoch(connection: Connection, epoch: str | None) -> None:
    found = database_epoch.describe(connection)
    if (found["value"] if found is not None else None) != epoch:
        raise EpochChanged(found)


def list_instances(connection: Connection, states: Sequence[ServiceState] | None = None) -> list[Instance]:
    query = sa.select(_s).order_by(_s.c.started_at, _s.c.id)
    if states is not None:
        query = query.where(_s.c.state.in_([str(state) for state in states]))
    return [_instance(row) for row in connection.execute(query)]


def get_instance(connection: Connection, instance_id: str) -> Instance | None:
    row = connection.execute(sa.select(_s).where(_s.c.id == instance_id)).first()
    return None if row is None else _instance(row)


def holders(connection: Connection) -> list[str]:
    """The workers holding jobs right now."""
    return list(connection.execute(sa.select(_j.c.worker_id).distinct()).scalars())


def take_held_jobs(connection: Connection, worker_id: str) -> list[dict[str, Any]]:
    """Forget every job ``worker_id`` holds, in the caller's transaction, and return them."""
    rows = connection.execute(sa.select(_j).where(_j.c.worker_id == worker_id)
                              .order_by(_j.c.taken_at, _j.c.task_run_id)).all()
    if rows:
        connection.execute(sa.delete(_j).where(_j.c.worker_id == worker_id))
    return [row._asdict() for row in rows]


def forget_ended(connection: Connection, before: datetime) -> int:
    """Delete EMPTY instances last changed before ``before``."""
    return connection.execute(sa.delete(_s).where(_s.c.state == str(ServiceState.EMPTY),
                                                  _s.c.updated_at < before)).rowcount


def _entry(state: ServiceState, when: datetime, reason: str) -> dict[str, str]:
    return {"state": str(state), "date": as_utc(when).isoformat(), "reason": reason}


def _instance(row: Any) -> Instance:
    return Instance(id=row.id, service_type=row.service_type, hostname=row.hostname, pid=row.pid,
                    lanner_version=row.lanner_version, schema_version=row.schema_version,
                    state=ServiceState(row.state), started_at=as_utc(row.started_at),
                    heartbeat_at=as_utc(row.heartbeat_at), settings=dict(row.settings or {}),
                    history=tuple(row.state_history or ()), running_jobs=row.running_jobs,
                    updated_at=as_utc(row.updated_at) if row.updated_at else None)
