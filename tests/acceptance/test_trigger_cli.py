"""``lanner trigger`` as an operator drives it: list, disable, enable, unlock, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

from lanner.ops import triggers as ops
from lanner.store import trigger_repository
from lanner.store.database import write_connection
from lanner.store.schema_guard import prepare_database
from tests.conftest import run_lanner
from tests.helpers import config_for

NIGHTLY = """id: nightly
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: every_night
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
    timezone: Europe/Paris
  - id: hook
    type: io.kestra.plugin.core.trigger.Webhook
    key: s3cret
"""
OTHER = NIGHTLY.replace("id: nightly", "id: other").replace("namespace: company.team", "namespace: company.other")


def deploy(tmp_path: Path, env: dict[str, str]) -> None:
    for namespace, source in (("company.team", NIGHTLY), ("company.other", OTHER)):
        folder = tmp_path / namespace
        folder.mkdir()
        (folder / "flow.yml").write_text(source)
        result = run_lanner("flow", "namespace", "update", namespace, str(folder), env=env)
        assert result.returncode == 0, result.stderr


def test_list_disable_enable_and_unlock_triggers(database_url, tmp_path):
    env = {"LANNER_DATABASE_URL": database_url}
    deploy(tmp_path, env)
    listed = run_lanner("trigger", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "company.team" in listed.stdout and "every_night" in listed.stdout and "Schedule" in listed.stdout
    assert "Webhook" in listed.stdout and "4 trigger(s)" in listed.stdout
    only = json.loads(run_lanner("trigger", "list", "--namespace", "company.team", "--format", "json", env=env).stdout)
    assert [(t["flowId"], t["triggerId"], t["disabled"]) for t in only] == [
        ("nightly", "every_night", False), ("nightly", "hook", False)]
    assert only[0]["type"] == "io.kestra.plugin.core.trigger.Schedule" and only[0]["backfill"] is None

    disabled = run_lanner("trigger", "disable", "company.team", "nightly", "every_night", env=env)
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    shown = json.loads(run_lanner("trigger", "list", "--namespace", "company.team", "--format", "json", env=env).stdout)
    assert shown[0]["disabled"] is True
    assert "yes" in run_lanner("trigger", "list", "--namespace", "company.team", env=env).stdout
    assert run_lanner("trigger", "enable", "company.team", "nightly", "every_night", env=env).returncode == 0
    shown = json.loads(run_lanner("trigger", "list", "--namespace", "company.team", "--format", "json", env=env).stdout)
    assert shown[0]["disabled"] is False

    engine = prepare_database(config_for(database_url), may_migrate=False)
    try:
        with write_connection(engine) as connection, connection.begin():  # held by a scheduler that died
            row = trigger_repository.get_trigger(connection, "company.team", "nightly", "every_night")
            trigger_repository.save_progress(connection, [{"key": row.key, "scheduler_id": "dead-one"}])
        ops.start_backfill(engine, "company.team", "nightly", "every_night", start="2024-01-01T00:00:00Z")
    finally:
        engine.dispose()
    table = run_lanner("trigger", "list", "--namespace", "company.team", env=env).stdout
    assert "running, 0 fired" in table
    unlocked = run_lanner("trigger", "unlock", "company.team", "nightly", "every_night", env=env)
    assert unlocked.returncode == 0 and "was held by scheduler dead-one" in unlocked.stdout
    shown = json.loads(run_lanner("trigger", "list", "--format", "json", env=env).stdout)
    assert [t["schedulerId"] for t in shown if t["triggerId"] == "every_night"] == [None, None]


def test_an_unknown_trigger_is_a_clear_error_without_a_traceback(database_url, tmp_path):
    env = {"LANNER_DATABASE_URL": database_url}
    deploy(tmp_path, env)
    for command in ("disable", "enable", "unlock"):
        result = run_lanner("trigger", command, "company.team", "nightly", "nope", env=env)
        assert result.returncode == 2, (command, result.stderr)
        assert "trigger nope of flow company.team.nightly not found" in result.stderr
        assert "Traceback" not in result.stderr and "lanner trigger list" in result.stderr
    missing_args = run_lanner("trigger", "disable", "company.team", env=env)
    assert missing_args.returncode == 2 and "Traceback" not in missing_args.stderr


def test_an_empty_database_lists_nothing_and_an_unreachable_one_exits_6(tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    prepare_database(config_for(empty), may_migrate=True).dispose()
    listed = run_lanner("trigger", "list", env={"LANNER_DATABASE_URL": empty})
    assert listed.returncode == 0 and "No triggers." in listed.stdout
    assert run_lanner("trigger", "list", "--format", "json",
                      env={"LANNER_DATABASE_URL": empty}).stdout.strip() == "[]"
    gone = run_lanner("trigger", "list", env={"LANNER_DATABASE_URL": f"sqlite:///{tmp_path / 'missing.db'}"})
    assert gone.returncode == 6 and "Traceback" not in gone.stderr
