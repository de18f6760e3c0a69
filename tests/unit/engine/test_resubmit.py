"""A dead worker's attempt resubmitted: a new attempt, the cap, strategy NEVER, kills, and late or replayed events."""

from __future__ import annotations

from lanner.engine.core.decide import Kill, Resubmit, Start, TaskResult
from lanner.engine.shell import messages
from lanner.model.state import State
from tests.unit.engine.sim import Simulation

FLOW = """id: f
namespace: company.team
tasks:
  - id: long
    type: io.kestra.plugin.core.debug.Return
    format: "done"
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "after"
"""
RETRYING = FLOW.replace('format: "done"', 'format: "done"\n    retry:\n      type: constant\n      interval: PT0S\n'
                        '      maxAttempt: 2')


def started(source: str = FLOW) -> Simulation:
    sim = Simulation.of(source)
    sim.send(Start())
    return sim


def resubmit(sim: Simulation, attempt: int, **kwargs) -> None:
    run = sim.run_of("long")
    sim.pending.clear()  # the dead worker's job: never run
    sim.send(Resubmit(run.id, attempt, "worker w1 stopped", **kwargs))


def test_a_resubmitted_attempt_runs_again_as_a_new_attempt():
    sim = started()
    resubmit(sim, 1)
    run = sim.run_of("long")
    assert [a.state.current for a in run.attempts] == [State.RESUBMITTED, State.RUNNING]
    assert [h.state for h in run.state.histories] == [State.CREATED, State.RUNNING, State.RESUBMITTED,
                                                      State.RUNNING]
    assert [job.attempt for job in sim.pending] == [2]
    assert any("resubmitted as attempt 2" in note.message for note in sim.notes)
    execution = sim.run()
    assert execution.current is State.SUCCESS
    assert [a.state.current for a in sim.run_of("long").attempts] == [State.RESUBMITTED, State.SUCCESS]


def test_the_dead_attempts_late_result_is_fenced_off():
    sim = started()
    run_id = sim.run_of("long").id
    resubmit(sim, 1)
    sim.send(TaskResult(run_id, 1, State.SUCCESS, {"value": "late"}))
    run = sim.run_of("long")
    assert run.current is State.RUNNING and run.attempt_number == 2 and not run.outputs
    assert sim.run().current is State.SUCCESS
    assert sum(a.state.current is State.SUCCESS for a in sim.run_of("long").attempts) == 1


def test_a_resubmission_after_the_result_replays_nothing():
    sim = started()
    run_id = sim.run_of("long").id
    sim.pending.clear()
    sim.send(TaskResult(run_id, 1, State.SUCCESS, {"value": "done"}))
    sim.pending.clear()
    sim.send(Resubmit(run_id, 1, "worker w1 stopped"))
    assert sim.run_of("long").current is State.SUCCESS and sim.run_of("long").attempt_number == 1
    assert not any(job.task_run_id == run_id for job in sim.pending)


def test_the_cap_fails_a_task_that_keeps_killing_its_workers():
    sim = started()
    for attempt in (1, 2, 3):
        resubmit(sim, attempt, max_resubmissions=3)
    assert sim.run_of("long").attempt_number == 4
    resubmit(sim, 4, max_resubmissions=3)
    run = sim.run_of("long")
    assert run.current is State.FAILED and not sim.pending
    assert run.attempts[-1].message.endswith("resubmitted 3 times after its worker died: not again")
    assert sim.run().current is State.FAILED


def test_strategy_never_fails_the_task_run_and_says_why():
    sim = started()
    resubmit(sim, 1, fail=True)
    run = sim.run_of("long")
    assert run.current is State.FAILED and run.attempt_number == 1
    assert "worker-task-restart-strategy NEVER" in run.attempts[0].message
    assert sim.run().current is State.FAILED


def test_a_killed_execution_is_not_replayed():
    sim = started()
    sim.send(Kill())
    assert sim.execution.current is State.KILLING
    resubmit(sim, 1)
    assert sim.run_of("long").current is State.KILLED and not sim.pending
    assert sim.execution.current is State.KILLED


def test_resubmissions_do_not_count_as_retries():
    sim = started(RETRYING)
    resubmit(sim, 1)
    run_id = sim.run_of("long").id
    sim.pending.clear()
    sim.send(TaskResult(run_id, 2, State.FAILED, message="boom"))
    # maxAttempt 2: the resubmitted attempt is not one of them, so one retry is left.
    assert sim.run_of("long").current is State.RETRYING and sim.run_of("long").attempt_number == 3


def test_the_payload_round_trips():
    event = Resubmit("tr1", 2, "worker w stopped", fail=True, max_resubmissions=5)
    assert messages.event_of(messages.event_payload("e1", event)) == event
