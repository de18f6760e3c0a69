"""``lanner flow migrate``: rewrite flows written with deprecated syntax, in files or in the database."""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lanner.cli.common import CONTEXT_SETTINGS, App, common_options
from lanner.model.tenant import DEFAULT_TENANT

if TYPE_CHECKING:
    from lanner.flows.registry import Registry
    from lanner.upgrade.rewrite import Rewrite


@click.command(context_settings=CONTEXT_SETTINGS)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--namespace", "namespace_id", metavar="NS",
              help="Migrate the stored flows of namespace NS (and its child namespaces).")
@click.option("--all", "all_flows", is_flag=True, help="Migrate every stored flow, in every tenant.")
@click.option("--dry-run", is_flag=True, help="Print the diffs; write nothing.")
@common_options
def migrate(app: App, paths: tuple[Path, ...], namespace_id: str | None, all_flows: bool, dry_run: bool) -> None:
    """Rewrite flows to current syntax: files (PATH...) or stored flows (--namespace NS | --all).

    Kestra's older type names become the current ones, taskDefaults becomes
    pluginDefaults, EachSequential/EachParallel become ForEach, Echo becomes Log (every
    automatic fix of the release notes). Comments, key order and formatting are kept; a
    unified diff is printed per flow. Files are replaced atomically; each changed stored
    flow gets a new revision, all in one transaction. A flow whose meaning could change
    is reported and left alone. Running it again changes nothing. Exits 0, or 1 when a
    flow was left alone.
    """
    from lanner.errors import UsageError

    chosen = sum((bool(paths), namespace_id is not None, all_flows))
    if chosen != 1:
        raise UsageError("give flow files or folders, or --namespace NS, or --all (one of them)",
                         "Examples: lanner flow migrate flows/ | "
                         "lanner flow migrate --namespace company.team --dry-run")
    from lanner.cli.flow import _registry

    registry = _registry(app)
    outcome = _files(list(paths), registry, dry_run) if paths else _stored(app, registry, namespace_id, dry_run)
    changed, unchanged, refused = outcome
    verb = "would be migrated" if dry_run else "migrated"
    click.echo(f"{changed + unchanged + refused} flow(s): {changed} {verb}, {unchanged} already current, "
               f"{refused} left alone.")
    if refused:
        sys.exit(1)


def _report(name: str, rewrite: Rewrite, dry_run: bool) -> str:
    if rewrite.refused:
        for reason in rewrite.refused:
            click.echo(f"{name}: left alone: {reason}", err=False)
        return "refused"
    if not rewrite.changed:
        return "unchanged"
    diff = difflib.unified_diff(rewrite.source.splitlines(keepends=True), rewrite.new_source.splitlines(keepends=True),
                                f"{name} (before)", f"{name} (after)")
    text = "".join(diff)
    click.echo(text if text.endswith("\n") else text + "\n", nl=False)
    return "changed"


def _files(paths: list[Path], registry: Registry, dry_run: bool) -> tuple[int, int, int]:
    from lanner.flows.files import flow_files, read_source
    from lanner.upgrade.rewrite import rewrite_source

    counts = {"changed": 0, "unchanged": 0, "refused": 0}
    for path in flow_files(paths):
        rewrite = rewrite_source(read_source(path), registry)
        outcome = _report(str(path), rewrite, dry_run)
        counts[outcome] += 1
        if outcome == "changed" and not dry_run:
            write_atomically(path, rewrite.new_source)
    return counts["changed"], counts["unchanged"], counts["refused"]


def write_atomically(path: Path, text: str) -> None:
    """Write a temporary file next to ``path``, sync it, then rename it over ``path`` (keeping its mode)."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _stored(app: App, registry: Registry, namespace_id: str | None, dry_run: bool) -> tuple[int, int, int]:
    import sqlalchemy as sa

    from lanner.errors import UsageError
    from lanner.flows.validator import validate_source
    from lanner.store import flow_repository
    from lanner.store.database import create_engine, unavailable, write_connection
    from lanner.store.migrator import current_state
    from lanner.upgrade.rewrite import rewrite_source

    engine = create_engine(app.loaded.settings.database, create=False)
    counts = {"changed": 0, "unchanged": 0, "refused": 0}
    try:
        current_state(engine)  # exit 3 for a newer Lanner's schema, 5 for a changed migration
        try:
            with write_connection(engine) as connection, connection.begin():
                for stored in flow_repository.all_current(connection):
                    if namespace_id is not None and not (stored.namespace == namespace_id
                                                         or stored.namespace.startswith(namespace_id + ".")):
                        continue
                    name = f"{stored.namespace}.{stored.flow_id} (revision {stored.revision})"
                    if stored.tenant_id != DEFAULT_TENANT:
                        name = f"{stored.tenant_id}/{name}"
                    rewrite = rewrite_source(stored.source, registry)
                    outcome = _report(name, rewrite, dry_run)
                    counts[outcome] += 1
                    if outcome == "changed" and not dry_run:
                        flow = validate_source(rewrite.new_source, None, registry).flow
                        if flow is None:  # rewrite_source has validated it: a guard, not an expected outcome
                            raise UsageError(f"{name}: the rewritten flow does not validate; nothing was saved "
                                             "(please report it)")
                        saved = flow_repository.save_flow(connection, flow, rewrite.new_source, stored.tenant_id)
                        click.echo(f"{name}: saved as revision {saved.revision}")
        except sa.exc.OperationalError as exc:
            raise unavailable(engine, exc) from None
    finally:
        engine.dispose()
    return counts["changed"], counts["unchanged"], counts["refused"]
