"""``lanner flow`` as an operator drives it: validate, deploy a namespace folder, revisions and diffs."""

from __future__ import annotations

from pathlib import Path

from lanner.store.database import database_exists
from tests.conftest import run_lanner
from tests.helpers import config_for, snapshot

GOOD = "id: {id}\nnamespace: {ns}\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: {msg}\n"
FLOWS = Path(__file__).parents[1] / "flows"


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_validate_valid_folder_exits_0():
    result = run_lanner("flow", "validate", str(FLOWS / "valid"))
    assert result.returncode == 0, result.stdout
    assert result.stdout.endswith("2 flow(s) checked: 2 valid, 0 invalid (0 error(s), 0 deprecation(s)).\n")


def test_validate_reports_every_problem_and_exits_1():
    target = FLOWS / "golden" / "unknown_property.yaml"
    result = run_lanner("flow", "validate", str(target), str(FLOWS / "golden" / "deprecated.yaml"))
    assert result.returncode == 1
    expected = (FLOWS / "golden" / "unknown_property.expected").read_text().replace("unknown_property.yaml", str(target))
    assert expected in result.stdout
    assert "`taskDefaults` is replaced by `pluginDefaults`" in result.stdout
    assert "2 flow(s) checked: 1 valid, 1 invalid (5 error(s), 9 deprecation(s))." in result.stdout


def test_validate_missing_path_is_a_usage_error(tmp_path):
    result = run_lanner("flow", "validate", str(tmp_path / "nope.yml"))
    assert result.returncode == 2 and "nope.yml does not exist" in result.stderr


def test_validate_with_a_plugins_folder(tmp_path):
    plugins = tmp_path / "plugins"
    write(plugins, "ping.py", "from lanner.tasks.runnable import RunnableTask, TaskOutput\n\n"
          "class Ping(RunnableTask):\n    TYPE = 'com.example.Ping'\n    host: str\n\n"
          "    def run(self, context):\n        return TaskOutput({})\n\nTYPES = [Ping]\n")
    flow = write(tmp_path, "f.yml", "id: f\nnamespace: n\ntasks:\n  - id: p\n    type: com.example.Ping\n    host: db\n")
    assert run_lanner("flow", "validate", str(flow)).returncode == 1
    assert run_lanner("flow", "validate", "-p", str(plugins), str(flow)).returncode == 0


def test_validate_accepts_secret_inputs_only_with_the_configured_key(tmp_path):
    flow = write(tmp_path, "f.yml", "id: f\nnamespace: n\ninputs:\n  - id: password\n    type: SECRET\n"
                                    "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: m\n")
    refused = run_lanner("flow", "validate", str(flow))
    assert refused.returncode == 1 and "set lanner.encryption.secret-key" in refused.stdout
    key = "NWRhUDc5TERWY2QyMDhSSHhfeWYzbjJpNE5vb3M5NnY="
    assert run_lanner("flow", "validate", str(flow), env={"LANNER_ENCRYPTION_SECRET_KEY": key}).returncode == 0
    config = write(tmp_path, "lanner.yml", f"lanner:\n  encryption:\n    secret-key: {key}\n")
    assert run_lanner("flow", "validate", "-c", str(config), str(flow)).returncode == 0


def _env(url: str) -> dict[str, str]:
    return {"LANNER_DATABASE_URL": url}


def test_namespace_update_deploys_revises_and_deletes(database_url, tmp_path):
    folder = tmp_path / "flows"
    write(folder, "a.yml", GOOD.format(id="a", ns="company.team", msg="one"))
    write(folder / "sub", "b.yaml", GOOD.format(id="b", ns="company.team.sub", msg="one"))
    env = _env(database_url)
    first = run_lanner("flow", "namespace", "update", "company.team", str(folder), env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "created   company.team.a (revision 1)" in first.stdout
    assert "created   company.team.sub.b (revision 1)" in first.stdout

    write(folder, "a.yml", GOOD.format(id="a", ns="company.team", msg="two"))
    second = run_lanner("flow", "namespace", "update", "company.team", str(folder), env=env, cwd=tmp_path)
    assert "updated   company.team.a (revision 2)" in second.stdout
    assert "unchanged company.team.sub.b (revision 1)" in second.stdout

    diff = run_lanner("flow", "diff", "company.team", "a", "1", "2", env=env, cwd=tmp_path)
    assert diff.returncode == 0 and "-    message: one" in diff.stdout and "+    message: two" in diff.stdout

    (folder / "sub" / "b.yaml").unlink()
    third = run_lanner("flow", "namespace", "update", "company.team", str(folder), "--delete", env=env, cwd=tmp_path)
    assert third.returncode == 0
    assert "deleted   company.team.sub.b (revision 2)" in third.stdout
    revisions = run_lanner("flow", "revisions", "company.team.sub", "b", env=env, cwd=tmp_path)
    assert [line.split()[0] for line in revisions.stdout.splitlines()] == ["1", "2"]
    assert revisions.stdout.splitlines()[1].endswith("deleted")


def test_namespace_update_writes_nothing_when_any_flow_is_invalid(database_url, tmp_path):
    folder = tmp_path / "flows"
    write(folder, "a.yml", GOOD.format(id="a", ns="company.team", msg="fine"))
    write(folder, "b.yml", GOOD.format(id="b", ns="company.team", msg="fine").replace("message", "mesage"))
    write(folder, "c.yml", GOOD.format(id="c", ns="elsewhere", msg="fine"))
    env = _env(database_url)
    result = run_lanner("flow", "namespace", "update", "company.team", str(folder), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown property 'mesage'" in result.stdout
    assert "namespace: 'elsewhere' is not company.team or one of its child namespaces" in result.stdout
    assert "Nothing deployed" in result.stdout
    # a.yml was valid, yet nothing at all was written: not even the schema.
    config = config_for(database_url).settings.database
    assert not database_exists(config) or snapshot(database_url) == {}


def test_namespace_update_refuses_two_files_for_one_flow(database_url, tmp_path):
    folder = tmp_path / "flows"
    write(folder, "a.yml", GOOD.format(id="a", ns="company.team", msg="x"))
    write(folder, "copy.yml", GOOD.format(id="a", ns="company.team", msg="y"))
    result = run_lanner("flow", "namespace", "update", "company.team", str(folder), env=_env(database_url), cwd=tmp_path)
    assert result.returncode == 1 and "flow company.team.a is also defined in" in result.stdout
