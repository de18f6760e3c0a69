"""The worker: takes jobs, runs runnable tasks in threads, reports each attempt's result once.

Taking a job, recording it in ``worker_jobs_running`` and deleting its message happen
at once (:mod:`lanner.store.job_holding`), so a job is always either queued or held by
a named worker (which is what lets a dead worker's jobs be resubmitted).  Jobs in a
payload format this worker does not know are left for one that does.  An attempt's log lines are
written while it runs, in batches (:mod:`lanner.engine.shell.log_buffer`); reporting the result,
forgetting the job and writing the lines that remain happen in one transaction.  The worker
never reads executions: killing one withdraws its queued jobs in the executor's
transaction, so a job found in the queue is always one to run.

A timeout or a kill sets the attempt's stop event; cooperative tasks (Sleep, scripts)
end promptly, and the attempt is reported FAILED (timeout) or KILLED either way; if a
task thread ignores the event its late result is simply discarded.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lanner.engine.core.decide import Job, TaskResult
from lanner.engine.shell import log_buffer, messages
from lanner.engine.shell.foreign_formats import ForeignFormats
from lanner.engine.shell.log_buffer import AttemptLog
from lanner.expr import ExpressionError, render_value
from lanner.expr.errors import mask, mask_value
from lanner.expr.services import not_available
from lanner.files import Storage, StorageError, file_uri, task_run_prefix
from lanner.files.access import ExecutionFiles, Reader
from lanner.files.local import LocalStorage
from lanner.flows.registry import Registry, default_registry
from lanner.log_level import LEVEL_NAMES
from lanner.model.execution import new_id
from lanner.model.state import State
from lanner.model.task import TaskSpec
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import job_holding, log_lines, maintenance_flag
from lanner.store.database import write_connection
from lanner.store.log_lines import LogEntry
from lanner.store.storable import holds_nul
from lanner.tasks.runnable import RunnableTask, TaskFailure, TaskOutput

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from lanner.store.queue import Queue
    from lanner.tasks.core.run_as import RunAs

log = logging.getLogger(__name__)
KILL_CHECK_EVERY = 0.1  # seconds between looks for kill orders while tasks run
RETRY_DELAYS = (0.1, 0.5, 1, 2, 5, 10, 30)  # seconds between attempts to record results
ABANDON_WAIT = 5.0  # seconds stopped attempts get to end (a subprocess: SIGTERM, then SIGKILL) before we go on


@dataclass
class _Pending:
    attempt: _Attempt
    result: TaskResult
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Attempt:
    job: Job
    payload: dict[str, Any]
    stop: threading.Event = field(default_factory=threading.Event)
    reason: State | None = None  # why it was stopped: KILLED or FAILED (timeout)
    abandoned: bool = False  # stopped by a forced shutdown: no result; the job is resubmitted elsewhere
    log: AttemptLog | None = None  # its lines not written yet (set when the attempt is taken)
    problem: str | None = None  # why its job cannot be run (a payload this worker cannot read): it fails


def _readable(payload: dict[str, Any]) -> _Attempt:
    """The attempt a job message asks for; one that fails at once with the reason when the rest of its
    payload cannot be read (the take saw its task run, execution and attempt: the failure is recorded)."""
    try:
        return _Attempt(messages.job_of(payload), payload)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        job = Job(payload["executionId"], payload["taskRunId"], int(payload["attempt"]), {}, {}, None)
        problem = f"the job message for this attempt cannot be read ({type(exc).__name__}: {exc}); it was not run"
        return _Attempt(job, payload, problem=problem)


class _Context:
    """The RunContext a task sees (lanner.tasks.runnable.RunContext)."""

    def __init__(self, attempt: _Attempt, worker: Worker) -> None:
        self._attempt, self._worker = attempt, worker
        job, payload = attempt.job, attempt.payload
        self.execution_id, self.task_run_id, self.attempt = job.execution_id, job.task_run_id, job.attempt
        self.tenant_id = payload.get("tenantId", DEFAULT_TENANT)
        self.namespace, self.flow_id = payload.get("namespace", ""), payload.get("flowId", "")
        self.task_id = str(job.task.get("id", ""))
        trigger = job.variables.get("trigger") if isinstance(job.variables, dict) else None
        # Reads are checked (another namespace's files are refused): lanner.files.access.
        reader = Reader.of(self.namespace, self.flow_id, self.execution_id,
                           trigger if isinstance(trigger, dict) else None)
        self.storage: Storage = ExecutionFiles(worker.storage, reader)
        self.run_as = worker.run_as  # the user scripts run as (lanner.worker.run-as), or None
        level = str(job.task.get("logLevel") or "TRACE").upper()
        self._minimum = LEVEL_NAMES.index(level) if level in LEVEL_NAMES else 0
        self._kv: Any = None
        # Every value secret(), decrypt() or a SECRET input revealed to this attempt: masked wherever it goes.
        self.secrets: set[str] = set()

    def render(self, value: Any) -> Any:
        return render_value(value, self._attempt.job.variables, _Services(self), self.secrets)

    def log(self, level: str, message: str) -> None:
        level = level.upper() if level.upper() in LEVEL_NAMES else "INFO"
        # The task's logLevel drops what is less severe than it.
        if LEVEL_NAMES.index(level) >= self._minimum and self._attempt.log is not None:
            self._attempt.log.add(level, mask(str(message), self.secrets) if self.secrets else str(message))

    def wait(self, seconds: float) -> bool:
        return self._attempt.stop.wait(max(seconds, 0.0))

    @property
    def stop_event(self) -> threading.Event:
        """Set when the attempt is killed or times out: long-running tasks watch it."""
        return self._attempt.stop

    def storage_uri(self, name: str) -> str:
        """Where this task run stores the file ``name`` (which may contain sub-folders)."""
        parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
        prefix = task_run_prefix(self.namespace, self.flow_id, self.execution_id, self.task_id, self.task_run_id)
        return file_uri(prefix, "/".join(parts))

    def resume_execution(self, execution_id: str, inputs: dict[str, Any], *, namespace: str | None = None,
                         flow_id: str | None = None) -> None:
        """Resume a PAUSED execution of this tenant (the execution.Resume task)."""
        from lanner.engine.shell.service import Executions

        Executions(self._worker.engine, self._worker.queue).resume(
            execution_id, inputs, tenant_id=self.tenant_id, namespace=namespace, flow_id=flow_id)

    @property
    def kv(self) -> Any:
        """The key-value store, in this execution's tenant (lanner.store.kv_repository.KVStore)."""
        if self._kv is None:
            from lanner.store.kv_repository import KVStore

            self._kv = KVStore(self._worker.engine, tenant_id=self.tenant_id)
        return self._kv


class _Services:
    """What expressions rendered on a worker reach: the KV store and internal storage."""

    def __init__(self, context: _Context) -> None:
        self._context = context

    def kv(self, key: str, namespace: str | None) -> Any:
        return self._context.kv.get(namespace or self._context.namespace, key)

    def read(self, uri: str) -> str:
        try:
            with self._context.storage.open(uri) as handle:
                return handle.read().decode("utf-8", errors="replace")
        except StorageError as exc:
            raise ExpressionError(str(exc)) from None

    def file_size(self, uri: str) -> int:
        try:
            return self._context.storage.size(uri)
        except StorageError as exc:
            raise ExpressionError(str(exc)) from None

    # The executor's hooks: a task's properties are rendered with the execution's state, not here.
    def error_logs(self) -> list[Any]:
        raise not_available("errorLogs")

    def current_each_output(self, outputs: Any) -> Any:
        raise not_available("currentEachOutput")


class Worker:
    def __init__(self, engine: Engine, queue: Queue, *, threads: int = 8, worker_id: str | None = None,
                 registry: Registry | None = None, storage: Storage | None = None,
                 max_log_size: int = log_buffer.DEFAULT_CAP, run_as: RunAs | None = None) -> None:
        self.engine, self.queue = engine, queue
        self.run_as = run_as  # scripts run as this user (lanner.worker.run-as); None: as the worker's own
        self.storage: Storage = storage or LocalStorage(Path("./data/storage"))
        self.threads = max(threads, 1)
        self.worker_id = worker_id or new_id()
        self.registry = registry or default_registry()
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix=f"worker-{self.worker_id[:6]}")
        self._logs = log_buffer.LogFlusher(engine, name=f"log-flusher-{self.worker_id[:6]}")
        self.max_log_size = max_log_size  # bytes one attempt may log (lanner.worker.logs.max-size-per-task)
        self._running: dict[tuple[str, int], _Attempt] = {}
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._next_kill_check = 0.0
        self._saturated = False
        self._idle = threading.Condition(self._lock)  # notified whenever an attempt leaves _running
        self._taking = True
        self._paused = False  # maintenance mode, as the last take found it
        self._flag_row_ready = False  # the maintenance flag's row exists (the take locks it)

    # the loop ----------------------------------------------------------------------------------
    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        """Take and run jobs until ``stop``; running attempts go on (see :meth:`finish`)."""
        foreign = ForeignFormats(self.engine, self.queue, messages.WORKER)
        self._logs.start()
        while not stop.is_set():
            foreign.check()
            try:
                if self._running and time.monotonic() >= self._next_kill_check:
                    # Throttled: a busy loop would otherwise spend a transaction per turn on it.
                    self._next_kill_check = time.monotonic() + KILL_CHECK_EVERY
                    self._handle_kills()
                free = self._free_slots()
                taken = self.take_jobs() if free else 0
                # Every slot filled: more jobs may wait, so a slot freeing up is worth a look.
                self._saturated = not free or taken == free
            except Exception:
                log.exception("worker loop failed; retrying")
                stop.wait(idle_wait)
                continue
            if taken < free or not free:
                # The topic is empty (or every slot busy): a job sent since, or a slot freed,
                # has already signalled this wait, which then returns at once.
                self.queue.wait(messages.WORKER, idle_wait if not self._running else min(idle_wait, 0.2))

    def finish(self, grace: float, force: threading.Event | None = None) -> bool:
        """Take no more jobs; let the running attempts finish for up to ``grace`` seconds.

        Their results are recorded, however late in the grace period they come (Kestra
        #17124).  Kill orders are still obeyed meanwhile.  Returns True when all finished;
        otherwise (or at once when ``force`` is set) the rest are abandoned: stopped
        without a result, their jobs left held, for the coordinator to resubmit.
        """
        self._taking = False
        deadline = time.monotonic() + max(grace, 0.0)
        while True:
            with self._idle:
                left = deadline - time.monotonic()
                if not self._running or left <= 0 or (force is not None and force.is_set()):
                    break
                self._idle.wait(min(left, 0.5))
            try:
                self._handle_kills()
            except Exception:
                log.debug("cannot look for kill orders while draining", exc_info=True)
        if not self.running_count:
            self._pool.shutdown(wait=False)
            self._logs.stop()
            return True
        self.abandon("the worker's termination grace period ended")
        return False

    def abandon(self, reason: str, wait: float = ABANDON_WAIT) -> int:
        """Stop every running attempt at once, reporting nothing; returns how many there were.

        Subprocesses get SIGTERM, then SIGKILL.  The jobs stay held by this worker:
        the coordinator resubmits them (the instance ends TERMINATED_FORCED or DISCONNECTED).
        """
        self._taking = False
        with self._lock:
            running = list(self._running.values())
        for attempt in running:
            attempt.abandoned = True
            attempt.stop.set()
        if running:
            log.warning("stopping %d running task(s): %s; they will be resubmitted", len(running), reason)
        deadline = time.monotonic() + wait
        with self._idle:
            while self._running and time.monotonic() < deadline:
                self._idle.wait(deadline - time.monotonic())
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._logs.stop()
        return len(running)

    @property
    def running_count(self) -> int:
        with self._lock:
            return len(self._running)

    def take_jobs(self) -> int:
        free = self._free_slots()
        if not free or not self._taking:
            return 0
        if not self._flag_row_ready:
            with write_connection(self.engine) as connection, connection.begin():
                maintenance_flag.ensure_row(connection)
            self._flag_row_ready = True
        # Maintenance mode is checked by the take itself: nothing is taken while it is on.
        taken = job_holding.take_and_hold(self.engine, self.queue, messages.WORKER, free, worker_id=self.worker_id,
                                          version=messages.FORMAT)
        if taken.paused != self._paused:
            self._paused = taken.paused
            log.info("maintenance mode is on: running tasks finish, no new task is taken" if taken.paused
                     else "maintenance mode is off: taking tasks again")
        if taken.set_aside:
            log.error("%d malformed job message(s) set aside: %s (lanner sys cluster set-aside)", taken.set_aside,
                      job_holding.MALFORMED)
        for message in taken.jobs:
            attempt = _readable(message.payload)
            attempt.log = self._logs.attach(_log_template(attempt), attempt.stop, self.max_log_size)
            with self._lock:
                self._running[(attempt.job.task_run_id, attempt.job.attempt)] = attempt
            self._pool.submit(self._execute, attempt)
        return len(taken.jobs)

    def _free_slots(self) -> int:
        with self._lock:  # never below 0: a take is never asked for a negative number of jobs
            return max(self.threads - len(self._running), 0)

    # running one attempt -----------------------------------------------------------------------
    def _execute(self, attempt: _Attempt) -> None:
        job = attempt.job
        timer = None
        if job.timeout:
            timer = threading.Timer(job.timeout, self._stop, (attempt, State.FAILED))
            timer.daemon = True
            timer.start()
        try:
            result = self._run_task(attempt)
        finally:
            if timer:
                timer.cancel()
        if attempt.abandoned:
            self._write_last_lines(attempt)
            self._forget(attempt)
            return
        if attempt.reason is State.KILLED:
            result = TaskResult(job.task_run_id, job.attempt, State.KILLED, message="killed", worker_id=self.worker_id)
        elif attempt.reason is State.FAILED:
            result = TaskResult(job.task_run_id, job.attempt, State.FAILED,
                                message=f"timeout: the attempt ran longer than {job.timeout:g} s",
                                worker_id=self.worker_id)
        try:
            self._report(attempt, result)
        finally:
            self._forget(attempt)

    def _write_last_lines(self, attempt: _Attempt) -> None:
        """An abandoned attempt reports no result; its last lines are still written (one try)."""
        lines = self._logs.detach(attempt.log) if attempt.log is not None else []
        try:
            log_lines.write_lines(self.engine, lines)
        except Exception as exc:
            log.warning("cannot write the last %d log line(s) of a stopped task: %s", len(lines), exc)

    def _forget(self, attempt: _Attempt) -> None:
        with self._idle:
            self._running.pop((attempt.job.task_run_id, attempt.job.attempt), None)
            self._idle.notify_all()
        if self._saturated:  # jobs may be waiting for this slot: take the next one now, not at the next poll
            self.queue.wake(messages.WORKER)

    def _run_task(self, attempt: _Attempt) -> TaskResult:
        """The attempt's result, with every secret value it revealed masked (outputs, labels, message).

        Revealed values are those of ``secret()``, ``decrypt()`` and SECRET inputs its expressions reached.
        """
        context = _Context(attempt, self)
        result = self._result(attempt, context)
        if not context.secrets:
            return result
        labels = mask_value(result.labels, context.secrets) if result.labels else result.labels
        return replace(result, outputs=mask_value(result.outputs, context.secrets), labels=labels,
                       message=mask(result.message, context.secrets) if result.message else result.message)

    def _result(self, attempt: _Attempt, context: _Context) -> TaskResult:
        job = attempt.job
        if attempt.problem is not None:
            return TaskResult(job.task_run_id, job.attempt, State.FAILED, message=attempt.problem,
                              worker_id=self.worker_id)
        started = time.perf_counter()
        try:
            resolved = self.registry.resolve(TaskSpec, job.task["type"])
            if resolved is None:
                raise TaskFailure(f"unknown task type {job.task['type']} on this worker")
            task = resolved.cls.model_validate(job.task)
            if not isinstance(task, RunnableTask):  # the executor sends only those: a type changed meanwhile
                raise TaskFailure(f"{job.task['type']} is not a runnable task on this worker")
            output: TaskOutput = task.run(context)
        except (TaskFailure, ExpressionError) as exc:
            return TaskResult(job.task_run_id, job.attempt, State.FAILED, message=str(exc), worker_id=self.worker_id)
        except Exception as exc:
            log.exception("task %s failed unexpectedly", job.task.get("id"))
            return TaskResult(job.task_run_id, job.attempt, State.FAILED,
                              message=f"unexpected error: {type(exc).__name__}: {exc}", worker_id=self.worker_id)
        if holds_nul(output.outputs):
            # PostgreSQL cannot store it: recording the result would fail, and be retried, forever.
            return TaskResult(job.task_run_id, job.attempt, State.FAILED, worker_id=self.worker_id,
                              message="the task's outputs contain a NUL character (\\u0000), which cannot be stored; "
                                      "encode binary data (base64) or keep it in a file")
        metrics = tuple({"name": m.name, "value": m.value, "type": m.type, "tags": m.tags} for m in output.metrics)
        log.debug("task %s ran in %.3f s", job.task.get("id"), time.perf_counter() - started)
        return TaskResult(job.task_run_id, job.attempt, output.state, dict(output.outputs), metrics, output.labels,
                          worker_id=self.worker_id)

    def _report(self, attempt: _Attempt, result: TaskResult) -> None:
        """Record a result, sharing one transaction with the results finished meanwhile (group commit).

        Returns once the result is committed: the job's slot is freed only then.
        """
        item = _Pending(attempt, result)
        with self._pending_lock:
            self._pending.append(item)
        while not item.done.is_set():
            with self._flush_lock:  # one flusher at a time; the others' results ride along
                if item.done.is_set():
                    break
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                self._flush(batch)

    def _flush(self, batch: list[_Pending]) -> None:
        """Commit these results, retrying for as long as the database is away: a result is never dropped."""
        results = [(p.attempt, p.result) for p in batch]
        # What the flusher has not written yet goes with the results (after a batch in flight is written).
        remaining = [line for a, _ in results if a.log is not None for line in self._logs.detach(a.log)]
        for attempt in itertools.count():
            try:
                job_holding.release(
                    self.engine, self.queue, messages.EXECUTOR,
                    results=[(_tenant(a), a.job.execution_id, messages.event_payload(a.job.execution_id, r, _tenant(a)))
                             for a, r in results],
                    held=[(_tenant(a), r.task_run_id, r.attempt) for a, r in results],
                    log_entries=remaining)
                break
            except Exception:
                delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
                log.exception("cannot record %d result(s); retrying in %.1f s", len(batch), delay)
                time.sleep(delay)
        for pending in batch:
            pending.done.set()

    # kills --------------------------------------------------------------------------------------
    def _stop(self, attempt: _Attempt, reason: State) -> None:
        if attempt.reason is None:
            attempt.reason = reason
        attempt.stop.set()

    def _handle_kills(self) -> None:
        topic = messages.kill_topic(self.worker_id)
        with write_connection(self.engine) as connection, connection.begin():
            for message in self.queue.take(connection, topic, 100):
                key = (message.payload.get("taskRunId", ""), message.payload.get("attempt", -1))
                with self._lock:
                    attempt = self._running.get(key)
                if attempt is not None:
                    self._stop(attempt, State.KILLED)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._logs.stop()


def _tenant(attempt: _Attempt) -> str:
    tenant: str = attempt.payload.get("tenantId", DEFAULT_TENANT)
    return tenant


def _log_template(attempt: _Attempt) -> LogEntry:
    """The fields every log line of this attempt shares (level, message and time are the line's own)."""
    return LogEntry(tenant_id=_tenant(attempt), namespace=attempt.payload.get("namespace", ""),
                    flow_id=attempt.payload.get("flowId", ""), execution_id=attempt.job.execution_id,
                    task_run_id=attempt.job.task_run_id, task_id=attempt.job.task.get("id"),
                    attempt=attempt.job.attempt, level="INFO", message="", timestamp=datetime.now(UTC))
