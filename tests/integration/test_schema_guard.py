"""What a starting component does about the schema: migrate, refuse, or wait."""

from __future__ import annotations

import logging
import threading

import pytest
import sqlalchemy as sa

from lanner.config import load_config
from lanner.errors import ExitCode, SchemaOutdatedError, WaitTimeoutError
from lanner.store import migrator
from lanner.store.database import create_engine, database_exists
from lanner.store.migration_scripts import head
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for, snapshot


def test_auto_migrate_brings_the_schema_to_head_on_start(database_url):
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        assert migrator.current_state(engine).current == head()
    finally:
        engine.dispose()


def test_auto_migrate_false_refuses_with_the_exact_command(database_url, tmp_path):
    config_file = tmp_path / "lanner.yml"
    config_file.write_text("lanner:\n  database:\n    auto-migrate: false\n")
    loaded = load_config(config_file, {"LANNER_DATABASE_URL": database_url})
    before = snapshot(database_url) if database_exists(loaded.settings.database) else None
    with pytest.raises(SchemaOutdatedError) as caught:
        prepare_database(loaded, may_migrate=True)
    assert caught.value.exit_code == ExitCode.SCHEMA_OUTDATED == 4
    assert f"lanner sys database migrate -c {config_file}" in str(caught.value)
    assert f"auto-migrate from file {config_file}:3" in str(caught.value)
    assert f"needs {head()}" in str(caught.value)
    after = snapshot(database_url) if database_exists(loaded.settings.database) else None
    assert after == before


def test_auto_migrate_false_from_environment_names_the_variable(database_url):
    with pytest.raises(SchemaOutdatedError, match="env LANNER_DATABASE_AUTO_MIGRATE") as caught:
        prepare_database(config_for(database_url, DATABASE_AUTO_MIGRATE="false"), may_migrate=True)
    assert "run:\n  lanner sys database migrate\n" in str(caught.value)


class _Seen(logging.Handler):
    """Sets an event when a log record containing ``text`` arrives."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text, self.event = text, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


def test_component_that_never_migrates_waits_for_another_to_migrate(database_url):
    loaded = config_for(database_url, DATABASE_SCHEMA_WAIT_TIMEOUT="2m")
    seen = _Seen("waiting for the schema to reach version")
    logger = logging.getLogger("lanner.store.schema_guard")
    logger.addHandler(seen)
    outcome: dict = {}

    def start_worker() -> None:
        try:
            outcome["engine"] = prepare_database(loaded, may_migrate=False)
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    worker = threading.Thread(target=start_worker)
    worker.start()
    try:
        assert seen.event.wait(60), "the component never reported it was waiting"
        assert worker.is_alive()
        prepare_database(config_for(database_url), may_migrate=True).dispose()
        worker.join(60)
    finally:
        logger.removeHandler(seen)
    assert "error" not in outcome, outcome.get("error")
    engine = outcome["engine"]
    try:
        assert migrator.current_state(engine).current == head()
    finally:
        engine.dispose()


def test_waiting_is_bounded(database_url):
    # An existing but empty database: the component waits, then gives up with a hint.
    engine = create_engine(config_for(database_url).settings.database)
    engine.connect().close()
    engine.dispose()
    with pytest.raises(WaitTimeoutError) as caught:
        prepare_database(config_for(database_url, DATABASE_SCHEMA_WAIT_TIMEOUT="300ms"), may_migrate=False)
    assert caught.value.exit_code == ExitCode.TIMEOUT
    assert "waiting for the schema of" in str(caught.value) and f"to reach version {head()}" in str(caught.value)
    assert "lanner sys database migrate" in str(caught.value)


def test_a_waiting_component_never_creates_the_database(sqlite_url):
    loaded = config_for(sqlite_url, DATABASE_SCHEMA_WAIT_TIMEOUT="200ms")
    with pytest.raises(Exception) as caught:
        prepare_database(loaded, may_migrate=False)
    assert "does not exist yet" in str(caught.value)
    assert not database_exists(loaded.settings.database)


def test_online_index_helper_builds_concurrently_and_recovers_an_invalid_index(postgres_url):
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from lanner.store.online import create_index_online, drop_index_online

    engine = create_engine(config_for(postgres_url).settings.database)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("CREATE TABLE big (id int, v int)"))
            connection.execute(sa.text("INSERT INTO big SELECT g, g % 7 FROM generate_series(1, 1000) g"))
            # What an interrupted CONCURRENTLY build leaves: an index marked invalid.
            connection.execute(sa.text("CREATE INDEX ix_big_v ON big (v)"))
            connection.execute(sa.text(
                "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'ix_big_v'::regclass"))
            connection.commit()
            context = MigrationContext.configure(connection, opts={"transaction_per_migration": True})
            statements = []
            sa.event.listen(connection, "before_cursor_execute", lambda *a: statements.append(a[2]))
            with Operations.context(context), context.begin_transaction(_per_migration=True):
                create_index_online("ix_big_v", "big", ["v"])
            assert any("CREATE INDEX CONCURRENTLY" in s for s in statements)
            assert any("DROP INDEX CONCURRENTLY" in s for s in statements)
            valid = connection.execute(sa.text(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_big_v'::regclass")).scalar()
            assert valid is True
            with Operations.context(context), context.begin_transaction(_per_migration=True):
                drop_index_online("ix_big_v", "big")
            assert connection.execute(sa.text("SELECT to_regclass('ix_big_v')")).scalar() is None
    finally:
        engine.dispose()
