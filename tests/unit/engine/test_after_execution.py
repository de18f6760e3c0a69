"""afterExecution: tasks that run once the execution has ended, see its final state and never change it."""

from __future__ import annotations

from dataclasses import replace

from lanner.engine.core import after_execution
from lanner.engine.core.decide import Kill, Restart, Start, TaskResult
from lanner.model.state import State
from tests.unit.engine.sim import Simulation, run_for_real

HEAD = "id: f\nnamespace: company.team\n"


def ret(task_id: str, fmt: str = "x", extra: str = "") -> str:
    return (f"  - id: {task_id}\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{fmt}\"\n"
            + "".join(f"    {line}\n" for line in extra.splitlines()))


def fail(task_id: str) -> str:
    return f"  - id: {task_id}\n    type: io.kestra.plugin.core.execution.Fail\n"


AFTER = ("afterExecution:\n"
         + ret("on_success", "ok", "runIf: \"{{ execution.state == 'SUCCESS' }}\"")
         + ret("on_failure", "{{ execution.state }}", "runIf: \"{{ execution.state == 'FAILED' }}\""))


def test_after_execution_runs_once_the_execution_has_ended_and_sees_its_state():
    sim = Simulation.of(HEAD + "tasks:\n" + fail("boom") + "errors:\n" + ret("handle") + "finally:\n"
                        + ret("cleanup") + AFTER)
    execution = sim.run()
    assert execution.current is State.FAILED  # from tasks, errors and finally, as before
    assert [run.task_id for run in execution.task_runs] == ["boom", "handle", "cleanup", "on_success", "on_failure"]
    assert sim.states() == {"boom": State.FAILED, "handle": State.SUCCESS, "cleanup": State.SUCCESS,
                            "on_success": State.SKIPPED, "on_failure": State.SUCCESS}
    assert sim.run_of("on_failure").outputs == {"value": "FAILED"}
    # They start in the decision that ends the execution, seeing it FAILED; it stays so.
    ending = next(d for d in sim.decisions if d.execution.current is State.FAILED)
    assert [job.task["id"] for job in ending.jobs] == ["on_failure"] and not ending.ended
    assert ending.jobs[0].variables["execution"]["state"] == "FAILED"
    assert [h.state for h in execution.state.histories] == [State.CREATED, State.RUNNING, State.FAILED]


def test_the_execution_is_over_only_once_its_after_execution_tasks_have_ended():
    sim = Simulation.of(HEAD + "tasks:\n" + ret("a") + "afterExecution:\n" + ret("notify") + ret("archive"),
                        worker=lambda job: None)
    job = sim.send(Start()).jobs[0]
    first = sim.send(TaskResult(job.task_run_id, 1, State.SUCCESS, {"value": "x"}))
    assert first.execution.current is State.SUCCESS and not first.ended  # a parent, a concurrency slot still wait
    assert [j.task["id"] for j in first.jobs] == ["notify"]
    second = sim.send(TaskResult(first.jobs[0].task_run_id, 1, State.SUCCESS, {"value": "x"}))
    assert [j.task["id"] for j in second.jobs] == ["archive"] and not second.ended
    assert after_execution.running(second.execution, sim.flow)
    last = sim.send(TaskResult(second.jobs[0].task_run_id, 1, State.SUCCESS, {"value": "x"}))
    assert last.ended and last.execution.current is State.SUCCESS
    assert after_execution.over(last.execution, sim.flow)
    again = sim.send(TaskResult(second.jobs[0].task_run_id, 1, State.SUCCESS, {"value": "x"}))  # a duplicate
    assert not again.ended and again.execution == last.execution


def test_without_after_execution_tasks_the_end_is_the_execution_reaching_its_state():
    sim = Simulation.of(HEAD + "tasks:\n" + ret("a"), worker=lambda job: None)
    job = sim.send(Start()).jobs[0]
    done = sim.send(TaskResult(job.task_run_id, 1, State.SUCCESS, {"value": "x"}))
    assert done.ended and done.execution.current is State.SUCCESS


def test_a_failing_after_execution_task_stops_the_others_and_changes_nothing():
    sim = Simulation.of(HEAD + "tasks:\n" + ret("a") + "afterExecution:\n" + fail("broken") + ret("never"))
    execution = sim.run()
    assert execution.current is State.SUCCESS
    assert sim.states() == {"a": State.SUCCESS, "broken": State.FAILED}
    assert sim.decisions[-1].ended


def test_a_killed_execution_runs_its_after_execution_tasks():
    sim = Simulation.of(HEAD + "tasks:\n" + ret("a") + AFTER.replace("'FAILED'", "'KILLED'"), worker=lambda job: None)
    job = sim.send(Start()).jobs[0]
    sim.send(Kill())
    killed = sim.send(TaskResult(job.task_run_id, 1, State.KILLED))
    assert killed.execution.current is State.KILLED and not killed.ended
    sim.worker = run_for_real
    execution = sim.run()
    assert execution.current is State.KILLED
    assert sim.states() == {"a": State.KILLED, "on_success": State.SKIPPED, "on_failure": State.SUCCESS}
    assert sim.run_of("on_failure").outputs == {"value": "KILLED"}


def test_an_execution_ended_elsewhere_does_not_start_them_late():
    # The executor fails an execution it cannot decide (its flow is gone...) without deciding:
    # a later event must not start its afterExecution tasks, nor end it a second time.
    sim = Simulation.of(HEAD + "tasks:\n" + ret("a") + AFTER, worker=lambda job: None)
    job = sim.send(Start()).jobs[0]
    sim.execution = replace(sim.execution, state=sim.execution.state.to(State.FAILED, sim.clock))
    late = sim.send(TaskResult(job.task_run_id, 1, State.SUCCESS, {"value": "x"}))
    assert [run.task_id for run in late.execution.task_runs] == ["a"] and not late.ended and late.jobs == ()


def test_restart_runs_the_after_execution_tasks_again_after_the_new_end():
    outcomes = {"flaky": [State.FAILED, State.SUCCESS]}

    def worker(job):
        if job.task["id"] in outcomes:
            state = outcomes[job.task["id"]].pop(0)
            return TaskResult(job.task_run_id, job.attempt, state, {"value": "v"} if state is State.SUCCESS else {})
        return run_for_real(job)

    sim = Simulation.of(HEAD + "tasks:\n" + ret("flaky") + AFTER, worker=worker)
    assert sim.run().current is State.FAILED
    assert sim.states()["on_failure"] is State.SUCCESS
    sim.send(Restart())
    execution = sim.run()
    assert execution.current is State.SUCCESS
    # As Kestra: the first end's afterExecution task runs are dropped, and run again for the new end.
    assert [run.task_id for run in execution.task_runs] == ["flaky", "on_success", "on_failure"]
    assert sim.states() == {"flaky": State.SUCCESS, "on_success": State.SUCCESS, "on_failure": State.SKIPPED}
    assert sim.decisions[-1].ended


def test_restart_waits_for_running_after_execution_tasks():
    sim = Simulation.of(HEAD + "tasks:\n" + fail("boom") + "afterExecution:\n" + ret("notify"),
                        worker=lambda job: None)
    job = sim.send(Start()).jobs[0]
    sim.send(TaskResult(job.task_run_id, 1, State.FAILED, message="no"))
    refused = sim.send(Restart())
    assert refused.execution.current is State.FAILED and refused.jobs == ()
    assert [n.message for n in refused.notes] == [
        "not restarted: its afterExecution tasks are still running; restart it once they end"]
