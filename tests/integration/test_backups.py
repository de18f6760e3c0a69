"""Backups on real SQLite files and PostgreSQL databases: round trips, moves between backends, refusals."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from lanner.errors import BackupInvalidError, ExitCode, RestoreRefusedError, SchemaNewerError, UsageError
from lanner.ops.backups import writer as writer_module
from lanner.ops.backups.reader import BackupFile
from lanner.ops.backups.restore import restore_backup
from lanner.ops.backups.writer import create_backup
from lanner.store import migrator, tables
from lanner.store.database import create_engine
from lanner.store.migration_scripts import catalog, head
from tests import pg_harness
from tests.backup_helpers import T0, fill, rewrite, rows
from tests.helpers import config_for, snapshot

KEY = "correct horse battery staple"


def _engine(url: str, migrate: str | None = "head"):
    config = config_for(url).settings.database
    engine = create_engine(config)
    if migrate:
        migrator.migrate(engine, config, target=None if migrate == "head" else migrate)
    return engine


@pytest.fixture
def other_url(request, tmp_path):
    """A second, empty database on the backend named by the test's ``backend`` parameter."""
    backend = getattr(request, "param", None) or ("postgresql" if "postgres" in request.node.name else "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'other' / 'lanner.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"lanner_test_{uuid.uuid4().hex[:12]}"
    url = pg_harness.create_database(server, name)
    try:
        yield url
    finally:
        pg_harness.drop_database(server, name)


def _backup(engine, tmp_path, *, key=KEY, include_data=True, storage=None, name="b.lbak"):
    return create_backup(engine, tmp_path / name, include_data=include_data, key=key, storage_root=storage).path


def _restore(url, path, *, key=KEY, replace=False, storage=None, migrate=True, key_explicit=True):
    config = config_for(url).settings.database
    engine = create_engine(config)
    try:
        return restore_backup(engine, config, BackupFile(path, key, key_explicit=key_explicit), replace=replace,
                              storage_root=storage, migrate=migrate)
    finally:
        engine.dispose()


def _target_is(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@pytest.mark.parametrize("encrypted", [True, False])
def test_round_trip_of_every_entity_field_by_field(database_url, tmp_path, request, encrypted):
    source = _engine(database_url)
    fill(source)
    storage = tmp_path / "storage"
    (storage / "team" / "a" / "f0" / "executions" / "e0").mkdir(parents=True)
    (storage / "team" / "a" / "f0" / "executions" / "e0" / "out file.csv").write_bytes(b"a,b\n" * 100_000)
    (storage / "team" / "a" / "f0" / "executions" / "e0" / "empty").write_bytes(b"")
    path = _backup(source, tmp_path, key=KEY if encrypted else None, storage=storage)
    expected = rows(source, settings_filter=True)
    source.dispose()

    target_url = request.getfixturevalue("other_url") if _target_is(database_url) == "sqlite" else _second_pg(request)
    restored_storage = tmp_path / "restored-storage"
    result = _restore(target_url, path, key=KEY if encrypted else None, storage=restored_storage)
    assert result.counts["flows"] == 2 and result.counts["logs"] == 5 and result.counts["storage_files"] == 2
    target = _engine(target_url, migrate=None)
    try:
        assert rows(target) == expected
        assert all(expected[name] for name in expected), "every table had rows"
    finally:
        target.dispose()
    assert (restored_storage / "team/a/f0/executions/e0/out file.csv").read_bytes() == b"a,b\n" * 100_000
    assert (restored_storage / "team/a/f0/executions/e0/empty").read_bytes() == b""


def _second_pg(request):
    server = request.getfixturevalue("postgres_server")
    name = f"lanner_test_{uuid.uuid4().hex[:12]}"
    url = pg_harness.create_database(server, name)
    request.addfinalizer(lambda: pg_harness.drop_database(server, name))
    return url


@pytest.mark.parametrize("direction", ["sqlite->postgresql", "postgresql->sqlite"])
def test_moves_between_backends(direction, sqlite_url, postgres_url, tmp_path):
    source_url, target_url = (sqlite_url, postgres_url) if direction[0] == "s" else (postgres_url, sqlite_url)
    source = _engine(source_url)
    fill(source)
    expected = rows(source, settings_filter=True)
    path = _backup(source, tmp_path)
    source.dispose()
    _restore(target_url, path)
    target = _engine(target_url, migrate=None)
    try:
        assert rows(target) == expected
        with target.begin() as c:  # new ids continue after the restored ones (PostgreSQL sequences reset)
            c.execute(sa.insert(tables.logs).values(namespace="n", flow_id="f", level="INFO", message="new",
                                                    timestamp=T0))
            ids = [r[0] for r in c.execute(sa.select(tables.logs.c.id).order_by(tables.logs.c.id))]
        assert ids == sorted(set(ids)) and ids[-1] > max(ids[:-1])
    finally:
        target.dispose()


def test_a_backup_of_the_first_schema_restores_into_head(database_url, tmp_path, request):
    first = catalog()[0].revision
    assert first != head(), "the test needs at least two migrations"
    source = _engine(database_url, migrate=first)
    fill(source, schema=first)
    expected = rows(source, settings_filter=True)
    path = _backup(source, tmp_path)
    source.dispose()
    assert BackupFile(path, KEY).header.schema_version == first

    target_url = request.getfixturevalue("other_url") if _target_is(database_url) == "sqlite" else _second_pg(request)
    result = _restore(target_url, path)
    assert result.schema_version == head()
    target = _engine(target_url, migrate=None)
    try:
        assert migrator.current_state(target).current == head()
        restored = rows(target)
        # Columns added after the first schema are empty in the restored rows (0002, 0003).
        assert restored["task_runs"] == [{**r, "ordinal": None} for r in expected["task_runs"]]
        assert restored["flow_revisions"] == [{**r, "definition": None} for r in expected["flow_revisions"]]
        changed = ("task_runs", "flow_revisions", "worker_jobs_running", "dashboards")
        assert {k: v for k, v in restored.items() if k not in changed} == \
               {k: v for k, v in expected.items() if k not in changed}
        assert restored["worker_jobs_running"] == [] and restored["dashboards"] == []  # tables after 0001
    finally:
        target.dispose()


@pytest.fixture
def occupied(database_url, tmp_path):
    """A backup of one database, and the backend's URL of another one that holds different rows."""
    source = _engine(database_url)
    fill(source)
    path = _backup(source, tmp_path)
    with source.begin() as c:  # the target: same database, changed afterwards
        c.execute(sa.delete(tables.logs))
        c.execute(sa.update(tables.flows).values(source="changed"))
    source.dispose()
    return path, database_url


def _refused(url, path, error, **kwargs):
    before = snapshot(url)
    with pytest.raises(error) as caught:
        _restore(url, path, replace=True, **kwargs)
    assert snapshot(url) == before
    return caught.value


def test_truncated_files_are_refused_and_nothing_is_written(occupied, tmp_path):
    path, url = occupied
    data = path.read_bytes()
    for size in (len(data) - 1, len(data) // 2, 30, 5):
        cut = tmp_path / f"cut{size}.lbak"
        cut.write_bytes(data[:size])
        error = _refused(url, cut, BackupInvalidError)
        assert error.exit_code == ExitCode.BACKUP_INVALID == 9
        assert "truncated" in error.message or "not a Lanner backup" in error.message


@pytest.mark.parametrize("encrypted", [True, False])
def test_a_tampered_file_is_refused_and_nothing_is_written(occupied, tmp_path, encrypted):
    path, url = occupied
    if not encrypted:
        engine = _engine(url, migrate=None)
        path = _backup(engine, tmp_path, key=None, name="plain.lbak")
        engine.dispose()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = tmp_path / "tampered.lbak"
    bad.write_bytes(bytes(data))
    error = _refused(url, bad, BackupInvalidError, key=KEY if encrypted else None)
    assert "damaged or altered" in error.message
    if encrypted:
        assert "fails its authentication check" in error.message


def test_an_edited_header_is_refused(occupied, tmp_path):
    path, url = occupied
    data = path.read_bytes().replace(b'"source_backend":"', b'"source_backend":"X', 1)
    data = data[:8] + (int.from_bytes(data[8:12], "big") + 1).to_bytes(4, "big") + data[12:]
    bad = tmp_path / "edited.lbak"
    bad.write_bytes(data)
    _refused(url, bad, BackupInvalidError)


def test_a_wrong_key_or_a_missing_one_is_refused(occupied):
    path, url = occupied
    error = _refused(url, path, BackupInvalidError, key="not the key")
    assert "wrong encryption key" in error.message
    with pytest.raises(UsageError, match="is encrypted .* and no key was given"):
        BackupFile(path, None)


def test_an_unencrypted_file_with_an_explicit_key_is_refused(occupied, tmp_path):
    _path, url = occupied
    engine = _engine(url, migrate=None)
    plain = _backup(engine, tmp_path, key=None, name="plain.lbak")
    engine.dispose()
    error = _refused(url, plain, BackupInvalidError)
    assert "is not encrypted, but an encryption key was given" in error.message
    BackupFile(plain, KEY, key_explicit=False)  # a configured key is simply not needed


def test_a_backup_from_a_newer_schema_names_the_lanner_it_needs(occupied, tmp_path):
    path, url = occupied
    future = tmp_path / "future.lbak"
    rewrite(path, future, KEY, schema_version="9999", lanner_version="9.1.0")
    BackupFile(future, KEY).verify()  # a well-formed file: only its schema is refused
    error = _refused(url, future, SchemaNewerError)
    assert error.exit_code == ExitCode.SCHEMA_NEWER
    assert "made by Lanner 9.1.0 at schema version 9999" in error.message
    assert "pip install lanner==9.1.0" in error.hint


def test_an_unknown_format_version_is_refused(occupied, tmp_path):
    path, url = occupied
    future = tmp_path / "format.lbak"
    rewrite(path, future, KEY)
    data = future.read_bytes().replace(b'"format":1,', b'"format":7,', 1)
    future.write_bytes(data)
    error = _refused(url, future, BackupInvalidError)
    assert "format version 7" in error.message


def test_a_database_that_is_not_empty_needs_replace(occupied):
    path, url = occupied
    before = snapshot(url)
    with pytest.raises(RestoreRefusedError) as caught:
        _restore(url, path, replace=False)
    assert caught.value.exit_code == ExitCode.RESTORE_REFUSED == 10
    assert "is not empty" in caught.value.message and "--yes" in caught.value.hint
    assert snapshot(url) == before
    result = _restore(url, path, replace=True)
    assert result.replaced
    engine = _engine(url, migrate=None)
    try:
        current = rows(engine)
        assert len(current["logs"]) == 5 and {f["source"] for f in current["flows"]} != {"changed"}
    finally:
        engine.dispose()


def test_a_failed_backup_leaves_no_file(database_url, tmp_path, monkeypatch):
    engine = _engine(database_url)
    fill(engine)
    real = writer_module._write_table

    def failing(connection, writer, table, progress):
        if table.name == "executions":
            raise RuntimeError("disk full")
        return real(connection, writer, table, progress)

    monkeypatch.setattr(writer_module, "_write_table", failing)
    with pytest.raises(RuntimeError):
        _backup(engine, tmp_path / "out", name="x.lbak") if (tmp_path / "out").mkdir() is None else None
    engine.dispose()
    assert list((tmp_path / "out").iterdir()) == []


def test_a_rollback_restores_the_backups_schema_version(database_url, tmp_path):
    """Restore with --no-migrate into a database a later release migrated: the previous release can start."""
    first = catalog()[0].revision
    engine = _engine(database_url, migrate=first)
    fill(engine, schema=first)
    expected = rows(engine, settings_filter=True)
    path = _backup(engine, tmp_path, key=None)
    migrator.migrate(engine, config_for(database_url).settings.database)
    with engine.begin() as c:
        c.execute(sa.delete(tables.logs))
    engine.dispose()
    result = _restore(database_url, path, key=None, replace=True, migrate=False)
    assert result.replaced and result.schema_version == first
    engine = _engine(database_url, migrate=None)
    try:
        assert migrator.current_state(engine).current == first
        assert rows(engine) == expected
    finally:
        engine.dispose()



def test_a_rollback_that_fails_midway_leaves_the_database_as_it_was(database_url, tmp_path, monkeypatch):
    """--yes into a database at another schema version is all or nothing too: tables, rows and version."""
    from lanner.ops.backups import restore as restore_module

    first = catalog()[0].revision
    engine = _engine(database_url, migrate=first)
    fill(engine, schema=first)
    path = _backup(engine, tmp_path, key=None)
    migrator.migrate(engine, config_for(database_url).settings.database)
    with engine.begin() as c:  # the upgraded database's own content, different from the backup's
        c.execute(sa.delete(tables.logs).where(tables.logs.c.id == sa.select(sa.func.min(tables.logs.c.id))
                                               .scalar_subquery()))
    before = rows(engine)
    engine.dispose()
    real, loaded = restore_module._load_table, []

    def fail_on_the_third_table(connection, section, values, progress):
        loaded.append(section.name)
        if len(loaded) == 3:
            raise OSError("disk full")
        return real(connection, section, values, progress)

    monkeypatch.setattr(restore_module, "_load_table", fail_on_the_third_table)
    with pytest.raises(OSError, match="disk full"):
        _restore(database_url, path, key=None, replace=True, migrate=False)
    assert len(loaded) == 3, "it failed after writing rows"
    engine = _engine(database_url, migrate=None)
    try:
        assert migrator.current_state(engine).current == head()
        assert rows(engine) == before
        if engine.dialect.name == "postgresql":  # the schema it was loading into is gone
            with engine.connect() as c:
                assert not c.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE "
                                             "'lanner_restore_%'")).all()
    finally:
        engine.dispose()


def test_a_schema_left_by_a_killed_postgresql_restore_is_dropped_by_the_next(postgres_url, tmp_path):
    first = catalog()[0].revision
    engine = _engine(postgres_url, migrate=first)
    fill(engine, schema=first)
    expected = rows(engine, settings_filter=True)
    path = _backup(engine, tmp_path, key=None)
    migrator.migrate(engine, config_for(postgres_url).settings.database)
    with engine.begin() as c:  # what a restore killed before its swap leaves behind
        c.execute(sa.text('CREATE SCHEMA "lanner_restore_0123456789ab"'))
        c.execute(sa.text('CREATE TABLE "lanner_restore_0123456789ab".flows (id int)'))
    engine.dispose()
    result = _restore(postgres_url, path, key=None, replace=True, migrate=False)
    assert result.replaced and result.schema_version == first
    engine = _engine(postgres_url, migrate=None)
    try:
        assert rows(engine) == expected
        with engine.connect() as c:
            assert not c.execute(sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE "
                                         "'lanner_restore_%'")).all()
            # Sequences moved with their tables: new ids follow the restored ones.
            c.execute(sa.insert(tables.logs).values(namespace="n", flow_id="f", level="INFO", message="new",
                                                    timestamp=T0))
            ids = [r[0] for r in c.execute(sa.select(tables.logs.c.id).order_by(tables.logs.c.id))]
            c.commit()
        assert ids[-1] > max(ids[:-1])
    finally:
        engine.dispose()


def test_backup_before_migrate_names_the_versions_and_allows_the_rollback(sqlite_url, tmp_path):
    from lanner.ops.backups import pre_migration

    first = catalog()[0].revision
    engine = _engine(sqlite_url, migrate=first)
    fill(engine, schema=first)
    loaded = config_for(sqlite_url, BACKUP_FOLDER=str(tmp_path / "backups"))
    said: list[str] = []
    migrator.migrate(engine, loaded.settings.database, before=pre_migration.hook(loaded, announce=said.append))
    engine.dispose()
    files = list((tmp_path / "backups").iterdir())
    assert len(files) == 1 and files[0].name.startswith(f"lanner-before-{first}-to-{head()}-")
    assert f"lanner backups restore {files[0]} --yes --no-migrate" in said[0]
    assert BackupFile(files[0], None).verify().counts["executions"] == 3


def test_backup_before_migrate_is_off_by_default_on_postgresql(postgres_url, sqlite_url):
    from lanner.ops.backups import pre_migration

    assert pre_migration.hook(config_for(postgres_url)) is None
    assert pre_migration.hook(config_for(sqlite_url)) is not None
    assert pre_migration.hook(config_for(postgres_url, DATABASE_BACKUP_BEFORE_MIGRATE="true")) is not None
    assert pre_migration.hook(config_for(sqlite_url, DATABASE_BACKUP_BEFORE_MIGRATE="false")) is None


def test_no_backup_of_a_database_without_schema(sqlite_url, tmp_path):
    engine = _engine(sqlite_url, migrate=None)
    with pytest.raises(UsageError, match="no Lanner schema"):
        _backup(engine, tmp_path)
    engine.dispose()
    assert not (tmp_path / "b.lbak").exists()


def test_raw_keys_and_passphrases(sqlite_url, tmp_path):
    engine = _engine(sqlite_url)
    fill(engine)
    raw = "ab" * 32
    path = _backup(engine, tmp_path, key=raw, name="raw.lbak")
    engine.dispose()
    assert BackupFile(path, raw).header.encryption.kdf == "hkdf-sha256"
    assert BackupFile(path, raw).verify().counts["flows"] == 2
    with pytest.raises(BackupInvalidError):
        BackupFile(path, "cd" * 32)
    assert Path(path).stat().st_mode & 0o077 == 0  # readable by its owner only
