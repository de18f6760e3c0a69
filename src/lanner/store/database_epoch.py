"""The database's epoch: a random value a restore replaces, so running servers notice it.

A server process remembers the epoch it started on and compares it at every heartbeat
(:mod:`lanner.cluster.membership`).  ``lanner backups restore`` renews it in the
transaction that replaces the content, so a server still running on the database (the
restore was forced during maintenance mode) finds a different value at its next
heartbeat: its memory (caches, running tasks, held jobs) describes content that is gone,
and it exits so its supervisor starts it afresh on the restored data.

The epoch is one row of ``instance_settings`` (key ``database.epoch``), like the
maintenance flag; it describes the installation, not its content, so backups never
carry it.  A database that was never restored has none (``None``).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lanner.store import settings_repository
from lanner.store.database import process_label

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

KEY = "database.epoch"


def read(connection: Connection) -> str | None:
    """The current epoch (None: the database was never restored)."""
    value = describe(connection)
    return str(value["value"]) if value is not None else None


def describe(connection: Connection) -> dict[str, Any] | None:
    """The epoch's row: ``value``, ``changedAt``, ``by`` (pid@host) and ``reason``."""
    value = settings_repository.get(connection, KEY)
    return value if isinstance(value, dict) and "value" in value else None


def renew(connection: Connection, reason: str) -> str:
    """A new epoch, in the caller's transaction (the one that replaces the content)."""
    value = secrets.token_hex(16)
    settings_repository.put(connection, KEY, {"value": value, "changedAt": datetime.now(UTC).isoformat(),
                                              "by": process_label(), "reason": reason})
    return value


def explain(found: dict[str, Any] | None) -> str:
    """How a log line names the change: when, by whom, why."""
    if found is None:
        return "its epoch row is gone"
    return f"at {found.get('changedAt', '?')} by {found.get('by', '?')}: {found.get('reason', '?')}"
