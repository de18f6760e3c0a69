"""afterExecution end to end on both backends: the execution is over only once its afterExecution tasks have ended.

Flows live in tests/flows/engine/after_execution_*.yaml: the child sleeps, then
reports its final state, in afterExecution; the parent calls it as a Subflow; the held
one's afterExecution task runs until the test creates a file (a barrier, not a delay).
"""

from __future__ import annotations

import time

import pytest

from lanner.errors import UsageError
from lanner.model.state import State
from tests.integration.running import running


@pytest.fixture
def lanner(database_url, tmp_path):
    with running(database_url, tmp_path / "storage", ["after_execution_*"]) as service:
        yield service


def runs_by_task(execution):
    return {run.task_id: run for run in execution.task_runs}


def wait_until(condition, timeout=30.0):
    """The condition's first true value; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"not reached within {timeout:g} s"
        time.sleep(0.01)
    return value


@pytest.mark.parametrize(("fail", "state"), [(False, State.SUCCESS), (True, State.FAILED)])
def test_wait_returns_once_the_after_execution_tasks_have_ended(lanner, fail, state):
    done = lanner.wait(lanner.create("lanner.tests", "after_execution_child", {"fail": fail}).id, timeout=30)
    assert done.current is state
    runs = runs_by_task(done)
    assert runs["pause"].current is State.SUCCESS and runs["report"].current is State.SUCCESS
    assert runs["report"].outputs == {"value": str(state)}  # they see the final state
    assert runs["pause"].state.start_date >= done.state.end_date  # and start once it is reached


def test_a_parent_subflow_waits_for_the_childs_after_execution_tasks(lanner):
    parent = lanner.wait(lanner.create("lanner.tests", "after_execution_parent").id, timeout=30)
    assert parent.current is State.SUCCESS  # transmitFailed: false
    call = runs_by_task(parent)["call"]
    child = lanner.get(call.outputs["executionId"])
    assert child.current is State.FAILED
    assert call.state.end_date >= runs_by_task(child)["report"].state.end_date


def test_restart_is_refused_while_the_after_execution_tasks_run(lanner, tmp_path):
    barrier = tmp_path / "barrier"  # the afterExecution task runs until the test creates it
    created = lanner.create("lanner.tests", "after_execution_held", {"barrier": str(barrier)})
    try:
        # FAILED, and its afterExecution task running (and held there until the barrier exists).
        wait_until(lambda: (e := lanner.get(created.id)).current is State.FAILED
                   and "hold" in (runs := runs_by_task(e)) and runs["hold"].current is State.RUNNING)
        with pytest.raises(UsageError, match="still running its afterExecution tasks; restart it once they have ended"):
            lanner.restart(created.id)
        assert runs_by_task(lanner.get(created.id))["hold"].current is State.RUNNING  # still inside the window
    finally:
        barrier.touch()
    ended = lanner.wait(created.id, timeout=30)
    assert ended.current is State.FAILED and runs_by_task(ended)["hold"].current is State.SUCCESS
    lanner.restart(created.id)  # once they have ended
