"""Pause and Resume in the executor's transition function: no database, a fake clock."""

from __future__ import annotations

from datetime import timedelta

from lanner.engine.core.decide import ChildEnded, Kill, Resume, Start, Tick
from lanner.model.state import State
from tests.unit.engine.sim import Simulation

HEAD = "id: paused\nnamespace: lanner.tests\n"
AFTER = ("  - id: after\n    type: io.kestra.plugin.core.debug.Return\n"
         "    format: \"{{ outputs.wait.onResume.reason ?? 'none' }}\"\n")


def pause(extra: str = "") -> str:
    return HEAD + "tasks:\n  - id: wait\n    type: io.kestra.plugin.core.flow.Pause\n" + extra + AFTER


def test_a_pause_pauses_the_execution_until_resumed_with_inputs():
    sim = Simulation.of(pause("    onResume:\n      - id: reason\n        type: STRING\n"))
    sim.run()
    assert sim.execution.current is State.PAUSED
    assert sim.states() == {"wait": State.PAUSED}
    sim.send(Resume({"reason": "approved"}))
    done = sim.run()
    assert done.current is State.SUCCESS
    assert sim.run_of("wait").outputs == {"onResume": {"reason": "approved"}}
    assert sim.run_of("after").outputs["value"] == "approved"


def test_a_delay_resumes_on_its_own_when_its_timer_fires():
    sim = Simulation.of(pause("    delay: PT5M\n"))
    sim.run()
    timers = [timer for decision in sim.decisions for timer in decision.timers]
    assert sim.execution.current is State.PAUSED and timers and abs(timers[-1].delay - 300) < 1
    sim.send(Tick(sim.run_of("wait").id))  # too early: still paused
    assert sim.execution.current is State.PAUSED
    sim.clock += timedelta(minutes=5)
    sim.send(Tick(sim.run_of("wait").id))
    assert sim.run().current is State.SUCCESS
    assert sim.states() == {"wait": State.SUCCESS, "after": State.SUCCESS}


def test_a_timeout_fails_a_pause_nobody_resumed():
    sim = Simulation.of(pause("    timeout: PT1H\n"))
    sim.run()
    sim.clock += timedelta(hours=1)
    sim.send(Tick(sim.run_of("wait").id))
    assert sim.run().current is State.FAILED
    assert sim.states() == {"wait": State.FAILED}


def test_a_delay_with_the_fail_behavior_fails():
    sim = Simulation.of(pause("    pauseDuration: PT1S\n    behavior: FAIL\n"))
    sim.run()
    sim.clock += timedelta(seconds=1)
    sim.send(Tick(sim.run_of("wait").id))
    assert sim.run().current is State.FAILED


def test_resume_runs_the_pause_own_tasks_first():
    sim = Simulation.of(pause("    tasks:\n      - id: inner\n        type: io.kestra.plugin.core.debug.Return\n"
                              "        format: inside\n"))
    sim.run()
    assert "inner" not in sim.states()
    sim.send(Resume())
    assert sim.run().current is State.SUCCESS
    assert [run.task_id for run in sim.execution.task_runs] == ["wait", "inner", "after"]


def test_killing_a_paused_execution_kills_it():
    sim = Simulation.of(pause())
    sim.run()
    assert sim.send(Kill()).execution.current is State.KILLED
    assert sim.states() == {"wait": State.KILLED}


def test_resume_when_nothing_is_paused_changes_nothing_but_says_so():
    sim = Simulation.of(HEAD + "tasks:\n" + AFTER)
    sim.send(Start())
    before = sim.execution
    assert sim.send(Resume()).execution == before
    assert any("nothing to resume" in note.message for note in sim.notes)


WAIT_FOR = HEAD + """tasks:
  - id: loop
    type: io.kestra.plugin.core.flow.WaitFor
    condition: "{{ outputs.count.value == '3' }}"
    checkFrequency:
      interval: PT10S
      maxIterations: MAX
    failOnMaxReached: FAIL
    tasks:
      - id: count
        type: io.kestra.plugin.core.debug.Return
        format: "{{ outputs.loop.iterationCount ?? 0 }}"
"""


def run_waiting(sim: Simulation) -> None:
    """Run jobs; whenever only a timer is left, move the clock to it and send its tick."""
    for _ in range(50):
        sim.run()
        if sim.execution.current.terminal:
            return
        timer = sim.decisions[-1].timers[-1]
        sim.clock += timedelta(seconds=timer.delay)
        sim.send(Tick(timer.task_run_id))
    raise AssertionError("did not settle")


def test_wait_for_repeats_until_the_condition_holds():
    sim = Simulation.of(WAIT_FOR.replace("MAX", "10").replace("FAIL", "true"))
    run_waiting(sim)
    assert sim.execution.current is State.SUCCESS
    assert [run.outputs["value"] for run in sim.runs("count")] == ["0", "1", "2", "3"]
    assert sim.run_of("loop").outputs == {"iterationCount": 4}


def test_wait_for_stops_at_max_iterations_and_fails_only_when_asked():
    failing = Simulation.of(WAIT_FOR.replace("MAX", "2").replace("FAIL", "true"))
    run_waiting(failing)
    assert failing.execution.current is State.FAILED and len(failing.runs("count")) == 2
    lenient = Simulation.of(WAIT_FOR.replace("MAX", "2").replace("FAIL", "false"))
    run_waiting(lenient)
    assert lenient.execution.current is State.SUCCESS and len(lenient.runs("count")) == 2


SLA = HEAD + """sla:
  - id: quick
    type: MAX_DURATION
    behavior: BEHAVIOR
    duration: PT1M
    labels:
      sla: missed
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
"""


def test_a_max_duration_sla_fails_or_cancels_a_late_execution_and_labels_it():
    for behavior, final in (("FAIL", State.FAILED), ("CANCEL", State.CANCELLED), ("NONE", State.PAUSED)):
        sim = Simulation.of(SLA.replace("BEHAVIOR", behavior))
        sim.run()
        timer = next(t for d in sim.decisions for t in d.timers if t.task_run_id == "")
        assert timer.delay == 60
        sim.clock += timedelta(minutes=1)
        sim.send(Tick(""))
        assert sim.execution.current is final, behavior
        assert sim.execution.labels.get("sla") == "missed"


def test_an_execution_assertion_sla_checks_the_end():
    source = (HEAD + "sla:\n  - id: produced\n    type: EXECUTION_ASSERTION\n    behavior: FAIL\n"
              "    assert: \"{{ outputs.r.value == 'yes' }}\"\n"
              "tasks:\n  - id: r\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ inputs.answer }}\"\n")
    source = source.replace("tasks:", "inputs:\n  - id: answer\n    type: STRING\ntasks:", 1)
    assert Simulation.of(source, {"answer": "yes"}).run().current is State.SUCCESS
    assert Simulation.of(source, {"answer": "no"}).run().current is State.FAILED


SUBFLOW = """id: parent
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
    wait: {wait}
    transmitFailed: true
"""


def test_a_subflow_task_run_has_one_attempt_lasting_until_its_child_ends():
    sim = Simulation.of(SUBFLOW.format(wait="true"))
    started = sim.send(Start())
    child_id = started.children[0].execution_id
    running = sim.run_of("call")
    assert running.outputs["executionId"] == child_id
    assert [a.state.current for a in running.attempts] == [State.RUNNING]  # as in Kestra, not none
    sim.send(ChildEnded(running.id, child_id, State.FAILED))
    ended = sim.run_of("call")
    assert ended.current is State.FAILED
    assert [a.state.current for a in ended.attempts] == [State.FAILED]
    assert ended.attempts[0].state.end_date is not None


def test_a_subflow_task_run_that_does_not_wait_has_one_successful_attempt():
    sim = Simulation.of(SUBFLOW.format(wait="false"))
    sim.send(Start())
    run = sim.run_of("call")
    assert run.current is State.SUCCESS
    assert [a.state.current for a in run.attempts] == [State.SUCCESS]
