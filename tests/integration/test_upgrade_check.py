"""lanner sys upgrade check on a database left at an older schema, on both backends.

The database is migrated to 0001 only, holds flows written with Kestra's older syntax,
and has a worker of an older Lanner alive: the check must report all of it, in text and
in JSON, write nothing, and exit 11 only for a blocker.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from lanner import version
from lanner.flows.validator import validate_source
from lanner.model.service_state import ServiceState
from lanner.store import migrator, service_instances
from lanner.store.database import create_engine, write_connection
from lanner.store.queue import Outgoing, Queue
from lanner.store.tables import flow_revisions
from lanner.store.tables import flows as flows_table
from lanner.upgrade.check import run_check
from tests.conftest import run_lanner
from tests.helpers import config_for, snapshot

OLD_FLOW = """\
id: legacy
namespace: company.team
# written for Kestra 0.15
taskDefaults:
  - type: io.kestra.core.tasks.log.Log
    values:
      level: WARN
tasks:
  - id: hello
    type: io.kestra.core.tasks.log.Log
    message: hello
  - id: each
    type: io.kestra.core.tasks.flows.EachParallel
    value: ["a", "b"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
"""
CURRENT_FLOW = """\
id: current
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hello
"""


@pytest.fixture
def old_database(database_url):
    """A database at schema 0001 with an old-style flow, a current one, and a 0.0.9 worker alive."""
    config = config_for(database_url)
    engine = create_engine(config.settings.database)
    migrator.migrate(engine, config.settings.database, target="0001")
    with write_connection(engine) as connection, connection.begin():
        for source in (OLD_FLOW, CURRENT_FLOW):
            _save_at_0001(connection, source)
    register(engine, "0.0.9", "WORKER")
    yield engine
    engine.dispose()


def _save_at_0001(connection, source, flow=None):
    """The flow's rows as 0001 holds them (today's save_flow writes columns added since)."""
    flow, now = flow or validate_source(source).flow, datetime.now(UTC)
    key = {"tenant_id": "main", "namespace": flow.namespace, "flow_id": flow.id, "revision": 1, "source": source,
           "deleted": False, "created_at": now}
    connection.execute(sa.insert(flow_revisions).values(**key))
    connection.execute(sa.insert(flows_table).values(**key, labels={}, disabled=False, updated_at=now))


def register(engine, lanner_version, service_type, schema_version="0001"):
    instance_id = uuid.uuid4().hex
    service_instances.register(engine, instance_id=instance_id, service_type=service_type, hostname="old-host",
                               pid=4242, lanner_version=lanner_version, schema_version=schema_version, settings={})
    service_instances.change_state(engine, instance_id, ServiceState.RUNNING, "started")
    return instance_id


def test_check_reports_schema_migrations_flows_workers_and_changes(old_database, database_url, tmp_path):
    config_file = tmp_path / "config.yml"
    config_file.write_text(f"lanner:\n  database:\n    url: {database_url}\n  server:\n"
                           "    terminateGracePeriod: 30s\n")
    before = snapshot(database_url)
    result = run_lanner("sys", "upgrade", "check", "--format", "json", "-c", str(config_file), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert snapshot(database_url) == before  # read-only

    assert report["format"] == 1 and report["binary"]["version"] == version()
    assert report["database"]["schemaVersion"] == "0001" and report["database"]["migratedBy"] == version()
    assert report["versionsBetween"][-1] == "Unreleased"
    assert [m["revision"] for m in report["migrations"]] == ["0002", "0003", "0004", "0005"]
    migration = report["migrations"][0]
    assert migration["expectedSeconds"] > 0
    steps = {step["table"]: step for step in migration["steps"]}
    assert set(steps) == {"worker_jobs_running", "task_runs", "queue_messages"}
    postgres = database_url.startswith("postgresql")
    assert migration["locksWrites"] is (not postgres)  # SQLite copies task_runs; PostgreSQL builds concurrently

    assert [(c["key"], c["replacement"]) for c in report["config"]] == [
        ("lanner.server.terminateGracePeriod", "lanner.server.termination-grace-period")]
    assert report["config"][0]["source"].startswith(f"file {config_file}:5")

    flows = report["flows"]
    assert {f["flowId"] for f in flows} == {"legacy"}
    by_path = {f["path"]: f for f in flows}
    assert by_path["taskDefaults"]["changeId"] == "task-defaults"
    assert by_path["tasks[0].type"]["changeId"] == "kestra-type-aliases"
    assert by_path["tasks[1].type"]["revision"] == 1 and by_path["tasks[1].type"]["line"] == 13
    assert {f["namespace"] for f in flows} == {"company.team"}
    assert all(f["autoFix"] for f in flows)

    [worker] = report["instances"]
    assert worker["version"] == "0.0.9" and worker["problem"] == "old-worker"
    assert report["backup"]["latest"] is None
    codes = {item["code"]: item["severity"] for item in report["items"]}
    assert codes["old-worker"] == "warning" and codes["flow-deprecation"] == "warning"
    assert codes["config-deprecation"] == "warning" and codes["no-backup"] == "warning"
    assert "version-skew" not in codes  # 0.0.9 and 0.1.0 are one minor version apart: supported
    assert report["blockers"] == 0
    assert {c["id"] for c in report["breakingChanges"]} >= {"each-parallel", "task-defaults", "schema-0002"}

    text = run_lanner("sys", "upgrade", "check", "-c", str(config_file), cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "Schema:          0001, last migrated by Lanner" in out
    assert "0002 Worker jobs and queue indexes" in out
    assert "lanner.server.terminateGracePeriod" in out and "legacy" in out and "0.0.9" in out
    assert "old worker" in out and "No blockers" in out


def test_a_newer_live_instance_is_a_blocker_exit_11(old_database, database_url, tmp_path):
    register(old_database, "99.0.0", "EXECUTOR")
    result = run_lanner("sys", "upgrade", "check", env={"LANNER_DATABASE_URL": database_url}, cwd=tmp_path)
    assert result.returncode == 11, result.stdout + result.stderr
    assert "BLOCKER" in result.stdout and "99.0.0 (schema 0001), newer than this Lanner" in result.stdout
    result = run_lanner("sys", "upgrade", "check", "--format", "json", env={"LANNER_DATABASE_URL": database_url},
                        cwd=tmp_path)
    report = json.loads(result.stdout)
    assert result.returncode == 11 and report["blockers"] == 1
    assert any(item["code"] == "version-skew" for item in report["items"])


def test_the_cost_estimate_grows_with_the_rows(old_database, database_url):
    config = config_for(database_url)

    def queue_step():
        report = run_check(old_database, config)
        step = next(s for s in report.migrations[0]["steps"] if s["table"] == "queue_messages")
        return step

    empty = queue_step()
    queue = Queue(old_database)
    try:
        with write_connection(old_database) as connection, connection.begin():
            queue.send_many(connection, "test.bulk",
                            [Outgoing("main", None, {"v": 1, "n": n, "pad": "x" * 200}) for n in range(20_000)])
    finally:
        queue.close()
    if database_url.startswith("postgresql"):
        with old_database.connect() as connection:
            connection.execute(sa.text("ANALYZE queue_messages"))
            connection.commit()
    full = queue_step()
    assert empty["rows"] == 0 and full["rows"] == 20_000
    assert full["bytes"] > empty["bytes"] and full["seconds"] > empty["seconds"]


def test_the_latest_backup_is_found_and_dated_from_its_header(old_database, database_url, tmp_path):
    env = {"LANNER_DATABASE_URL": database_url, "LANNER_BACKUP_ENCRYPTION_KEY": "a passphrase for the test"}
    created = run_lanner("backups", "create", env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stdout + created.stderr
    [backup] = list((tmp_path / "data" / "backups").glob("*.lbak"))  # lanner.backup.folder's default
    result = run_lanner("sys", "upgrade", "check", "--format", "json", env=env, cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["backup"]["latest"] == str(backup.relative_to(tmp_path))
    assert report["backup"]["source"] == "header"
    assert report["backup"]["sinceLastMigration"] is True and 0 <= report["backup"]["ageSeconds"] < 120
    assert "no-backup" not in {item["code"] for item in report["items"]}


def test_a_live_instance_on_a_schema_this_lanner_does_not_know_is_a_blocker(old_database, database_url):
    register(old_database, "0.1.0", "WEBSERVER", schema_version="0099")
    report = run_check(old_database, config_for(database_url))
    assert [item.code for item in report.blockers] == ["instance-newer"]
    assert "schema 0099" in report.blockers[0].message


def test_a_stored_flow_this_lanner_no_longer_accepts_is_a_blocker(old_database, database_url):
    """Saved by an older Lanner that let it through; this one refuses it: its executions could not start."""
    accepted_then = CURRENT_FLOW.replace("id: current", "id: guarded") + (
        "triggers:\n  - id: after\n    type: io.kestra.plugin.core.trigger.Flow\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.HasRetryAttempt\n        in: [FAILED]\n")
    assert not validate_source(accepted_then).valid
    with write_connection(old_database) as connection, connection.begin():
        model = validate_source(CURRENT_FLOW.replace("id: current", "id: guarded")).flow
        _save_at_0001(connection, accepted_then, model)
    report = run_check(old_database, config_for(database_url))
    [blocker] = report.blockers
    assert blocker.code == "flow-invalid"
    assert blocker.message.startswith("flow company.team.guarded (revision 1) does not validate with Lanner")
    assert "triggers[0].conditions[0] (line 11): HasRetryAttempt is not supported by Lanner yet" in blocker.message
    [finding] = [f for f in report.flows if f["kind"] == "invalid"]
    assert (finding["flowId"], finding["path"]) == ("guarded", "triggers[0].conditions[0]")


def test_an_up_to_date_database_has_nothing_in_between(database_url, tmp_path):
    config = config_for(database_url)
    engine = create_engine(config.settings.database)
    try:
        migrator.migrate(engine, config.settings.database)  # to this code's head, by this version
    finally:
        engine.dispose()
    env = {"LANNER_DATABASE_URL": database_url}
    report = json.loads(run_lanner("sys", "upgrade", "check", "--format", "json", env=env, cwd=tmp_path).stdout)
    assert report["migrations"] == [] and report["versionsBetween"] == [] and report["breakingChanges"] == []
    assert report["upToDate"] is True
    text = run_lanner("sys", "upgrade", "check", env=env, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    up_to_date = [line for line in text.stdout.splitlines() if line.startswith("Up to date:")]
    assert up_to_date == [f"Up to date:      the database was last migrated by this Lanner {version()} (schema "
                          f"{report['binary']['schemaHead']}); no migration, breaking change or deprecation in "
                          "between."]
    assert "Unreleased" not in text.stdout and "Nothing to upgrade" in text.stdout
