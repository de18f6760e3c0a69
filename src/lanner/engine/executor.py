"""The executor: the thin I/O shell around ``decide``, one transaction per batch of messages.

For each batch of messages on the ``executor`` topic, in one write transaction: lock
each execution concerned, fold its messages through ``decide``, save what changed,
queue the jobs and kills, write the log lines, and delete the messages.  A crash
anywhere rolls all of it back and the messages are processed again; the attempt
fencing in ``decide`` makes a replayed result harmless.  Each execution gets a
savepoint, so a bug met while deciding one execution fails that execution (with a log
line) instead of blocking the queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lanner.engine import messages
from lanner.engine.decide import Decision, Note, decide
from lanner.engine.flow_cache import FlowCache
from lanner.model.state import State
from lanner.store import execution_repository as repo
from lanner.store.engine import write_connection
from lanner.store.queue import Message, Queue

from lanner.model.execution import Execution

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)
BATCH = 200


class Executor:
    def __init__(self, engine: Engine, queue: Queue, flows: FlowCache | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine, self.queue, self.flows, self.clock = engine, queue, flows or FlowCache(), clock
        self.cache = repo.ExecutionCache()

    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        while not stop.is_set():
            try:
                handled = self.process_batch()
            except Exception:  # the database went away, or a bug: say so, back off, try again
                log.exception("executor batch failed; retrying")
                stop.wait(idle_wait)
                continue
            if not handled:
                self.queue.wait(messages.EXECUTOR, idle_wait)

    def process_batch(self, limit: int = BATCH) -> int:
        # Written values enter the cache only once their transaction committed: a cached
        # version that never reached the database could match another executor's write.
        self._written: list[tuple[Execution, Execution]] = []
        try:
            handled = self._batch(limit)
        except BaseException:
            for before, _ in self._written:
                self.cache.forget(before.id, before.tenant_id)
            raise
        for before, after in self._written:
            self.cache.saved(before, after)
        return handled

    def _batch(self, limit: int) -> int:
        with write_connection(self.engine) as connection, connection.begin():
            batch = self.queue.claim(connection, messages.EXECUTOR, limit)
            if not batch:
                return 0
            by_execution: dict[tuple[str, str], list[Message]] = {}
            unknown: list[int] = []
            for message in batch:
                if message.payload.get("v") != messages.FORMAT:
                    unknown.append(message.id)  # a newer Lanner's message: left for a component that knows it
                    continue
                key = (message.payload.get("tenantId", "main"), message.payload["executionId"])
                by_execution.setdefault(key, []).append(message)
            for (tenant_id, execution_id), items in by_execution.items():
                savepoint = connection.begin_nested()
                try:
                    self._process(connection, tenant_id, execution_id, items)
                    savepoint.commit()
                except Exception as exc:
                    savepoint.rollback()
                    self._written = [w for w in self._written if w[1].id != execution_id]
                    self.cache.forget(execution_id, tenant_id)
                    log.exception("cannot process execution %s", execution_id)
                    self._fail(connection, tenant_id, execution_id, exc)
            self.queue.ack(connection, [m.id for m in batch if m.id not in unknown])
            if unknown:
                log.warning("left %d message(s) in a format this Lanner does not know", len(unknown))
            return len(batch)

    def _process(self, connection: Connection, tenant_id: str, execution_id: str, items: list[Message]) -> None:
        before = self.cache.lock(connection, execution_id, tenant_id)
        if before is None:
            log.warning("message for unknown execution %s dropped", execution_id)
            return
        flow = self.flows.revision(connection, before.namespace, before.flow_id, before.flow_revision, tenant_id)
        decision = decide(before, flow, [messages.event_of(m.payload) for m in items], self.clock())
        decisions: list[Decision] = [decision]
        execution = decision.execution
        if execution != before:
            repo.save_execution(connection, before, execution)
            self._written.append((before, execution))
        self._effects(connection, execution, decisions)

    def _effects(self, connection: Connection, execution: Execution, decisions: list[Decision]) -> None:
        now_jobs = [j for d in decisions for j in d.jobs if j.delay <= 0]
        payloads = [messages.job_payload(j, execution.tenant_id, execution.namespace, execution.flow_id) for j in now_jobs]
        if payloads:
            self.queue.send_many(connection, messages.WORKER, payloads, keys=[j.execution_id for j in now_jobs])
        for job in (j for d in decisions for j in d.jobs if j.delay > 0):
            self.queue.send(connection, messages.WORKER,
                            messages.job_payload(job, execution.tenant_id, execution.namespace, execution.flow_id),
                            key=job.execution_id, delay=job.delay)
        kills = [task_run_id for d in decisions for task_run_id in d.kills]
        if kills:
            held = {(job["task_run_id"], job["attempt"]): job["worker_id"]
                    for job in repo.running_jobs(connection, execution_id=execution.id, tenant_id=execution.tenant_id)}
            for run in execution.task_runs:
                worker_id = held.get((run.id, run.attempt_number))
                if run.id in kills and worker_id:
                    self.queue.send(connection, messages.kill_topic(worker_id),
                                    {"v": messages.FORMAT, "taskRunId": run.id, "attempt": run.attempt_number})
        notes = [note for d in decisions for note in d.notes]
        if notes:
            repo.append_logs(connection, [_log_entry(execution, note, self.clock()) for note in notes])

    def _fail(self, connection: Connection, tenant_id: str, execution_id: str, exc: Exception) -> None:
        """Mark an execution FAILED after an internal error while deciding it, so it never hangs."""
        execution = repo.lock_execution(connection, execution_id, tenant_id)
        if execution is None or execution.current.terminal:
            return
        now = self.clock()
        failed = execution.to(State.FAILED, now)
        repo.save_execution(connection, execution, failed)
        self.cache.forget(execution_id, tenant_id)
        repo.append_logs(connection, [_log_entry(failed, Note("ERROR", f"internal error: {type(exc).__name__}: {exc}"), now)])


def _log_entry(execution: Execution, note: Note, now: datetime) -> repo.LogEntry:
    return repo.LogEntry(tenant_id=execution.tenant_id, namespace=execution.namespace, flow_id=execution.flow_id,
                         execution_id=execution.id, task_run_id=note.task_run_id, task_id=note.task_id,
                         attempt=note.attempt, level=note.level, message=note.message, timestamp=now)

