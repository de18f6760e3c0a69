"""An in-memory engine for unit tests: ``decide`` driven with a fake clock and in-process task runs.

No database and no threads: jobs are run one at a time, in the order they were
emitted, by the real task types (or by a function the test gives), and each result
is fed back to ``decide`` exactly as the executor does.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lanner.engine.core.decide import Decision, Event, Job, Note, Start, TaskResult, decide
from lanner.engine.core.inputs import resolve_inputs
from lanner.engine.core.surroundings import KVReader, Surroundings, no_kv
from lanner.expr import ExpressionError
from lanner.flows.registry import Registry, default_registry
from lanner.flows.validator import validate_source
from lanner.model import run_index
from lanner.model.execution import Execution, TaskRun
from lanner.model.flow import Flow
from lanner.model.state import State, StateHistory
from lanner.model.task import TaskSpec
from lanner.tasks.runnable import RunnableTask, TaskFailure
from tests.unit.tasks.fake_context import FakeContext


def run_for_real(job: Job) -> TaskResult:
    """What a worker would report: the task type's own ``run``."""
    resolved = default_registry().resolve(TaskSpec, job.task["type"])
    task = resolved.cls.model_validate(job.task)
    try:
        context = FakeContext(job.variables, execution_id=job.execution_id, task_run_id=job.task_run_id,
                              attempt=job.attempt)
        assert isinstance(task, RunnableTask), f"{job.task['type']} is not runnable: decide sent it to a worker"
        output = task.run(context)
    except (TaskFailure, ExpressionError) as exc:
        return TaskResult(job.task_run_id, job.attempt, State.FAILED, message=str(exc))
    metrics = tuple({"name": m.name, "value": m.value, "type": m.type} for m in output.metrics)
    return TaskResult(job.task_run_id, job.attempt, output.state, dict(output.outputs), metrics, output.labels)


@dataclass
class Simulation:
    flow: Flow
    execution: Execution
    worker: Callable[[Job], TaskResult | None] = run_for_real
    clock: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    decisions: list[Decision] = field(default_factory=list)
    pending: list[Job] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    environ: Mapping[str, str] = field(default_factory=dict)  # what envs and secret() see
    kv: KVReader = no_kv
    shelf: run_index.Shelf = field(default_factory=run_index.Shelf)  # indexes handed on, as by an executor

    @classmethod
    def of(cls, source: str, inputs: dict[str, Any] | None = None, *, registry: Registry | None = None,
           **kwargs: Any) -> Simulation:
        validation = validate_source(source, registry=registry)
        assert validation.valid, [p.format() for p in validation.problems]
        flow = validation.flow
        counter = itertools.count(1)
        execution = Execution(id=f"exec{next(counter)}", namespace=flow.namespace, flow_id=flow.id, flow_revision=1,
                              state=StateHistory.start(State.CREATED, datetime(2026, 1, 1, tzinfo=UTC)),
                              inputs=resolve_inputs(flow, inputs or {}), labels=dict(flow.labels))
        return cls(flow, execution, **kwargs)

    def send(self, event: Event) -> Decision:
        self.clock += timedelta(milliseconds=1)
        ids = (f"tr{n}" for n in itertools.count(len(self.execution.task_runs) + 1))
        around = Surroundings(self.clock, ids=lambda: next(ids), rng=random.Random(0), environ=self.environ,
                              kv=self.kv, shelf=self.shelf)
        decision = decide(self.execution, self.flow, event, around)
        self.execution = decision.execution
        self.decisions.append(decision)
        self.pending.extend(decision.jobs)
        self.notes.extend(decision.notes)
        return decision

    def run(self, max_steps: int = 10_000) -> Execution:
        """Start (if needed) and run every job until nothing is left to do."""
        if self.execution.current is State.CREATED:
            self.send(Start())
        for _ in range(max_steps):
            if not self.pending:
                return self.execution
            job = self.pending.pop(0)
            result = self.worker(job)
            if result is not None:
                self.send(result)
        raise AssertionError("the execution did not settle")

    # what tests look at
    def runs(self, task_id: str) -> list[TaskRun]:
        return [run for run in self.execution.task_runs if run.task_id == task_id]

    def run_of(self, task_id: str) -> TaskRun:
        runs = self.runs(task_id)
        assert len(runs) == 1, f"{task_id}: {len(runs)} task runs"
        return runs[0]

    def states(self) -> dict[str, State]:
        return {run.task_id: run.current for run in self.execution.task_runs if run.value is None}


_IDS = itertools.count(1)


def at(now: datetime, ids: Callable[[], str] | None = None, environ: Mapping[str, str] | None = None,
       kv: KVReader = no_kv) -> Surroundings:
    """Plain surroundings for a decision at ``now``: ids unique across a test run, a seeded random source.

    Indexes are handed on through the process's shelf, as in the executor (what test_fan_out looks at).
    """
    return Surroundings(now, ids=ids or (lambda: f"id{next(_IDS)}"), rng=random.Random(0), environ=environ or {},
                        kv=kv, shelf=run_index.SHELF)
