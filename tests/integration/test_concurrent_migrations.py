"""Several processes migrating one database at once: exactly one applies, all end at head."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import sqlalchemy as sa

from lanner.store import migrator
from lanner.store.database import create_engine, process_label
from lanner.store.migration_lock import migration_lock
from lanner.store.migration_scripts import catalog, head
from lanner.store.tables import schema_history
from tests.helpers import config_for


def _spawn(database_url: str) -> subprocess.Popen[str]:
    # Callers use it as a context manager or communicate() with it, so its pipes get closed.
    return subprocess.Popen(
        [sys.executable, "-m", "lanner", "sys", "database", "migrate"],
        env={**os.environ, "LANNER_DATABASE_URL": database_url},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_racing_migrators_apply_each_migration_once(database_url):
    processes = [_spawn(database_url) for _ in range(3)]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert sum("migrated to version" in out for out in outputs) == 1, outputs
    assert sum(f"up to date at version {head()}" in out for out in outputs) == 2, outputs
    engine = create_engine(config_for(database_url).settings.database)
    try:
        with engine.connect() as connection:
            versions = connection.execute(sa.select(schema_history.c.version)).scalars().all()
        assert sorted(versions) == [m.revision for m in catalog()]
        assert migrator.current_state(engine).current == head()
    finally:
        engine.dispose()


def test_a_waiting_migrator_names_the_holder_then_continues(database_url):
    engine = create_engine(config_for(database_url).settings.database)
    try:
        with migration_lock(engine, timedelta(seconds=5), lambda *a: None):
            waiter = _spawn(database_url)
            first_line = waiter.stdout.readline()
        rest = waiter.communicate(timeout=120)[0]
        assert "Waiting for the migration lock held by" in first_line, first_line
        assert process_label() in first_line  # this test process holds it
        assert waiter.returncode == 0, rest
        assert f"migrated to version {head()}" in rest
    finally:
        engine.dispose()


def test_a_crashed_holder_releases_the_lock(database_url):
    # The lock lives in the holder's session (PostgreSQL) or transaction (SQLite):
    # killing the holder must free it, with nothing for an operator to clean up.
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD_AND_WAIT],
        env={**os.environ, "LANNER_DATABASE_URL": database_url},
        stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
    ) as holder:
        assert holder.stdout.readline().strip() == "locked"
        holder.kill()
        holder.wait(30)
    config = config_for(database_url, DATABASE_MIGRATION_LOCK_TIMEOUT="60s").settings.database
    engine = create_engine(config)
    try:
        result = migrator.migrate(engine, config)
        assert result.version == head() and result.applied
    finally:
        engine.dispose()


_HOLD_AND_WAIT = """
import sys
from datetime import timedelta
from lanner.config import load_config
from lanner.store.database import create_engine
from lanner.store.migration_lock import migration_lock
engine = create_engine(load_config().settings.database)
with migration_lock(engine, timedelta(seconds=5), lambda *a: None):
    print("locked", flush=True)
    sys.stdin.readline()
"""
