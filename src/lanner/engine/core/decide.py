"""The executor's decisions: ``decide(execution, flow, event, around)`` -> the new execution and its effects.

A pure function: no database, queue, clock, environment, random source or logging
inside, so every rule can be tested with plain values.  What it needs of the world
(the time, new ids, randomness, the environment, KV reads) comes in ``around``
(:class:`lanner.engine.core.surroundings.Surroundings`); tests/unit/engine/test_decide_purity.py
fails if it reaches any of them another way.

Around it the executor locks the execution row, calls ``decide``, saves the result
and writes the effects (jobs for workers, log lines) in the same transaction: that
shape, plus attempt fencing on results, is what makes a lost or doubled task impossible.

Each call recomputes what to do from the task runs that exist ("no hidden cursor"):
new task runs are dispatched (runnable ones become worker jobs), flowable ones are
asked which children come next and whether they are done, and the flow's own task
list is resolved the same way as a Sequential with the flow's ``errors`` and ``finally``.
Once the execution has ended, its ``afterExecution`` tasks run (see
:mod:`lanner.engine.core.after_execution`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from lanner.durations import parse_duration
from lanner.engine.core import actions, after_execution
from lanner.engine.core import sla as sla_rules
from lanner.engine.core.events import (
    ChildEnded,
    Decision,
    Event,
    Job,
    Kill,
    MarkTaskRun,
    Note,
    Pause,
    Restart,
    Resubmit,
    Resume,
    Start,
    TaskResult,
    Tick,
    Timer,
    Unqueue,
)
from lanner.engine.core.flow_outputs import typed_outputs
from lanner.engine.core.masking import masked_decision
from lanner.engine.core.retry import retry_delay, retry_of
from lanner.engine.core.surroundings import DecisionServices, Surroundings
from lanner.engine.core.variables import collect_outputs, flow_variables, referenced_task_ids, task_variables
from lanner.engine.core.work_scope import WorkScope
from lanner.expr import ExpressionError, render_value
from lanner.expr.truthiness import truthy
from lanner.model import run_index
from lanner.model.execution import Attempt, Execution, TaskRun
from lanner.model.flow import Flow
from lanner.model.run_index import RunIndex
from lanner.model.state import Cause, State, StateHistory
from lanner.model.task import TaskSpec
from lanner.tasks.executable import Child, ExecutableTask
from lanner.tasks.flowable import NEW_RUNS_PER_DECISION, FlowableTask, NewRun, sequential_next, sequential_state
from lanner.tasks.runnable import RunnableTask

# Events and effects live in lanner.engine.core.events; callers find them here too, next to decide().
__all__ = ["ChildEnded", "Decision", "Event", "Job", "Kill", "MarkTaskRun", "Note", "Pause", "Restart", "Resubmit",
           "Resume", "Start", "Surroundings", "TaskResult", "Tick", "Timer", "Unqueue", "decide"]


def decide(execution: Execution, flow: Flow, events: Event | Sequence[Event], around: Surroundings) -> Decision:
    """Apply ``events`` (one, or a batch in arrival order), then work out what happens next.

    Folding a batch before advancing once gives the same result as deciding each event
    in turn, at a fraction of the cost for executions with many task runs.
    """
    now = around.now
    work = _Work(execution, flow, now, around.ids, around.rng, around.environ, around.shelf)
    work.services = DecisionServices(around)  # what expressions may reach, read only
    was_over = after_execution.over(execution, flow)
    for event in (events if isinstance(events, Sequence) else (events,)):
        if isinstance(event, TaskResult):
            work.apply_result(event)
        elif isinstance(event, Kill):
            work.kill()
        elif isinstance(event, Restart):
            work.restart()
        elif isinstance(event, Resume):
            work.resume(event)
        elif isinstance(event, Pause):
            work.pause()
        elif isinstance(event, Unqueue):
            work.unqueue(event)
        elif isinstance(event, MarkTaskRun):
            work.mark(event)
        elif isinstance(event, ChildEnded):
            work.child_ended(event)
        elif isinstance(event, Resubmit):
            work.resubmit(event)
        elif isinstance(event, Tick):
            if not event.task_run_id:
                work.check_max_duration()  # an execution-level timer: the flow's SLA
            # otherwise deciding again is the point: the flowable looks at the time
        elif work.execution.current in (State.CREATED, State.QUEUED):
            work.execution = work.execution.to(State.RUNNING, now, Cause.STARTED)
            work.start_max_duration()
    if (not work.execution.current.terminal or work.after_execution_started()) and not actions.held(work.execution):
        work.advance()  # an execution an operator paused starts nothing until resumed
    result = work.result()
    around.shelf.leave(work.index, result.task_runs)  # for the next decision: it starts where this one ended
    soonest: dict[str, Timer] = {}
    for timer in work.timers:  # a flowable asks again on every pass: keep one timer per task run
        if timer.task_run_id not in soonest or timer.delay < soonest[timer.task_run_id].delay:
            soonest[timer.task_run_id] = timer
    decision = Decision(result, tuple(work.jobs), tuple(work.notes), tuple(work.kills),
                        ended=after_execution.over(result, flow) and not was_over, timers=tuple(soonest.values()),
                        children=tuple(work.children), child_kills=tuple(work.child_kills))
    return masked_decision(decision, work.secrets)  # what its renders revealed: never recorded in clear


def _tasks_by_id(flow: Flow) -> dict[str, TaskSpec]:
    """Every task of a flow by id, kept on the flow value (no module-level cache)."""
    return flow.tasks_by_id


def tolerated(task: TaskSpec, state: State) -> State:
    """The end ``state`` of a task run once its ``allowFailure`` and ``allowWarning`` apply, as in Kestra.

    allowFailure turns FAILED into WARNING, then allowWarning turns WARNING into SUCCESS;
    a KILLED or CANCELLED run stays as it is (nobody failed, it was stopped).
    """
    if state is State.FAILED and task.allow_failure:
        state = State.WARNING
    if state is State.WARNING and task.allow_warning:
        state = State.SUCCESS
    return state


def _flowable_cause(state: State) -> Cause:
    """Why a flowable's task run changed: it paused, runs again, or ended with its children."""
    return {State.PAUSED: Cause.PAUSED, State.RUNNING: Cause.RESUMED}.get(state, Cause.CHILDREN)


# -- the working copy --------------------------------------------------------------------------
class _Work:
    def __init__(self, execution: Execution, flow: Flow, now: datetime, ids: Callable[[], str], rng: random.Random,
                 environ: Mapping[str, str], shelf: run_index.Shelf) -> None:
        self.execution, self.flow, self.now, self.ids, self.rng, self.environ = execution, flow, now, ids, rng, environ
        self.tasks = _tasks_by_id(flow)
        self.flowable_ids = [task_id for task_id, task in self.tasks.items() if isinstance(task, FlowableTask)]
        # Every lookup goes through the index (lanner.model.run_index): a decision costs what changed.
        self.index = shelf.take(execution.task_runs)
        self.runs = self.index.runs
        self.changed = False
        self.budget = NEW_RUNS_PER_DECISION  # new task runs left for this decision; the rest come next time
        self.jobs: list[Job] = []
        self.notes: list[Note] = []
        self.kills: list[str] = []
        self.timers: list[Timer] = []
        self.children: list[Child] = []
        self.child_kills: list[str] = []
        self._base: tuple[Execution, dict[str, Any]] | None = None
        self._outputs: dict[str, dict[str, Any]] = {}  # the ``outputs`` entries by task id, as last computed
        self.services: Any = None
        self.secrets: set[str] = set()  # every secret value a render revealed: masked in the decision

    # bookkeeping
    def put(self, run: TaskRun) -> None:
        previous = self.runs.get(run.id)
        self.index.put(run)
        self.changed = True
        if previous is None or previous.outputs != run.outputs or previous.current != run.current:
            self._outputs.pop(run.task_id, None)  # what expressions see of its task may have changed

    def result(self) -> Execution:
        runs = tuple(self.index.seq) if self.changed else self.execution.task_runs
        return replace(self.execution, task_runs=runs)

    def note(self, level: str, message: str, run: TaskRun | None = None) -> None:
        self.notes.append(Note(level, message, run.id if run else None, run.task_id if run else None,
                               run.attempt_number if run and run.attempts else None))

    def variables(self, task: TaskSpec | None, run: TaskRun | None, text: str) -> dict[str, Any]:
        """What ``text`` (a value to render, a job's task) sees; ``outputs``: only the tasks it names."""
        if self._base is None or self._base[0] is not self.execution:
            self._base = (self.execution, flow_variables(self.flow, self.execution, self.environ, outputs={}))
        base = {**self._base[1], "outputs": self._outputs_for(text)}
        return base if task is None else task_variables(base, self.execution, task, run, self.runs)

    def _outputs_for(self, text: str) -> dict[str, Any]:
        wanted = referenced_task_ids(self.index.by_task, text)
        if wanted is None:  # the whole ``outputs``: every task run, in creation order
            return collect_outputs(self.index.seq, self.runs)
        outputs: dict[str, Any] = {}
        for task_id in wanted:
            if task_id not in self._outputs:
                self._outputs[task_id] = collect_outputs(self.index.ordered(self.index.by_task[task_id]), self.runs)
            outputs.update(self._outputs[task_id])
        return outputs

    def render(self, value: Any, task: TaskSpec | None, run: TaskRun | None) -> Any:
        """Every expression the executor renders goes through here (see lanner.engine.core.masking)."""
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        return render_value(value, self.variables(task, run, text), self.services, self.secrets)

    # events
    def apply_result(self, result: TaskResult) -> None:
        run = self.runs.get(result.task_run_id)
        if run is None or run.current not in (State.RUNNING, State.RETRYING) or run.attempt_number != result.attempt:
            where = f"attempt {result.attempt} of task run {result.task_run_id}"
            current = f"state {run.current}, attempt {run.attempt_number}" if run else "unknown task run"
            self.note("WARN", f"ignored a late or duplicate result ({result.state}) for {where} ({current})", run)
            return
        task = self.tasks[run.task_id]
        attempts = list(run.attempts)
        attempts[-1] = replace(attempts[-1].to(result.state, self.now, Cause.TASK_ENDED),
                               worker_id=result.worker_id or attempts[-1].worker_id, message=result.message)
        run = replace(run, attempts=tuple(attempts))
        if result.state in (State.SUCCESS, State.WARNING):
            state = result.state
            retry = retry_of(task, self.flow)
            if len(attempts) > 1 and retry is not None and retry.warning_on_retry:
                state = State.WARNING
            run = replace(run, outputs=dict(result.outputs), metrics=tuple(result.metrics)).to(
                tolerated(task, state), self.now, Cause.TASK_ENDED)
            if result.labels:
                self.execution = replace(self.execution, labels={**self.execution.labels, **result.labels})
        elif result.state is State.FAILED and self.execution.current is not State.KILLING:
            if result.message:
                self.note("ERROR", result.message, run)
            delay = self._retry(task, run)
            if delay is not None:
                self.note("INFO", f"retrying in {delay:.3g} s (attempt {len(attempts) + 1})", run)
                self.put(run.to(State.RETRYING, self.now, Cause.RETRY))
                self._dispatch(self.runs[run.id], task, delay=delay)
                return
            run = run.to(tolerated(task, State.FAILED), self.now, Cause.TASK_ENDED)
        else:
            run = run.to(State.KILLED if result.state is State.KILLED else State.FAILED, self.now, Cause.TASK_ENDED)
        self.put(run)

    def resubmit(self, event: Resubmit) -> None:
        run = self.runs.get(event.task_run_id)
        if run is None or run.current not in (State.RUNNING, State.RETRYING) or run.attempt_number != event.attempt:
            # Already ended (its result came first) or moved on: nothing is replayed (Kestra #8334).
            self.note("INFO", f"{event.reason}: attempt {event.attempt} had already ended; not resubmitted", run)
            return
        if self.execution.current is State.KILLING:
            self.put(self._end_attempt(run, State.KILLED, event.reason, Cause.KILLED).to(State.KILLED, self.now,
                                                                                         Cause.KILLED))
            return
        task = self.tasks[run.task_id]
        done = sum(1 for attempt in run.attempts if attempt.state.current is State.RESUBMITTED)
        if event.fail or done >= event.max_resubmissions:
            why = (f"{event.reason}; not resubmitted (worker-task-restart-strategy NEVER)" if event.fail else
                   f"{event.reason}; resubmitted {done} times after its worker died: not again")
            self.note("ERROR", why, run)
            ended = self._end_attempt(run, State.FAILED, why, Cause.WORKER_DIED)
            self.put(ended.to(tolerated(task, State.FAILED), self.now, Cause.WORKER_DIED))
            return
        self.note("WARN", f"{event.reason}: attempt {event.attempt} resubmitted as attempt {event.attempt + 1}", run)
        ended = self._end_attempt(run, State.RESUBMITTED, event.reason, Cause.WORKER_DIED)
        self.put(ended.to(State.RESUBMITTED, self.now, Cause.WORKER_DIED))
        self._dispatch(self.runs[run.id], task)

    def _end_attempt(self, run: TaskRun, state: State, message: str | None = None,
                     cause: Cause | None = None) -> TaskRun:
        attempts = list(run.attempts)
        attempts[-1] = replace(attempts[-1].to(state, self.now, cause),
                               message=attempts[-1].message if message is None else message)
        return replace(run, attempts=tuple(attempts))

    def _retry(self, task: TaskSpec, run: TaskRun) -> float | None:
        retry = retry_of(task, self.flow)
        if retry is None:
            return None
        # Resubmissions (a worker died) are not the task's failures: they do not count.
        tried = sum(1 for attempt in run.attempts if attempt.state.current is not State.RESUBMITTED)
        try:
            delay = retry_delay(retry, attempts=tried, first_attempt_start=run.attempts[0].state.start_date,
                                now=self.now, rng=self.rng, render=lambda v: self.render(v, task, run))
        except (ExpressionError, ValueError) as exc:
            self.note("ERROR", f"cannot apply the retry policy: {exc}", run)
            return None
        return None if delay is None else delay.total_seconds()

    def kill(self, cause: Cause = Cause.KILLED_BY_USER) -> None:
        if self.execution.current.terminal:
            return
        self.execution = self.execution.to(State.KILLING, self.now, cause)
        for run in self.index.ordered(self.index.unfinished):
            task = self.tasks[run.task_id]
            if run.current is State.RUNNING and isinstance(task, RunnableTask):
                self.kills.append(run.id)  # a worker may hold it: wait for it to confirm
            elif run.current is State.RUNNING and isinstance(task, ExecutableTask) and run.outputs.get("executionId"):
                self.child_kills.append(run.outputs["executionId"])  # its end comes back as ChildEnded
            elif run.current in (State.CREATED, State.RESTARTED, State.RETRYING):
                # Nothing runs: a retry only waits in the queue, and its late KILLED report is fenced off.
                self.put(run.to(State.KILLED, self.now, Cause.KILLED))

    # SLA (flow ``sla``, engine.core.sla): MAX_DURATION by an execution-level timer, EXECUTION_ASSERTION at the end
    def start_max_duration(self) -> None:
        self.timers.extend(Timer("", seconds) for seconds in sla_rules.timers(self.flow))

    def check_max_duration(self) -> None:
        if self.execution.current.terminal or self.execution.current is State.KILLING:
            return
        for sla in sla_rules.overdue(self.flow, self.now - self.execution.state.start_date):
            self._violated(sla, f"the execution ran longer than {sla.duration}")
            if sla.behavior in sla_rules.STOPPING:
                self.kill(Cause.SLA)  # ends FAILED or CANCELLED: see _kill_outcome

    def _assertions(self, state: State) -> State:
        """The final state once the flow's EXECUTION_ASSERTION SLAs are checked."""
        state, broken, errors = sla_rules.assertions(self.flow, state, lambda value: self.render(value, None, None))
        for error in errors:
            self.note("ERROR", error)
        for sla, why in broken:
            self._violated(sla, why)
        return state

    def _violated(self, sla: Any, why: str) -> None:
        self.note("WARN", f"SLA {sla.id} violated: {why}")
        if sla.labels:
            self.execution = replace(self.execution, labels={**self.execution.labels, **sla.labels})

    def _confirms_kill(self, run: TaskRun) -> bool:
        task = self.tasks[run.task_id]
        return isinstance(task, RunnableTask) or (
            isinstance(task, ExecutableTask) and bool(run.outputs.get("executionId")))

    def pause(self) -> None:
        if self.execution.current is not State.RUNNING:
            self.note("WARN", f"not paused: only a RUNNING execution pauses; this one is {self.execution.current}")
            return
        self.execution = self.execution.to(State.PAUSED, self.now, Cause.PAUSED_BY_USER)
        self.note("INFO", "paused by user: running tasks finish, nothing new starts until it is resumed")

    def unqueue(self, event: Unqueue) -> None:
        if self.execution.current is not State.QUEUED:
            self.note("WARN", f"not unqueued: the execution is {self.execution.current}, not QUEUED")
            return
        self.execution = self.execution.to(event.state, self.now, Cause.UNQUEUED)
        self.note("INFO", f"unqueued by user: {event.state}")
        if event.state is State.RUNNING:
            self.start_max_duration()

    def resume(self, event: Resume) -> None:
        held = actions.held(self.execution)
        if held:  # an operator's pause: the execution goes on
            self.execution = self.execution.to(State.RUNNING, self.now, Cause.RESUMED)
            self.note("INFO", "resumed")
        paused = [run for run in self.index.ordered(self.index.paused) if event.task_run_id in (None, run.id)]
        if not paused and not held:
            self.note("WARN", f"nothing to resume: the execution is {self.execution.current}")
            return
        for run in paused:
            outputs = {**run.outputs, "onResume": dict(event.inputs)} if event.inputs else run.outputs
            self.put(replace(run, outputs=outputs).to(State.RUNNING, self.now, Cause.RESUMED))
            self.note("INFO", "resumed", run)

    def child_ended(self, event: ChildEnded) -> None:
        run = self.runs.get(event.task_run_id)
        if run is None or run.current is not State.RUNNING or run.outputs.get("executionId") != event.execution_id:
            self.note("WARN", f"ignored the end of execution {event.execution_id} ({event.state}): "
                              "its task run is not waiting for it", run)
            return
        task = self.tasks[run.task_id]
        outputs = {**run.outputs, "executionId": event.execution_id, "state": str(event.state)}
        if event.outputs:
            outputs["outputs"] = dict(event.outputs)
        if event.message:
            self.note("ERROR", event.message, run)
        state = event.state
        if state in (State.FAILED, State.KILLED, State.CANCELLED):
            if state is State.KILLED and self.execution.current is State.KILLING:
                pass
            elif isinstance(task, ExecutableTask) and not task.fails_with_child():
                state = State.SUCCESS
            else:
                self.note("ERROR", f"execution {event.execution_id} of the subflow ended {event.state}", run)
                state = tolerated(task, State.FAILED)
        elif state is State.WARNING:
            state = tolerated(task, state)
        if run.attempts:  # none on a task run started before subflow attempts were recorded
            run = self._end_attempt(run, state, event.message, Cause.SUBFLOW_ENDED)
        self.put(replace(run, outputs=outputs).to(state, self.now, Cause.SUBFLOW_ENDED))

    def mark(self, event: MarkTaskRun) -> None:
        run = self.runs.get(event.task_run_id)
        if self.execution.current not in (State.FAILED, State.KILLED) or run is None or not run.current.terminal:
            self.note("WARN", f"task run {event.task_run_id} not set to {event.state}: only an ended task run of a "
                              f"FAILED or KILLED execution can be; the execution is {self.execution.current}")
            return
        self.put(replace(run, state=actions.marked(run.state, event.state, self.now)))
        self.note("INFO", f"set to {event.state} by user", run)
        parent_id = run.parent_task_run_id
        while parent_id is not None:  # the flowables above it resolve again
            parent = self.runs[parent_id]
            if parent.current.terminal:
                self.put(parent.to(State.RUNNING, self.now, Cause.RESTARTED))
            parent_id = parent.parent_task_run_id
        self.restart()

    def restart(self) -> None:
        if self.execution.current not in (State.FAILED, State.KILLED):
            self.note("WARN", "only a FAILED or KILLED execution can be restarted; "
                              f"this one is {self.execution.current}")
            return
        if after_execution.running(self.result(), self.flow):
            self.note("WARN", "not restarted: its afterExecution tasks are still running; restart it once they end")
            return
        self._forget_after_execution()
        self.execution = self.execution.to(State.RESTARTED, self.now, Cause.RESTARTED)
        for run_id in [run.id for run in self.index.seq if run.current.failed]:
            run = self.runs[run_id]
            if run.current.failed and isinstance(self.tasks[run.task_id], RunnableTask):
                self.put(run.to(State.RESTARTED, self.now, Cause.RESTARTED))
                parent_id = run.parent_task_run_id
                while parent_id is not None:
                    # Every ended ancestor runs again, not only failed ones: one with allowFailure
                    # ended WARNING, and must resolve again once its restarted child ends.
                    parent = self.runs[parent_id]
                    if parent.current.terminal:
                        self.put(parent.to(State.RUNNING, self.now, Cause.RESTARTED))
                    parent_id = parent.parent_task_run_id
        self.execution = self.execution.to(State.RUNNING, self.now, Cause.RESTARTED)

    def _forget_after_execution(self) -> None:
        """Drop the afterExecution task runs (and what they ran): the execution ends again, and they run again."""
        ids = after_execution.task_ids(self.flow)
        dropped = {i for i in self.index.by_parent.get(None, ()) if self.runs[i].task_id in ids}
        stack = list(dropped)
        while stack:
            for child in self.index.by_parent.get(stack.pop(), ()):
                dropped.add(child)
                stack.append(child)
        if not dropped:
            return
        self.index = RunIndex(run for run in self.index.seq if run.id not in dropped)
        self.runs, self.changed = self.index.runs, True
        self._outputs.clear()

    # progress
    def advance(self) -> None:
        for _ in range(10_000):  # each pass makes progress; the bound only guards against a bug
            changed = self._dispatch_new()
            changed |= self._resolve_flowables()
            if self.execution.current is State.KILLING:
                changed |= self._finish_killing()
            elif self.execution.current.terminal:
                changed |= self._after_execution()
            else:
                changed |= self._resolve_root()
            if not changed:
                self._sync_paused()
                return

    def _sync_paused(self) -> None:
        """The execution is PAUSED while one of its task runs is (Kestra's Pause), RUNNING again after."""
        paused = bool(self.index.paused)
        current = self.execution.current
        if paused and current is State.RUNNING:
            self.execution = self.execution.to(State.PAUSED, self.now, Cause.PAUSED)
        elif not paused and current is State.PAUSED:
            self.execution = self.execution.to(State.RUNNING, self.now, Cause.RESUMED)

    def _dispatch_new(self) -> bool:
        changed = False
        for run_id in [run.id for run in self.index.ordered(self.index.pending)]:
            run = self.runs[run_id]
            if run.current not in (State.CREATED, State.RESTARTED):
                continue
            changed = True
            task = self.tasks[run.task_id]
            if task.run_if is not None:
                try:
                    allowed = truthy(self.render(task.run_if, task, run))
                except (ExpressionError, ValueError) as exc:
                    self.note("ERROR", f"runIf: {exc}", run)
                    self.put(run.to(State.FAILED, self.now, Cause.ERROR))
                    continue
                if not allowed:
                    self.put(run.to(State.SKIPPED, self.now, Cause.SKIPPED))
                    continue
            if isinstance(task, FlowableTask):
                self.put(run.to(State.RUNNING, self.now, Cause.STARTED))
            elif isinstance(task, RunnableTask):
                self._dispatch(run, task)
            elif isinstance(task, ExecutableTask):
                self._start_child(run, task)
            else:  # a plugin's TaskSpec subclassing none of the three: nothing knows how to run it
                self.note("ERROR", f"{task.type} cannot run: its class is not a RunnableTask, FlowableTask or "
                                   "ExecutableTask (lanner.tasks)", run)
                self.put(run.to(State.FAILED, self.now, Cause.ERROR))
        return changed

    def _start_child(self, run: TaskRun, task: ExecutableTask) -> None:
        """An executable task run: the execution it starts gets this run's id as its own, known in advance."""
        try:
            request = task.child_execution(WorkScope(self, run, task), self.execution)
        except (ExpressionError, ValueError) as exc:
            self.note("ERROR", str(exc), run)
            self.put(run.to(State.FAILED, self.now, Cause.ERROR))
            return
        child_id = self.ids()
        self.children.append(replace(request, task_run_id=run.id, execution_id=child_id, started_by=task.TYPE,
                                     task_id=run.task_id))
        # One attempt, as in Kestra: it lasts as long as the child execution is awaited.
        attempt = Attempt(StateHistory.start(State.RUNNING, self.now))
        run = replace(run, outputs={"executionId": child_id}, attempts=run.attempts + (attempt,))
        run = run.to(State.RUNNING, self.now, Cause.STARTED)
        if not request.wait:  # started, not awaited: the task run succeeds at once
            run = self._end_attempt(run, State.SUCCESS).to(State.SUCCESS, self.now, Cause.SUBFLOW_ENDED)
        self.put(run)

    def _dispatch(self, run: TaskRun, task: TaskSpec, delay: float = 0.0) -> None:
        attempt = Attempt(StateHistory.start(State.RUNNING, self.now))
        run = replace(run, attempts=run.attempts + (attempt,))
        if run.current is not State.RETRYING:
            run = run.to(State.RUNNING, self.now, Cause.STARTED)
        self.put(run)
        timeout = None
        if task.timeout is not None:
            try:
                timeout = parse_duration(self.render(task.timeout, task, run)).total_seconds()
            except (ExpressionError, ValueError) as exc:
                self.note("ERROR", f"timeout: {exc}", run)
                self.put(run.to(State.FAILED, self.now, Cause.ERROR))
                return
        properties = task.model_dump(mode="json", by_alias=True, exclude_defaults=True) | {"type": task.type}
        # A job carries the outputs its task may read: each task of a 1,000-iteration ForEach would
        # otherwise carry 1,000 outputs (lanner.engine.core.variables.referenced_outputs).
        variables = self.variables(task, run, json.dumps(properties))
        self.jobs.append(Job(self.execution.id, run.id, run.attempt_number, properties, variables, timeout, delay))

    def _resolve_flowables(self) -> bool:
        changed = False
        live = [i for task_id in self.flowable_ids for i in self.index.live.get(task_id, ())]
        for run_id in [run.id for run in self.index.ordered(live, reverse=True)]:  # children before their parents
            run = self.runs[run_id]
            task = self.tasks[run.task_id]
            if run.current not in (State.RUNNING, State.PAUSED) or not isinstance(task, FlowableTask):
                continue
            scope = WorkScope(self, run, task)
            created = 0
            try:
                nexts = task.next_runs(scope)
                created = self._create(nexts, run)
                state = None if nexts else task.resolve_state(scope)
            except (ExpressionError, ValueError) as exc:
                self.note("ERROR", str(exc), run)
                nexts, state = [], State.FAILED
            if created:
                changed = True
            if state is not None and state.terminal:
                state = tolerated(task, state)  # a flowable's allowFailure and allowWarning, as a runnable's
            if state is not None and state is not self.runs[run.id].current and (
                    self.execution.current is not State.KILLING or state.terminal):
                self.put(self.runs[run.id].to(state, self.now, _flowable_cause(state)))  # PAUSED, RUNNING, or its end
                changed = True
        return changed

    def _create(self, nexts: list[NewRun], parent: TaskRun | None) -> int:
        """Create these task runs, as many as this decision's budget allows: the others, in a decision soon after."""
        if len(nexts) > self.budget:
            nexts = nexts[:self.budget]
            self.timers.append(Timer(parent.id if parent else "", 0.0))
        self.budget -= len(nexts)
        for new in nexts:
            self.put(TaskRun(id=self.ids(), task_id=new.task.id, state=StateHistory.start(State.CREATED, self.now),
                             parent_task_run_id=parent.id if parent else None, value=new.value,
                             iteration=new.iteration))
        return len(nexts)

    def _resolve_root(self) -> bool:
        scope = WorkScope(self, None, None)
        flow = self.flow
        nexts = sequential_next(scope, flow.tasks, flow.errors, flow.finally_)
        if nexts:
            return self._create(nexts, None) > 0
        state = sequential_state(scope, flow.tasks, flow.errors, flow.finally_)
        if state is None:
            return False
        if state in (State.SUCCESS, State.WARNING) and flow.outputs:
            outputs = typed_outputs(flow.outputs, lambda value: self.render(value, None, None))
            for message in outputs.warnings:
                self.note("WARN", message)
            for message in outputs.errors:
                self.note("ERROR", message)
            if outputs.errors:
                state = State.FAILED
            else:
                self.execution = replace(self.execution, outputs=outputs.values)
        self._end(self._assertions(state))
        return True

    def _end(self, state: State, cause: Cause = Cause.CHILDREN) -> None:
        self.execution = self.execution.to(state, self.now, cause)
        self._base = None  # expressions from now on (afterExecution's) see the final state

    def after_execution_started(self) -> bool:
        ids = after_execution.task_ids(self.flow)
        return bool(ids) and any(self.index.children(None, ids))

    def _after_execution(self) -> bool:
        """Once the execution has ended, whatever its state: its afterExecution tasks, one after the other."""
        nexts = sequential_next(WorkScope(self, None, None), self.flow.after_execution)
        return self._create(nexts, None) > 0

    def _finish_killing(self) -> bool:
        active = self.index.ordered(self.index.unfinished)
        if any(self._confirms_kill(run) for run in active):
            return False  # wait for the workers, and the child executions, to confirm the kills
        for run in active:
            self.put(run.to(State.KILLED, self.now, Cause.KILLED))
        self._end(self._kill_outcome(), Cause.KILLED)
        return True

    def _kill_outcome(self) -> State:
        """KILLED, unless the kill came from a MAX_DURATION SLA (FAILED or CANCELLED).

        Deciding is stateless between events, so the reason is read back from the history:
        a kill that began once a FAIL or CANCEL SLA's duration had passed was that SLA's.
        """
        killing = [t.date for t in self.execution.state.histories if t.state is State.KILLING]
        if killing:
            elapsed = killing[-1] - self.execution.state.start_date
            for sla in self.flow.sla:
                if sla.type == "MAX_DURATION" and sla.duration is not None and elapsed >= sla.duration:
                    if sla.behavior == "FAIL":
                        return State.FAILED
                    if sla.behavior == "CANCEL":
                        return State.CANCELLED
        return State.KILLED
