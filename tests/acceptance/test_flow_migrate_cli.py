"""lanner flow migrate, as an operator runs it: files rewritten in place, stored flows given a revision."""

from __future__ import annotations

from lanner.flows.validator import validate_source
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.store.schema_guard import prepare_database
from tests.conftest import run_lanner
from tests.helpers import config_for

ALIASES = """\
# Kestra 0.15 style
id: aliases   # the flow
namespace: company.team

tasks:
  # say hello
  - id: hello
    type: io.kestra.core.tasks.log.Log   # the old name
    message: "Hello"
  - id: group
    type: 'io.kestra.core.tasks.flows.Sequential'
    tasks:
      - id: ret
        type: io.kestra.core.tasks.debugs.Return
        format: done
"""
CURRENT = ALIASES.replace("io.kestra.core.tasks.log.Log", "io.kestra.plugin.core.log.Log") \
    .replace("io.kestra.core.tasks.flows.Sequential", "io.kestra.plugin.core.flow.Sequential") \
    .replace("io.kestra.core.tasks.debugs.Return", "io.kestra.plugin.core.debug.Return")
RISKY = """\
id: risky
namespace: company.team
tasks:
  - id: each
    type: io.kestra.core.tasks.flows.EachParallel
    value: [1, 2]
    tasks:
      - id: a
        type: io.kestra.plugin.core.log.Log
        message: a
      - id: b
        type: io.kestra.plugin.core.log.Log
        message: b
"""


def test_files_are_rewritten_in_place_keeping_comments_and_a_second_run_changes_nothing(tmp_path):
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "aliases.yaml").write_text(ALIASES)
    (folder / "risky.yml").write_text(RISKY)

    dry = run_lanner("flow", "migrate", "--dry-run", str(folder))
    assert dry.returncode == 1, dry.stderr  # a flow was left alone
    assert "-    type: io.kestra.core.tasks.log.Log   # the old name" in dry.stdout
    assert "+    type: io.kestra.plugin.core.log.Log   # the old name" in dry.stdout
    assert "risky.yml: left alone:" in dry.stdout and "has 2 tasks" in dry.stdout
    assert "2 flow(s): 1 would be migrated, 0 already current, 1 left alone." in dry.stdout
    assert (folder / "aliases.yaml").read_text() == ALIASES

    done = run_lanner("flow", "migrate", str(folder / "aliases.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (folder / "aliases.yaml").read_text() == CURRENT
    assert (folder / "risky.yml").read_text() == RISKY
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temporary file left

    again = run_lanner("flow", "migrate", str(folder / "aliases.yaml"))
    assert again.returncode == 0 and "0 migrated, 1 already current" in again.stdout
    assert (folder / "aliases.yaml").read_text() == CURRENT

    validate = run_lanner("flow", "validate", str(folder / "risky.yml"))
    assert "lanner flow migrate" in validate.stdout


def test_stored_flows_get_a_new_revision_in_one_go(database_url, tmp_path):
    engine = prepare_database(config_for(database_url), may_migrate=True)
    try:
        with write_connection(engine) as connection, connection.begin():
            for source in (ALIASES, RISKY, ALIASES.replace("namespace: company.team", "namespace: other")):
                flow_repository.save_flow(connection, validate_source(source).flow, source)
    finally:
        engine.dispose()
    env = {"LANNER_DATABASE_URL": database_url}

    dry = run_lanner("flow", "migrate", "--namespace", "company.team", "--dry-run", env=env, cwd=tmp_path)
    assert dry.returncode == 1 and "company.team.aliases (revision 1) (after)" in dry.stdout
    assert "2 flow(s): 1 would be migrated, 0 already current, 1 left alone." in dry.stdout

    done = run_lanner("flow", "migrate", "--all", env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "company.team.aliases (revision 1): saved as revision 2" in done.stdout
    assert "other.aliases (revision 1): saved as revision 2" in done.stdout
    assert "3 flow(s): 2 migrated, 0 already current, 1 left alone." in done.stdout

    engine = prepare_database(config_for(database_url), may_migrate=False)
    try:
        with engine.connect() as connection:
            stored = flow_repository.get_flow(connection, "company.team", "aliases")
            assert stored.revision == 2 and stored.source == CURRENT
            assert flow_repository.get_flow(connection, "company.team", "aliases", 1).source == ALIASES
            assert flow_repository.get_flow(connection, "company.team", "risky").revision == 1
    finally:
        engine.dispose()

    again = run_lanner("flow", "migrate", "--namespace", "company.team", env=env, cwd=tmp_path)
    assert "0 migrated, 1 already current, 1 left alone." in again.stdout


def test_one_target_kind_is_required(tmp_path):
    result = run_lanner("flow", "migrate", cwd=tmp_path)
    assert result.returncode == 2 and "--namespace NS, or --all" in result.stderr
