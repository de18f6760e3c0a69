"""``lanner backups`` and backup-before-migrate through the real CLI, as an operator runs them."""

from __future__ import annotations

import sqlalchemy as sa

from lanner.store import migrator, tables
from lanner.store.database import create_engine
from lanner.store.migration_scripts import catalog, head
from tests.backup_helpers import fill, rewrite, rows
from tests.conftest import run_lanner
from tests.helpers import config_for, snapshot


def _migrated(url, target=None):
    config = config_for(url).settings.database
    engine = create_engine(config)
    migrator.migrate(engine, config, target=target)
    return engine


def test_create_refuses_without_a_key_or_no_encryption(sqlite_url, tmp_path):
    _migrated(sqlite_url).dispose()
    done = run_lanner("backups", "create", env={"LANNER_DATABASE_URL": sqlite_url}, cwd=tmp_path)
    assert done.returncode == 2
    assert "--encryption-key KEY" in done.stderr and "--no-encryption" in done.stderr
    assert not list(tmp_path.glob("*.lbak"))


def test_create_writes_into_the_configured_folder_and_list_finds_it(sqlite_url, tmp_path):
    import os
    import stat

    _migrated(sqlite_url).dispose()
    env = {"LANNER_DATABASE_URL": sqlite_url, "LANNER_BACKUP_FOLDER": "kept/backups"}
    configured = run_lanner("configs", "show", env=env, cwd=tmp_path)
    assert "kept/backups" in configured.stdout, configured.stdout
    done = run_lanner("backups", "create", "--no-encryption", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "kept" / "backups"
    [path] = folder.glob(f"lanner-backup-{head()}-*.lbak")
    assert not list(tmp_path.glob("*.lbak"))
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    [wrote] = [line for line in done.stdout.splitlines() if line.startswith("Wrote ")]
    assert wrote.startswith(f"Wrote {path} (")  # the full path, on one line
    assert str(path) not in done.stdout.replace(wrote, "")  # and not again, wrapped in the table's title
    listed = run_lanner("backups", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0 and path.name in listed.stdout


def test_sqlite_to_postgresql_with_a_configured_key(sqlite_url, postgres_url, tmp_path):
    engine = _migrated(sqlite_url)
    fill(engine)
    expected = rows(engine, settings_filter=True)
    engine.dispose()
    key = {"LANNER_BACKUP_ENCRYPTION_KEY": "s3cret passphrase"}
    done = run_lanner("backups", "create", "--include-data", env={"LANNER_DATABASE_URL": sqlite_url, **key},
                      cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [path] = (tmp_path / "data" / "backups").glob(f"lanner-backup-{head()}-*.lbak")  # lanner.backup.folder
    assert "executions" in done.stdout and "encrypted AES-256-GCM" in done.stdout

    listed = run_lanner("backups", "list", "data/backups", cwd=tmp_path)
    assert path.name in listed.stdout and "sqlite" in listed.stdout
    inspected = run_lanner("backups", "inspect", str(path), env=key, cwd=tmp_path)
    assert inspected.returncode == 0 and "Verifies:    yes" in inspected.stdout

    done = run_lanner("backups", "restore", str(path), env={"LANNER_DATABASE_URL": postgres_url, **key}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"the database is at schema {head()}" in " ".join(done.stdout.split())  # however the lines wrap
    target = create_engine(config_for(postgres_url).settings.database)
    try:
        assert rows(target) == expected
    finally:
        target.dispose()

    again = run_lanner("backups", "restore", str(path), env={"LANNER_DATABASE_URL": postgres_url, **key})
    assert again.returncode == 10 and "is not empty" in again.stderr and "--yes" in again.stderr


def test_refusals_exit_with_their_codes_and_write_nothing(postgres_url, tmp_path):
    engine = _migrated(postgres_url)
    fill(engine)
    engine.dispose()
    env = {"LANNER_DATABASE_URL": postgres_url}
    path = tmp_path / "b.lbak"
    assert run_lanner("backups", "create", "-o", str(path), "--encryption-key", "k", env=env).returncode == 0
    data = path.read_bytes()
    (tmp_path / "cut.lbak").write_bytes(data[:-10])
    tampered = bytearray(data)
    tampered[len(data) // 2] ^= 0xFF
    (tmp_path / "tampered.lbak").write_bytes(bytes(tampered))
    rewrite(path, tmp_path / "future.lbak", "k", schema_version="9999", lanner_version="9.0.0")
    before = snapshot(postgres_url)
    cases = [("cut.lbak", "k", 9, "truncated"), ("tampered.lbak", "k", 9, "damaged or altered"),
             ("b.lbak", "wrong", 9, "wrong encryption key"), ("future.lbak", "k", 3, "Lanner 9.0.0 or later")]
    for name, key, code, text in cases:
        done = run_lanner("backups", "restore", str(tmp_path / name), "--encryption-key", key, "--yes", env=env)
        assert (done.returncode, text in done.stderr) == (code, True), (name, done.stderr)
        assert "Traceback" not in done.stderr
    assert run_lanner("backups", "inspect", str(tmp_path / "tampered.lbak"), "--encryption-key", "k").returncode == 9
    no_key = run_lanner("backups", "restore", str(path), "--yes", env=env)
    assert no_key.returncode == 2 and "no key was given" in no_key.stderr
    assert snapshot(postgres_url) == before


def test_migrate_takes_a_backup_first_and_prints_the_rollback(tmp_path):
    url = f"sqlite:///{tmp_path / 'data' / 'lanner.db'}"
    first = catalog()[0].revision
    engine = _migrated(url, target=first)
    fill(engine, schema=first)
    engine.dispose()
    env = {"LANNER_DATABASE_URL": url, "LANNER_BACKUP_FOLDER": str(tmp_path / "data" / "backups")}
    done = run_lanner("sys", "database", "migrate", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [path] = (tmp_path / "data" / "backups").glob(f"lanner-before-{first}-to-{head()}-*.lbak")
    assert "unencrypted" in done.stderr  # the log line saying so
    assert "stop every Lanner component" in done.stdout
    assert f"lanner backups restore {path} --yes --no-migrate" in done.stdout
    assert "pip install lanner==" in done.stdout

    # The rollback it prints: the database goes back to the previous schema and content.
    engine = create_engine(config_for(url).settings.database)
    with engine.begin() as c:
        c.execute(sa.delete(tables.flows))
    engine.dispose()
    done = run_lanner("backups", "restore", str(path), "--yes", "--no-migrate", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    engine = create_engine(config_for(url).settings.database)
    try:
        assert migrator.current_state(engine).current == first
        assert len(rows(engine)["flows"]) == 2
    finally:
        engine.dispose()


def test_create_with_maintenance_enters_and_leaves_maintenance_mode(sqlite_url, tmp_path):
    from lanner.ops import maintenance

    engine = _migrated(sqlite_url)
    fill(engine)  # its worker_jobs_running row is a task still running
    env = {"LANNER_DATABASE_URL": sqlite_url}
    busy = run_lanner("backups", "create", "--no-encryption", "--maintenance", "--maintenance-timeout", "1s",
                      "-o", str(tmp_path / "busy.lbak"), env=env)
    assert busy.returncode == 7 and "still busy" in busy.stderr, busy.stderr
    assert "Left maintenance mode" in busy.stderr and not (tmp_path / "busy.lbak").exists()
    assert not maintenance.status(engine).on

    with engine.begin() as c:  # the task ended
        c.execute(sa.delete(tables.worker_jobs_running))
    done = run_lanner("backups", "create", "--no-encryption", "--maintenance", "--maintenance-timeout", "20s",
                      "-o", str(tmp_path / "m.lbak"), env=env)
    assert done.returncode == 0, done.stderr
    assert "Entered maintenance mode" in done.stderr and "Left maintenance mode" in done.stderr
    assert not maintenance.status(engine).on
    engine.dispose()
