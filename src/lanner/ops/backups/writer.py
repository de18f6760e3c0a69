"""``lanner backups create``: one snapshot of the database, streamed into one file.

Every row is read inside one transaction (REPEATABLE READ, read only, on PostgreSQL;
one read transaction on SQLite, whose WAL keeps the snapshot while writers go on), so
the backup is consistent even while the instance runs.  Rows come through server-side
cursors in batches and leave as soon as they are encoded: memory does not grow with the
database.  The file is written under a temporary name in the target folder and renamed
at the end; a failure leaves no file behind, and never one under the final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from lanner import version as lanner_version
from lanner.errors import UsageError
from lanner.masking import mask_url
from lanner.ops.backups import crypto, manifest
from lanner.ops.backups.frames import LineWriter
from lanner.ops.backups.manifest import EXCLUDED_SETTINGS, FORMAT_VERSION, STORAGE_FILES, Header
from lanner.store import tables
from lanner.store.schema_state import read_state, verify
from lanner.timestamps import offset_iso

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

BATCH = 5000
FILE_CHUNK = 256 * 1024
_TEMP_STORAGE = ".lanner-part-"


class Progress(Protocol):
    def start(self, entity: str, total: int) -> None: ...
    def advance(self, entity: str, rows: int) -> None: ...


class _Silent:
    def start(self, entity: str, total: int) -> None:
        pass

    def advance(self, entity: str, rows: int) -> None:
        pass


@dataclass(frozen=True)
class Created:
    path: Path
    header: Header
    size: int
    seconds: float


def default_name(schema_version: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"lanner-backup-{schema_version}-{stamp}{manifest.SUFFIX}"


@dataclass
class _Snapshot:
    """The source tables as they are in this database (its schema may be older than the code's)."""

    schema_version: str
    tables: dict[str, sa.Table]
    counts: dict[str, int]


def private_folder(folder: Path) -> None:
    """Create ``folder`` (and its missing parents) readable by this user only (0700): backups hold secrets.

    A folder that exists already keeps its permissions: they are the operator's choice.
    """
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)  # mkdir's mode is filtered by the umask


def create_backup(engine: Engine, output: Path | None, *, include_data: bool, key: str | None,
                  storage_root: Path | None = None, progress: Progress | None = None,
                  folder: Path | None = None) -> Created:
    """Write a backup to ``output`` (default: a dated name in ``folder`` or the current folder)."""
    progress = progress or _Silent()
    started = time.monotonic()
    with _snapshot_connection(engine) as connection:
        snapshot = _read_snapshot(connection, include_data)
        files = _storage_files(storage_root) if include_data else []
        if include_data:
            snapshot.counts[STORAGE_FILES] = len(files)
        if output is None:
            output = (folder or Path.cwd()) / default_name(snapshot.schema_version)
        if output.exists():
            raise UsageError(f"{output} already exists", "Choose another --output name, or move the old file away.")
        private_folder(output.parent)
        encryption, sealer = None, None
        if key:
            encryption, data_key = crypto.new_encryption(key)
            sealer = crypto.Sealer(data_key)
        header = Header(
            format=FORMAT_VERSION, lanner_version=lanner_version(), schema_version=snapshot.schema_version,
            created_at=offset_iso(datetime.now(UTC)), source_backend=engine.dialect.name,
            include_data=include_data, counts=dict(snapshot.counts), encryption=encryption,
        )
        handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                writer = LineWriter(out, header, sealer)
                sums: dict[str, str] = {}
                counts: dict[str, int] = {}
                for name, table in snapshot.tables.items():
                    progress.start(name, snapshot.counts[name])
                    counts[name], sums[name] = _write_table(connection, writer, table, progress)
                if include_data:
                    progress.start(STORAGE_FILES, len(files))
                    counts[STORAGE_FILES], sums[STORAGE_FILES] = _write_files(writer, storage_root, files, progress)
                writer.write_line(manifest.encode_line(
                    {"end": True, "counts": counts, "sha256": sums, "header_sha256": writer.header_sha256}))
                writer.finish()
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, output)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return Created(output, header, output.stat().st_size, time.monotonic() - started)


class _snapshot_connection:  # noqa: N801 - used as a context manager
    """A connection inside one read-only snapshot transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Connection:
        from lanner.store.database import check_connection

        check_connection(self.engine)
        connection = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self.connection = connection
        self.transaction = connection.begin()
        return connection

    def __exit__(self, *exc: object) -> None:
        try:
            self.transaction.rollback()  # read only: nothing to keep
        finally:
            self.connection.close()


def _read_snapshot(connection: Connection, include_data: bool) -> _Snapshot:
    state = read_state(connection)
    verify(state, mask_url(connection.engine.url))
    if state.current is None:
        raise UsageError("the database has no Lanner schema yet: there is nothing to back up",
                         "Check lanner.database.url (or LANNER_DATABASE_URL).")
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    result: dict[str, sa.Table] = {}
    counts: dict[str, int] = {}
    for entity in manifest.entities(include_data):
        if entity.table not in present:  # e.g. worker_jobs_running before 0002
            continue
        table = source_table(entity.table, [c["name"] for c in inspector.get_columns(entity.table)],
                             {c["name"]: c["type"] for c in inspector.get_columns(entity.table)})
        result[entity.table] = table
        counts[entity.table] = connection.execute(
            sa.select(sa.func.count()).select_from(table).where(*_filters(table))).scalar_one()
    return _Snapshot(state.current, result, counts)


def source_table(name: str, columns: list[str], reflected: dict[str, sa.types.TypeEngine[Any]]) -> sa.Table:
    """A table of the given columns, typed as the code types them (reflected types for unknown ones)."""
    known = tables.metadata.tables.get(name)
    cols = [sa.Column(c, known.c[c].type if known is not None and c in known.c else reflected[c]) for c in columns]
    return sa.Table(name, sa.MetaData(), *cols)


def _filters(table: sa.Table) -> list[sa.ColumnElement[bool]]:
    if table.name == "instance_settings":
        return [table.c.key.not_in(EXCLUDED_SETTINGS)]
    return []


def _write_table(connection: Connection, writer: LineWriter, table: sa.Table, progress: Progress) -> tuple[int, str]:
    entity = next(e for e in manifest.ENTITIES if e.table == table.name)
    columns = [c.name for c in table.columns]
    kinds = manifest.column_kinds(table, columns)
    writer.write_line(manifest.encode_line({"section": table.name, "columns": columns, "kinds": kinds}))
    encode = manifest.row_encoder(kinds)
    digest = hashlib.sha256()
    count = 0
    query = sa.select(table).where(*_filters(table)).order_by(*[table.c[c] for c in entity.order_by])
    result = connection.execution_options(yield_per=BATCH).execute(query)
    for batch in result.partitions():
        for row in batch:
            line = encode(row)
            digest.update(line + b"\n")
            writer.write_line(line)
        count += len(batch)
        progress.advance(table.name, len(batch))
    return count, digest.hexdigest()


def _storage_files(root: Path | None) -> list[str]:
    """The internal-storage files, relative POSIX paths, sorted (temporary files of writes excluded)."""
    if root is None or not root.is_dir():
        return []
    found = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if not name.startswith(_TEMP_STORAGE) and os.path.isfile(os.path.join(folder, name)):
                found.append(Path(folder, name).relative_to(root).as_posix())
    return found


def _write_files(writer: LineWriter, root: Path | None, files: list[str], progress: Progress) -> tuple[int, str]:
    writer.write_line(manifest.encode_line(
        {"section": STORAGE_FILES, "columns": ["path", "offset", "data"], "kinds": ["plain", "plain", "plain"]}))
    digest = hashlib.sha256()
    assert root is not None or not files
    for relative in files:
        for line in _file_lines(root / relative, relative):  # type: ignore[operator]
            digest.update(line + b"\n")
            writer.write_line(line)
        progress.advance(STORAGE_FILES, 1)
    return len(files), digest.hexdigest()


def _file_lines(path: Path, relative: str) -> Iterator[bytes]:
    import json

    offset = 0
    with path.open("rb") as source:
        while True:
            chunk = source.read(FILE_CHUNK)
            if not chunk and offset:
                return
            yield json.dumps([relative, offset, manifest.b64(chunk)], ensure_ascii=False).encode()
            offset += len(chunk)
            if not chunk:
                return
