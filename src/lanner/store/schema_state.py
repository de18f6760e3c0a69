"""What the database says about its own schema, read without writing a byte.

Every command that opens the database reads this first and refuses to go on when
the schema is newer than the code (a downgrade: exit 3) or when an applied
migration's file no longer matches the checksum recorded when it ran (exit 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lanner import version as lanner_version
from lanner.errors import ChecksumMismatchError, SchemaNewerError
from lanner.store.migration_scripts import VERSION_TABLE, Migration, by_revision, head, pending_after
from lanner.store.tables import schema_history

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class HistoryRow:
    installed_rank: int
    version: str
    description: str
    script: str
    checksum: str
    lanner_version: str
    installed_by: str
    installed_on: datetime
    execution_time_ms: int
    success: bool


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: no Lanner schema yet
    history: tuple[HistoryRow, ...] = field(default=())

    @property
    def known(self) -> bool:
        """False when a newer Lanner migrated this database past what this code knows."""
        return self.current is None or self.current in by_revision()

    @property
    def pending(self) -> list[Migration]:
        return pending_after(self.current) if self.known else []

    def applied_by(self, revision: str | None) -> str | None:
        """The Lanner version that last applied ``revision`` successfully, if recorded."""
        rows = [r for r in self.history if r.version == revision and r.success]
        return rows[-1].lanner_version if rows else None

    def checksum_mismatches(self) -> list[tuple[Migration, HistoryRow]]:
        latest: dict[str, HistoryRow] = {}
        for row in self.history:
            if row.success:
                latest[row.version] = row
        known = by_revision()
        return [
            (known[v], row) for v, row in latest.items() if v in known and known[v].checksum != row.checksum
        ]


def read_state(connection: Connection) -> SchemaState:
    """Read the schema version and history tables (absent tables mean an empty database)."""
    inspector = sa.inspect(connection)
    current = None
    if inspector.has_table(VERSION_TABLE):
        current = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    history: tuple[HistoryRow, ...] = ()
    if inspector.has_table(schema_history.name):
        rows = connection.execute(sa.select(schema_history).order_by(schema_history.c.installed_rank))
        history = tuple(HistoryRow(**row._mapping) for row in rows)
    return SchemaState(current, history)


def verify(state: SchemaState, where: str) -> None:
    """Refuse a schema this code must not touch; ``where`` names the database in messages."""
    if not state.known:
        applied = state.applied_by(state.current) or "an unknown version"
        raise SchemaNewerError(
            f"the database {where} is at schema version {state.current}, applied by Lanner {applied}, "
            f"but this Lanner {lanner_version()} knows schema versions up to {head()} only. "
            "Refusing to use it: nothing was written.",
            "This is a downgrade. To roll back safely, restore the backup taken before the upgrade "
            "(see docs/upgrading.md, 'Rolling back'), or run Lanner "
            f"{applied if applied != 'an unknown version' else 'at the newer version'} or later against this database.",
        )
    mismatches = state.checksum_mismatches()
    if mismatches:
        lines = [
            f"  {m.revision} ({m.script}): recorded {row.checksum[:16]}..., file now {m.checksum[:16]}..."
            for m, row in mismatches
        ]
        raise ChecksumMismatchError(
            f"applied migrations changed since they ran on {where}:\n" + "\n".join(lines),
            "Migrations are append-only. If this Lanner build is the one you meant to run, and the change "
            "is harmless (a comment, formatting), record the new checksums with:\n"
            "  lanner sys database repair\n"
            "Otherwise reinstall the Lanner release that applied them.",
        )
