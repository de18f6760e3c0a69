"""Jobs older workers cannot run: declared with the minimum Lanner version they need, held until safe.

During a rolling upgrade, new executors and old workers share the queue.  A job whose
task type (or job format) a worker older than some version cannot run is declared in
:data:`MINIMUM_WORKER_VERSION`.  Any worker may take any job from the ``worker`` topic,
so while a live WORKER or STANDALONE instance older than the job's minimum exists, the
executor does not queue the job there: it parks it on the ``worker.held`` topic (with a
log line in the execution, once) and looks again every :data:`RECHECK` seconds, moving it
to the workers once no such old worker is alive.  Killing the execution withdraws held
jobs like queued ones (Windmill gates its workers by version the same way).

The executor's hot path stays cheap: with nothing declared, nothing is looked up; a
declared job costs a dict lookup, and live versions are read from ``service_instances``
at most once per :data:`TTL` seconds per database and process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lanner import version as lanner_version

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from lanner.engine.core.events import Job
    from lanner.model.execution import Execution
    from lanner.store.queue import Queue

# Task type (lowercase) -> the oldest worker version that can run its jobs.  Add an entry when
# a release adds a task type or changes a job's shape in a way older workers cannot run; the
# entry can go once no supported older release remains.  Empty: nothing is held.
MINIMUM_WORKER_VERSION: dict[str, str] = {}
HELD = "worker.held"
RECHECK = 2.0  # seconds between looks at a held job
TTL = 1.5  # seconds live worker versions are cached
WORKER_TYPES = ("WORKER", "STANDALONE")


def minimum_for(task: dict[str, Any]) -> str | None:
    """The minimum worker version a job's task needs, if declared."""
    if not MINIMUM_WORKER_VERSION:
        return None
    kind = task.get("type")
    return MINIMUM_WORKER_VERSION.get(kind.lower()) if isinstance(kind, str) else None


class LiveWorkers:
    """The versions of live workers, per database, read at most once per ``ttl`` seconds."""

    def __init__(self, ttl: float = TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._lock = threading.Lock()
        self._cached: dict[str, tuple[float, list[str]]] = {}

    def versions(self, engine: Engine) -> list[str]:
        """Read on a connection of its own: callers may be inside a pipelined transaction."""
        from lanner.model.service_state import ALIVE
        from lanner.store import service_instances

        key = str(engine.url)
        now = self.clock()
        with self._lock:
            found = self._cached.get(key)
            if found is not None and now - found[0] < self.ttl:
                return found[1]
        with engine.connect() as connection:
            alive = service_instances.list_instances(connection, sorted(ALIVE))
        live = [i.lanner_version for i in alive if i.service_type in WORKER_TYPES]
        with self._lock:
            self._cached[key] = (now, live)
        return live

    def forget(self) -> None:
        with self._lock:
            self._cached.clear()


LIVE = LiveWorkers()


def too_old(versions: list[str], minimum: str) -> list[str]:
    """The versions in ``versions`` older than ``minimum`` (unreadable versions count as older)."""
    from lanner import versions as v

    wanted = v.key(minimum)
    return [found for found in versions if (v.parse_or_none(found) or (0, 0, 0, 0, "")) < wanted]


def hold(connection: Connection, queue: Queue, jobs: list[tuple[Execution, Job]], now: datetime) -> tuple[
        list[tuple[Execution, Job]], list[Any]]:
    """Split ``jobs`` into those to queue now and those held; held ones are sent to :data:`HELD`.

    Returns (jobs to queue, log entries saying why the others wait).
    """
    if not MINIMUM_WORKER_VERSION:
        return jobs, []
    from lanner.engine.core.events import Note
    from lanner.engine.shell import effects, messages

    keep: list[tuple[Execution, Job]] = []
    entries: list[Any] = []
    for execution, job in jobs:
        minimum = minimum_for(job.task)
        old = too_old(LIVE.versions(connection.engine), minimum) if minimum else []
        if not old:
            keep.append((execution, job))
            continue
        payload = {**messages.job_payload(job, execution.tenant_id, execution.namespace, execution.flow_id),
                   "minVersion": minimum, "delay": job.delay}
        queue.send(connection, HELD, payload, key=job.execution_id, delay=max(job.delay, RECHECK),
                   tenant_id=execution.tenant_id)
        note = Note("WARN", f"task {job.task.get('id')} ({job.task.get('type')}) waits: it needs a worker of Lanner "
                            f"{minimum} or later, and live workers still run {', '.join(sorted(set(old)))} (which "
                            "could take it); it starts once they are upgraded (lanner sys cluster status)",
                    task_run_id=job.task_run_id, task_id=job.task.get("id"), attempt=job.attempt)
        entries.append(effects.log_entry(execution, note, now))
    return keep, entries


class HeldJobs:
    """Moves held jobs to the workers once no live worker is too old for them (run by executors)."""

    def __init__(self, engine: Engine, queue: Queue, every: float = 1.0) -> None:
        self.engine, self.queue, self.every = engine, queue, every
        self._next = 0.0

    def release_due(self) -> int:
        if not MINIMUM_WORKER_VERSION or time.monotonic() < self._next:
            return 0
        self._next = time.monotonic() + self.every
        return self.release()

    def release(self, limit: int = 500) -> int:
        from lanner.engine.shell import messages
        from lanner.store.database import write_connection

        released = 0
        with write_connection(self.engine) as connection, connection.begin():
            for message in self.queue.take(connection, HELD, limit, version=messages.FORMAT):
                payload = dict(message.payload)
                minimum = str(payload.get("minVersion") or lanner_version())
                if too_old(LIVE.versions(self.engine), minimum):
                    self.queue.send(connection, HELD, payload, key=message.key, delay=RECHECK,
                                    tenant_id=message.tenant_id)
                    continue
                payload.pop("minVersion", None)
                payload.pop("delay", None)
                self.queue.send(connection, messages.WORKER, payload, key=message.key, tenant_id=message.tenant_id)
                released += 1
        return released
