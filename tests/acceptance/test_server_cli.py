"""The engine's commands as an operator runs them: `flow test`, and servers as real processes with real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lanner.engine.shell.service import Executions
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.store.queue import Queue
from lanner.store.schema_guard import prepare_database
from tests.conftest import run_lanner
from tests.helpers import config_for

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
ENGINE_FLOWS = ROOT / "tests" / "flows" / "engine"


def test_flow_test_prints_the_task_run_tree_and_exits_0():
    result = run_lanner("flow", "test", str(EXAMPLES / "hello_world.yaml"), "--inputs", "user=Ada", "-l", "WARN")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Execution ") and "lanner.examples.hello_world (revision 1): SUCCESS" in lines[0]
    assert any(line.split()[:4] == ["greeting", "SUCCESS", "1", "attempt"] and '{"value": "Hello, Ada!"}' in line
               for line in lines)
    assert 'Outputs: {"greeting": "Hello, Ada!"}' in result.stdout
    assert any("INFO  log: Hello, Ada! This execution is" in line for line in lines)


def test_flow_test_exits_1_when_the_execution_fails():
    result = run_lanner("flow", "test", str(ENGINE_FLOWS / "failure_handling.yaml"), "-l", "WARN")
    assert result.returncode == 1
    assert "FAILED" in result.stdout.splitlines()[0] and "broken on purpose" in result.stdout


def test_flow_test_deploys_a_flow_folder_for_the_subflows_it_calls(tmp_path):
    (tmp_path / "child.yaml").write_text((ENGINE_FLOWS / "subflow_child.yaml").read_text())
    result = run_lanner("flow", "test", str(ENGINE_FLOWS / "subflow_parent.yaml"), "-f", str(tmp_path), "-l", "WARN")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout.splitlines()[0] and '"value": "ADA from ' in result.stdout


def test_flow_test_rejects_an_invalid_flow_and_bad_inputs(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("id: bad\nnamespace: n\ntasks: []\n")
    invalid = run_lanner("flow", "test", str(bad))
    assert invalid.returncode == 1 and "tasks: must not be empty" in invalid.stdout
    malformed = run_lanner("flow", "test", str(EXAMPLES / "hello_world.yaml"), "--inputs", "novalue")
    assert malformed.returncode == 2 and "expected KEY=VALUE" in malformed.stderr


def _server(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "lanner", "server", *args], env={**os.environ, **env}, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _await_line(process: subprocess.Popen[str], text: str) -> list[str]:
    seen = []
    for line in process.stdout:  # type: ignore[union-attr]
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"the server ended before printing {text!r}:\n{''.join(seen)}")


def test_standalone_serves_a_flow_folder_and_stops_on_sigterm(tmp_path):
    env = {"LANNER_DATABASE_URL": f"sqlite:///{tmp_path / 'lanner.db'}"}
    with _server("standalone", "-f", str(EXAMPLES), "--worker-thread", "2", "--port", "0", env=env,
                 cwd=tmp_path) as server:
        seen = _await_line(server, "ready")
        assert any("flow lanner.examples.hello_world deployed" in line for line in seen)
        engine = prepare_database(config_for(env["LANNER_DATABASE_URL"]), may_migrate=False)
        try:
            with Queue(engine) as queue:
                service = Executions(engine, queue)
                execution = service.wait(service.create("lanner.examples", "hello_world", {"user": "Bo"}).id)
            assert execution.current is State.SUCCESS and execution.outputs == {"greeting": "Hello, Bo!"}
        finally:
            engine.dispose()
        server.send_signal(signal.SIGTERM)
        rest = server.communicate(timeout=30)[0]
    assert server.returncode == 0
    assert "SIGTERM received" in rest and "stopped" in rest


def test_separate_executor_and_worker_processes_on_postgresql(postgres_url, tmp_path):
    env = {"LANNER_DATABASE_URL": postgres_url}
    with _server("worker", "--thread", "2", env=env, cwd=tmp_path) as worker:
        # The worker starts first, against an empty database: it waits for the executor to migrate.
        with _server("executor", env=env, cwd=tmp_path) as executor:
            _await_line(executor, "ready")
            _await_line(worker, "ready")
            engine = prepare_database(config_for(postgres_url), may_migrate=False)
            try:
                for path in sorted(ENGINE_FLOWS.glob("*.yaml")):
                    source = path.read_text()
                    with write_connection(engine) as connection, connection.begin():
                        flow_repository.save_flow(connection, validate_source(source).flow, source)
                with Queue(engine) as queue:
                    service = Executions(engine, queue)
                    ids = [service.create("lanner.tests", name).id for name in
                           ("sequential_outputs", "nested_flowables", "failure_handling")]
                    states = [service.wait(i, timeout=60).current for i in ids]
            finally:
                engine.dispose()
            assert states == [State.SUCCESS, State.SUCCESS, State.FAILED]
            executor.send_signal(signal.SIGTERM)
            executor.communicate(timeout=30)
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    assert executor.returncode == 0 and worker.returncode == 0


@pytest.mark.parametrize("command", [["server", "standalone"], ["server", "executor"], ["server", "worker"],
                                     ["flow", "test"]])
def test_engine_commands_take_the_global_options(command):
    result = run_lanner(*command, "-h")
    assert result.returncode == 0
    assert "-c, --config" in result.stdout and "--internal-log" in result.stdout


def test_flow_test_names_each_bad_input(tmp_path):
    flow = tmp_path / "typed.yml"
    flow.write_text("id: typed\nnamespace: t\ninputs:\n  - id: n\n    type: INT\n  - id: when\n    type: DATE\n"
                    "tasks:\n  - id: r\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ inputs.n }}\"\n")
    result = run_lanner("flow", "test", str(flow), "--inputs", "n=abc", "-l", "ERROR")
    assert result.returncode == 2
    assert "Invalid input `n`: expected an integer, got 'abc'" in result.stderr
    assert "Missing required input `when` (DATE)" in result.stderr
    ok = run_lanner("flow", "test", str(flow), "--inputs", "n=41", "--inputs", "when=2026-11-28", "-l", "ERROR")
    assert ok.returncode == 0 and '{"value": "41"}' in ok.stdout


def test_flow_test_takes_several_inputs_after_one_inputs_option(tmp_path):
    flow = tmp_path / "typed.yml"
    flow.write_text("id: typed\nnamespace: t\ninputs:\n  - id: n\n    type: INT\n  - id: when\n    type: DATE\n"
                    "tasks:\n  - id: r\n    type: io.kestra.plugin.core.debug.Return\n"
                    "    format: \"{{ inputs.n }} {{ inputs.when }}\"\n")
    after_file = run_lanner("flow", "test", str(flow), "--inputs", "n=41", "when=2026-11-28")
    assert after_file.returncode == 0, after_file.stderr
    assert '{"value": "41 2026-11-28"}' in after_file.stdout
    before_file = run_lanner("flow", "test", "--inputs", "n=42", "when=2026-11-29", str(flow))
    assert before_file.returncode == 0, before_file.stderr
    assert '{"value": "42 2026-11-29"}' in before_file.stdout
    stray = run_lanner("flow", "test", str(flow), "--inputs", "n=41", "when")
    assert stray.returncode == 2 and "--inputs 'when': expected KEY=VALUE" in stray.stderr
    assert "Traceback" not in stray.stderr


def test_flow_test_prints_only_the_execution_unless_verbose():
    quiet = run_lanner("flow", "test", str(EXAMPLES / "hello_world.yaml"), "--inputs", "user=Ada")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""  # nothing of the throwaway database's migrations
    assert quiet.stdout.startswith("Execution ") and "migration" not in quiet.stdout
    verbose = run_lanner("flow", "test", str(EXAMPLES / "hello_world.yaml"), "--inputs", "user=Ada", "-v")
    assert verbose.returncode == 0 and "applying migration 0001" in verbose.stderr


def test_webserver_serves_health_and_the_api_and_stops_on_sigterm(tmp_path):
    import re

    import httpx

    env = {"LANNER_DATABASE_URL": f"sqlite:///{tmp_path / 'lanner.db'}"}
    with _server("webserver", "--port", "0", env=env, cwd=tmp_path) as server:
        seen = _await_line(server, "ready")
        port = int(next(re.search(r"listening on port (\d+)", line).group(1) for line in seen
                        if "listening on port" in line))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.get("/health/ready").json()["status"] == "UP"
            assert client.get("/api/v1/flows/search").json() == {"results": [], "total": 0}
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output
    assert "webserver stopped" in output
