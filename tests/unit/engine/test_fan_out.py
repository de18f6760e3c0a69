"""Large loops: a decision's work is proportional to what changed, not to the size of the execution.

Counted, not timed: how many task runs' states a decision reads (``TaskRun.current``),
and how many task-run rows it writes.  Before, every decision read every task run
(dispatching, resolving flowables, building ``outputs``): 10,000 and more here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lanner.engine.core import decide as decide_module
from lanner.engine.core.decide import Start, TaskResult, Tick, decide
from lanner.flows.validator import validate_source
from lanner.model import run_index
from lanner.model.execution import Attempt, Execution, TaskRun
from lanner.model.state import State, StateHistory
from lanner.store.execution_repository import _task_run_changes
from lanner.tasks.flowable import LOOP_WINDOW
from tests.unit.engine.sim import at

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DONE, VALUES = 10_000, 20_000


def loop_flow(limit: int, count: int = VALUES, body: str = ""):
    source = ("id: f\nnamespace: a.b\ntasks:\n  - id: each\n    type: io.kestra.plugin.core.flow.ForEach\n"
              f"    values: \"{{{{ range(1, {count}) }}}}\"\n    concurrencyLimit: {limit}\n    tasks:\n"
              "      - id: r\n        type: io.kestra.plugin.core.debug.Return\n        format: \"{{ taskrun.value }}\"\n"
              + body)
    validation = validate_source(source)
    assert validation.valid, [p.format() for p in validation.problems]
    return validation.flow


def _history(*states: State) -> StateHistory:
    history = StateHistory.start(states[0], T0)
    for state in states[1:]:
        history = history.to(state, T0)
    return history


def half_done(running: int) -> Execution:
    """A loop of 20,000 values: 10,000 iterations ended, ``running`` in progress (their attempt 1 at a worker)."""
    loop = TaskRun("each", "each", _history(State.CREATED, State.RUNNING))
    runs = [loop]
    for i in range(DONE + running):
        ended = i < DONE
        states = (State.CREATED, State.RUNNING, State.SUCCESS) if ended else (State.CREATED, State.RUNNING)
        runs.append(TaskRun(f"r{i}", "r", _history(*states), "each", str(i + 1), i,
                            (Attempt(_history(*states[1:])),), {"value": str(i + 1)} if ended else {}))
    return Execution("e", "a.b", "f", 1, _history(State.CREATED, State.RUNNING), task_runs=tuple(runs))


def counting_states(monkeypatch) -> list[int]:
    """Count the reads of ``TaskRun.current`` from now on."""
    reads = [0]
    original = TaskRun.current

    def current(run):
        reads[0] += 1
        return original.fget(run)

    monkeypatch.setattr(TaskRun, "current", property(current))
    return reads


@pytest.mark.parametrize("limit", [0, 1, 100])
def test_one_result_among_10000_ended_iterations_reads_and_writes_a_handful_of_task_runs(monkeypatch, limit):
    running = limit or LOOP_WINDOW
    flow = loop_flow(limit)
    warm = decide(half_done(running), flow, Tick("each"), at(T0))  # builds the index: every run, once
    assert not warm.jobs and warm.execution.task_runs == half_done(running).task_runs
    reads = counting_states(monkeypatch)
    result = TaskResult(f"r{DONE}", 1, State.SUCCESS, {"value": "x"})
    decision = decide(warm.execution, flow, result, at(T0 + timedelta(seconds=1)))
    monkeypatch.undo()
    # The result ended one iteration: the next value starts (one job), nothing else happens.
    assert [job.task_run_id for job in decision.jobs] == [decision.execution.task_runs[-1].id]
    assert decision.execution.task_runs[-1].iteration == DONE + running
    assert reads[0] < 100, f"{reads[0]} task-run states read for one result among {DONE + running} task runs"
    # The decision's index tells the store which task run it replaced: no comparison of 10,000 task runs.
    assert run_index.replaced(warm.execution.task_runs, decision.execution.task_runs) == [DONE + 1]
    inserts, updates, deletes = _task_run_changes(warm.execution, decision.execution, T0)
    assert (len(inserts), len(updates), len(deletes)) == (1, 1, 0)  # the new iteration's run; the ended one


def test_a_decision_that_builds_no_index_reads_each_task_run_once(monkeypatch):
    """The index is handed from a decision to the next; without it (another executor, a restart) it is rebuilt."""
    flow = loop_flow(1)
    execution = half_done(1)
    reads = counting_states(monkeypatch)
    decide(execution, flow, Tick("each"), at(T0))
    monkeypatch.undo()
    assert DONE <= reads[0] < 3 * DONE


def test_an_unlimited_loop_keeps_a_window_of_iterations_in_progress():
    flow = loop_flow(0, count=5000)
    start = decide(Execution("e", "a.b", "f", 1, StateHistory.start(State.CREATED, T0)), flow, Start(), at(T0))
    assert len(start.jobs) == LOOP_WINDOW
    # Three iterations end: three more start, the window stays full.
    results = [TaskResult(job.task_run_id, 1, State.SUCCESS, {"value": "x"}) for job in start.jobs[:3]]
    after = decide(start.execution, flow, results, at(T0))
    assert [run.iteration for run in after.execution.task_runs[-3:]] == [LOOP_WINDOW, LOOP_WINDOW + 1,
                                                                          LOOP_WINDOW + 2]
    assert len(after.jobs) == 3


def test_a_decision_creates_a_bounded_number_of_task_runs_and_asks_to_continue(monkeypatch):
    monkeypatch.setattr(decide_module, "NEW_RUNS_PER_DECISION", 40)
    flow = loop_flow(0, count=100)
    execution = Execution("e", "a.b", "f", 1, StateHistory.start(State.CREATED, T0))
    decision = decide(execution, flow, Start(), at(T0))
    assert len(decision.execution.task_runs) == 40 and len(decision.jobs) == 39  # the loop's own run, 39 iterations
    loop_id = decision.execution.task_runs[0].id
    sizes = []
    while decision.timers:
        assert [(timer.task_run_id, timer.delay) for timer in decision.timers] == [(loop_id, 0.0)]
        before = len(decision.execution.task_runs)
        decision = decide(decision.execution, flow, Tick(loop_id), at(T0))
        sizes.append(len(decision.execution.task_runs) - before)
    assert sizes == [40, 21]
    assert sorted(run.iteration for run in decision.execution.task_runs if run.task_id == "r") == list(range(100))


def test_index_handed_over_gives_the_same_decisions_as_one_built_afresh():
    """Whether the previous decision's index is found or the index is rebuilt changes nothing decided."""
    flow = loop_flow(0, count=300, body="      - id: s\n        type: io.kestra.plugin.core.debug.Return\n"
                                        "        format: \"{{ outputs.r[taskrun.value].value }}!\"\n")
    carried = rebuilt = Execution("e", "a.b", "f", 1, StateHistory.start(State.CREATED, T0))
    events, seen = [Start()], []
    for _ in range(200):
        if not events:
            break
        ids_a, ids_b = iter(f"t{n}" for n in range(10_000)), iter(f"t{n}" for n in range(10_000))
        offset = len(carried.task_runs)
        a = decide(carried, flow, events, at(T0, ids=lambda ids=ids_a, n=offset: f"t{n}-{next(ids)}"))
        fresh = Execution(**{name: getattr(rebuilt, name) for name in Execution.__dataclass_fields__}
                          | {"task_runs": tuple(list(rebuilt.task_runs))})  # noqa: C414 - a copy: no index filed for it
        b = decide(fresh, flow, events, at(T0, ids=lambda ids=ids_b, n=offset: f"t{n}-{next(ids)}"))
        assert a.execution == b.execution and a.jobs == b.jobs
        carried, rebuilt = a.execution, b.execution
        events = [TaskResult(job.task_run_id, job.attempt, State.SUCCESS,
                             {"value": job.variables["taskrun"]["value"]}) for job in a.jobs]
        # s reads r's output of its iteration: its job carries it (and, not each, the loop itself).
        seen += [(job.variables["taskrun"]["value"], job.variables["outputs"]) for job in a.jobs
                 if job.task["id"] == "s"]
    assert carried.current is State.SUCCESS
    assert len(seen) == 300 and all(outputs["r"][value] == {"value": value} and "each" not in outputs
                                   for value, outputs in seen)
    assert run_index.peek(carried.task_runs) is not None  # filed for the next decision (601 task runs)
