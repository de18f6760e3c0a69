"""The backup taken before migrations, and the rollback it makes one command.

With ``lanner.database.backup-before-migrate`` on (unset: on for SQLite, off for
PostgreSQL, where a large database makes a logical backup slow and operators usually
have their own), ``lanner sys database migrate`` and the auto-migration of components
back the database up, with its data, under the migration lock, just before the first
pending migration runs.  The file is named after the two schema versions
(``lanner-before-0002-to-0003-<UTC time>.lbak`` in ``lanner.backup.folder``) and is
encrypted with ``lanner.backup.encryption-key`` when one is configured, written
unencrypted (with a warning) otherwise: it stays on this machine, next to the data it
copies.  Internal-storage files are not copied: migrations never touch them.

If the backup fails, nothing is migrated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lanner import version as lanner_version

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.config.loader import LoadedConfig
    from lanner.store.migration_scripts import Migration

log = logging.getLogger(__name__)


def enabled(loaded: LoadedConfig) -> bool:
    configured = loaded.settings.database.backup_before_migrate
    if configured is not None:
        return configured
    return loaded.settings.database.url.startswith("sqlite")


def file_name(current: str, target: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"lanner-before-{current}-to-{target}-{stamp}.lbak"


def rollback_steps(path: Path, config_suffix: str = "") -> str:
    return (
        f"To roll back this upgrade to Lanner {lanner_version()}:\n"
        "  1. stop every Lanner component (webservers, executors, workers, schedulers);\n"
        f"  2. lanner backups restore {path} --yes --no-migrate{config_suffix}\n"
        f"  3. pip install lanner=={lanner_version()}, then start the components again."
    )


def _log_lines(text: str) -> None:
    for line in text.splitlines():
        log.warning("%s", line)


def hook(loaded: LoadedConfig,
         announce: Callable[[str], None] | None = None) -> Callable[[Engine, str | None, list[Migration]], None] | None:
    """The ``before`` callback of :func:`lanner.store.migrator.migrate`, or None when switched off."""
    if not enabled(loaded):
        return None
    say = announce or _log_lines
    suffix = f" -c {loaded.explicit_path}" if loaded.explicit_path else ""

    def before(engine: Engine, current: str | None, pending: list[Migration]) -> None:
        if current is None:
            return  # an empty database has nothing to lose
        from lanner.ops.backups.writer import create_backup

        folder = loaded.settings.backup.folder
        path = folder / file_name(current, pending[-1].revision)
        key = loaded.settings.backup.encryption_key or None
        if key is None:
            log.warning("no lanner.backup.encryption-key configured: the pre-migration backup %s is written "
                        "unencrypted (it holds your flows, KV values and execution data; keep it private)", path)
        created = create_backup(engine, path, include_data=True, key=key, storage_root=None)
        say(f"Backed up the database before migrating from schema {current} to {pending[-1].revision}: "
            f"{created.path} ({created.size:,} bytes, {sum(created.header.counts.values()):,} rows, "
            f"{'encrypted' if key else 'unencrypted'}).\n" + rollback_steps(created.path, suffix))

    return before
