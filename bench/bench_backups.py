"""Backup and restore benchmark: 1,000,000 log rows and 100,000 executions on PostgreSQL.

Rows are seeded with ``INSERT ... SELECT generate_series`` (seconds, not minutes).  Then
the real CLI runs as a child process: ``lanner backups create --include-data`` with an
encryption key, and ``lanner backups restore`` of that file into a second, empty
database.  Measured: rows per second each way (wall time of the whole command,
verification included for the restore) and each command's peak RSS (``ru_maxrss`` of
the waited child).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from bench_engine import pg_database

from lanner.store.database import create_engine
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for

LOGS = 1_000_000
EXECUTIONS = 100_000
ROWS_PER_S = 20_000
RSS_MB = 200


def _seed(url: str) -> None:
    engine = prepare_database(config_for(url), may_migrate=True)
    try:
        with engine.begin() as c:
            c.execute(sa.text(f"""
                INSERT INTO executions (tenant_id, id, namespace, flow_id, flow_revision, state, state_history,
                                        inputs, labels, trigger, start_date, end_date, created_at, updated_at)
                SELECT 'main', 'exec' || g, 'bench.backups', 'flow' || (g % 100), 1, 'SUCCESS',
                       jsonb_build_array(jsonb_build_object('state', 'CREATED', 'date', now()),
                                         jsonb_build_object('state', 'SUCCESS', 'date', now())),
                       jsonb_build_object('n', g, 'name', 'input ' || g), '[{{"key": "team", "value": "a"}}]'::jsonb,
                       NULL, now(), now(), now() - make_interval(secs => g), now()
                FROM generate_series(1, {EXECUTIONS}) g"""))
            c.execute(sa.text(f"""
                INSERT INTO logs (tenant_id, namespace, flow_id, execution_id, task_run_id, task_id, attempt,
                                  level, message, timestamp)
                SELECT 'main', 'bench.backups', 'flow' || (g % 100), 'exec' || (g % {EXECUTIONS} + 1),
                       'taskrun' || g, 'hello', 1, 'INFO',
                       'line ' || g || ': the task said something worth keeping, about this long', now()
                FROM generate_series(1, {LOGS}) g"""))
    finally:
        engine.dispose()


def run() -> list[tuple[str, object, str, bool]]:
    rows = LOGS + EXECUTIONS
    key = {"LANNER_BACKUP_ENCRYPTION_KEY": "bench passphrase"}
    with pg_database() as source, pg_database() as target, tempfile.TemporaryDirectory() as folder:
        _seed(source)
        path = Path(folder) / "bench.lbak"
        create_s, create_mb = _timed(["backups", "create", "--include-data", "-o", str(path)],
                                     {"LANNER_DATABASE_URL": source, **key}, Path(folder))
        size_mb = path.stat().st_size / 1e6
        restore_s, restore_mb = _timed(["backups", "restore", str(path)], {"LANNER_DATABASE_URL": target, **key},
                                       Path(folder))
        engine = create_engine(config_for(target).settings.database)
        with engine.connect() as c:
            restored = c.execute(sa.text("SELECT (SELECT count(*) FROM logs) + (SELECT count(*) FROM executions)"))
            assert restored.scalar_one() == rows
        engine.dispose()
    return [
        (f"backup of {LOGS:,} logs + {EXECUTIONS:,} executions, encrypted ({size_mb:.0f} MB file, {create_s:.1f} s)",
         f"{rows / create_s:,.0f} rows/s", f">= {ROWS_PER_S:,} rows/s", rows / create_s >= ROWS_PER_S),
        ("backup: peak RSS of the CLI", f"{create_mb:.0f} MB", f"<= {RSS_MB} MB", create_mb <= RSS_MB),
        (f"restore into an empty database, verification included ({restore_s:.1f} s)",
         f"{rows / restore_s:,.0f} rows/s", f">= {ROWS_PER_S:,} rows/s", rows / restore_s >= ROWS_PER_S),
        ("restore: peak RSS of the CLI", f"{restore_mb:.0f} MB", f"<= {RSS_MB} MB", restore_mb <= RSS_MB),
    ]


def _timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "lanner", *args], env={**os.environ, **env}, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"lanner {' '.join(args)} failed ({process.returncode}): {stderr.decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


if __name__ == "__main__":
    for row in run():
        print(row)
