"""``lanner backups restore``: verify the whole file, then load it all or nothing.

The order is what makes it safe:

1. read the header: refuse an unknown format, or a schema newer than this code (naming
   the Lanner version that made the backup);
2. check the target's users (:mod:`.restore_guard`): refuse while live servers use
   it, unless ``force`` is given during maintenance mode;
3. read the whole file once (:meth:`BackupFile.verify`): nothing is written before every
   frame, checksum and count has been checked;
4. check the target: it must be empty (no Lanner schema, or no rows), or ``replace``
   must be given;
5. load, all or nothing.  At the backup's schema version: delete the current rows and
   load the backup's in one transaction.  Where the schema must be built (an empty
   database, or a rollback after a migration): on SQLite drop the tables, build the
   backup's schema and load the rows in one transaction (its DDL is transactional); on
   PostgreSQL build and load a schema of its own, then swap it in with one short
   transaction (:mod:`.shadow_schema`).  Either way the database is as it was until
   the commit; PostgreSQL's id sequences are moved past the restored ids.  The same
   transaction renews the database's epoch, removes the instance rows and keeps the
   maintenance flag on when it was (:func:`.restore_guard.mark_restored`);
6. internal-storage files, written beside their targets meanwhile, are renamed into
   place; then the schema is migrated to this code's head (unless ``migrate=False``:
   a rollback keeps the backup's version for the previous release).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa

from lanner import version as lanner_version
from lanner.config.settings import Liveness
from lanner.errors import RestoreRefusedError, SchemaNewerError
from lanner.ops.backups import manifest, restore_guard
from lanner.ops.backups.manifest import ENTITIES, SEQUENCED, STORAGE_FILES, Header
from lanner.ops.backups.reader import BackupFile, Section
from lanner.ops.backups.shadow_schema import drop_lanner_tables, shadow_schema
from lanner.ops.backups.writer import Progress, _Silent, source_table
from lanner.store import migrator
from lanner.store.database import write_connection
from lanner.store.migration_scripts import by_revision, head

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy.engine import Connection, Engine

    from lanner.config.settings import Database

INSERT_BATCH = 2000


@dataclass(frozen=True)
class Restored:
    header: Header
    counts: dict[str, int]
    replaced: bool
    schema_version: str
    seconds: float
    verify_seconds: float
    files: list[Path] = field(default_factory=list)
    forced_under: int = 0  # live instances the restore was forced under (they exit at their next heartbeat)
    maintenance: bool = False  # the target was in maintenance mode, and still is


def check_schema(header: Header, where: str) -> None:
    """Refuse a backup whose schema this code does not know (it was made by a newer Lanner)."""
    if header.schema_version not in by_revision():
        raise SchemaNewerError(
            f"{where} was made by Lanner {header.lanner_version} at schema version {header.schema_version}, "
            f"but this Lanner {lanner_version()} knows schema versions up to {head()} only. Nothing was written.",
            f"Restore it with Lanner {header.lanner_version} or later (pip install lanner=={header.lanner_version}).",
        )


def restore_backup(engine: Engine, config: Database, backup: BackupFile, *, replace: bool,
                   storage_root: Path | None = None, progress: Progress | None = None,
                   migrate: bool = True, force: bool = False, liveness_timeout: float | None = None) -> Restored:
    """Restore ``backup`` into ``engine``'s database (see the module's docstring for the order).

    ``force`` restores while live servers use the database (only in maintenance mode);
    ``liveness_timeout`` is ``lanner.server.liveness.timeout`` in seconds.
    """
    progress = progress or _Silent()
    header = backup.header
    check_schema(header, backup.where)
    started = time.monotonic()
    state = migrator.current_state(engine)  # refuses a newer schema or changed migrations
    where = migrator.where(engine)
    guard = restore_guard.check(engine, where, force=force, liveness_timeout=(
        Liveness().timeout.total_seconds() if liveness_timeout is None else liveness_timeout))
    verifying = time.monotonic()
    verified = backup.verify()
    verify_seconds = time.monotonic() - verifying
    rows = _row_counts(engine) if state.current is not None else {}
    occupied = {name: n for name, n in rows.items() if n}
    other_version = state.current is not None and state.current != header.schema_version
    if (occupied or other_version) and not replace:
        at = f" at schema version {state.current} (the backup is at {header.schema_version})" if other_version else ""
        holds = f"it holds {_describe(occupied)}" if occupied else "it has no rows"
        raise RestoreRefusedError(
            f"the database {where} is not empty{at}: {holds}",
            "Pass --yes to replace its whole content with the backup's, or restore into an empty database.",
        )
    files: list[tuple[Path, Path]] = []
    try:
        if engine.dialect.name == "postgresql" and state.current != header.schema_version:
            _restore_beside(engine, config, backup, verified.counts, storage_root, files, progress, guard)
        else:
            with write_connection(engine) as connection, connection.begin():
                if other_version:
                    drop_lanner_tables(connection)
                if state.current != header.schema_version:
                    migrator.build_within(connection, header.schema_version)
                elif occupied:
                    _delete_all(connection, keep=restore_guard.kept_settings(guard))
                _load(connection, backup, verified.counts, storage_root, files, progress)
                restore_guard.mark_restored(connection, guard, backup.where)
        for temporary, target in files:
            os.replace(temporary, target)
    finally:
        for temporary, _ in files:
            temporary.unlink(missing_ok=True)
    if migrate:
        migrator.migrate(engine, config)
    return Restored(header, verified.counts, bool(occupied) or other_version,
                    head() if migrate else header.schema_version, time.monotonic() - started, verify_seconds,
                    [target for _, target in files], len(guard.live), guard.maintenance is not None)


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())
        return {
            e.table: connection.execute(
                sa.text(f'SELECT count(*) FROM (SELECT 1 FROM "{e.table}" LIMIT 1000) t')).scalar_one()
            for e in ENTITIES if e.table in present
        }


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{'1000+' if n >= 1000 else n} {name}" for name, n in counts.items())


def _restore_beside(engine: Engine, config: Database, backup: BackupFile, counts: dict[str, int],
                    storage_root: Path | None, files: list[tuple[Path, Path]], progress: Progress,
                    guard: restore_guard.Guard) -> None:
    """PostgreSQL, schema to build: load into a schema of its own, then swap it in (:mod:`.shadow_schema`)."""
    with shadow_schema(engine, config) as (shadow, swap):
        migrator.migrate(shadow, config, target=backup.header.schema_version)
        with write_connection(shadow) as connection, connection.begin():
            _load(connection, backup, counts, storage_root, files, progress)
            restore_guard.mark_restored(connection, guard, backup.where)
        swap()


def _load(connection: Connection, backup: BackupFile, counts: dict[str, int], storage_root: Path | None,
          files: list[tuple[Path, Path]], progress: Progress) -> None:
    """Every section of the (verified) backup into the transaction's tables; files beside their targets."""
    for section, values in backup.sections():
        progress.start(section.name, counts.get(section.name, 0))
        if section.name == STORAGE_FILES:
            _load_files(values, storage_root, files, progress)
        else:
            _load_table(connection, section, values, progress)
    if connection.dialect.name == "postgresql":
        _reset_sequences(connection)


def _delete_all(connection: Connection, keep: tuple[str, ...] = ()) -> None:
    """Every backed-up table's rows, except the ``instance_settings`` keys in ``keep``."""
    present = set(sa.inspect(connection).get_table_names())
    for entity in reversed(ENTITIES):
        if entity.table in present:
            where = " WHERE key NOT IN :keep" if keep and entity.table == "instance_settings" else ""
            statement = sa.text(f'DELETE FROM "{entity.table}"{where}')
            if where:
                statement = statement.bindparams(sa.bindparam("keep", expanding=True))
            connection.execute(statement, {"keep": list(keep)} if where else {})


def _load_table(connection: Connection, section: Section, values: Any, progress: Progress) -> None:
    inspector = sa.inspect(connection)
    reflected = {c["name"]: c["type"] for c in inspector.get_columns(section.name)}
    missing = [c for c in section.columns if c not in reflected]
    if missing:
        raise RestoreRefusedError(f"the database's table {section.name} has no column {', '.join(missing)}",
                                  "Restore into an empty database.")
    if connection.dialect.name == "postgresql":
        nullable = {c["name"]: c["nullable"] for c in inspector.get_columns(section.name)}
        _copy_rows(connection, section, values, nullable, progress)
        return
    table = source_table(section.name, section.columns, reflected)
    decode = manifest.row_decoder(section.kinds)
    columns = section.columns
    insert = sa.insert(table)
    batch: list[dict[str, Any]] = []
    for row in values:
        batch.append(dict(zip(columns, decode(row), strict=False)))
        if len(batch) >= INSERT_BATCH:
            connection.execute(insert, batch)
            progress.advance(section.name, len(batch))
            batch = []
    if batch:
        connection.execute(insert, batch)
        progress.advance(section.name, len(batch))


def _copy_rows(connection: Connection, section: Section, values: Any, nullable: dict[str, bool],
               progress: Progress) -> None:
    """PostgreSQL: COPY ... FROM STDIN in the load's transaction, several times faster than INSERTs."""
    from psycopg.types.json import Jsonb

    decode = manifest.row_decoder(section.kinds)
    # None in a JSON column: SQL NULL where the column allows it, JSON null where it does not.
    json_columns = [(i, nullable[c])
                    for i, (c, k) in enumerate(zip(section.columns, section.kinds, strict=True)) if k == "json"]
    columns = ", ".join(f'"{c}"' for c in section.columns)
    # SQLAlchemy types the DBAPI connection as optional (None once invalidated); this one is open.
    raw = cast("psycopg.Connection[Any]", connection.connection.driver_connection)
    count = 0
    with raw.cursor() as cursor, cursor.copy(f'COPY "{section.name}" ({columns}) FROM STDIN') as copy:
        for row in values:
            row = decode(row)
            for i, can_be_null in json_columns:
                if row[i] is not None or not can_be_null:
                    row[i] = Jsonb(row[i])
            copy.write_row(row)
            count += 1
            if count == INSERT_BATCH:
                progress.advance(section.name, count)
                count = 0
    progress.advance(section.name, count)


def _reset_sequences(connection: Connection) -> None:
    for name in SEQUENCED:
        connection.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"))


def _load_files(values: Any, root: Path | None, files: list[tuple[Path, Path]], progress: Progress) -> None:
    from lanner.files import check_segment

    if root is None:
        root = Path("./data/storage")
    out = None
    try:
        for relative, offset, data in values:
            if offset == 0:
                if out is not None:
                    out.close()
                    progress.advance(STORAGE_FILES, 1)
                parts = [check_segment(part) for part in relative.split("/")]
                target = root.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".lanner-part-")
                files.append((Path(temporary), target))
                out = os.fdopen(handle, "wb")
            assert out is not None
            out.write(manifest.unb64(data))
    finally:
        if out is not None:
            out.close()
            progress.advance(STORAGE_FILES, 1)
