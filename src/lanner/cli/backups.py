"""``lanner backups``: create, restore, list and inspect logical backups (``docs/backups.md``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options

if TYPE_CHECKING:
    from rich.console import Console

KEY_HELP = ("Encryption key (passphrase, or 64 hex digits); "
            "default lanner.backup.encryption-key / LANNER_BACKUP_ENCRYPTION_KEY.")


@click.group(context_settings=CONTEXT_SETTINGS)
def backups() -> None:
    """Logical backups of the database: portable across backends and versions."""


@backups.command(context_settings=CONTEXT_SETTINGS)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Backup file [default: lanner-backup-<schema>-<UTC time>.lbak in lanner.backup.folder].")
@click.option("--include-data", is_flag=True,
              help="Also executions, task runs, logs, in-flight queue messages and internal-storage files.")
@click.option("--encryption-key", "key", metavar="KEY", help=KEY_HELP)
@click.option("--no-encryption", is_flag=True, help="Write the backup unencrypted (must be chosen explicitly).")
@click.option("--maintenance", is_flag=True,
              help="Enter maintenance mode, wait until the instance is quiet, back up, then exit maintenance mode.")
@click.option("--maintenance-timeout", default="5m", show_default=True,
              help="With --maintenance: how long to wait for running tasks to end.")
@common_options
def create(app: App, output: Path | None, include_data: bool, key: str | None, no_encryption: bool,
           maintenance: bool, maintenance_timeout: str) -> None:
    """Back up flows (all revisions), triggers, the KV store and settings; with --include-data, everything.

    The backup is one consistent snapshot, taken while the instance runs. It is written
    into lanner.backup.folder (created, readable by you only) unless --output names a file.
    """
    from lanner.durations import parse_duration
    from lanner.errors import UsageError
    from lanner.ops.backups.writer import create_backup
    from lanner.store.database import create_engine

    loaded = app.loaded
    if key and no_encryption:
        raise UsageError("--encryption-key and --no-encryption contradict each other: choose one")
    if not no_encryption:
        key = key or loaded.settings.backup.encryption_key or None
        if key is None:
            raise UsageError(
                "no encryption key: a backup holds your flows, KV values and secrets, so Lanner will not write it "
                "unencrypted unless told to",
                "Choose one:\n  --encryption-key KEY "
                "(or set LANNER_BACKUP_ENCRYPTION_KEY / lanner.backup.encryption-key)"
                "\n  --no-encryption, to write it unencrypted on purpose",
            )
    timeout = parse_duration(maintenance_timeout).total_seconds()
    engine = create_engine(loaded.settings.database, create=False)
    err = _console(stderr=True)
    try:
        if maintenance:
            created = _with_maintenance(engine, timeout, err, lambda: _create(
                create_backup, engine, output, include_data, key, loaded, err))
        else:
            created = _create(create_backup, engine, output, include_data, key, loaded, err)
    finally:
        engine.dispose()
    _console().print(_counts_table("Backed up", created.header.counts))
    # Its own line, never wrapped: the path is what the operator copies.
    encryption = created.header.encryption
    click.echo(f"Wrote {created.path.resolve()} ({created.size:,} bytes, schema {created.header.schema_version}, "
               f"{'encrypted ' + encryption.algorithm if encryption else 'unencrypted'}) in {created.seconds:.1f} s.")


def _create(create_backup: Any, engine: Any, output: Path | None, include_data: bool, key: str | None,
            loaded: Any, err: Console) -> Any:
    with _progress(err, "Backing up") as progress:
        return create_backup(engine, output, include_data=include_data, key=key,
                             storage_root=loaded.settings.storage.path, progress=progress,
                             folder=loaded.settings.backup.folder)


def _with_maintenance(engine: Any, timeout: float, err: Console, action: Any) -> Any:
    from lanner.errors import WaitTimeoutError
    from lanner.ops import maintenance  # provided by the maintenance-mode work (issue 9, item 1)

    maintenance.enter(engine, reason="lanner backups create --maintenance")
    err.print("Entered maintenance mode; waiting for running tasks to end...")
    try:
        if not maintenance.wait_quiet(engine, timeout):
            raise WaitTimeoutError(
                f"the instance was still busy after {timeout:.0f} s of maintenance mode: no backup was taken",
                "Run 'lanner sys maintenance status' to see what is running, or raise --maintenance-timeout.",
            )
        return action()
    finally:
        maintenance.exit(engine)
        err.print("Left maintenance mode.")


@backups.command(context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--encryption-key", "key", metavar="KEY", help=KEY_HELP)
@click.option("-y", "--yes", is_flag=True, help="Replace the content of a database that is not empty.")
@click.option("--no-migrate", is_flag=True,
              help="Leave the database at the backup's schema version (a rollback to the release that made it).")
@click.option("--force", is_flag=True,
              help="Restore although live servers use the database (only in maintenance mode): "
                   "each of them then exits with code 13 at its next heartbeat, for its supervisor to restart it.")
@common_options
def restore(app: App, file: Path, key: str | None, yes: bool, no_migrate: bool, force: bool) -> None:
    """Verify a backup completely, then restore it all or nothing into the configured database.

    No Lanner server may be using the database (exit 12 names them), unless --force is
    given during maintenance mode. The database must be empty, or --yes replaces its
    whole content. Then the schema is migrated to this Lanner's version (unless --no-migrate).
    """
    from lanner.ops.backups.reader import BackupFile
    from lanner.ops.backups.restore import check_schema, restore_backup
    from lanner.store.database import create_engine

    loaded = app.loaded
    backup = BackupFile(file, key or loaded.settings.backup.encryption_key or None, key_explicit=bool(key))
    check_schema(backup.header, str(file))
    err = _console(stderr=True)
    engine = create_engine(loaded.settings.database)
    try:
        err.print(f"Verifying {file} before writing anything...")
        with _progress(err, "Restoring") as progress:
            restored = restore_backup(engine, loaded.settings.database, backup, replace=yes,
                                      storage_root=loaded.settings.storage.path, progress=progress,
                                      migrate=not no_migrate, force=force,
                                      liveness_timeout=loaded.settings.server.liveness.timeout.total_seconds())
    finally:
        engine.dispose()
    out = _console()
    out.print(_counts_table(f"Restored {file}", restored.counts))
    out.print(f"Restored {sum(restored.counts.values()):,} rows from {file} (schema {backup.header.schema_version}, "
              f"Lanner {backup.header.lanner_version}, {backup.header.source_backend})"
              f"{', replacing the previous content' if restored.replaced else ''} in {restored.seconds:.1f} s "
              f"(verification {restored.verify_seconds:.1f} s); the database is at schema {restored.schema_version}.")
    if restored.forced_under:
        out.print(f"{restored.forced_under} running Lanner instance(s) used the database: each exits with code 13 "
                  "at its next heartbeat, for its supervisor to start it again.")
    if restored.maintenance:
        out.print("Maintenance mode is still on, as it was: run 'lanner sys maintenance exit' once the servers run "
                  "again.")


@backups.command("list", context_settings=CONTEXT_SETTINGS)
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False))
@common_options
def list_(app: App, folder: Path | None) -> None:
    """List the backups of a folder [default: the current folder and lanner.backup.folder], newest first."""
    from rich import box
    from rich.table import Table

    from lanner.errors import LannerError
    from lanner.ops.backups.frames import read_header

    folders = [folder] if folder else list(dict.fromkeys([Path("."), app.loaded.settings.backup.folder]))
    found = sorted((p for f in folders if f.is_dir() for p in f.glob("*.lbak")), key=lambda p: p.stat().st_mtime,
                   reverse=True)
    table = Table(box=box.SIMPLE)
    for column in ("File", "Created (UTC)", "Schema", "Lanner", "Source", "Data", "Encrypted", "Rows", "Size"):
        table.add_column(column, overflow="fold")
    for path in found:
        try:
            with path.open("rb") as source:
                header, _ = read_header(source, str(path))
        except (LannerError, OSError) as exc:
            table.add_row(str(path), f"unreadable: {exc}", "", "", "", "", "", "", "")
            continue
        table.add_row(str(path), header.created_at[:19].replace("T", " "), header.schema_version,
                      header.lanner_version, header.source_backend, "yes" if header.include_data else "no",
                      "yes" if header.encryption else "no", f"{sum(header.counts.values()):,}",
                      f"{path.stat().st_size:,}")
    console = _console()
    if not found:
        console.print(f"No backups (*.lbak) in {', '.join(str(f) for f in folders)}.")
        return
    console.print(table)


@backups.command(context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--encryption-key", "key", metavar="KEY", help=KEY_HELP)
@common_options
def inspect(app: App, file: Path, key: str | None) -> None:
    """Show a backup's manifest and counts, and verify it completely (exit 9 when it does not verify)."""
    from lanner.errors import LannerError
    from lanner.ops.backups.reader import BackupFile

    backup = BackupFile(file, key or app.loaded.settings.backup.encryption_key or None, key_explicit=bool(key))
    header = backup.header
    console = _console()
    console.print(f"File:        {file} ({file.stat().st_size:,} bytes)")
    console.print(f"Format:      {header.format} (zstd JSON lines)")
    console.print(f"Created:     {header.created_at} by Lanner {header.lanner_version}")
    console.print(f"Schema:      {header.schema_version}")
    console.print(f"Source:      {header.source_backend}")
    console.print(f"Data:        {'included' if header.include_data else 'not included (definitions only)'}")
    enc = header.encryption
    console.print(f"Encryption:  {f'{enc.algorithm}, key derived with {enc.kdf}' if enc else 'none'}")
    try:
        verified = backup.verify()
    except LannerError:
        console.print("Verifies:    NO")
        raise
    table = _counts_table("Contents", verified.counts, verified.sha256)
    console.print(table)
    console.print("Verifies:    yes (every frame, checksum and count)")


def _counts_table(title: str, counts: dict[str, int], sums: dict[str, str] | None = None) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE)
    table.add_column("Entity")
    table.add_column("Rows", justify="right")
    if sums is not None:
        table.add_column("SHA-256")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}", *([sums.get(name, "")[:16] + "..."] if sums is not None else []))
    table.add_row("total", f"{sum(counts.values()):,}", *([""] if sums is not None else []))
    return table


class _progress:  # noqa: N801 - a context manager
    """rich progress bars, one per entity, on standard error when it is a terminal."""

    def __init__(self, console: Console, verb: str) -> None:
        self.console = console
        self.verb = verb
        self.tasks: dict[str, Any] = {}
        self.bar: Any = None

    def __enter__(self) -> _progress:
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=self.console)
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start(self, entity: str, total: int) -> None:
        if self.bar is not None:
            self.tasks[entity] = self.bar.add_task(f"{self.verb} {entity}", total=total)

    def advance(self, entity: str, rows: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.tasks[entity], rows)


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(highlight=False, stderr=stderr, width=None if stream.isatty() else 200)
