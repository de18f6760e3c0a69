"""The engine end to end on both backends: executor and worker threads, the real queue and store.

Each flow lives in tests/flows/engine/ and is asserted by its final state, its task runs,
their attempts and outputs, and its logs, the way Kestra's runner tests do.
"""

from __future__ import annotations

import pytest

from lanner.engine.shell.service import Executions
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.server.runtime import Runtime
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for
from tests.integration.running import FLOWS, running


@pytest.fixture
def lanner(database_url, tmp_path):
    with running(database_url, tmp_path / "storage") as service:
        yield service


def runs_by_task(execution):
    found = {}
    for run in execution.task_runs:
        found.setdefault(run.task_id, []).append(run)
    return found


def test_sequential_outputs_and_flow_outputs(lanner):
    execution = lanner.wait(lanner.create("lanner.tests", "sequential_outputs", {"name": "ada"}).id)
    assert execution.current is State.SUCCESS
    runs = runs_by_task(execution)
    assert list(runs) == ["hello", "shout", "log", "values", "grouped", "inside"]
    assert runs["inside"][0].outputs["value"] == "no loop" and runs["grouped"][0].current is State.SUCCESS
    assert runs["shout"][0].outputs == {"value": "HELLO ADA"}
    assert execution.outputs == {"result": "hello ada / HELLO ADA"}
    assert execution.inputs == {"name": "ada"}
    logs = lanner.logs(execution.id)
    assert [(entry.task_id, entry.level, entry.message) for entry in logs if entry.task_id == "log"] == [
        ("log", "INFO", "HELLO ADA")]
    assert runs["hello"][0].metrics and {m["name"] for m in runs["hello"][0].metrics} == {"length", "duration"}


def test_nested_flowables(lanner):
    execution = lanner.wait(lanner.create("lanner.tests", "nested_flowables").id)
    assert execution.current is State.SUCCESS, [(r.task_id, r.current) for r in execution.task_runs]
    runs = runs_by_task(execution)
    assert runs["is_a"][0].outputs["value"] == "A from a"
    assert runs["not_a"][0].outputs["value"] == "b"
    assert runs["second"][0].outputs["value"] == "12"
    assert runs["matched"][0].current is State.SUCCESS
    assert len(execution.task_runs) == 11


def test_failures_retries_errors_and_finally(lanner):
    execution = lanner.wait(lanner.create("lanner.tests", "failure_handling").id)
    assert execution.current is State.FAILED
    runs = runs_by_task(execution)
    assert runs["tolerated"][0].current is State.WARNING
    assert [a.state.current for a in runs["retried"][0].attempts] == [State.FAILED, State.SUCCESS]
    assert runs["broken"][0].current is State.FAILED
    assert "never" not in runs
    assert runs["on_error"][0].current is State.SUCCESS and runs["cleanup"][0].current is State.SUCCESS
    messages = [entry.message for entry in lanner.logs(execution.id)]
    assert "broken on purpose" in messages


def test_legacy_loops_allow_failure_working_directory_and_log_levels(lanner):
    execution = lanner.wait(lanner.create("lanner.tests", "legacy_loops").id)
    assert execution.current is State.WARNING, [(r.task_id, r.current) for r in execution.task_runs]
    runs = runs_by_task(execution)
    assert sorted(run.outputs["value"] for run in runs["in_seq"]) == ["seq x", "seq y"]
    assert len(runs["in_par"]) == 3 and all(run.current is State.SUCCESS for run in runs["in_par"])
    assert runs["fails"][0].current is State.FAILED and runs["tolerate"][0].current is State.WARNING
    assert runs["nap"][0].current is State.SUCCESS and runs["workdir"][0].current is State.SUCCESS
    assert execution.labels["stage"] == "seq y"
    logs = [(entry.task_id, entry.level, entry.message) for entry in lanner.logs(execution.id)]
    assert ("loud", "WARN", "kept") in logs
    assert not any(task_id == "quiet" for task_id, _, _ in logs)
    assert sorted(m for t, _, m in logs if t == "in_par") == ["par 1", "par 2", "par 3"]


def test_a_replayed_result_changes_nothing(lanner):
    from lanner.engine.core.decide import TaskResult
    from lanner.engine.shell import messages
    from lanner.store.database import write_connection as writer

    execution = lanner.wait(lanner.create("lanner.tests", "sequential_outputs").id)
    first = execution.task_runs[0]
    replay = TaskResult(first.id, 1, State.FAILED, message="a zombie worker's late failure")
    with writer(lanner.engine) as connection, connection.begin():
        lanner.queue.send(connection, messages.EXECUTOR, messages.event_payload(execution.id, replay))
    _wait_until(lambda: any("ignored a late or duplicate result" in entry.message
                            for entry in lanner.logs(execution.id)))
    assert lanner.get(execution.id) == execution


def test_inputs_are_checked_when_creating(lanner):
    from lanner.engine.core.inputs import InputsError

    with pytest.raises(InputsError):
        lanner.create("lanner.tests", "sequential_outputs", {"name": ["not", "a", "string"]})


def test_kill_stops_a_running_task(lanner):
    execution = lanner.create("lanner.tests", "sleepy")
    _wait_until(lambda: any(run.task_id == "nap" and run.current is State.RUNNING
                            for run in lanner.get(execution.id).task_runs))
    lanner.kill(execution.id)
    killed = lanner.wait(execution.id, timeout=30)
    assert killed.current is State.KILLED
    assert [(run.task_id, run.current) for run in killed.task_runs] == [("nap", State.KILLED)]


def test_kill_withdraws_jobs_no_worker_took(database_url):
    """With no worker running, the queued job is withdrawn, reported KILLED, and never runs."""
    from lanner.engine.shell import messages

    engine = prepare_database(config_for(database_url), may_migrate=True)
    source = (FLOWS / "sequential_outputs.yaml").read_text()
    with write_connection(engine) as connection, connection.begin():
        flow_repository.save_flow(connection, validate_source(source).flow, source)
    try:
        with Runtime(engine, executors=1, worker_threads=0) as runtime:
            service = Executions(engine, runtime.queue, runtime.flows)
            execution = service.create("lanner.tests", "sequential_outputs", {"name": "ada"})
            _wait_until(lambda: any(run.current is State.RUNNING for run in service.get(execution.id).task_runs))
            service.kill(execution.id)
            killed = service.wait(execution.id, timeout=30)
            with engine.connect() as connection:
                queued = runtime.queue.depth(connection, messages.WORKER)
        assert killed.current is State.KILLED
        assert [(run.task_id, run.current, run.attempt_number) for run in killed.task_runs] == [
            ("hello", State.KILLED, 1)]
        assert queued == 0
    finally:
        engine.dispose()


def test_timeout_fails_the_attempt(lanner):
    execution = lanner.wait(lanner.create("lanner.tests", "timeout").id, timeout=30)
    assert execution.current is State.FAILED
    assert any("timeout" in entry.message for entry in lanner.logs(execution.id))


def test_restart_a_failed_execution(lanner):
    execution = lanner.wait(lanner.create("lanner.tests", "failure_handling").id)
    lanner.restart(execution.id)
    restarted = _wait_restart(lanner, execution.id)
    runs = runs_by_task(restarted)
    assert runs["broken"][0].attempt_number == 2
    assert restarted.current is State.FAILED  # it fails again, by design
    assert State.RESTARTED in [h.state for h in restarted.state.histories]


def _wait_restart(lanner, execution_id):
    _wait_until(lambda: State.RESTARTED in [h.state for h in lanner.get(execution_id).state.histories]
                and lanner.get(execution_id).current.terminal)
    return lanner.get(execution_id)


def _wait_until(condition, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    delay = 0.005
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def test_two_executors_and_two_workers_share_the_work_without_doubles(postgres_url):
    """Several executors race for the same executions' messages: the row lock serialises them."""
    engine = prepare_database(config_for(postgres_url), may_migrate=True)
    try:
        for name in ("nested_flowables", "sequential_outputs"):
            source = (FLOWS / f"{name}.yaml").read_text()
            with write_connection(engine) as connection, connection.begin():
                flow_repository.save_flow(connection, validate_source(source).flow, source)
        with Runtime(engine, executors=2, worker_threads=4) as first, \
                Runtime(engine, executors=1, worker_threads=4) as second:
            service = Executions(engine, first.queue, first.flows)
            ids = [service.create("lanner.tests", name).id for name in ("nested_flowables", "sequential_outputs") * 10]
            finished = [service.wait(execution_id, timeout=120) for execution_id in ids]
        assert all(execution.current is State.SUCCESS for execution in finished)
        for execution in finished:
            assert all(run.attempt_number <= 1 for run in execution.task_runs)  # nothing ran twice
            expected = 11 if execution.flow_id == "nested_flowables" else 6
            assert len(execution.task_runs) == expected
        assert second.worker is not None
    finally:
        engine.dispose()


def test_a_bug_while_deciding_fails_that_execution_only(lanner, monkeypatch):
    from lanner.engine.shell import executor as executor_module

    real_decide = executor_module.decide

    def flaky_decide(execution, flow, events, around):
        if execution.flow_id == "timeout":
            raise RuntimeError("a bug in deciding")
        return real_decide(execution, flow, events, around)

    monkeypatch.setattr(executor_module, "decide", flaky_decide)
    broken = lanner.create("lanner.tests", "timeout")
    fine = lanner.create("lanner.tests", "sequential_outputs")
    assert lanner.wait(broken.id).current is State.FAILED
    assert lanner.wait(fine.id).current is State.SUCCESS
    assert any("internal error: RuntimeError: a bug in deciding" in entry.message for entry in lanner.logs(broken.id))


def test_creation_leaves_the_start_to_the_executor_when_deciding_it_fails(lanner, monkeypatch):
    from lanner.engine.shell import service as service_module

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in deciding the start")

    monkeypatch.setattr(service_module, "decide", broken)
    created = lanner.create("lanner.tests", "sequential_outputs", {"name": "ada"})
    assert created.current is State.CREATED and not created.task_runs
    assert lanner.wait(created.id).current is State.SUCCESS


def test_creation_queues_the_first_jobs_itself(lanner):
    created = lanner.create("lanner.tests", "sequential_outputs", {"name": "ada"})
    assert created.current is State.RUNNING
    assert [(run.task_id, run.current) for run in created.task_runs] == [("hello", State.RUNNING)]
    assert lanner.wait(created.id).current is State.SUCCESS


def test_outputs_holding_a_nul_character_fail_the_task_instead_of_blocking_the_worker(lanner):
    execution = lanner.wait(lanner.create("lanner.tests", "nul_output").id)
    assert execution.current is State.FAILED
    assert any("NUL character" in entry.message for entry in lanner.logs(execution.id))
