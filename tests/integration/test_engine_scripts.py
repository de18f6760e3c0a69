"""Script tasks through the whole engine on both backends: outputs, files between tasks, failures, timeouts.

The flows live in tests/flows/engine/scripts_*.yaml; each real process runs on the worker.
"""

from __future__ import annotations

import time
import uuid

import pytest

from lanner.model.state import State
from tests.helpers import processes_with
from tests.integration.running import running


@pytest.fixture
def lanner(database_url, tmp_path):
    with running(database_url, tmp_path / "storage", ["scripts_*"]) as service:
        yield service


def runs_by_task(execution):
    return {run.task_id: run for run in execution.task_runs}


def logged(lanner, execution, task_id=None):
    return [(entry.level, entry.message) for entry in lanner.logs(execution.id)
            if task_id is None or entry.task_id == task_id]


def test_vars_and_output_files_flow_to_the_next_tasks(lanner, tmp_path):
    execution = lanner.wait(lanner.create("lanner.tests", "scripts_outputs", {"greeting": "hi"}).id, timeout=60)
    assert execution.current is State.SUCCESS, [(r.task_id, r.current) for r in execution.task_runs]
    runs = runs_by_task(execution)
    produced = runs["produce"].outputs
    assert produced["exitCode"] == 0 and produced["vars"] == {"count": 3, "label": "hi"}
    uri = produced["outputFiles"]["numbers.csv"]
    assert uri.startswith("kestra:///lanner/tests/scripts_outputs/executions/") and uri.endswith("/numbers.csv")
    stored = tmp_path / "storage" / uri.removeprefix("kestra:///")
    assert stored.read_text() == "n\n1\n2\n3\n"
    assert list(runs["produce"].metrics) == [{"name": "rows", "value": 3.0, "type": "counter", "tags": {}}]
    assert runs["total"].outputs["vars"] == {"total": 6}
    assert "outputFiles" not in runs["total"].outputs
    assert ("INFO", "wrote numbers.csv") in logged(lanner, execution, "produce")
    assert [message for level, message in logged(lanner, execution, "report") if level == "INFO"] == [
        "hi: 3 rows, total 6", "lines in the copy: 4"]


def test_a_failing_script_fails_the_execution_with_its_exit_code(lanner):
    execution = lanner.wait(lanner.create("lanner.tests", "scripts_failure").id, timeout=60)
    assert execution.current is State.FAILED
    assert [(run.task_id, run.current) for run in execution.task_runs] == [("broken", State.FAILED)]
    logs = logged(lanner, execution, "broken")
    assert ("INFO", "about to fail") in logs and ("WARN", "something went wrong") in logs
    assert any("command failed with exit code 3" in message for _, message in logs)


def test_a_timeout_stops_the_script_and_leaves_no_process_behind(lanner):
    marker = f"{uuid.uuid4().int % 10**12:012d}"
    started = time.monotonic()
    execution = lanner.wait(lanner.create("lanner.tests", "scripts_timeout", {"marker": marker}).id, timeout=60)
    elapsed = time.monotonic() - started
    assert execution.current is State.FAILED
    assert [(run.task_id, run.current) for run in execution.task_runs] == [("slow", State.FAILED)]
    assert elapsed < 10  # the 60 s sleeps did not run their course
    logs = logged(lanner, execution, "slow")
    assert ("INFO", "child started") in logs
    assert any("timeout" in message for _, message in logs)
    assert processes_with(f"60.{marker}") == []

