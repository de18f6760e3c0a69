"""The migrator on real SQLite files and real PostgreSQL databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lanner import version
from lanner.errors import ChecksumMismatchError, ExitCode, SchemaNewerError, WaitTimeoutError
from lanner.store import migrator
from lanner.store.database import create_engine, database_exists, parse_url, sqlite_path
from lanner.store.migration_lock import migration_lock
from lanner.store.migration_scripts import VERSION_TABLE, catalog, head
from lanner.store.tables import metadata, schema_history
from tests.helpers import config_for, snapshot


@pytest.fixture
def engine(database_url):
    engine = create_engine(config_for(database_url).settings.database)
    yield engine
    engine.dispose()


def migrate(engine, url, **env):
    return migrator.migrate(engine, config_for(url, **env).settings.database)


def history(engine):
    with engine.connect() as connection:
        return connection.execute(sa.select(schema_history).order_by(schema_history.c.installed_rank)).all()


def test_migrate_from_empty_builds_the_schema_and_records_each_migration(engine, database_url):
    result = migrate(engine, database_url)
    assert result.version == head()
    assert [m.revision for m, _ in result.applied] == [m.revision for m in catalog()]
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    assert set(metadata.tables) | {VERSION_TABLE} == tables
    rows = history(engine)
    assert [(r.version, r.script, r.checksum, r.success) for r in rows] == [
        (m.revision, m.script, m.checksum, True) for m in catalog()
    ]
    assert all(r.lanner_version == version() and r.execution_time_ms >= 0 and r.description for r in rows)


def test_second_run_is_a_no_op(engine, database_url):
    migrate(engine, database_url)
    before = history(engine)
    result = migrate(engine, database_url)
    assert result.applied == [] and result.version == head()
    assert history(engine) == before


def test_models_and_migrated_schema_agree(engine, database_url):
    migrate(engine, database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True, "version_table": VERSION_TABLE}
        )
        assert compare_metadata(context, metadata) == []


def test_every_user_table_is_keyed_by_tenant(engine, database_url):
    migrate(engine, database_url)
    user_tables = {"flows", "flow_revisions", "executions", "task_runs", "logs", "queue_messages", "triggers", "kv_store"}
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        for table in user_tables:
            keys = [inspector.get_pk_constraint(table)["constrained_columns"]]
            keys += [ix["column_names"] for ix in inspector.get_indexes(table)]
            tenant_keys = [k for k in keys if k and k[0] == "tenant_id"]
            assert tenant_keys, f"{table} has no key or index led by tenant_id"


def test_newer_schema_is_refused_and_nothing_is_written(engine, database_url):
    migrate(engine, database_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
        connection.execute(sa.insert(schema_history).values(
            version="9999", description="from the future", script="9999_future.py", checksum="0" * 64,
            lanner_version="9.0.0", installed_by="test", installed_on=sa.func.current_timestamp(),
            execution_time_ms=1, success=True,
        ))
    before = snapshot(database_url)
    with pytest.raises(SchemaNewerError) as caught:
        migrate(engine, database_url)
    message = str(caught.value)
    assert caught.value.exit_code == ExitCode.SCHEMA_NEWER == 3
    assert "schema version 9999, applied by Lanner 9.0.0" in message
    assert f"this Lanner {version()} knows schema versions up to {head()}" in message
    assert "restore the backup taken before the upgrade" in message and "Lanner 9.0.0 or later" in message
    assert snapshot(database_url) == before


def test_changed_migration_is_refused_until_repaired(engine, database_url):
    migrate(engine, database_url)
    with engine.begin() as connection:
        connection.execute(sa.update(schema_history).values(checksum="f" * 64))
    with pytest.raises(ChecksumMismatchError) as caught:
        migrate(engine, database_url)
    first = catalog()[0]
    assert caught.value.exit_code == ExitCode.CHECKSUM_MISMATCH
    assert f"{first.revision} ({first.script}): recorded ffffffffffffffff..., file now {first.checksum[:16]}..." in str(caught.value)
    assert "lanner sys database repair" in str(caught.value)

    offered = []
    assert migrator.repair(engine, lambda mismatches: offered.extend(mismatches) or False) == []
    assert offered == [(m, "f" * 64) for m in catalog()]
    with pytest.raises(ChecksumMismatchError):
        migrator.current_state(engine)  # declining changed nothing

    assert migrator.repair(engine, lambda mismatches: True) == list(catalog())
    assert migrator.current_state(engine).current == head()
    assert [r.checksum for r in history(engine)] == [m.checksum for m in catalog()]


def test_repair_with_nothing_to_repair(engine, database_url):
    migrate(engine, database_url)
    assert migrator.repair(engine, lambda mismatches: pytest.fail("nothing should be offered")) == []


def test_dry_run_prints_the_dialects_sql_and_writes_nothing(database_url):
    config = config_for(database_url).settings.database
    current, sql = migrator.dry_run_sql(config)
    assert current is None
    assert "CREATE TABLE executions" in sql and "INSERT INTO lanner_schema_history" in sql
    assert ("JSONB" in sql) == database_url.startswith("postgresql")
    if database_url.startswith("sqlite"):
        path = sqlite_path(parse_url(config.url))
        assert not database_exists(config) and not path.parent.exists()
    else:
        assert snapshot(database_url) == {}


def test_dry_run_on_a_current_schema_has_nothing_to_print(engine, database_url):
    migrate(engine, database_url)
    assert migrator.dry_run_sql(config_for(database_url).settings.database) == (head(), "")


def test_waiting_for_the_lock_times_out_naming_the_holder(engine, database_url):
    config = config_for(database_url, DATABASE_MIGRATION_LOCK_TIMEOUT="300ms").settings.database
    reports = []
    with migration_lock(engine, timedelta(seconds=5), lambda *a: None):
        with pytest.raises(WaitTimeoutError) as caught:
            migrator.migrate(engine, config, _Recorder(reports))
    assert caught.value.exit_code == ExitCode.TIMEOUT
    assert "waiting for the migration lock held by" in str(caught.value)
    assert reports and reports[0][0] is not None  # told who holds it, from the first report on
    assert migrator.current_state(engine).current is None  # the waiter gave up without writing


class _Recorder(migrator.LogReporter):
    def __init__(self, reports):
        self.reports = reports

    def waiting_for_lock(self, holder, waited):
        self.reports.append((holder, waited))


def test_a_long_migration_keeps_saying_it_is_alive(engine, database_url, monkeypatch):
    import threading

    alive = []
    two_reports = threading.Event()
    real_apply = migrator._apply

    class Reporter(migrator.LogReporter):
        def still_running(self, migration, elapsed):
            alive.append((migration.revision, elapsed))
            if len(alive) >= 2:
                two_reports.set()

    def slow_apply(connection, migration, started):
        assert two_reports.wait(30), "no liveness report while the migration ran"
        real_apply(connection, migration, started)

    monkeypatch.setattr(migrator, "ALIVE_EVERY", 0.01)
    monkeypatch.setattr(migrator, "_apply", slow_apply)
    result = migrator.migrate(engine, config_for(database_url).settings.database, Reporter())
    assert result.version == head()
    assert alive[0][0] == catalog()[0].revision
    assert alive[1][1] > alive[0][1]


def test_a_failed_migration_leaves_the_database_as_it_was(engine, database_url):
    from lanner.errors import MigrationFailedError

    # A table in the way of the first migration: its CREATE TABLE fails midway.
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE flows (unrelated INTEGER)"))
    with pytest.raises(MigrationFailedError) as caught:
        migrate(engine, database_url)
    first = catalog()[0]
    assert caught.value.exit_code == ExitCode.MIGRATION_FAILED == 8
    assert f"migration {first.revision} ({first.description}) failed after" in str(caught.value)
    assert "left at schema version none (empty)" in str(caught.value)
    with engine.connect() as connection:
        assert sa.inspect(connection).get_table_names() == ["flows"]
    assert migrator.current_state(engine).current is None
