"""Operations on executions, for the CLI, the API and tests: create, kill, restart, get, list, logs.

Each operation is one transaction.  Creating an execution also makes its first
decision (the same pure ``decide`` the executor runs), so its first jobs are queued at
once; kill and restart queue a message for the executor, which does the work.
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lanner.engine.core import actions, after_execution
from lanner.engine.core.creation import new_execution
from lanner.engine.core.decide import Decision, Kill, MarkTaskRun, Pause, Restart, Resume, Start, Unqueue, decide
from lanner.engine.core.inputs import resolve_specs
from lanner.engine.core.surroundings import Surroundings
from lanner.engine.shell import effects, messages
from lanner.engine.shell.expression_services import surroundings
from lanner.engine.shell.flow_cache import FlowCache, FlowNotFound
from lanner.errors import LannerError, UsageError, WaitTimeoutError
from lanner.model.execution import Execution
from lanner.model.inputs import in_declared_order
from lanner.model.state import State
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import execution_repository as repo
from lanner.store import log_lines, maintenance_flag, service_instances
from lanner.store.database import write_connection
from lanner.store.queue import Outgoing
from lanner.tasks.flowable import FlowableTask

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from lanner.model.flow import Flow
    from lanner.store.queue import Queue

log = logging.getLogger(__name__)


class ExecutionNotFound(LannerError):
    pass


def wait_timeout(execution_id: str, state: State, timeout: float) -> WaitTimeoutError:
    """What a wait for an execution's end that ran out of time says."""
    how = f"ended {state} but its afterExecution tasks are still running" if state.terminal else f"still {state}"
    return WaitTimeoutError(f"execution {execution_id} {how} after {timeout:g} s")


def start_many(connection: Connection, queue: Queue, executions: list[Execution]) -> None:
    """Store CREATED executions and queue their start for the executors, a few statements for all."""
    repo.insert_executions(connection, executions)
    queue.send_many(connection, messages.EXECUTOR, [
        Outgoing(execution.tenant_id, execution.id, messages.event_payload(execution.id, Start(), execution.tenant_id))
        for execution in executions])


def _start(execution: Execution, flow: Flow, around: Surroundings) -> Decision | None:
    """The execution's first decision, made here rather than one executor round trip later.

    ``decide`` is a pure function, so whoever creates the execution can make it.  None
    on a bug: the execution is then queued for the executor as it is, which fails it
    with the reason in its logs instead of refusing the creation.
    """
    try:
        return decide(execution, flow, [Start()], around)
    except Exception:
        log.exception("cannot decide the start of execution %s; the executor will", execution.id)
        return None


def _check_belongs(execution: Execution, namespace: str | None, flow_id: str | None) -> None:
    """Refuse an execution of another flow than the one named (a Resume task's ``namespace`` and ``flowId``)."""
    if (namespace is None or namespace == execution.namespace) and (flow_id is None or flow_id == execution.flow_id):
        return
    if namespace is not None and flow_id is not None:
        named = f"flow {namespace}.{flow_id}"
    else:
        named = f"namespace {namespace}" if namespace is not None else f"a flow with id {flow_id}"
    raise UsageError(f"execution {execution.id} belongs to flow {execution.namespace}.{execution.flow_id}, "
                     f"not to {named}")


class Executions:
    def __init__(self, engine: Engine, queue: Queue, flows: FlowCache | None = None) -> None:
        self.engine, self.queue, self.flows = engine, queue, flows or FlowCache()

    def create(self, namespace: str, flow_id: str, inputs: Mapping[str, Any] | None = None, *,
               labels: Mapping[str, str] | None = None, trigger: dict[str, Any] | None = None,
               tenant_id: str = DEFAULT_TENANT) -> Execution:
        """A new execution of the flow's current revision, started: its first jobs are queued."""
        with write_connection(self.engine) as connection, connection.begin():
            return self.create_in(connection, namespace, flow_id, inputs, labels=labels, trigger=trigger,
                                  tenant_id=tenant_id)

    def create_in(self, connection: Connection, namespace: str, flow_id: str,
                  inputs: Mapping[str, Any] | None = None, *, labels: Mapping[str, str] | None = None,
                  trigger: dict[str, Any] | None = None, tenant_id: str = DEFAULT_TENANT) -> Execution:
        """:meth:`create` in the caller's transaction (a trigger firing commits with what it records)."""
        now = datetime.now(UTC)
        flow, revision = self.flows.current(connection, namespace, flow_id, tenant_id)
        if flow.disabled:
            raise UsageError(f"flow {namespace}.{flow_id} is disabled")
        execution = new_execution(flow, revision, inputs=inputs or {}, labels=labels or {}, trigger=trigger,
                                  tenant_id=tenant_id, now=now)
        around = surroundings(self.engine, tenant_id, namespace, now)
        # A concurrency limit, or maintenance mode, is the executor's to apply.
        inline = flow.concurrency is None and not maintenance_flag.is_on(connection)
        decision = _start(execution, flow, around) if inline else None
        if decision is None:  # left to the executor
            start_many(connection, self.queue, [execution])
            return execution
        repo.insert_execution(connection, decision.execution)
        effects.apply(connection, self.queue, [(execution, decision)], now, self.flows)
        return decision.execution

    def kill(self, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> None:
        self._signal(execution_id, Kill(), tenant_id)

    def restart(self, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> None:
        execution = self.get(execution_id, tenant_id)
        if execution.current not in (State.FAILED, State.KILLED):
            raise UsageError(f"execution {execution_id} is {execution.current}; "
                             "only FAILED or KILLED executions restart")
        if not self._over(execution):
            raise UsageError(f"execution {execution_id} is still running its afterExecution tasks; "
                             "restart it once they have ended")
        self._signal(execution_id, Restart(), tenant_id)

    def resume(self, execution_id: str, inputs: Mapping[str, Any] | None = None, tenant_id: str = DEFAULT_TENANT, *,
               namespace: str | None = None, flow_id: str | None = None) -> None:
        """Resume a PAUSED execution, checking ``inputs`` against its Pause task's ``onResume`` first.

        ``namespace`` and ``flow_id``, when given, name the flow the execution must belong to.
        """
        specs = self.resume_specs(execution_id, tenant_id, namespace=namespace, flow_id=flow_id)
        resolved = resolve_specs(specs, inputs or {}) if specs else {}
        if inputs and not specs:
            raise UsageError(f"execution {execution_id} takes no inputs when resumed (its Pause has no onResume)")
        self._signal(execution_id, Resume(resolved), tenant_id)

    def resume_specs(self, execution_id: str, tenant_id: str = DEFAULT_TENANT, *, namespace: str | None = None,
                     flow_id: str | None = None) -> builtins.list[Any]:
        """The inputs a PAUSED execution takes when resumed (its Pause tasks' ``onResume``); UsageError for an
        execution that is not PAUSED."""
        execution = self.get(execution_id, tenant_id)
        _check_belongs(execution, namespace, flow_id)
        paused = [run for run in execution.task_runs if run.current is State.PAUSED]
        if execution.current is not State.PAUSED or not (paused or actions.held(execution)):
            raise UsageError(f"execution {execution_id} is {execution.current}; only a PAUSED execution resumes")
        with self.engine.connect() as connection:
            flow = self.flows.revision(connection, execution.namespace, execution.flow_id, execution.flow_revision,
                                       tenant_id)
        tasks = {task.id: task for task in flow.all_tasks()}
        return [spec for run in paused if isinstance(task := tasks.get(run.task_id), FlowableTask)
                for spec in task.resume_inputs()]

    def pause(self, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> None:
        """Pause a RUNNING execution: its running tasks finish, nothing new starts until it is resumed."""
        self._signal(execution_id, Pause(), tenant_id, action="pause")

    def unqueue(self, execution_id: str, state: State = State.RUNNING, tenant_id: str = DEFAULT_TENANT) -> None:
        """Take a QUEUED execution out of its flow's queue: it runs now (RUNNING) or ends CANCELLED or FAILED."""
        if state not in actions.UNQUEUE_STATES:
            raise ValueError(f"state {state}: an unqueued execution becomes "
                             f"{', '.join(actions.UNQUEUE_STATES)}; use one of these")
        self._signal(execution_id, Unqueue(state), tenant_id, action="unqueue")

    def force_run(self, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> None:
        """Run a QUEUED execution now, past its flow's concurrency limit."""
        self._signal(execution_id, Unqueue(State.RUNNING), tenant_id, action="force-run")

    def mark_task_run(self, execution_id: str, task_run_id: str, state: State,
                      tenant_id: str = DEFAULT_TENANT) -> Execution:
        """Set an ended task run of a FAILED or KILLED execution to ``state``; the execution goes on from there.

        Answers the execution as read, before the executor's change (which the queue carries).
        """
        if state not in (State.SUCCESS, State.WARNING, State.FAILED, State.KILLED, State.CANCELLED, State.SKIPPED):
            raise ValueError(f"state {state}: a task run can be set to SUCCESS, WARNING, FAILED, KILLED, CANCELLED "
                             "or SKIPPED")
        with write_connection(self.engine) as connection, connection.begin():
            execution = self._locked(connection, execution_id, tenant_id, "restart")
            run = next((r for r in execution.task_runs if r.id == task_run_id), None)
            if run is None:
                raise ExecutionNotFound(f"execution {execution_id} has no task run {task_run_id}")
            if not run.current.terminal:
                raise UsageError(f"task run {task_run_id} ({run.task_id}) is {run.current}; only an ended one's "
                                 "state can be set")
            _every_executor_knows(connection, "setting a task run's state")
            self.queue.send(connection, messages.EXECUTOR,
                            messages.event_payload(execution_id, MarkTaskRun(task_run_id, state), tenant_id),
                            key=execution_id)
            return execution

    def change_status(self, execution_id: str, status: State, tenant_id: str = DEFAULT_TENANT) -> Execution:
        """Mark an ended execution ``status`` (an end state); answers it as saved."""
        return self._update(execution_id, tenant_id, "change-status",
                            lambda e: actions.change_status(e, status, datetime.now(UTC)))

    def set_labels(self, execution_id: str, labels: builtins.list[tuple[str, str]], *, keep: bool = False,
                   tenant_id: str = DEFAULT_TENANT) -> Execution:
        """Set an ended execution's labels (``keep``: add them to its own); answers it as saved."""
        return self._update(execution_id, tenant_id, "labels",
                            lambda e: replace(e, labels=actions.relabel(e, labels, keep=keep)))

    def replay(self, execution_id: str, *, task_run_id: str | None = None, revision: int | None = None,
               inputs: Mapping[str, Any] | None = None, tenant_id: str = DEFAULT_TENANT) -> Execution:
        """A new execution replaying an ended one (from ``task_run_id``, on ``revision``), started.

        The source gets the label ``system.replayed: true``.  ``inputs``: the replay's own
        (checked against the revision's declarations), else the source's.
        """
        now = datetime.now(UTC)
        with write_connection(self.engine) as connection, connection.begin():
            source = self._locked(connection, execution_id, tenant_id, "replay")
            number = source.flow_revision if revision is None else revision
            try:
                flow = self.flows.revision(connection, source.namespace, source.flow_id, number, tenant_id)
            except FlowNotFound:
                raise ExecutionNotFound(f"flow {source.namespace}.{source.flow_id} has no revision {number}") from None
            resolved = None
            if inputs is not None:
                resolved = new_execution(flow, number, inputs=inputs, labels={}, trigger=None, tenant_id=tenant_id,
                                         now=now).inputs
            try:
                copy = actions.replay(source, now, task_run_id=task_run_id, revision=number, inputs=resolved,
                                      task_ids={task.id for task in flow.all_tasks()})
            except LookupError as exc:
                raise ExecutionNotFound(str(exc.args[0])) from None
            repo.save_execution(connection, source, replace(source, labels={**source.labels,
                                                                             actions.REPLAYED: "true"}))
            start_many(connection, self.queue, [copy])
            return copy

    def _locked(self, connection: Connection, execution_id: str, tenant_id: str, action: str) -> Execution:
        execution = None if "\x00" in execution_id else repo.lock_execution(connection, execution_id, tenant_id)
        if execution is None:
            raise ExecutionNotFound(f"execution {execution_id} not found")
        why = actions.refusal(action, execution)
        if why is not None:
            raise UsageError(f"{why}: execution {execution_id} is {execution.current}")
        return execution

    def _update(self, execution_id: str, tenant_id: str, action: str,
                change: Callable[[Execution], Execution]) -> Execution:
        with write_connection(self.engine) as connection, connection.begin():
            before = self._locked(connection, execution_id, tenant_id, action)
            after = change(before)
            repo.save_execution(connection, before, after)
            return after

    def _signal(self, execution_id: str, event: Any, tenant_id: str, action: str | None = None) -> None:
        with write_connection(self.engine) as connection, connection.begin():
            if isinstance(event, Pause | Unqueue | MarkTaskRun):
                _every_executor_knows(connection, action or "this action")
            if action is not None:
                self._locked(connection, execution_id, tenant_id, action)
            if action is None and repo.execution_state(connection, execution_id, tenant_id) is None:
                raise ExecutionNotFound(f"execution {execution_id} not found")
            self.queue.send(connection, messages.EXECUTOR, messages.event_payload(execution_id, event, tenant_id),
                            key=execution_id)

    def get(self, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> Execution:
        if "\x00" in execution_id:  # no id has one (PostgreSQL refuses it in a query)
            raise ExecutionNotFound(f"execution {execution_id!r} not found")
        with self.engine.connect() as connection:
            execution = repo.get_execution(connection, execution_id, tenant_id)
            if execution is None:
                raise ExecutionNotFound(f"execution {execution_id} not found")
            return self.in_declared_order(connection, [execution])[0]

    def list(self, **filters: Any) -> list[Execution]:
        with self.engine.connect() as connection:
            return self.in_declared_order(connection, repo.list_executions(connection, **filters))

    def in_declared_order(self, connection: Connection,
                          executions: builtins.list[Execution]) -> builtins.list[Execution]:
        """The executions with their inputs in their flow revision's declaration order, as read back.

        PostgreSQL's JSONB does not keep key order (see ``model.inputs.in_declared_order``);
        a revision that no longer validates leaves the inputs as stored.
        """
        keys = [(e.tenant_id, e.namespace, e.flow_id, e.flow_revision) for e in executions if len(e.inputs) > 1]
        if not keys:
            return executions
        self.flows.preload(connection, keys)
        ordered = []
        for execution in executions:
            if len(execution.inputs) > 1:
                try:
                    flow = self.flows.revision(connection, execution.namespace, execution.flow_id,
                                               execution.flow_revision, execution.tenant_id)
                except FlowNotFound:
                    flow = None
                if flow is not None:
                    execution = replace(execution, inputs=in_declared_order(execution.inputs, flow.inputs))
            ordered.append(execution)
        return ordered

    def logs(self, execution_id: str, **filters: Any) -> builtins.list[log_lines.LogEntry]:
        with self.engine.connect() as connection:
            return log_lines.list_logs(connection, execution_id, **filters)

    def wait(self, execution_id: str, timeout: float = 60.0, tenant_id: str = DEFAULT_TENANT) -> Execution:
        """Block until the execution is over, woken by the executor's signal when executions end."""
        deadline = time.monotonic() + timeout
        self.queue.follow_signals(messages.ENDED)
        self.queue.wait(messages.ENDED, 0)  # listening from now on: an end after the check below wakes the wait
        while True:
            state, execution = self.end_of(execution_id, tenant_id)
            if execution is not None:
                return execution
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise wait_timeout(execution_id, state, timeout)
            # Bounded: a signal may be lost (a listener reconnecting); the state check is the truth.
            self.queue.wait(messages.ENDED, min(remaining, 1.0))

    def end_of(self, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> tuple[State, Execution | None]:
        """One look: the execution's state, and the execution once it is over (else None)."""
        with self.engine.connect() as connection:
            state = repo.execution_state(connection, execution_id, tenant_id)
        if state is None:
            raise ExecutionNotFound(f"execution {execution_id} not found")
        if state.terminal:
            execution = self.get(execution_id, tenant_id)
            if self._over(execution):
                return state, execution
        return state, None

    def _over(self, execution: Execution) -> bool:
        """Ended, its afterExecution tasks included (they run once its state is final)."""
        if not execution.current.terminal:
            return False
        if all(run.current.terminal for run in execution.task_runs):
            return True  # nothing runs: no need for the flow
        try:
            with self.engine.connect() as connection:
                flow = self.flows.revision(connection, execution.namespace, execution.flow_id,
                                           execution.flow_revision, execution.tenant_id)
        except FlowNotFound:
            return True  # nothing can run it any more
        return after_execution.over(execution, flow)


# The executor messages this release added (pause, unqueue, a task run's state): an executor of an earlier
# release cannot read them, and would fail the execution.  Until every executor runs this release (the end
# of a rolling upgrade), these actions are refused rather than sent.
_EXECUTING = ("EXECUTOR", "STANDALONE")


def _every_executor_knows(connection: Connection, action: str) -> None:
    from lanner import version

    current = version()
    older = [i for i in service_instances.list_instances(connection)
             if i.state.alive and i.service_type in _EXECUTING and i.lanner_version != current]
    if older:
        names = ", ".join(f"{i.id} ({i.service_type} on {i.hostname}, Lanner {i.lanner_version})" for i in older)
        raise UsageError(f"{action} needs every executor to run Lanner {current}, and these do not yet: {names}",
                         "finish the rolling upgrade (restart them on this version), then try again")
