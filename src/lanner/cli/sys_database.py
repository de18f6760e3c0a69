"""``lanner sys database``: migrate, inspect and repair the schema."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options

if TYPE_CHECKING:
    from rich.console import Console

    from lanner.store.migration_scripts import Migration


@click.group(context_settings=CONTEXT_SETTINGS)
def database() -> None:
    """The database schema: status, migrations and repair."""


@database.command(context_settings=CONTEXT_SETTINGS)
@click.option("--dry-run", is_flag=True, help="Print the SQL for the configured database instead; change nothing.")
@common_options
def migrate(app: App, dry_run: bool) -> None:
    """Force database schema migration.

    Applies every pending migration, under a lock so that concurrent runs are safe,
    with the same options and configuration as the server. Running it again when
    the schema is current does nothing.
    """
    from lanner.ops.backups import pre_migration
    from lanner.store import migrator
    from lanner.store.database import create_engine

    config = app.loaded.settings.database
    if dry_run:
        current, sql = migrator.dry_run_sql(config)
        if not sql:
            click.echo(f"-- The schema is up to date at version {current}: nothing to run.")
        else:
            click.echo(sql, nl=False)
        return
    console = _console()
    engine = create_engine(config)
    try:
        started = time.monotonic()
        before = pre_migration.hook(app.loaded, announce=console.print)
        result = migrator.migrate(engine, config, _ConsoleReporter(console), before=before)
    finally:
        engine.dispose()
    if not result.applied:
        console.print(f"Database schema is up to date at version {result.version}.")
    else:
        count = len(result.applied)
        console.print(
            f"Database schema migrated to version {result.version} "
            f"({count} migration{'s' if count > 1 else ''} in {time.monotonic() - started:.2f} s)."
        )


@database.command(context_settings=CONTEXT_SETTINGS)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
def status(app: App, fmt: str) -> None:
    """Show the database, its schema version, pending migrations and the migration history."""
    from lanner.store.database import create_engine, database_exists, masked_url, parse_url
    from lanner.store.migration_scripts import head, pending_after
    from lanner.store.schema_state import SchemaState, read_state, verify

    config = app.loaded.settings.database
    exists = database_exists(config)
    state = SchemaState(None)
    if exists:
        engine = create_engine(config, create=False)
        try:
            exists = _reachable(engine)
            if exists:
                with engine.connect() as connection:
                    state = read_state(connection)
        finally:
            engine.dispose()
        if not state.known:
            verify(state, masked_url(config.url))
    mismatches = {m.revision for m, _ in state.checksum_mismatches()}
    pending = pending_after(state.current)
    info = {
        "dialect": parse_url(config.url).get_backend_name(),
        "url": masked_url(config.url),
        "exists": exists,
        "schemaVersion": state.current,
        "appliedBy": state.applied_by(state.current),
        "codeHead": head(),
        "pending": [{"version": m.revision, "description": m.description} for m in pending],
        "history": [
            {
                "installedRank": r.installed_rank, "version": r.version, "description": r.description,
                "script": r.script, "checksum": r.checksum, "lannerVersion": r.lanner_version,
                "installedBy": r.installed_by, "installedOn": r.installed_on.isoformat(),
                "executionTimeMs": r.execution_time_ms, "success": r.success,
                "checksumMatches": r.version not in mismatches or not r.success,
            }
            for r in state.history
        ],
    }
    if fmt == "json":
        click.echo(json.dumps(info, indent=2))
    else:
        _print_status(info)
    if mismatches:
        verify(state, masked_url(config.url))


def _reachable(engine: Any) -> bool:
    """Connect once; False for a PostgreSQL database not created yet (``migrate`` creates it)."""
    import sqlalchemy as sa

    from lanner.store.database import unavailable
    from lanner.store.postgres_database import is_missing_database

    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError as exc:
        if is_missing_database(exc):
            return False
        raise unavailable(engine, exc) from None


def _print_status(info: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    from lanner import version

    console = _console()
    console.print(f"Database:     {info['dialect']}  {info['url']}")
    if not info["exists"]:
        console.print("Schema:       none (the database does not exist yet; 'lanner sys database migrate' "
                      "creates it)")
    elif info["schemaVersion"] is None:
        console.print("Schema:       none (empty database)")
    else:
        applied_by = info['appliedBy'] or 'unknown'
        console.print(f"Schema:       version {info['schemaVersion']} (applied by Lanner {applied_by})")
    console.print(f"Code head:    version {info['codeHead']} (Lanner {version()})")
    if info["pending"]:
        console.print(f"Pending:      {len(info['pending'])} migration(s)")
        for m in info["pending"]:
            console.print(f"  {m['version']}  {m['description']}")
        console.print("Run 'lanner sys database migrate' to apply them (back up the database first).")
    else:
        console.print("Pending:      none, the schema is up to date")
    if not info["history"]:
        console.print("History:      empty")
        return
    table = Table(title="Migration history (lanner_schema_history)", title_justify="left", box=box.SIMPLE)
    for column in ("Rank", "Version", "Description", "Lanner", "Installed on", "By", "Time", "Result"):
        table.add_column(column, overflow="fold")
    for row in info["history"]:
        result = "success" if row["success"] else "FAILED"
        if not row["checksumMatches"]:
            result += ", CHECKSUM CHANGED"
        table.add_row(
            str(row["installedRank"]), row["version"], row["description"], row["lannerVersion"],
            row["installedOn"][:19].replace("T", " "), row["installedBy"], f"{row['executionTimeMs']} ms", result,
        )
    console.print(table)


@database.command(context_settings=CONTEXT_SETTINGS)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@common_options
def repair(app: App, yes: bool) -> None:
    """Accept changed migration files: record their current checksums in the history.

    Use it only when the change is known to be harmless (a comment, formatting):
    the schema itself is not changed.
    """
    from lanner.errors import UsageError
    from lanner.store import migrator
    from lanner.store.database import create_engine

    def confirm(mismatches: list[tuple[Migration, str]]) -> bool:
        for migration, recorded in mismatches:
            click.echo(f"{migration.revision} ({migration.script}): recorded {recorded}, file now {migration.checksum}")
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(
                "repair needs confirmation and there is no terminal to ask on",
                "Run it again with --yes to record the new checksums.",
            )
        return click.confirm("Record the new checksums?", default=False)

    engine = create_engine(app.loaded.settings.database, create=False)
    try:
        repaired = migrator.repair(engine, confirm)
    finally:
        engine.dispose()
    if repaired:
        click.echo(f"Recorded new checksums for {', '.join(m.revision for m in repaired)}.")
    else:
        click.echo("Nothing to repair: every applied migration matches its file.")


class _ConsoleReporter:
    """Migration progress for people: a line per migration, with its duration."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Any = None

    def waiting_for_lock(self, holder: str | None, waited: float) -> None:
        self.console.print(f"Waiting for the migration lock held by {holder or 'another process'} "
                           f"({waited:.0f} s so far)...")

    def started(self, migration: Migration, index: int, total: int) -> None:
        text = f"[{index}/{total}] {migration.revision} {migration.description}"
        if self.console.is_terminal:
            self._status = self.console.status(text + " ...")
            self._status.start()
        else:
            self.console.print(text + " ...")

    def still_running(self, migration: Migration, elapsed: float) -> None:
        self.console.print(f"  {migration.revision} still running after {elapsed:.0f} s")

    def finished(self, migration: Migration, elapsed: float) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        self.console.print(f"  done {migration.revision} {migration.description} in {elapsed:.2f} s")


def _console() -> Console:
    from rich.console import Console

    # Piped output (scripts, CI logs) gets a wide fixed width instead of being folded at 80 columns.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
