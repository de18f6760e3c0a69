"""Whether the instance is in maintenance mode: one row of ``instance_settings``, read by every component.

Entering and leaving take an exclusive advisory lock (PostgreSQL) that the readers
deciding a start take shared, so a start decided while maintenance is being left is
either seen by the sweep that restarts queued executions or made after it: no execution
stays QUEUED forever.  On SQLite, write transactions are serialised anyway.

Workers check the flag in the statement that takes jobs (:func:`taking_paused_pg`), by
locking its row ``FOR SHARE``: a take that read the row first finishes before ``enter``
can commit, and a take that meets ``enter``'s uncommitted update waits for it and then
reads the new value (PostgreSQL re-reads a locked row that changed under it).  So once
``enter`` has returned, no job is taken anywhere.  That needs the row to exist before the
first take: workers create it (off) when they start (:func:`ensure_row`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from lanner.store import settings_repository
from lanner.store.tables import instance_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

KEY = "maintenance"
_LOCK = 0x4C4D41494E54  # "LMAINT"


_t = instance_settings
_LOCK_SHARED = sa.select(sa.func.pg_advisory_xact_lock_shared(_LOCK))


def is_on(connection: Connection) -> bool:
    """In the caller's (write) transaction, holding the shared side of the maintenance lock."""
    if connection.dialect.name == "postgresql":
        # The lock first, in a statement of its own: under READ COMMITTED a statement reads
        # the snapshot taken when it started, so a read in the statement that waits for the
        # lock would see the flag as it was before the leaver committed (on), queue the
        # execution, and leave it stranded after the leaver's sweep.  The chaos run found it.
        connection.execute(_LOCK_SHARED)
    value = read(connection)
    return bool(isinstance(value, dict) and value.get("on"))


def taking_paused_pg() -> sa.CTE:
    """For the PostgreSQL statement that takes jobs: a CTE of one row, ``held_back``, whether taking
    is paused (the flag's row locked ``FOR SHARE``: see the module's doc)."""
    flag = sa.select(_t.c.value).where(_t.c.key == KEY).with_for_update(read=True).subquery("flag")
    on = sa.cast(sa.type_coerce(flag.c.value, JSONB)["on"].astext, sa.Boolean)
    held_back = sa.func.coalesce(sa.func.bool_or(on), sa.false())
    # Computed once, whatever reads it (and the lock taken once).
    return sa.select(held_back.label("held_back")).cte("paused").prefix_with("MATERIALIZED")


def ensure_row(connection: Connection) -> None:
    """Create the flag's row (off) if it is missing, so that takers can lock it (see the module's doc)."""
    if read(connection) is None:
        connection.execute(_insert_if_missing(connection))


def _insert_if_missing(connection: Connection) -> sa.Insert:
    values = {"key": KEY, "value": {"on": False, "since": None, "by": None, "reason": None},
              "updated_at": datetime.now(UTC)}
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(_t).values(**values).on_conflict_do_nothing(index_elements=[_t.c.key])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(_t).values(**values).on_conflict_do_nothing(index_elements=[_t.c.key])


def read(connection: Connection) -> dict[str, Any] | None:
    value = settings_repository.get(connection, KEY)
    return value if isinstance(value, dict) else None


def write(connection: Connection, on: bool, *, by: str, reason: str | None = None) -> dict[str, Any]:
    """Turn maintenance on or off in the caller's transaction (exclusive lock first)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK)))
    previous = read(connection) or {}
    now = datetime.now(UTC).isoformat()
    value = {"on": on, "since": previous.get("since") if previous.get("on") and on else now, "by": by,
             "reason": reason if on else None}
    settings_repository.put(connection, KEY, value)
    return value
