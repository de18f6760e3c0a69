"""Apply pending migrations safely: under a lock, one at a time, each recorded in the history.

The order of a run: read the schema state and refuse a newer schema or a changed
migration (nothing written); take the lock (:mod:`migration_lock`); read the state
again, since the process that held the lock may have done the work; then apply each
pending migration, timing it, saying it is alive every :data:`ALIVE_EVERY` seconds,
and writing its ``lanner_schema_history`` row in the same transaction as its DDL.

On PostgreSQL each migration commits on its own (so an online migration can build an
index ``CONCURRENTLY`` outside a transaction); on SQLite the whole run is one
transaction.  A failed migration is recorded with ``success = false`` afterwards, on a
best-effort basis, and the run stops there.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from lanner import version as lanner_version
from lanner.background import Periodic
from lanner.errors import MigrationFailedError
from lanner.store.database import check_connection, create_engine, database_exists, parse_url, process_label
from lanner.store.migration_lock import migration_lock
from lanner.store.migration_scripts import Migration, alembic_config, by_revision, catalog, head
from lanner.store.schema_state import SchemaState, read_state, verify
from lanner.store.tables import schema_history

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext, MigrationInfo
    from sqlalchemy.engine import Connection, Engine

    from lanner.config.settings import Database

log = logging.getLogger(__name__)
ALIVE_EVERY = 10.0


class Reporter(Protocol):
    """Receives progress; the CLI draws it, servers log it."""

    def waiting_for_lock(self, holder: str | None, waited: float) -> None: ...
    def started(self, migration: Migration, index: int, total: int) -> None: ...
    def still_running(self, migration: Migration, elapsed: float) -> None: ...
    def finished(self, migration: Migration, elapsed: float) -> None: ...


class LogReporter:
    def waiting_for_lock(self, holder: str | None, waited: float) -> None:
        log.warning("waiting for the migration lock held by %s (%.0f s so far)", holder or "another process", waited)

    def started(self, migration: Migration, index: int, total: int) -> None:
        log.info("applying migration %s (%d/%d): %s", migration.revision, index, total, migration.description)

    def still_running(self, migration: Migration, elapsed: float) -> None:
        log.info("migration %s still running after %.0f s", migration.revision, elapsed)

    def finished(self, migration: Migration, elapsed: float) -> None:
        log.info("migration %s applied in %.2f s", migration.revision, elapsed)


@dataclass(frozen=True)
class MigrationResult:
    version: str | None
    applied: list[tuple[Migration, float]] = field(default_factory=list)


def where(engine: Engine) -> str:
    from lanner.masking import mask_url

    return mask_url(engine.url)


def current_state(engine: Engine) -> SchemaState:
    """The checked schema state: raises for a newer schema or a changed migration."""
    check_connection(engine)
    with engine.connect() as connection:
        state = read_state(connection)
    verify(state, where(engine))
    return state


# before(engine, current version or None, pending migrations): see migrate().
BeforeMigrate = Callable[..., None]


def migrate(engine: Engine, config: Database, reporter: Reporter | None = None, *, target: str | None = None,
            before: BeforeMigrate | None = None) -> MigrationResult:
    """Bring the schema to this code's head (or ``target``); a no-op (and no lock) when it is there already.

    ``before(engine, current, pending)`` runs under the lock, once it is known that
    migrations will be applied (the pre-migration backup of :mod:`lanner.ops.backups`).
    """
    reporter = reporter or LogReporter()
    state = current_state(engine)
    log.debug("schema at %s, code head %s, %d migration(s) pending",
              state.current or "none", head(), len(state.pending))
    if not _up_to(state.pending, target):
        return MigrationResult(target or head())
    failure: tuple[Migration, float, BaseException] | None = None
    applied: list[tuple[Migration, float]] = []
    try:
        with migration_lock(engine, config.migration_lock_timeout, reporter.waiting_for_lock) as connection:
            # The holder we waited for may have done the work; read what it left.
            state = current_state(engine)
            pending = _up_to(state.pending, target)
            if pending and before is not None:
                before(engine, state.current, pending)
            for index, migration in enumerate(pending, start=1):
                reporter.started(migration, index, len(pending))
                started = time.monotonic()
                def alive(m: Migration = migration, t: float = started) -> None:
                    reporter.still_running(m, time.monotonic() - t)

                try:
                    with _every(ALIVE_EVERY, alive):
                        _apply(connection, migration, started)
                except Exception as exc:
                    failure = (migration, time.monotonic() - started, exc)
                    raise
                applied.append((migration, time.monotonic() - started))
                reporter.finished(migration, applied[-1][1])
    except Exception:
        if failure is None:
            raise
    if failure is not None:
        failed, elapsed, error = failure
        _record_failure(engine, failed, elapsed)
        at = current_state_version(engine)
        detail = str(getattr(error, "orig", error)).strip().splitlines()
        raise MigrationFailedError(
            f"migration {failed.revision} ({failed.description}) failed after {elapsed:.2f} s: "
            f"{detail[0] if detail else type(error).__name__}",
            f"The database was left at schema version {at or 'none (empty)'}; nothing of the failed migration "
            "remains. Fix the cause, then run 'lanner sys database migrate' again.",
        ) from error
    return MigrationResult(target or head(), applied)


def build_within(connection: Connection, target: str) -> None:
    """Create Lanner's schema from nothing up to ``target`` inside ``connection``'s open transaction.

    SQLite only (its DDL is transactional and no migration needs to leave the
    transaction): a restore that replaces a database at another schema version drops the
    tables, rebuilds them and loads the rows in one transaction, so a failure leaves the
    database as it was.  The caller holds SQLite's write lock (``BEGIN IMMEDIATE``).
    """
    if connection.dialect.name != "sqlite":
        raise ValueError("build_within runs on SQLite; PostgreSQL restores build a separate schema")
    for migration in _up_to(list(catalog()), target):
        _apply(connection, migration, time.monotonic())


def _up_to(pending: list[Migration], target: str | None) -> list[Migration]:
    """The pending migrations up to ``target`` included (all of them when None)."""
    if target is None:
        return pending
    revisions = [m.revision for m in pending]
    return pending[: revisions.index(target) + 1] if target in revisions else []


def current_state_version(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return read_state(connection).current


def _apply(connection: Connection, migration: Migration, started: float) -> None:
    from alembic import command

    def record(ctx: MigrationContext, step: MigrationInfo, heads: set[str], run_args: dict[str, Any]) -> None:
        if ctx.connection is None:  # migrations run online, on this connection
            raise RuntimeError("migration context without a connection")
        ctx.connection.execute(
            sa.insert(schema_history).values(
                _history_values(migration, int((time.monotonic() - started) * 1000), datetime.now(UTC), success=True)
            )
        )

    command.upgrade(alembic_config(connection=connection, on_version_apply=[record]), migration.revision)


def _history_values(migration: Migration, elapsed_ms: int, installed_on: datetime | sa.ColumnElement[datetime], *,
                    success: bool) -> dict[str, Any]:
    return {
        "version": migration.revision,
        "description": migration.description[:200],
        "script": migration.script,
        "checksum": migration.checksum,
        "lanner_version": lanner_version(),
        "installed_by": process_label()[:200],
        "installed_on": installed_on,
        "execution_time_ms": elapsed_ms,
        "success": success,
    }


def _record_failure(engine: Engine, migration: Migration, elapsed: float) -> None:
    try:
        with engine.begin() as connection:
            if sa.inspect(connection).has_table(schema_history.name):
                connection.execute(
                    sa.insert(schema_history).values(
                        _history_values(migration, int(elapsed * 1000), datetime.now(UTC), success=False)
                    )
                )
    except sa.exc.DBAPIError:
        log.warning("could not record the failure of migration %s in the history", migration.revision, exc_info=True)


def dry_run_sql(config: Database) -> tuple[str | None, str]:
    """The SQL ``migrate`` would run, for the configured dialect, and the version it starts from.

    Reads the current version when the database exists; writes nothing anywhere.
    """
    from alembic import command

    url = parse_url(config.url)
    current = None
    if database_exists(config):
        engine = create_engine(config, create=False)
        try:
            current = current_state(engine).current
        finally:
            engine.dispose()
    if current == head():
        return current, ""

    def record(ctx: MigrationContext, step: MigrationInfo, heads: set[str], run_args: dict[str, Any]) -> None:
        revision = step.up_revision_id
        if revision is None:  # upgrades only: every step names the revision it applies
            raise RuntimeError(f"migration step without a revision: {step}")
        migration = by_revision()[revision]
        values = _history_values(migration, 0, sa.func.current_timestamp(), success=True)
        ctx.execute(sa.insert(schema_history).values(values))

    buffer = io.StringIO()
    cfg = alembic_config(dialect_name=url.get_dialect().name, on_version_apply=[record])
    cfg.output_buffer = buffer
    command.upgrade(cfg, f"{current}:head" if current else "head", sql=True)
    return current, buffer.getvalue()


def repair(engine: Engine, confirm: Callable[[list[tuple[Migration, str]]], bool]) -> list[Migration]:
    """Record the current checksum of changed migrations, once ``confirm`` agrees."""
    check_connection(engine)
    with engine.connect() as connection:
        state = read_state(connection)
    if not state.known:
        verify(state, where(engine))  # raises: repairing a newer schema would hide a downgrade
    mismatches = state.checksum_mismatches()
    if not mismatches or not confirm([(m, row.checksum) for m, row in mismatches]):
        return []
    with engine.begin() as connection:
        for migration, row in mismatches:
            connection.execute(
                sa.update(schema_history)
                .where(schema_history.c.installed_rank == row.installed_rank)
                .values(checksum=migration.checksum)
            )
    return [m for m, _ in mismatches]


@contextmanager
def _every(period: float, action: Callable[[], None]) -> Iterator[None]:
    """Call ``action`` every ``period`` seconds while the block runs (a liveness ticker)."""
    ticker = Periodic("migration-alive", period, action, failure="cannot report the migration still running",
                      logger=log).start()
    try:
        yield
    finally:
        ticker.stop()
