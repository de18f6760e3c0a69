"""The executor's decisions, driven in memory: every flowable shape, failures, retries, fencing, kill, restart."""

from __future__ import annotations

import pytest

from lanner.engine.core.decide import Kill, Restart, Start, TaskResult
from lanner.model.state import State
from tests.unit.engine.sim import Simulation, at, run_for_real

HEAD = "id: f\nnamespace: company.team\n"


def flow(body: str) -> str:
    return HEAD + body


def ret(task_id: str, fmt: str = "x", extra: str = "", indent: int = 2) -> str:
    pad = " " * indent
    return (f"{pad}- id: {task_id}\n{pad}  type: io.kestra.plugin.core.debug.Return\n{pad}  format: \"{fmt}\"\n"
            + "".join(f"{pad}  {line}\n" for line in extra.splitlines() if line))


def fail(task_id: str, extra: str = "", indent: int = 2) -> str:
    pad = " " * indent
    return (f"{pad}- id: {task_id}\n{pad}  type: io.kestra.plugin.core.execution.Fail\n"
            + "".join(f"{pad}  {line}\n" for line in extra.splitlines() if line))


def test_sequential_tasks_see_earlier_outputs():
    sim = Simulation.of(flow("tasks:\n" + ret("a", "one") + ret("b", "{{ outputs.a.value }}-two")
                             + ret("c", "{{ outputs.b.value }}-three")))
    execution = sim.run()
    assert execution.current is State.SUCCESS
    assert [run.task_id for run in execution.task_runs] == ["a", "b", "c"]
    assert sim.run_of("c").outputs["value"] == "one-two-three"
    assert [h.state for h in execution.state.histories] == [State.CREATED, State.RUNNING, State.SUCCESS]
    assert all(run.attempt_number == 1 for run in execution.task_runs)


def test_one_job_at_a_time_for_a_sequence():
    sim = Simulation.of(flow("tasks:\n" + ret("a") + ret("b")))
    first = sim.send(Start())
    assert [job.task_run_id for job in first.jobs] == ["tr1"]
    assert first.execution.current is State.RUNNING


def test_failure_runs_errors_then_finally_and_fails_the_execution():
    sim = Simulation.of(flow("tasks:\n" + ret("a") + fail("boom", "errorMessage: it broke") + ret("never")
                             + "errors:\n" + ret("handle", "{{ outputs.a.value }}") + "finally:\n" + ret("cleanup")))
    execution = sim.run()
    assert execution.current is State.FAILED
    assert sim.states() == {"a": State.SUCCESS, "boom": State.FAILED, "handle": State.SUCCESS, "cleanup": State.SUCCESS}
    assert any(note.message == "it broke" and note.level == "ERROR" for note in sim.notes)


def test_finally_runs_after_success_too():
    sim = Simulation.of(flow("tasks:\n" + ret("a") + "errors:\n" + ret("handle") + "finally:\n" + ret("cleanup")))
    assert sim.run().current is State.SUCCESS
    assert sim.states() == {"a": State.SUCCESS, "cleanup": State.SUCCESS}


def test_allow_failure_turns_a_failure_into_a_warning():
    sim = Simulation.of(flow("tasks:\n" + fail("soft", "allowFailure: true") + ret("after")))
    assert sim.run().current is State.WARNING
    assert sim.states() == {"soft": State.WARNING, "after": State.SUCCESS}


def test_run_if_false_skips_and_a_render_error_fails():
    sim = Simulation.of(flow("tasks:\n" + ret("skipped", extra="runIf: \"{{ 1 == 2 }}\"") + ret("kept", extra="runIf: 'true'")))
    assert sim.run().current is State.SUCCESS
    assert sim.states() == {"skipped": State.SKIPPED, "kept": State.SUCCESS}
    broken = Simulation.of(flow("tasks:\n" + ret("bad", extra="runIf: \"{{ nope }}\"")))
    assert broken.run().current is State.FAILED
    assert any("Unable to find `nope`" in note.message for note in broken.notes)


def test_disabled_tasks_are_not_run():
    sim = Simulation.of(flow("tasks:\n" + ret("off", extra="disabled: true") + ret("on")))
    assert sim.run().current is State.SUCCESS
    assert sim.states() == {"on": State.SUCCESS}


def test_undefined_variable_fails_the_task_with_kestras_message():
    sim = Simulation.of(flow("tasks:\n" + ret("t", "{{ missing.value }}")))
    assert sim.run().current is State.FAILED
    assert any("Unable to find `missing` used in the expression" in note.message for note in sim.notes)


@pytest.mark.parametrize(("concurrent", "first_wave"), [(0, 3), (1, 1), (2, 2)])
def test_parallel_respects_concurrency(concurrent, first_wave):
    sim = Simulation.of(flow(f"tasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n    concurrent: {concurrent}\n"
                             "    tasks:\n" + ret("a", indent=6) + ret("b", indent=6) + ret("c", indent=6)))
    assert len(sim.send(Start()).jobs) == first_wave
    assert sim.run().current is State.SUCCESS
    assert {run.task_id for run in sim.execution.task_runs} == {"p", "a", "b", "c"}


def test_parallel_failure_fails_the_parent_after_running_siblings_end():
    sim = Simulation.of(flow("tasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n"
                             + fail("x", indent=6) + ret("y", indent=6) + ret("after")))
    assert sim.run().current is State.FAILED
    assert sim.states() == {"p": State.FAILED, "x": State.FAILED, "y": State.SUCCESS}


@pytest.mark.parametrize(("condition", "branch"), [("true", "yes"), ("'false'", "no"), ("0", "no"), ("1", "yes"),
                                                   ("\"{{ inputs.n > 2 }}\"", "yes")])
def test_if_takes_one_branch(condition, branch):
    source = flow("inputs:\n  - id: n\n    type: INT\n    defaults: 5\ntasks:\n  - id: check\n"
                  f"    type: io.kestra.plugin.core.flow.If\n    condition: {condition}\n"
                  "    then:\n" + ret("yes", indent=6) + "    else:\n" + ret("no", indent=6))
    sim = Simulation.of(source)
    assert sim.run().current is State.SUCCESS
    assert sim.states() == {"check": State.SUCCESS, branch: State.SUCCESS}


def test_if_without_else_and_false_condition_succeeds_empty():
    sim = Simulation.of(flow("tasks:\n  - id: check\n    type: io.kestra.plugin.core.flow.If\n    condition: false\n"
                             "    then:\n" + ret("yes", indent=6)))
    assert sim.run().current is State.SUCCESS
    assert sim.states() == {"check": State.SUCCESS}


@pytest.mark.parametrize(("value", "expected", "defaults"), [("A", "case_a", False), ("Z", "fallback", True)])
def test_switch_picks_a_case_or_the_defaults(value, expected, defaults):
    sim = Simulation.of(flow(f"tasks:\n  - id: sw\n    type: io.kestra.plugin.core.flow.Switch\n    value: {value}\n"
                             "    cases:\n      A:\n" + ret("case_a", indent=8) + "    defaults:\n" + ret("fallback", indent=6)))
    assert sim.run().current is State.SUCCESS
    assert sim.states() == {"sw": State.SUCCESS, expected: State.SUCCESS}
    assert sim.run_of("sw").outputs == {"value": value, "defaults": defaults}


def test_switch_without_match_or_defaults_fails():
    sim = Simulation.of(flow("tasks:\n  - id: sw\n    type: io.kestra.plugin.core.flow.Switch\n    value: Q\n"
                             "    cases:\n      A:\n" + ret("case_a", indent=8)))
    assert sim.run().current is State.FAILED
    assert any("no case matches the value 'Q'" in note.message for note in sim.notes)


@pytest.mark.parametrize("limit", [1, 0, 2])
def test_foreach_runs_the_tasks_once_per_value(limit):
    sim = Simulation.of(flow(f"tasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n"
                             f"    values: [\"a\", \"b\", \"c\"]\n    concurrencyLimit: {limit}\n    tasks:\n"
                             + ret("echo", "{{ taskrun.value }}!", indent=6) + ret("then", "{{ outputs.echo[taskrun.value].value }}", indent=6)))
    assert sim.run().current is State.SUCCESS
    echoes = sim.runs("echo")
    assert sorted(run.outputs["value"] for run in echoes) == ["a!", "b!", "c!"]
    assert sorted(run.outputs["value"] for run in sim.runs("then")) == ["a!", "b!", "c!"]
    assert len(sim.execution.task_runs) == 7


def test_foreach_values_as_json_string_and_nested_parent_values():
    inner = ("      - id: inner\n        type: io.kestra.plugin.core.flow.ForEach\n        values: [1, 2]\n        tasks:\n"
             + ret("leaf", "{{ parent.taskrun.value }}/{{ parents[0].taskrun.value }}/{{ taskrun.value }}", indent=10))
    sim = Simulation.of(flow("tasks:\n  - id: outer\n    type: io.kestra.plugin.core.flow.ForEach\n"
                             "    values: '[\"x\", \"y\"]'\n    tasks:\n" + inner
                             + ret("after", "{{ outputs.leaf['y']['2'].value }}")))
    assert sim.run().current is State.SUCCESS
    # The inner loop's task run carries the outer value, so parent.taskrun.value is the outer loop's value.
    assert sorted(run.outputs["value"] for run in sim.runs("leaf")) == ["x/x/1", "x/x/2", "y/y/1", "y/y/2"]
    assert sim.run_of("after").outputs["value"] == "y/y/2"


def test_foreach_failure_stops_new_iterations():
    sim = Simulation.of(flow("tasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n    values: [1, 2, 3]\n"
                             "    tasks:\n" + fail("f", "condition: \"{{ taskrun.value == '2' }}\"", indent=6)))
    assert sim.run().current is State.FAILED
    assert [run.current for run in sim.runs("f")] == [State.SUCCESS, State.FAILED]


def test_dag_runs_in_dependency_order():
    sim = Simulation.of(flow(
        "tasks:\n  - id: dag\n    type: io.kestra.plugin.core.flow.Dag\n    tasks:\n"
        "      - task:\n          id: load\n          type: io.kestra.plugin.core.debug.Return\n          format: \"{{ outputs.transform.value }}+l\"\n"
        "        dependsOn: [transform]\n"
        "      - task:\n          id: extract\n          type: io.kestra.plugin.core.debug.Return\n          format: e\n"
        "      - task:\n          id: transform\n          type: io.kestra.plugin.core.debug.Return\n          format: \"{{ outputs.extract.value }}+t\"\n"
        "        dependsOn: [extract]\n"))
    assert sim.run().current is State.SUCCESS
    assert [run.task_id for run in sim.execution.task_runs] == ["dag", "extract", "transform", "load"]
    assert sim.run_of("load").outputs["value"] == "e+t+l"


def test_retries_until_success_with_warning_on_retry():
    calls = []

    def flaky(job):
        calls.append(job.attempt)
        if job.attempt < 3:
            return TaskResult(job.task_run_id, job.attempt, State.FAILED, message=f"flaky {job.attempt}")
        return run_for_real(job)

    sim = Simulation.of(flow("tasks:\n" + ret("t", extra="retry:\n  type: constant\n  interval: PT2S\n  maxAttempt: 5\n"
                                                 "  warningOnRetry: true")), worker=flaky)
    execution = sim.run()
    assert calls == [1, 2, 3]
    run = sim.run_of("t")
    assert run.attempt_number == 3 and run.current is State.WARNING and execution.current is State.WARNING
    assert [a.state.current for a in run.attempts] == [State.FAILED, State.FAILED, State.SUCCESS]
    delays = [job.delay for d in sim.decisions for job in d.jobs]
    assert delays == [0.0, 2.0, 2.0]


def test_retries_stop_at_max_attempt():
    always = lambda job: TaskResult(job.task_run_id, job.attempt, State.FAILED, message="no")  # noqa: E731
    sim = Simulation.of(flow("tasks:\n" + ret("t", extra="retry:\n  type: constant\n  interval: PT1S\n  maxAttempt: 2")),
                        worker=always)
    assert sim.run().current is State.FAILED
    assert sim.run_of("t").attempt_number == 2


def test_duplicate_and_late_results_change_nothing():
    sim = Simulation.of(flow("tasks:\n" + ret("a") + ret("b")), worker=lambda job: None)
    first = sim.send(Start()).jobs[0]
    ok = TaskResult(first.task_run_id, 1, State.SUCCESS, {"value": "x"})
    sim.send(ok)
    before = sim.execution
    again = sim.send(ok)  # the same result delivered twice
    assert again.execution == before and again.jobs == ()
    late = sim.send(TaskResult(first.task_run_id, 7, State.FAILED, message="from a zombie"))
    assert late.execution == before and late.jobs == ()
    assert [n.level for n in late.notes] == ["WARN"] and "ignored a late or duplicate result" in late.notes[0].message


def test_kill_stops_running_tasks_and_ends_killed():
    sim = Simulation.of(flow("tasks:\n" + ret("a") + ret("b")), worker=lambda job: None)
    job = sim.send(Start()).jobs[0]
    killing = sim.send(Kill())
    assert killing.execution.current is State.KILLING and killing.kills == (job.task_run_id,)
    done = sim.send(TaskResult(job.task_run_id, 1, State.KILLED))
    assert done.execution.current is State.KILLED and done.ended
    assert sim.states() == {"a": State.KILLED}


def test_restart_retries_only_the_failed_task_runs():
    outcomes = {"b": [State.FAILED, State.SUCCESS]}

    def worker(job):
        task_id = job.task["id"]
        if task_id in outcomes:
            state = outcomes[task_id].pop(0)
            return TaskResult(job.task_run_id, job.attempt, state, {"value": "ok"} if state is State.SUCCESS else {})
        return run_for_real(job)

    sim = Simulation.of(flow("tasks:\n" + ret("a") + ret("b") + ret("c")), worker=worker)
    assert sim.run().current is State.FAILED
    sim.send(Restart())
    execution = sim.run()
    assert execution.current is State.SUCCESS
    assert [(run.task_id, run.attempt_number) for run in execution.task_runs] == [("a", 1), ("b", 2), ("c", 1)]
    assert State.RESTARTED in [h.state for h in execution.state.histories]


def test_flow_outputs_and_labels_task():
    sim = Simulation.of(flow("labels:\n  team: data\ntasks:\n" + ret("a", "42")
                             + "  - id: tag\n    type: io.kestra.plugin.core.execution.Labels\n    labels:\n      stage: done\n"
                             + "outputs:\n  - id: answer\n    type: STRING\n    value: \"{{ outputs.a.value }}\"\n"))
    execution = sim.run()
    assert execution.current is State.SUCCESS
    assert execution.outputs == {"answer": "42"}
    assert execution.labels == {"team": "data", "stage": "done"}


def test_decisions_are_pure():
    sim = Simulation.of(flow("tasks:\n" + ret("a")), worker=lambda job: None)
    from lanner.engine.core.decide import decide

    before = sim.execution
    decision_a = decide(before, sim.flow, Start(), at(sim.clock, ids=lambda: "same"))
    decision_b = decide(before, sim.flow, Start(), at(sim.clock, ids=lambda: "same"))
    assert decision_a == decision_b and sim.execution is before


def test_a_batch_of_results_decides_like_the_same_results_one_by_one():
    from lanner.engine.core.decide import decide

    source = flow("tasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n"
                  + ret("a", indent=6) + ret("b", indent=6) + ret("c", indent=6) + ret("after"))
    one_by_one = Simulation.of(source, worker=lambda job: None)
    jobs = one_by_one.send(Start()).jobs
    results = [TaskResult(job.task_run_id, 1, State.SUCCESS, {"value": job.task_run_id}) for job in jobs]
    for result in results:
        one_by_one.send(result)
    batched = Simulation.of(source, worker=lambda job: None)
    batched.send(Start())
    ids = iter(f"tr{n}" for n in range(5, 100))
    decision = decide(batched.execution, batched.flow, results, at(one_by_one.clock, ids=lambda: next(ids)))
    assert [(r.task_id, r.current) for r in decision.execution.task_runs] == [
        (r.task_id, r.current) for r in one_by_one.execution.task_runs]
    assert [job.task["id"] for job in decision.jobs] == ["after"]


@pytest.mark.parametrize(("text", "expected"), [
    ('{"format": "plain"}', set()),
    ('{"format": "{{ outputs.alpha.value }}"}', {"alpha"}),
    ('{"format": "{{ outputs[\'beta\'][taskrun.value].value }}"}', {"beta"}),
    ('{"format": "{{ outputs | keys }}"}', {"alpha", "beta", "gamma"}),
    ('{"format": "{{ outputs[vars.name].value }}"}', {"alpha", "beta", "gamma"}),
    ('{"format": "{{ render(vars.template) }}"}', {"alpha", "beta", "gamma"}),
])
def test_jobs_carry_the_outputs_their_task_can_reach(text, expected):
    from lanner.engine.core.variables import referenced_outputs

    outputs = {"alpha": {"value": 1}, "beta": {"x": {"value": 2}}, "gamma": {"value": 3}}
    assert set(referenced_outputs(outputs, text)) == expected


def test_allow_warning_turns_a_warning_into_a_success():
    def warn(job):
        return TaskResult(job.task_run_id, job.attempt, State.WARNING, {"value": "w"})

    tolerant = Simulation.of(flow("tasks:\n" + ret("t", extra="allowWarning: true")), worker=warn)
    assert tolerant.run().current is State.SUCCESS
    strict = Simulation.of(flow("tasks:\n" + ret("t")), worker=warn)
    assert strict.run().current is State.WARNING


def test_kill_during_a_retry_wait_ends_at_once():
    sim = Simulation.of(flow("tasks:\n" + ret("t", extra="retry:\n  type: constant\n  interval: PT1H\n  maxAttempt: 3")),
                        worker=lambda job: None)
    job = sim.send(Start()).jobs[0]
    waiting = sim.send(TaskResult(job.task_run_id, 1, State.FAILED, message="first failure"))
    assert waiting.execution.task_runs[0].current is State.RETRYING and waiting.jobs[0].delay == 3600
    killed = sim.send(Kill())
    assert killed.execution.current is State.KILLED and killed.kills == ()
    late = sim.send(TaskResult(job.task_run_id, 2, State.KILLED))  # the delayed job, taken an hour later
    assert late.execution == killed.execution


def test_the_flow_retry_applies_to_tasks_without_their_own():
    def worker(job):
        return (TaskResult(job.task_run_id, job.attempt, State.FAILED, message="flaky") if job.attempt < 3
                else run_for_real(job))

    own_retry = "retry:\n  type: constant\n  interval: PT1S\n  maxAttempt: 2"
    sim = Simulation.of(flow("retry:\n  type: constant\n  interval: PT5S\n  maxAttempt: 4\n  warningOnRetry: true\n"
                             "tasks:\n" + ret("inherits") + ret("own", extra=own_retry)), worker=worker)
    assert sim.run().current is State.FAILED
    inherits, own = sim.run_of("inherits"), sim.run_of("own")
    assert (inherits.attempt_number, inherits.current) == (3, State.WARNING)  # the flow's warningOnRetry too
    assert (own.attempt_number, own.current) == (2, State.FAILED)  # its own maxAttempt, not the flow's
    assert [job.delay for d in sim.decisions for job in d.jobs] == [0.0, 5.0, 5.0, 0.0, 1.0]


FLOWABLE = "  - id: group\n    type: io.kestra.plugin.core.flow.{type}\n{flags}"
FAILING_BODIES = {
    "Sequential": "    tasks:\n" + ret("ok", indent=6) + fail("boom", indent=6),
    "Parallel": "    tasks:\n" + ret("ok", indent=6) + fail("boom", indent=6),
    "WorkingDirectory": "    tasks:\n" + fail("boom", indent=6),
    "If": "    condition: true\n    then:\n" + fail("boom", indent=6),
    "Switch": "    value: A\n    cases:\n      A:\n" + fail("boom", indent=8),
    "ForEach": "    values: [1, 2]\n    tasks:\n" + fail("boom", indent=6),
    "Dag": "    tasks:\n      - task:\n          id: boom\n          type: io.kestra.plugin.core.execution.Fail\n",
}


def _group(kind: str, flags: str) -> str:
    return FLOWABLE.format(type=kind, flags="".join(f"    {flag}\n" for flag in flags.split(",") if flag))


@pytest.mark.parametrize("kind", sorted(FAILING_BODIES))
def test_allow_failure_on_a_flowable_turns_its_failure_into_a_warning(kind):
    source = flow("tasks:\n" + _group(kind, "allowFailure: true") + FAILING_BODIES[kind] + ret("after")
                  + "errors:\n" + ret("handle"))
    sim = Simulation.of(source)
    assert sim.run().current is State.WARNING
    assert sim.run_of("group").current is State.WARNING
    assert all(run.current is State.FAILED for run in sim.runs("boom"))
    assert sim.run_of("after").current is State.SUCCESS  # the flow goes on after it
    assert sim.runs("handle") == []  # nothing failed at the flow's level: its errors branch does not run
    strict = Simulation.of(source.replace("    allowFailure: true\n", ""))
    assert strict.run().current is State.FAILED
    assert strict.run_of("group").current is State.FAILED and strict.runs("after") == []
    assert strict.run_of("handle").current is State.SUCCESS


def test_allow_warning_on_a_flowable_turns_its_warning_into_a_success():
    body = "    tasks:\n" + fail("soft", "allowFailure: true", indent=6)
    tolerant = Simulation.of(flow("tasks:\n" + _group("Sequential", "allowWarning: true") + body))
    assert tolerant.run().current is State.SUCCESS
    assert (tolerant.run_of("group").current, tolerant.run_of("soft").current) == (State.SUCCESS, State.WARNING)
    both = Simulation.of(flow("tasks:\n" + _group("Parallel", "allowFailure: true,allowWarning: true")
                              + "    tasks:\n" + fail("boom", indent=6)))
    assert both.run().current is State.SUCCESS  # FAILED, allowed to fail: WARNING, allowed to warn: SUCCESS
    assert both.run_of("group").current is State.SUCCESS


def test_a_task_allowed_to_fail_and_to_warn_ends_success():
    sim = Simulation.of(flow("tasks:\n" + fail("boom", "allowFailure: true\nallowWarning: true")))
    assert sim.run().current is State.SUCCESS and sim.run_of("boom").current is State.SUCCESS


def test_a_flowable_allowed_to_fail_keeps_its_own_errors_branch():
    source = flow("tasks:\n" + _group("Sequential", "allowFailure: true") + "    tasks:\n" + fail("boom", indent=6)
                  + "    errors:\n" + ret("local", indent=6) + "errors:\n" + ret("handle"))
    sim = Simulation.of(source)
    assert sim.run().current is State.WARNING
    assert sim.run_of("local").current is State.SUCCESS and sim.runs("handle") == []


def test_restart_runs_a_failed_task_inside_a_flowable_allowed_to_fail_again():
    failures = {"inner": 1, "later": 1}

    def worker(job):
        task_id = job.task["id"]
        if failures.get(task_id):
            failures[task_id] -= 1
            return TaskResult(job.task_run_id, job.attempt, State.FAILED, message="first time")
        return run_for_real(job)

    source = flow("tasks:\n" + _group("Sequential", "allowFailure: true") + "    tasks:\n" + ret("inner", indent=6)
                  + ret("later"))
    sim = Simulation.of(source, worker=worker)
    assert sim.run().current is State.FAILED
    assert sim.states() == {"group": State.WARNING, "inner": State.FAILED, "later": State.FAILED}
    sim.send(Restart())
    assert sim.run().current is State.SUCCESS
    # As Kestra: every failed task run restarts, and its ended parents resolve again.
    assert sim.states() == {"group": State.SUCCESS, "inner": State.SUCCESS, "later": State.SUCCESS}
