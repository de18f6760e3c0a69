"""``lanner sys upgrade check``: run the new Lanner against the live database before migrating it."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options

if TYPE_CHECKING:
    from lanner.upgrade.check import Report


@click.group(context_settings=CONTEXT_SETTINGS)
def upgrade() -> None:
    """Upgrades: check what upgrading this database to this Lanner will do, before migrating."""


@upgrade.command(context_settings=CONTEXT_SETTINGS)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@common_options
def check(app: App, fmt: str) -> None:
    """Report what the upgrade to this Lanner will do to the live database; write nothing.

    Schema and the version that last migrated it, pending migrations with their expected
    duration here and whether they lock writes, deprecated or removed configuration keys
    and flow syntax in use, live instances and their versions, the latest backup, and the
    breaking changes in between. Exits 11 when any item is a blocker, 0 otherwise.
    """
    import sqlalchemy as sa

    from lanner.errors import ExitCode
    from lanner.store.database import check_connection, create_engine, unavailable
    from lanner.upgrade.check import run_check

    engine = create_engine(app.loaded.settings.database, create=False)
    try:
        check_connection(engine)
        try:
            report = run_check(engine, app.loaded)
        except sa.exc.OperationalError as exc:
            raise unavailable(engine, exc) from None
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        print_report(report)
    if report.blockers:
        sys.exit(int(ExitCode.UPGRADE_BLOCKED))


def print_report(report: Report) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    db, binary = report.database, report.binary
    console.print(f"Database:        {escape(db['url'])} ({db['backend']})")
    console.print(f"Schema:          {db['schemaVersion'] or 'none (empty database)'}, last migrated by Lanner "
                  f"{db['migratedBy'] or 'unknown'}" + (f" at {db['lastMigratedAt']}" if db["lastMigratedAt"] else ""))
    console.print(f"This Lanner:     {binary['version']} (schema {binary['schemaHead']})")
    console.print(f"Versions:        {', '.join(report.versions_between) or 'none in between'}")
    if report.up_to_date:
        console.print(f"Up to date:      the database was last migrated by this Lanner {binary['version']} "
                      f"(schema {binary['schemaHead']}); no migration, breaking change or deprecation in between.")

    console.rule("Pending migrations")
    if not report.migrations:
        console.print("None: the schema is up to date.")
    for migration in report.migrations:
        lock = "[bold red]locks writes[/]" if migration["locksWrites"] else "no write lock"
        console.print(f"[bold]{migration['revision']}[/] {escape(migration['description'])}: "
                      f"about {_seconds(migration['expectedSeconds'])}, {lock}")
        for step in migration["steps"]:
            size = f" ({step['rows']:,} rows, {_bytes(step['bytes'])})" if step["table"] else ""
            console.print(f"    - {escape(step['detail'])}{size}: {_seconds(step['seconds'])}"
                          + (", locks writes" if step["locks_writes"] else ""))

    console.rule("Configuration")
    if not report.config:
        console.print("No deprecated or removed keys in use.")
    for entry in report.config:
        instead = f"; use {entry['replacement']}" if entry["replacement"] else ""
        console.print(f"{entry['kind']}: {escape(entry['key'])} ({escape(entry['source'])}){escape(instead)}")

    console.rule("Stored flows")
    if not report.flows:
        console.print("No deprecated or removed syntax in the current revisions.")
    else:
        table = Table(box=box.SIMPLE)
        for column in ("Namespace", "Flow", "Rev", "Path", "Line", "Finding", "Auto-fix"):
            table.add_column(column, overflow="fold")
        for f in report.flows:
            table.add_row(f["namespace"], f["flowId"], str(f["revision"]), f["path"], str(f["line"] or ""),
                          escape(f["message"]), "yes" if f["autoFix"] else "no")
        console.print(table)
        if any(f["autoFix"] for f in report.flows):
            console.print("`lanner flow migrate --all --dry-run` shows the rewrite; without --dry-run it saves "
                          "a new revision of each flow.")

    console.rule("Live instances")
    if not report.instances:
        console.print("None alive.")
    for instance in report.instances:
        note = {"newer": "  [bold red]newer than this Lanner[/]", "old-worker": "  [yellow]old worker[/]"}.get(
            instance["problem"] or "", "")
        console.print(f"{instance['type']:<10} {escape(instance['hostname'])}:{instance['pid']}  "
                      f"Lanner {instance['version']}  {instance['state']}{note}")

    console.rule("Backup")
    backup = report.backup
    if backup["latest"] is None:
        console.print(f"No backup found in {escape(backup['folder'])}: age unknown.")
    else:
        console.print(f"Latest: {escape(backup['latest'])}, {_seconds(backup['ageSeconds'] or 0)} old "
                      f"(from its {backup['source']})")

    console.rule("Breaking changes and deprecations in between")
    if not report.changes:
        console.print("None: nothing to upgrade." if report.up_to_date else "None.")
    for change in report.changes:
        fixed = " [green](lanner flow migrate fixes it)[/]" if change["fix"] else ""
        console.print(f"[bold]{change['version']}[/] {change['kind']} [bold]{change['id']}[/] "
                      f"({change['affects']['kind']} {escape(change['affects']['name'])}): {escape(change['summary'])}")
        console.print(f"    Action: {escape(change['action'])}{fixed}")

    console.rule("Verdict")
    styles = {"blocker": "bold red", "warning": "yellow", "info": "dim"}
    for item in report.items:
        console.print(f"[{styles[item.severity]}]{item.severity.upper()}[/] {escape(item.message)}")
    if report.blockers:
        console.print(f"[bold red]{len(report.blockers)} blocker(s): do not upgrade yet (exit code 11).[/]")
    elif report.up_to_date:
        console.print(f"Nothing to upgrade ({len(report.warnings)} warning(s)).")
    else:
        console.print(f"No blockers ({len(report.warnings)} warning(s)): back up, then migrate "
                      "(lanner sys database migrate).")


def _seconds(value: float) -> str:
    if value < 1:
        return "under a second"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.0f} min"
    if value < 2 * 86400:
        return f"{value / 3600:.1f} h"
    return f"{value / 86400:.0f} d"


def _bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
