"""The declared state machines (lanner.model.state): their tables, a refused change, and the causes recorded.

The tables admit Kestra's documented transitions and every one Lanner makes (collected
by running the unit and integration tests with every change recorded); a change not in
them is a bug, refused with an error naming from, to and the cause.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lanner.engine.core.decide import Kill, Restart, Resubmit, Resume, Start, TaskResult
from lanner.model.execution import Attempt, Execution, TaskRun
from lanner.model.state import (
    ATTEMPT_TRANSITIONS,
    EXECUTION_TRANSITIONS,
    TASK_RUN_TRANSITIONS,
    Cause,
    InvalidTransition,
    State,
    StateHistory,
    Transition,
)
from lanner.store.execution_repository import _history, _history_json
from lanner.web.shapes import state as api_state
from tests.unit.engine.sim import Simulation

S = State
T0 = datetime(2026, 1, 1, tzinfo=UTC)

# Kestra's documentation (workflow-components/states and concepts/executions): an execution is
# CREATED, then RUNNING, QUEUED (concurrency limit) or CANCELLED; it may pause and resume, be
# killed (KILLING, then KILLED), end SUCCESS, WARNING or FAILED, and a FAILED or KILLED one
# can be restarted.  A task run is RUNNING, may pause, is RETRYING between attempts, ends
# like an execution or SKIPPED (runIf), and is RESUBMITTED when its worker dies.
KESTRA_EXECUTION = [
    (S.CREATED, S.RUNNING), (S.CREATED, S.QUEUED), (S.CREATED, S.CANCELLED), (S.QUEUED, S.RUNNING),
    (S.RUNNING, S.PAUSED), (S.PAUSED, S.RUNNING), (S.RUNNING, S.KILLING), (S.PAUSED, S.KILLING),
    (S.KILLING, S.KILLED), (S.RUNNING, S.SUCCESS), (S.RUNNING, S.WARNING), (S.RUNNING, S.FAILED),
    (S.FAILED, S.RESTARTED), (S.KILLED, S.RESTARTED), (S.RESTARTED, S.RUNNING),
]
KESTRA_TASK_RUN = [
    (S.CREATED, S.RUNNING), (S.CREATED, S.SKIPPED), (S.RUNNING, S.PAUSED), (S.PAUSED, S.RUNNING),
    (S.RUNNING, S.SUCCESS), (S.RUNNING, S.WARNING), (S.RUNNING, S.FAILED), (S.RUNNING, S.KILLED),
    (S.RUNNING, S.RETRYING), (S.RETRYING, S.SUCCESS), (S.RETRYING, S.FAILED), (S.RUNNING, S.RESUBMITTED),
    (S.FAILED, S.RESTARTED), (S.RESTARTED, S.RUNNING),
]


@pytest.mark.parametrize("table", [EXECUTION_TRANSITIONS, TASK_RUN_TRANSITIONS, ATTEMPT_TRANSITIONS])
def test_every_state_has_a_row_naming_only_other_states(table):
    assert set(table) == set(State)
    assert all(state not in targets for state, targets in table.items())


@pytest.mark.parametrize(("current", "target"), KESTRA_EXECUTION)
def test_kestras_execution_transitions_are_admitted(current, target):
    assert target in EXECUTION_TRANSITIONS[current]


@pytest.mark.parametrize(("current", "target"), KESTRA_TASK_RUN)
def test_kestras_task_run_transitions_are_admitted(current, target):
    assert target in TASK_RUN_TRANSITIONS[current]


def test_ended_executions_stay_ended_but_for_a_restart():
    for state in (S.SUCCESS, S.WARNING, S.CANCELLED, S.SKIPPED):
        assert not EXECUTION_TRANSITIONS[state]
    assert EXECUTION_TRANSITIONS[S.FAILED] == EXECUTION_TRANSITIONS[S.KILLED] == {S.RESTARTED}


def test_a_transition_not_in_the_table_is_refused_naming_from_to_and_cause():
    done = Execution("e1", "a.b", "f", 1, StateHistory.start(S.SUCCESS, T0))
    with pytest.raises(InvalidTransition) as caught:
        done.to(S.RUNNING, T0, Cause.RESUMED)
    message = str(caught.value)
    assert "execution e1" in message and "from SUCCESS to RUNNING" in message and "resumed" in message
    run = TaskRun("tr1", "t", StateHistory.start(S.SKIPPED, T0))
    with pytest.raises(InvalidTransition, match="task run tr1 .t. cannot go from SKIPPED to RUNNING"):
        run.to(S.RUNNING, T0, Cause.STARTED)
    attempt = Attempt(StateHistory.start(S.SUCCESS, T0))
    with pytest.raises(InvalidTransition, match="an attempt cannot go from SUCCESS to FAILED"):
        attempt.to(S.FAILED, T0, Cause.TASK_ENDED)


def test_staying_in_the_same_state_is_no_transition():
    running = Execution("e1", "a.b", "f", 1, StateHistory.start(S.RUNNING, T0))
    assert running.to(S.RUNNING, T0, Cause.STARTED) is not None
    assert running.to(S.RUNNING, T0).state is running.state


def causes(history: StateHistory) -> list[tuple[State, str | None]]:
    return [(entry.state, entry.cause) for entry in history.histories]


FLOW = """id: f
namespace: company.team
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: "a"
"""


def test_a_run_records_why_each_state_changed():
    sim = Simulation.of(FLOW)
    assert sim.run().current is S.SUCCESS
    assert causes(sim.execution.state) == [(S.CREATED, None), (S.RUNNING, "started"), (S.SUCCESS, "children")]
    run = sim.run_of("a")
    assert causes(run.state)[-1] == (S.SUCCESS, "task ended")
    assert causes(run.attempts[0].state)[-1] == (S.SUCCESS, "task ended")


def test_a_kill_records_killed_by_user_then_killed():
    sim = Simulation.of(FLOW, worker=lambda job: None)
    job = sim.send(Start()).jobs[0]
    sim.send(Kill())
    assert causes(sim.execution.state)[-1] == (S.KILLING, "killed by user")
    sim.send(TaskResult(job.task_run_id, 1, S.KILLED))
    assert causes(sim.execution.state)[-1] == (S.KILLED, "killed")
    assert causes(sim.run_of("a").state)[-1] == (S.KILLED, "task ended")


def test_a_restart_and_a_retry_record_theirs():
    outcomes = [S.FAILED, S.FAILED, S.SUCCESS]

    def worker(job):
        state = outcomes.pop(0)
        return TaskResult(job.task_run_id, job.attempt, state, {"value": "ok"} if state is S.SUCCESS else {})

    retrying = FLOW + "    retry:\n      type: constant\n      interval: PT0S\n      maxAttempt: 2\n"
    sim = Simulation.of(retrying, worker=worker)
    assert sim.run().current is S.FAILED
    assert (S.RETRYING, "retry") in causes(sim.run_of("a").state)
    sim.send(Restart())
    assert causes(sim.execution.state)[-2:] == [(S.RESTARTED, "restarted"), (S.RUNNING, "restarted")]
    assert sim.run().current is S.SUCCESS


def test_a_pause_and_its_resume_record_theirs():
    sim = Simulation.of("id: f\nnamespace: company.team\ntasks:\n  - id: wait\n"
                        "    type: io.kestra.plugin.core.flow.Pause\n"
                        "  - id: after\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n",
                        worker=lambda job: None)
    sim.run()
    assert causes(sim.execution.state)[-1] == (S.PAUSED, "paused")
    sim.send(Resume())
    assert (S.RUNNING, "resumed") in causes(sim.run_of("wait").state)
    assert (S.RUNNING, "resumed") in causes(sim.execution.state)


def test_a_dead_worker_records_worker_died():
    sim = Simulation.of(FLOW, worker=lambda job: None)
    sim.send(Start())
    run = sim.run_of("a")
    sim.send(Resubmit(run.id, 1, "worker w1 stopped"))
    run = sim.run_of("a")
    assert (S.RESUBMITTED, "worker died") in causes(run.state)
    assert causes(run.attempts[0].state)[-1] == (S.RESUBMITTED, "worker died")


def test_histories_stored_without_a_cause_still_load_and_new_ones_keep_theirs():
    old = [{"state": "CREATED", "date": "2024-05-01T10:00:00.000000Z"},
           {"state": "RUNNING", "date": "2024-05-01T10:00:01.000000Z"}]
    loaded = _history(old)
    assert causes(loaded) == [(S.CREATED, None), (S.RUNNING, None)]
    assert _history_json(loaded) == old  # written back as it was
    history = StateHistory((Transition(S.CREATED, T0), Transition(S.RUNNING, T0, Cause.STARTED)))
    stored = _history_json(history)
    assert stored[1]["cause"] == "started" and "cause" not in stored[0]
    assert _history(stored) == history


def test_the_api_sends_kestras_histories_without_the_cause():
    history = StateHistory((Transition(S.CREATED, T0), Transition(S.RUNNING, T0, Cause.STARTED)))
    shaped = api_state(history)
    assert all(set(entry) == {"state", "date"} for entry in shaped["histories"])
