"""Pause/Resume and Subflow end to end on both backends (flows in tests/flows/engine/)."""

from __future__ import annotations

import pytest

from lanner.engine.core.inputs import InputsError
from lanner.errors import UsageError
from lanner.model.state import State
from tests.integration.running import running
from tests.integration.test_engine import _wait_until, runs_by_task

NAMES = ["pause_approval", "pause_delay", "subflow_child", "subflow_parent", "subflow_no_wait", "subflow_sleepy",
         "sleepy", "wait_for", "pause_parallel_resume", "pause_timeout", "sla_max_duration", "sla_assertion",
         "subflow_lenient", "wait_for_lenient", "resume_elsewhere"]


@pytest.fixture
def lanner(database_url, tmp_path):
    with running(database_url, tmp_path / "storage", NAMES) as service:
        yield service


def test_pause_waits_for_resume_with_checked_inputs(lanner):
    execution = lanner.create("lanner.tests", "pause_approval")
    _wait_until(lambda: lanner.get(execution.id).current is State.PAUSED)
    with pytest.raises(InputsError, match="amount"):
        lanner.resume(execution.id, {"reason": "ok", "amount": "many"})
    lanner.resume(execution.id, {"reason": "approved"})
    done = lanner.wait(execution.id)
    assert done.current is State.SUCCESS
    runs = runs_by_task(done)
    assert runs["approve"][0].outputs == {"onResume": {"reason": "approved", "amount": 1}}
    assert runs["after"][0].outputs["value"] == "approved x1"
    assert [t.state for t in done.state.histories] == [State.CREATED, State.RUNNING, State.PAUSED, State.RUNNING,
                                                       State.SUCCESS]
    with pytest.raises(UsageError, match="only a PAUSED execution resumes"):
        lanner.resume(execution.id, {})


def test_resume_checks_the_flow_the_execution_belongs_to(lanner):
    execution = lanner.create("lanner.tests", "pause_approval")
    _wait_until(lambda: lanner.get(execution.id).current is State.PAUSED)
    with pytest.raises(UsageError, match=f"^execution {execution.id} belongs to flow lanner.tests.pause_approval, "
                                         "not to flow lanner.tests.other$"):
        lanner.resume(execution.id, {"reason": "ok"}, flow_id="other", namespace="lanner.tests")
    with pytest.raises(UsageError, match="not to namespace lanner.elsewhere$"):
        lanner.resume(execution.id, {"reason": "ok"}, namespace="lanner.elsewhere")
    assert lanner.get(execution.id).current is State.PAUSED
    lanner.resume(execution.id, {"reason": "ok"}, namespace="lanner.tests", flow_id="pause_approval")
    assert lanner.wait(execution.id).current is State.SUCCESS


def test_a_resume_task_naming_another_flow_fails(lanner):
    done = lanner.wait(lanner.create("lanner.tests", "resume_elsewhere").id)
    assert done.current is State.FAILED
    wanted = (f"cannot resume execution {done.id}: execution {done.id} belongs to flow "
              "lanner.tests.resume_elsewhere, not to flow lanner.elsewhere.resume_elsewhere")
    assert any(entry.message == wanted for entry in lanner.logs(done.id)), [e.message for e in lanner.logs(done.id)]


def test_pause_with_a_delay_resumes_on_its_own(lanner):
    done = lanner.wait(lanner.create("lanner.tests", "pause_delay").id, timeout=30)
    assert done.current is State.SUCCESS
    assert State.PAUSED in [t.state for t in done.state.histories]


def test_subflow_passes_inputs_labels_and_returns_outputs(lanner):
    parent = lanner.wait(lanner.create("lanner.tests", "subflow_parent").id)
    assert parent.current is State.SUCCESS
    runs = runs_by_task(parent)
    child_id = runs["call"][0].outputs["executionId"]
    assert runs["call"][0].outputs["outputs"] == {"result": "ADA"}
    assert runs["use"][0].outputs["value"] == f"ADA from {child_id}"
    child = lanner.get(child_id)
    assert child.current is State.SUCCESS and child.parent_id == parent.id
    assert child.trigger["type"] == "io.kestra.plugin.core.flow.Subflow"
    assert (child.trigger["executionId"], child.trigger["namespace"], child.trigger["flowId"]) == (
        parent.id, "lanner.tests", "subflow_parent")
    assert child.labels == {"team": "child", "origin": "parent", "called": "yes"}


def test_a_failed_subflow_fails_its_task(lanner):
    parent = lanner.wait(lanner.create("lanner.tests", "subflow_parent", {"fail": True}).id)
    assert parent.current is State.FAILED
    runs = runs_by_task(parent)
    assert runs["call"][0].current is State.FAILED and "use" not in runs
    assert lanner.get(runs["call"][0].outputs["executionId"]).current is State.FAILED


def test_a_subflow_without_wait_succeeds_at_once(lanner):
    parent = lanner.wait(lanner.create("lanner.tests", "subflow_no_wait").id)
    assert parent.current is State.SUCCESS
    child_id = runs_by_task(parent)["fire"][0].outputs["executionId"]
    assert runs_by_task(parent)["next"][0].outputs["value"] == child_id
    assert lanner.wait(child_id).current is State.SUCCESS


def test_killing_the_parent_kills_the_running_child(lanner):
    parent = lanner.create("lanner.tests", "subflow_sleepy")
    _wait_until(lambda: any(run.outputs.get("executionId") for run in lanner.get(parent.id).task_runs))
    child_id = lanner.get(parent.id).task_runs[0].outputs["executionId"]
    _wait_until(lambda: lanner.get(child_id).current is State.RUNNING)
    lanner.kill(parent.id)
    assert lanner.wait(parent.id, timeout=30).current is State.KILLED
    assert lanner.wait(child_id, timeout=30).current is State.KILLED


def test_wait_for_loops_on_timers_until_its_condition_holds(lanner):
    done = lanner.wait(lanner.create("lanner.tests", "wait_for").id, timeout=30)
    assert done.current is State.SUCCESS
    runs = runs_by_task(done)
    assert [run.outputs["value"] for run in runs["count"]] == ["0", "1", "2", "3"]
    assert runs["loop"][0].outputs == {"iterationCount": 4}


def test_wait_for_fails_at_max_iterations_when_asked(lanner):
    done = lanner.wait(lanner.create("lanner.tests", "wait_for", {"target": "never"}).id, timeout=30)
    assert done.current is State.FAILED
    assert len(runs_by_task(done)["count"]) == 5


def test_the_resume_task_resumes_a_pause_in_another_branch(lanner):
    done = lanner.wait(lanner.create("lanner.tests", "pause_parallel_resume").id, timeout=30)
    assert done.current is State.SUCCESS
    runs = runs_by_task(done)
    assert runs["gate"][0].outputs == {"onResume": {"by": "the opener"}}
    assert runs["after"][0].outputs["value"] == "opened by the opener"


def test_a_pause_nobody_resumes_fails_at_its_timeout(lanner):
    done = lanner.wait(lanner.create("lanner.tests", "pause_timeout").id, timeout=30)
    assert done.current is State.FAILED
    assert runs_by_task(done)["approve"][0].current is State.FAILED


def test_a_failed_subflow_is_tolerated_without_transmit_failed(lanner):
    done = lanner.wait(lanner.create("lanner.tests", "subflow_lenient").id)
    assert done.current is State.SUCCESS
    run = runs_by_task(done)["call"][0]
    assert run.current is State.SUCCESS and run.outputs["state"] == "FAILED"


def test_a_max_duration_sla_fails_a_late_execution_and_labels_it(lanner):
    done = lanner.wait(lanner.create("lanner.tests", "sla_max_duration").id, timeout=30)
    assert done.current is State.FAILED
    assert done.labels.get("sla") == "missed"
    assert runs_by_task(done)["nap"][0].current is State.KILLED


def test_an_execution_assertion_sla_cancels_when_it_does_not_hold(lanner):
    assert lanner.wait(lanner.create("lanner.tests", "sla_assertion", {"answer": "yes"}).id).current is State.SUCCESS
    missed = lanner.wait(lanner.create("lanner.tests", "sla_assertion", {"answer": "no"}).id)
    assert missed.current is State.CANCELLED
    assert any("SLA produced violated" in entry.message for entry in lanner.logs(missed.id))


def test_wait_for_without_fail_on_max_reached_ends_successfully_at_its_limit(lanner):
    done = lanner.wait(lanner.create("lanner.tests", "wait_for_lenient").id, timeout=30)
    assert done.current is State.SUCCESS
    assert len(runs_by_task(done)["count"]) == 3
