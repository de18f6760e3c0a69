"""A restore never pulls the database from under running servers (on both backends).

Live instances are rows written by the test; a stale one is made stale by writing its
heartbeat time, never by waiting.  The real server process that notices a forced
restore is in tests/acceptance/test_restore_guard_cli.py.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lanner.cluster.membership import Membership
from lanner.config.settings import Liveness
from lanner.errors import ExitCode, RestoreBlockedError
from lanner.model.service_state import ServiceState as S
from lanner.model.service_state import ServiceType
from lanner.ops import maintenance
from lanner.ops.backups.reader import BackupFile
from lanner.ops.backups.restore import restore_backup
from lanner.ops.backups.writer import create_backup
from lanner.store import database_epoch, maintenance_flag, migrator, tables
from lanner.store import service_instances as instances
from lanner.store.database import create_engine, write_connection
from lanner.store.migration_scripts import catalog
from lanner.store.schema_guard import prepare_database
from tests.acceptance.cluster_harness import wait_until
from tests.backup_helpers import fill, rows
from tests.helpers import config_for, snapshot

TIMEOUT = 10.0  # the restoring process's lanner.server.liveness.timeout in these tests
FAST = Liveness(interval=timedelta(milliseconds=100), timeout=timedelta(seconds=5),
                initial_delay=timedelta(0), heartbeat_interval=timedelta(milliseconds=100))


def _engine(url, target=None):
    config = config_for(url).settings.database
    engine = create_engine(config)
    migrator.migrate(engine, config, target=target)
    return engine


def register(engine, instance_id: str, *, kind: str = "EXECUTOR", timeout: float = 3.0,
             state: S = S.RUNNING) -> None:
    instances.register(engine, instance_id=instance_id, service_type=kind, hostname="node-7", pid=4242,
                       lanner_version="9.8.7", schema_version="0002", settings={"timeout": timeout})
    instances.change_state(engine, instance_id, S.RUNNING, "started")
    if state is not S.RUNNING:
        instances.change_state(engine, instance_id, S.TERMINATING, "stopping")
        instances.change_state(engine, instance_id, state, "stopped")


def last_heartbeat(engine, instance_id: str, seconds_ago: float) -> None:
    with write_connection(engine) as connection, connection.begin():
        now = instances.database_now(connection)
        connection.execute(sa.update(tables.service_instances).where(tables.service_instances.c.id == instance_id)
                           .values(heartbeat_at=now - timedelta(seconds=seconds_ago)))


def restore(url, path, *, force=False):
    config = config_for(url).settings.database
    engine = create_engine(config)
    try:
        return restore_backup(engine, config, BackupFile(path, None), replace=True, force=force,
                              liveness_timeout=TIMEOUT)
    finally:
        engine.dispose()


@pytest.fixture
def backed_up(database_url, tmp_path):
    """A database, a backup of it, then a change; returns (engine, backup path, the backup's rows)."""
    engine = _engine(database_url)
    fill(engine)
    path = create_backup(engine, tmp_path / "b.lbak", include_data=True, key=None).path
    expected = rows(engine, settings_filter=True)
    with engine.begin() as c:
        c.execute(sa.update(tables.executions).where(tables.executions.c.id == "e0").values(state="FAILED"))
    yield engine, path, expected
    engine.dispose()


def test_a_live_instance_blocks_the_restore_and_is_named(backed_up, database_url):
    engine, path, _ = backed_up
    register(engine, "inst-live-1", kind="WORKER")
    register(engine, "inst-ended", state=S.TERMINATED_GRACEFULLY)  # heartbeated just now, but ended
    before = snapshot(database_url)
    with pytest.raises(RestoreBlockedError) as caught:
        restore(database_url, path)
    error = caught.value
    assert error.exit_code == ExitCode.RESTORE_BLOCKED == 12
    line = next(line for line in error.message.splitlines() if "inst-live-1" in line)
    for part in ("WORKER", "node-7", "pid 4242", "Lanner 9.8.7", "last heartbeat"):
        assert part in line, (part, line)
    assert "inst-ended" not in error.message and "1 live Lanner instance " in error.message
    assert "Nothing was written" in error.message
    assert "maintenance enter" in error.hint and "--force" in error.hint and "exits with code 13" in error.hint
    assert snapshot(database_url) == before


def test_force_is_refused_outside_maintenance_mode(backed_up, database_url):
    engine, path, _ = backed_up
    register(engine, "inst-live-1")
    before = snapshot(database_url)
    with pytest.raises(RestoreBlockedError) as caught:
        restore(database_url, path, force=True)
    assert caught.value.exit_code == 12
    assert "only while maintenance mode is on" in caught.value.message
    assert "maintenance mode is off" in caught.value.message
    assert "lanner sys maintenance enter" in caught.value.hint
    assert snapshot(database_url) == before


def test_an_instance_silent_past_its_liveness_timeout_no_longer_blocks(backed_up, database_url):
    engine, path, expected = backed_up
    register(engine, "inst-own-60", timeout=60.0)  # its own timeout is longer than the configured one
    register(engine, "inst-crashed")
    last_heartbeat(engine, "inst-own-60", 30)
    last_heartbeat(engine, "inst-crashed", TIMEOUT - 2)
    with pytest.raises(RestoreBlockedError) as caught:
        restore(database_url, path)
    assert "inst-own-60" in caught.value.message and "inst-crashed" in caught.value.message

    last_heartbeat(engine, "inst-own-60", 61)
    last_heartbeat(engine, "inst-crashed", TIMEOUT + 1)
    result = restore(database_url, path)
    assert result.replaced and result.forced_under == 0 and not result.maintenance
    assert rows(engine) == expected
    with engine.connect() as connection:
        assert instances.list_instances(connection) == []  # the restored database's cluster starts empty
        assert database_epoch.read(connection) is not None


def test_forced_in_maintenance_mode_the_restore_renews_the_epoch_and_keeps_maintenance(backed_up, database_url):
    engine, path, expected = backed_up
    register(engine, "inst-live-1")
    maintenance.enter(engine, reason="restore")
    with engine.connect() as connection:
        before = database_epoch.read(connection)
    result = restore(database_url, path, force=True)
    assert result.forced_under == 1 and result.maintenance
    assert rows(engine, settings_filter=True) == expected
    with engine.connect() as connection:
        assert instances.list_instances(connection) == []
        after = database_epoch.describe(connection)
    assert after is not None and after["value"] != before and "b.lbak" in after["reason"]
    status = maintenance.status(engine)
    assert status.on and status.reason == "restore"
    # The old instance's heartbeat writes nothing and says why.
    with pytest.raises(instances.EpochChanged, match="restored under this process"):
        instances.heartbeat(engine, "inst-live-1", 0, check_epoch=True, epoch=before)


def test_a_forced_rollback_to_an_older_schema_renews_the_epoch_too(database_url, tmp_path):
    first = catalog()[0].revision
    engine = _engine(database_url, target=first)
    fill(engine, schema=first)
    path = create_backup(engine, tmp_path / "old.lbak", include_data=True, key=None).path
    migrator.migrate(engine, config_for(database_url).settings.database)
    register(engine, "inst-live-1")
    maintenance.enter(engine)
    engine.dispose()
    config = config_for(database_url).settings.database
    engine = create_engine(config)
    try:
        result = restore_backup(engine, config, BackupFile(path, None), replace=True, migrate=False, force=True,
                                liveness_timeout=TIMEOUT)
        assert result.schema_version == first and result.forced_under == 1
        with engine.connect() as connection:
            assert database_epoch.read(connection) is not None
            assert connection.execute(sa.select(sa.func.count()).select_from(tables.service_instances)).scalar() == 0
            assert maintenance_flag.read(connection)["on"]  # the older schema has no worker_jobs_running yet
    finally:
        engine.dispose()


def test_a_restore_into_a_new_database_needs_no_instances_table(tmp_path, backed_up):
    _, path, expected = backed_up
    url = f"sqlite:///{tmp_path / 'new' / 'lanner.db'}"
    result = restore(url, path)
    assert not result.replaced
    engine = create_engine(config_for(url).settings.database)
    try:
        assert rows(engine) == expected
    finally:
        engine.dispose()


def test_a_membership_fences_itself_when_the_database_is_restored_under_it(engine):
    fenced: list[str] = []
    told = threading.Event()
    membership = Membership(engine, ServiceType.WORKER, FAST, timedelta(seconds=1), schema_version="0002",
                            on_fenced=lambda reason: (fenced.append(reason), told.set()))
    membership.start()
    try:
        with write_connection(engine) as connection, connection.begin():  # what a forced restore does
            connection.execute(sa.delete(tables.service_instances))
            database_epoch.renew(connection, "lanner backups restore b.lbak")
        assert told.wait(10)
        assert membership.restored
        assert "the database was restored under this process" in fenced[0] and "b.lbak" in fenced[0]
    finally:
        membership.ended(S.TERMINATED_GRACEFULLY, "test over")
    with engine.connect() as connection:
        assert instances.list_instances(connection) == []  # it wrote nothing: no row, no end state


def test_a_membership_declared_gone_without_a_restore_is_fenced_as_before(engine):
    told = threading.Event()
    membership = Membership(engine, ServiceType.WORKER, FAST, timedelta(seconds=1), schema_version="0002",
                            on_fenced=lambda reason: told.set())
    membership.start()
    try:
        with engine.begin() as connection:
            connection.execute(sa.delete(tables.service_instances))
        assert told.wait(10)
        assert not membership.restored
    finally:
        membership.ended(S.TERMINATED_GRACEFULLY, "test over")


def test_a_component_failing_on_a_restored_database_fences_the_process_as_restored(engine):
    slow = Liveness(timeout=timedelta(minutes=5), heartbeat_interval=timedelta(minutes=1))  # no heartbeat meanwhile
    fenced: list[str] = []
    membership = Membership(engine, ServiceType.EXECUTOR, slow, timedelta(seconds=1), schema_version="0002",
                            on_fenced=fenced.append)
    membership.start()
    try:
        assert not membership.fence_if_restored("executor-0 failed: boom")  # the same database: a plain failure
        assert not membership.fenced and fenced == []
        with write_connection(engine) as connection, connection.begin():
            database_epoch.renew(connection, "lanner backups restore b.lbak")
        assert membership.fence_if_restored("executor-0 failed: boom")
        assert membership.restored and membership.fenced
        assert "restored under this process" in fenced[0] and "executor-0 failed: boom" in fenced[0]
    finally:
        membership.ended(S.ERROR, "test over")
    with engine.connect() as connection:
        assert [i.state for i in instances.list_instances(connection)] == [S.RUNNING]  # it recorded nothing more


def test_a_server_whose_component_fails_after_a_restore_exits_13(engine):
    from lanner.config.settings import Server
    from lanner.server.runtime import Runtime

    slow = Liveness(timeout=timedelta(minutes=5), heartbeat_interval=timedelta(minutes=1))
    runtime = Runtime(engine, executors=0, worker_threads=0, settings=Server(liveness=slow))
    runtime.start()
    try:
        with write_connection(engine) as connection, connection.begin():
            database_epoch.renew(connection, "lanner backups restore b.lbak")

        def failing() -> None:
            raise RuntimeError("relation changed under the query")

        runtime._spawn("scheduler", failing)
        assert runtime.stop.wait(10)
    finally:
        runtime.close()
    assert runtime.exit_code == ExitCode.DATABASE_RESTORED == 13
    assert runtime.failure.startswith("fenced: the database was restored under this process")
    assert "scheduler failed: RuntimeError" in runtime.failure


def test_a_server_whose_component_fails_without_a_restore_exits_1(engine):
    from lanner.config.settings import Server
    from lanner.server.runtime import Runtime

    slow = Liveness(timeout=timedelta(minutes=5), heartbeat_interval=timedelta(minutes=1))
    runtime = Runtime(engine, executors=0, worker_threads=0, settings=Server(liveness=slow))
    runtime.start()
    try:
        runtime._spawn("scheduler", lambda: 1 / 0)
        assert runtime.stop.wait(10)
    finally:
        runtime.close()
    assert runtime.exit_code == ExitCode.INTERNAL == 1 and runtime.ended is S.ERROR


def test_a_heartbeat_that_waited_for_the_restore_reports_the_restore(postgres_url):
    """PostgreSQL: a heartbeat blocked on the row the restore deletes sees the restore once it commits."""
    engine = prepare_database(config_for(postgres_url), may_migrate=True)
    restoring = engine.connect()
    try:
        register(engine, "inst-live-1")
        with engine.connect() as connection:
            epoch = database_epoch.read(connection)
        transaction = restoring.begin()
        restoring.execute(sa.delete(tables.service_instances))  # what the restore's transaction does
        database_epoch.renew(restoring, "lanner backups restore b.lbak")
        with ThreadPoolExecutor(1) as pool:
            beat = pool.submit(instances.heartbeat, engine, "inst-live-1", 0, check_epoch=True, epoch=epoch)

            def waiting() -> bool:
                with engine.connect() as c:
                    return bool(c.execute(sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query LIKE 'UPDATE service_instances%'")).scalar())

            wait_until(waiting, 10, "the heartbeat waiting for the restore's lock")
            transaction.commit()
            with pytest.raises(instances.EpochChanged, match="b.lbak"):
                beat.result(10)
    finally:
        restoring.close()
        engine.dispose()
