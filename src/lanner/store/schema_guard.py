"""What a starting component does about the schema before it does anything else.

* schema newer than the code: refuse (exit 3), nothing written;
* an applied migration changed: refuse (exit 5);
* migrations pending and the component may migrate with ``auto-migrate: true``: migrate
  (under the lock, so of several components starting at once exactly one does);
* pending and ``auto-migrate: false``: refuse with the exact command to run (exit 4);
* pending and the component never migrates on its own: wait, bounded by
  ``lanner.database.schema-wait-timeout``, for another process to migrate.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from lanner import version as lanner_version
from lanner.errors import DatabaseUnavailableError, SchemaOutdatedError, WaitTimeoutError
from lanner.store.database import create_engine, database_exists, masked_url
from lanner.store.migration_scripts import head, pending_after
from lanner.store.migrator import BeforeMigrate, Reporter, current_state, migrate, where

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.config.loader import LoadedConfig

log = logging.getLogger(__name__)
REPORT_EVERY = 5.0
_WAITING = "waiting for the schema to reach version %s (database at %s); start a component that migrates, or run '%s'"
_POLL = 0.25


def migrate_command(loaded: LoadedConfig) -> str:
    """The command an operator runs to migrate with the configuration this process used."""
    suffix = f" -c {loaded.explicit_path}" if loaded.explicit_path else ""
    return f"lanner sys database migrate{suffix}"


def prepare_database(loaded: LoadedConfig, *, may_migrate: bool, reporter: Reporter | None = None,
                     before_migrate: BeforeMigrate | None = None) -> Engine:
    """Return an engine on a database whose schema is exactly this code's head, or raise.

    ``before_migrate`` runs before migrations are applied (the CLI passes the
    pre-migration backup of ``lanner.database.backup-before-migrate``).
    """
    config = loaded.settings.database
    migrates = may_migrate and config.auto_migrate
    if not migrates and not database_exists(config):
        if may_migrate:
            raise _outdated(loaded, location=masked_url(config.url), current=None)
        _wait_for_file(loaded)
    engine = create_engine(config, create=migrates)
    try:
        state = current_state(engine)
        if state.pending:
            if migrates:
                migrate(engine, config, reporter, before=before_migrate)
            elif may_migrate:
                raise _outdated(loaded, location=where(engine), current=state.current)
            else:
                wait_for_schema(engine, loaded)
        return engine
    except BaseException:
        engine.dispose()
        raise


def _outdated(loaded: LoadedConfig, *, location: str, current: str | None) -> SchemaOutdatedError:
    names = ", ".join(f"{m.revision} ({m.description})" for m in pending_after(current))
    return SchemaOutdatedError(
        f"the database {location} is at schema version {current or 'none (empty)'} but this "
        f"Lanner {lanner_version()} needs {head()}; pending: {names}. Automatic migration is off "
        f"(lanner.database.auto-migrate from {loaded.source_of(('database', 'auto_migrate'))}).",
        f"Back up the database, then run:\n  {migrate_command(loaded)}\nand start again.",
    )


def wait_for_schema(engine: Engine, loaded: LoadedConfig) -> None:
    """Poll until another process has migrated the schema to this code's head."""
    timeout = loaded.settings.database.schema_wait_timeout.total_seconds()
    started = time.monotonic()
    next_report = started
    while True:
        state = current_state(engine)  # also refuses if the other process went past our head
        if not state.pending:
            return
        now = time.monotonic()
        if now - started >= timeout:
            raise WaitTimeoutError(
                f"gave up after {now - started:.0f} s waiting for the schema of {where(engine)} to reach "
                f"version {head()} (it is at {state.current or 'none'})",
                "A component that migrates (webserver, executor, scheduler or standalone) must start first, "
                f"or run:\n  {migrate_command(loaded)}",
            )
        if now >= next_report:
            log.warning(_WAITING, head(), state.current or "none", migrate_command(loaded))
            next_report = now + REPORT_EVERY
        time.sleep(_POLL)


def _wait_for_file(loaded: LoadedConfig) -> None:
    """A SQLite file that does not exist yet is created by the first process that migrates."""
    config = loaded.settings.database
    deadline = time.monotonic() + config.schema_wait_timeout.total_seconds()
    next_report = time.monotonic()
    while not database_exists(config):
        now = time.monotonic()
        if now >= deadline:
            raise DatabaseUnavailableError(
                "the embedded database does not exist yet and no process created it",
                f"Run:\n  {migrate_command(loaded)}",
            )
        if now >= next_report:
            log.warning(_WAITING, head(), "none (no database file yet)", migrate_command(loaded))
            next_report = now + REPORT_EVERY
        time.sleep(_POLL)
