"""``lanner backups restore`` against a database a real server uses: refused, or forced and noticed.

The operator's sequence from docs/backups.md, on both backends: a restore while a
server runs is refused (exit 12, naming it) and writes nothing; ``--force`` needs
maintenance mode; forced in maintenance mode, the restore replaces the content and
the server exits with code 13 at its next heartbeat without writing anything more,
then starts again on the restored data (as its supervisor would start it).
"""

from __future__ import annotations

import socket

import sqlalchemy as sa

from lanner.model.service_state import ServiceState
from lanner.model.state import State
from lanner.store import service_instances as instances
from lanner.store.database import create_engine
from lanner.store.tables import queue_messages
from tests.acceptance.cluster_harness import Cluster, wait_until
from tests.backup_helpers import rows
from tests.conftest import run_lanner
from tests.helpers import config_for

FLOW = """id: hello
namespace: lanner.restore
tasks:
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: hello
"""


def _instances(cluster: Cluster) -> list[instances.Instance]:
    with cluster.engine.connect() as connection:
        return instances.list_instances(connection)


def _idle(cluster: Cluster) -> None:
    """Wait until the server has consumed every message (the flow-trigger consumer takes "ended" ones)."""
    def empty() -> bool:
        with cluster.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(queue_messages)).scalar() == 0

    wait_until(empty, 30, "an empty queue")


def _backup_content(path, tmp_path) -> dict[str, list[dict]]:
    """The backup's rows, as a restore into a new database with no server shows them."""
    url = f"sqlite:///{tmp_path / 'fresh' / 'lanner.db'}"
    done = run_lanner("backups", "restore", str(path), env={"LANNER_DATABASE_URL": url}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    engine = create_engine(config_for(url).settings.database)
    try:
        return rows(engine, settings_filter=True)
    finally:
        engine.dispose()


def test_a_restore_never_pulls_the_database_from_under_a_running_server(database_url, tmp_path):
    cluster = Cluster(database_url, tmp_path)
    try:
        cluster.deploy(FLOW)
        server = cluster.start("standalone", "--port", "0", "--worker-thread", "2")
        instance = cluster.wait_state(server, ServiceState.RUNNING)
        before_backup = cluster.executions.create("lanner.restore", "hello")
        assert cluster.wait_ended(before_backup.id).current is State.SUCCESS
        _idle(cluster)
        path = tmp_path / "b.lbak"
        made = run_lanner("backups", "create", "--include-data", "--no-encryption", "-o", str(path),
                          env=cluster.env, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        after_backup = cluster.executions.create("lanner.restore", "hello")
        assert cluster.wait_ended(after_backup.id).current is State.SUCCESS
        _idle(cluster)

        # Refused while the server runs: exit 12, the server named, nothing written.
        before = rows(cluster.engine)
        refused = run_lanner("backups", "restore", str(path), "--yes", env=cluster.env, cwd=tmp_path)
        assert refused.returncode == 12, refused.stderr
        named = next(line for line in refused.stderr.splitlines() if instance.id in line)
        for part in ("STANDALONE", f"host {socket.gethostname()}", f"pid {server.pid}", "last heartbeat"):
            assert part in named, (part, named)
        assert "Nothing was written" in refused.stderr and "--force" in refused.stderr
        assert "Traceback" not in refused.stderr
        not_in_maintenance = run_lanner("backups", "restore", str(path), "--yes", "--force", env=cluster.env,
                                        cwd=tmp_path)
        assert not_in_maintenance.returncode == 12, not_in_maintenance.stderr
        assert "only while maintenance mode is on" in not_in_maintenance.stderr
        assert rows(cluster.engine) == before and server.process.poll() is None

        # Forced in maintenance mode: restored, and the server notices and exits with 13.
        entered = run_lanner("sys", "maintenance", "enter", "--wait", "--timeout", "30s", env=cluster.env)
        assert entered.returncode == 0, entered.stderr
        forced = run_lanner("backups", "restore", str(path), "--yes", "--force", env=cluster.env, cwd=tmp_path)
        assert forced.returncode == 0, forced.stderr
        said = " ".join(forced.stdout.split())
        assert "each exits with code 13" in said and "Maintenance mode is still on" in said
        assert server.wait_exit(30) == 13
        log = server.output()
        assert "the database was restored under this process" in log and "exit code 13" in log, log
        # What the server wrote after the restore: nothing (no instance row, no end state, no rows).
        assert _instances(cluster) == []
        assert rows(cluster.engine, settings_filter=True) == _backup_content(path, tmp_path)
        assert [e.id for e in cluster.executions.list()] == [before_backup.id]

        # Its supervisor starts it again: it runs on the restored data and is not fenced again.
        again = cluster.start("standalone", "--port", "0", "--worker-thread", "2")
        left = run_lanner("sys", "maintenance", "exit", env=cluster.env)
        assert left.returncode == 0, left.stderr
        later = cluster.executions.create("lanner.restore", "hello")
        assert cluster.wait_ended(later.id).current is State.SUCCESS
        assert again.process.poll() is None and cluster.instance(again).state is ServiceState.RUNNING
    finally:
        cluster.close()
