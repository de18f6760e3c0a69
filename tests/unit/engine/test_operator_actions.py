"""An operator's actions as pure logic: who may take them, status and label changes, replays, and how
``decide`` carries out a pause, an unqueue and a task run's state change."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lanner.engine.core import actions
from lanner.engine.core.decide import MarkTaskRun, Pause, Resume, Start, TaskResult, Unqueue
from lanner.engine.shell import messages
from lanner.model.state import Cause, State, StateHistory
from tests.unit.engine.sim import Simulation

NOW = datetime(2026, 6, 1, tzinfo=UTC)
FLOW = """id: f
namespace: company.team
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: one
  - id: group
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - id: inner_a
        type: io.kestra.plugin.core.debug.Return
        format: a
      - id: broken
        type: io.kestra.plugin.core.execution.Fail
      - id: inner_c
        type: io.kestra.plugin.core.debug.Return
        format: c
  - id: last
    type: io.kestra.plugin.core.debug.Return
    format: three
"""


def failed() -> Simulation:
    sim = Simulation.of(FLOW)
    assert sim.run().current is State.FAILED
    return sim


def test_refusals_follow_the_state_each_action_needs():
    sim = failed()
    ended = sim.execution
    running = replace(ended, state=StateHistory.start(State.RUNNING, NOW))
    queued = replace(ended, state=StateHistory.start(State.QUEUED, NOW))
    assert actions.refusal("kill", ended) == "execution already finished"
    assert actions.refusal("kill", running) is None
    assert actions.refusal("pause", running) is None and actions.refusal("pause", ended) is not None
    assert actions.refusal("restart", ended) is None and actions.refusal("restart", running) is not None
    assert actions.refusal("unqueue", queued) is None and actions.refusal("force-run", running) is not None
    for action in ("labels", "change-status", "replay", "delete"):
        assert actions.refusal(action, ended) is None and actions.refusal(action, running) is not None


def test_change_status_appends_an_end_state_and_only_to_an_ended_execution():
    ended = failed().execution
    changed = actions.change_status(ended, State.SUCCESS, NOW)
    assert changed.current is State.SUCCESS and changed.state.histories[-1].cause == actions.CHANGED_BY_USER
    assert changed.task_runs == ended.task_runs
    assert actions.change_status(ended, State.FAILED, NOW) == ended
    with pytest.raises(ValueError, match="end state"):
        actions.change_status(ended, State.RUNNING, NOW)
    with pytest.raises(ValueError, match="only an ended"):
        actions.change_status(replace(ended, state=StateHistory.start(State.RUNNING, NOW)), State.SUCCESS, NOW)


def test_relabel_keeps_system_labels_and_refuses_new_ones():
    execution = replace(failed().execution, labels={"team": "data", "system.correlationId": "c1"})
    assert actions.relabel(execution, [("owner", "ops")]) == {"owner": "ops", "system.correlationId": "c1"}
    assert actions.relabel(execution, [("owner", "ops")], keep=True) == {
        "team": "data", "system.correlationId": "c1", "owner": "ops"}
    assert actions.relabel(execution, [("", "")]) == {"system.correlationId": "c1"}  # a blank row is dropped
    assert actions.relabel(execution, [("system.correlationId", "c1")]) == {"system.correlationId": "c1"}
    with pytest.raises(ValueError, match="system labels"):
        actions.relabel(execution, [("system.correlationId", "other")])


def test_replay_from_the_start_links_to_the_original():
    source = replace(failed().execution, labels={"team": "data", actions.REPLAYED: "true"})
    copy = actions.replay(source, NOW, ids=lambda: "new")
    assert (copy.id, copy.original_id, copy.current, copy.task_runs) == ("new", source.id, State.CREATED, ())
    assert copy.inputs == source.inputs and copy.labels == {"team": "data"}
    again = actions.replay(replace(source, original_id="root"), NOW, revision=4)
    assert again.original_id == "root" and again.flow_revision == 4


def test_replay_from_a_task_run_copies_what_came_before_it():
    sim = failed()
    source = sim.execution
    broken = sim.run_of("broken")
    counter = itertools.count(1)
    copy = actions.replay(source, NOW, task_run_id=broken.id, ids=lambda: f"n{next(counter)}",
                          task_ids={"first", "group", "inner_a", "broken", "inner_c", "last"})
    by_task = {run.task_id: run for run in copy.task_runs}
    assert set(by_task) == {"first", "group", "inner_a"}  # broken, the errors after it and what follows: gone
    assert by_task["group"].current is State.RUNNING  # the flowable above it resolves again
    assert by_task["inner_a"].parent_task_run_id == by_task["group"].id  # ids renamed, links kept
    assert not {run.id for run in copy.task_runs} & {run.id for run in source.task_runs}
    assert by_task["first"].outputs == sim.run_of("first").outputs
    with pytest.raises(LookupError):
        actions.replay(source, NOW, task_run_id="nope")
    with pytest.raises(ValueError, match="has no task"):
        actions.replay(source, NOW, task_run_id=broken.id, task_ids={"first"})


def test_a_replay_from_a_task_run_runs_on_from_there():
    sim = failed()
    broken = sim.run_of("broken")
    copy = actions.replay(sim.execution, NOW, task_run_id=broken.id)
    again = Simulation(sim.flow, copy)
    assert again.run().current is State.FAILED  # the Fail task fails again ...
    assert [run.task_id for run in again.execution.task_runs][:4] == ["first", "group", "inner_a", "broken"]
    assert len(again.runs("first")) == 1  # ... and what came before it did not run again


def test_a_paused_execution_starts_nothing_until_resumed():
    sim = Simulation.of(FLOW)
    sim.send(Start())
    job = sim.pending.pop(0)  # first is running
    sim.send(Pause())
    assert sim.execution.current is State.PAUSED and actions.held(sim.execution)
    sim.send(TaskResult(job.task_run_id, job.attempt, State.SUCCESS, {"value": "one"}))
    assert sim.run_of("first").current is State.SUCCESS  # the result was applied ...
    assert [run.task_id for run in sim.execution.task_runs] == ["first"] and not sim.pending  # ... nothing started
    assert sim.execution.current is State.PAUSED
    sim.send(Resume())
    assert sim.execution.current is State.RUNNING
    assert sim.run().current is State.FAILED and sim.run_of("broken").current is State.FAILED  # it ran on


def test_pause_of_an_execution_not_running_is_only_a_warning():
    sim = failed()
    before = sim.execution
    sim.send(Pause())
    assert sim.execution.state == before.state and "not paused" in sim.notes[-1].message


def test_unqueue_runs_or_ends_a_queued_execution():
    for state in (State.RUNNING, State.CANCELLED, State.FAILED):
        sim = Simulation.of(FLOW)
        sim.execution = sim.execution.to(State.QUEUED, NOW, Cause.QUEUED)
        decision = sim.send(Unqueue(state))
        assert sim.execution.current is state
        assert bool(decision.jobs) is (state is State.RUNNING)
        assert decision.ended is (state is not State.RUNNING)


def test_a_task_run_set_to_success_lets_the_failed_execution_go_on():
    sim = failed()
    broken = sim.run_of("broken")
    sim.send(MarkTaskRun(broken.id, State.SUCCESS))
    assert sim.run_of("broken").current is State.SUCCESS
    assert sim.run_of("broken").state.histories[-1].cause == actions.CHANGED_BY_USER
    assert sim.run().current is State.SUCCESS
    assert sim.run_of("inner_c").current is State.SUCCESS


def test_the_new_events_travel_through_the_queue_unchanged():
    for event in (Pause(), Unqueue(State.CANCELLED), MarkTaskRun("tr1", State.WARNING)):
        assert messages.event_of(messages.event_payload("e1", event)) == event
