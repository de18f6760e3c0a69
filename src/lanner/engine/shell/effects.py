"""Writing what decisions ask for: jobs for workers, kills, log lines, the end signal.

Shared by the executor and by execution creation (which decides an execution's start
itself): each kind of write once for all the decisions given, in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from lanner.engine.core.decide import Decision, Kill, Note, TaskResult, Tick
from lanner.engine.shell import children, held_jobs, messages
from lanner.engine.shell.flow_cache import FlowCache
from lanner.model.state import State
from lanner.store import execution_repository as repo
from lanner.store import log_lines
from lanner.store.queue import Outgoing

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from lanner.model.execution import Execution
    from lanner.store.queue import Queue


def apply(connection: Connection, queue: Queue, decided: list[tuple[Execution, Decision]], now: datetime,
          flows: FlowCache | None = None) -> None:
    """:func:`stop` then :func:`write`, for a caller with no writes of its own to pipeline."""
    stop(connection, queue, decided, flows)
    write(connection, queue, decided, now)


def stop(connection: Connection, queue: Queue, decided: list[tuple[Execution, Decision]],
         flows: FlowCache | None = None) -> None:
    """The effects that read before they write: kills (the queue, who holds what) and new child executions."""
    for _, decision in decided:
        if decision.kills:
            _send_kills(connection, queue, decision.execution, set(decision.kills))
        for child in decision.children:
            children.create(connection, queue, flows or FlowCache(), decision.execution, child)


def write(connection: Connection, queue: Queue, decided: list[tuple[Execution, Decision]], now: datetime) -> None:
    """Queue the jobs of these (execution before, decision) pairs and write their notes: writes only.

    A job for a task run its own decision kills (a result and a kill folded together) is
    not queued: it is reported KILLED at once, as :func:`stop` does for queued ones.
    """
    jobs = []
    for _, decision in decided:
        killed = set(decision.kills)
        for job in decision.jobs:
            if job.task_run_id in killed:
                _report_killed(connection, queue, decision.execution, [(job.task_run_id, job.attempt)])
            else:
                jobs.append((decision.execution, job))
    # Jobs older live workers cannot run wait on their own topic (lanner.engine.shell.held_jobs).
    jobs, held_entries = held_jobs.hold(connection, queue, jobs, now)
    queue.send_many(connection, messages.WORKER, [
        Outgoing(e.tenant_id, j.execution_id, messages.job_payload(j, e.tenant_id, e.namespace, e.flow_id))
        for e, j in jobs if j.delay <= 0])
    for execution, job in ((e, j) for e, j in jobs if j.delay > 0):
        queue.send(connection, messages.WORKER,
                   messages.job_payload(job, execution.tenant_id, execution.namespace, execution.flow_id),
                   key=job.execution_id, delay=job.delay, tenant_id=execution.tenant_id)
    for _, decision in decided:
        execution = decision.execution
        for timer in decision.timers:
            queue.send(connection, messages.EXECUTOR, messages.event_payload(execution.id, Tick(timer.task_run_id),
                                                                             execution.tenant_id),
                       key=execution.id, delay=timer.delay, tenant_id=execution.tenant_id)
        for child_id in decision.child_kills:
            queue.send(connection, messages.EXECUTOR, messages.event_payload(child_id, Kill(), execution.tenant_id),
                       key=child_id, tenant_id=execution.tenant_id)
        if decision.ended:
            children.tell_parent(connection, queue, execution)
    ended = [d.execution for _, d in decided if d.ended]
    if ended:
        queue.signal(connection, messages.ENDED)
        # For flow triggers (and schedules' stopAfter), read by lanner.scheduler.flow_triggers.
        queue.send_many(connection, messages.ENDED_EXECUTIONS,
                        [Outgoing(e.tenant_id, e.id, messages.ended_payload(e)) for e in ended])
    entries = [log_entry(d.execution, note, now) for _, d in decided for note in d.notes] + held_entries
    if entries:
        log_lines.append_logs(connection, entries)


def _send_kills(connection: Connection, queue: Queue, execution: Execution, kills: set[str]) -> None:
    # Jobs no worker took yet (retries waiting for their delay included) are withdrawn and
    # reported KILLED here; only then are the holders looked up: on PostgreSQL, withdrawing
    # waits for a worker taking one of them, whose holding is then visible.
    withdrawn = [m for topic in (messages.WORKER, held_jobs.HELD)
                 for m in queue.withdraw(connection, topic, execution.id, tenant_id=execution.tenant_id)
                 if m.payload.get("v") == messages.FORMAT]
    _report_killed(connection, queue, execution, [(m.payload["taskRunId"], int(m.payload["attempt"]))
                                                  for m in withdrawn])
    held = {(job["task_run_id"], job["attempt"]): job["worker_id"]
            for job in repo.running_jobs(connection, execution_id=execution.id, tenant_id=execution.tenant_id)}
    for run in execution.task_runs:
        worker_id = held.get((run.id, run.attempt_number))
        if run.id in kills and worker_id:
            queue.send(connection, messages.kill_topic(worker_id),
                       {"v": messages.FORMAT, "taskRunId": run.id, "attempt": run.attempt_number})


def _report_killed(connection: Connection, queue: Queue, execution: Execution,
                   attempts: list[tuple[str, int]]) -> None:
    """Results for attempts no worker will run, to the executor like a worker's."""
    if attempts:
        queue.send_many(connection, messages.EXECUTOR, [
            Outgoing(execution.tenant_id, execution.id, messages.event_payload(
                execution.id, TaskResult(task_run_id, attempt, State.KILLED, message="killed before a worker took it"),
                execution.tenant_id))
            for task_run_id, attempt in attempts])


def log_entry(execution: Execution, note: Note, now: datetime) -> log_lines.LogEntry:
    return log_lines.LogEntry(tenant_id=execution.tenant_id, namespace=execution.namespace,
                              flow_id=execution.flow_id, execution_id=execution.id, task_run_id=note.task_run_id,
                              task_id=note.task_id, attempt=note.attempt, level=note.level, message=note.message,
                              timestamp=now)
