"""Instance-wide settings and counters (``instance_settings``): one JSON value per key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.store.tables import instance_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_t = instance_settings


def get(connection: Connection, key: str, default: Any = None) -> Any:
    value = connection.execute(sa.select(_t.c.value).where(_t.c.key == key)).scalar()
    return default if value is None else value


def put(connection: Connection, key: str, value: Any) -> None:
    """Set ``key`` in the caller's transaction (a concurrent writer waits for it)."""
    now = datetime.now(UTC)
    if connection.execute(sa.update(_t).where(_t.c.key == key).values(value=value, updated_at=now)).rowcount == 0:
        connection.execute(sa.insert(_t).values(key=key, value=value, updated_at=now))


def add(connection: Connection, key: str, amount: int) -> int:
    """Add ``amount`` to the counter ``key``; the caller holds a lock that serialises its writers."""
    total = int(get(connection, key, 0)) + amount
    put(connection, key, total)
    return total
