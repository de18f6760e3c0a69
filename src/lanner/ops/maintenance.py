"""Maintenance mode: pause an instance without refusing or losing anything.

While it is on, the webserver, schedulers, webhooks and flow triggers keep accepting
work: new executions are created and wait in QUEUED.  Executors start no execution;
workers finish the tasks they are running and take no new one, so a running execution
goes on until its running tasks end, and its next tasks wait in the workers' queue (it is
*paused mid-way*).  This holds from the moment :func:`enter` returns, on every process:
workers check the flag in the statement that takes a job (:mod:`lanner.store.job_holding`).
Leaving it restarts the queued executions in creation order, through the executors,
which apply flow concurrency limits as usual, and wakes the workers, which take the
waiting tasks oldest first.

The instance is *quiet* when no worker holds a task any more and the executors have
decided on every result (so the tasks that come next are queued and counted): that is
what ``enter --wait`` and ``lanner backups create --maintenance`` wait for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.engine.core.decide import Start
from lanner.engine.shell import messages
from lanner.model.service_state import ALIVE
from lanner.model.state import State
from lanner.store import maintenance_flag
from lanner.store import service_instances as instances
from lanner.store.database import process_label, write_connection
from lanner.store.queue import Outgoing, Queue
from lanner.store.tables import executions, queue_messages, worker_jobs_running

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_e = executions
_job_execution = queue_messages.c.payload["executionId"].as_string()


@dataclass(frozen=True)
class Status:
    on: bool
    since: str | None
    by: str | None
    reason: str | None
    running_tasks: int  # attempts held by workers right now
    running_executions: int
    queued_executions: int
    waiting_jobs: int  # tasks queued for workers, not taken
    instances: int  # alive service instances
    paused_executions: int = 0  # executions with tasks waiting for a worker (in maintenance: paused mid-way)
    pending_decisions: int = 0  # messages the executors have yet to decide on (a task's result, a start)

    @property
    def quiet(self) -> bool:
        """No task runs, and every ended one's result has been decided on (its next tasks are queued)."""
        return self.running_tasks == 0 and self.pending_decisions == 0

    def as_json(self) -> dict[str, Any]:
        return {"maintenance": self.on, "since": self.since, "by": self.by, "reason": self.reason,
                "quiet": self.quiet, "runningTasks": self.running_tasks,
                "runningExecutions": self.running_executions, "queuedExecutions": self.queued_executions,
                "waitingJobs": self.waiting_jobs, "pausedExecutions": self.paused_executions,
                "pendingDecisions": self.pending_decisions, "instances": self.instances}


def enter(engine: Engine, *, by: str | None = None, reason: str | None = None) -> Status:
    with write_connection(engine) as connection, connection.begin():
        maintenance_flag.write(connection, True, by=by or process_label(), reason=reason)
    return status(engine)


def leave(engine: Engine, *, by: str | None = None) -> int:
    """Turn maintenance off and restart the queued executions, oldest first; how many were sent a start."""
    queue = Queue(engine)
    try:
        with write_connection(engine) as connection, connection.begin():
            was = maintenance_flag.read(connection) or {}
            maintenance_flag.write(connection, False, by=by or process_label())
            if not was.get("on"):
                return 0
            # After the exclusive lock: every start decided during maintenance is committed and seen here.
            waiting = connection.execute(
                sa.select(_e.c.tenant_id, _e.c.id).where(_e.c.state == str(State.QUEUED), ~_e.c.deleted)
                .order_by(_e.c.created_at, _e.c.id)).all()
            queue.signal(connection, messages.WORKER)  # tasks held back meanwhile are taken now
            queue.send_many(connection, messages.EXECUTOR, [
                Outgoing(row.tenant_id, row.id, messages.event_payload(row.id, Start(), row.tenant_id))
                for row in waiting])
            return len(waiting)
    finally:
        queue.close()


def status(engine: Engine) -> Status:
    with engine.connect() as connection:
        flag = maintenance_flag.read(connection) or {}
        counts: dict[str, int] = dict(connection.execute(
            sa.select(_e.c.state, sa.func.count()).where(
                _e.c.state.in_([str(State.RUNNING), str(State.QUEUED), str(State.KILLING)]), ~_e.c.deleted)
            .group_by(_e.c.state)).all())
        running_tasks = connection.execute(sa.select(sa.func.count()).select_from(worker_jobs_running)).scalar_one()
        jobs = sa.select(sa.func.count(), sa.func.count(sa.distinct(_job_execution))).select_from(queue_messages) \
            .where(queue_messages.c.topic == messages.WORKER)
        waiting_jobs, paused_executions = connection.execute(jobs).one()
        pending = connection.execute(sa.select(sa.func.count()).select_from(queue_messages).where(
            queue_messages.c.topic == messages.EXECUTOR, queue_messages.c.available_at <= datetime.now(UTC),
        )).scalar_one()
        alive = len(instances.list_instances(connection, list(ALIVE)))
    return Status(on=bool(flag.get("on")), since=flag.get("since"), by=flag.get("by"), reason=flag.get("reason"),
                  running_tasks=running_tasks,
                  running_executions=counts.get(str(State.RUNNING), 0) + counts.get(str(State.KILLING), 0),
                  queued_executions=counts.get(str(State.QUEUED), 0), waiting_jobs=waiting_jobs,
                  paused_executions=paused_executions, pending_decisions=pending, instances=alive)


def wait_quiet(engine: Engine, timeout: float) -> bool:
    """Whether the instance became quiet within ``timeout`` seconds."""
    return wait_for_quiet(engine, timeout).quiet


def exit(engine: Engine, *, by: str | None = None) -> int:  # noqa: A001 - the command's name
    """:func:`leave` by the name of the command."""
    return leave(engine, by=by)


def wait_for_quiet(engine: Engine, timeout: float, *, every: float = 0.5) -> Status:
    """Poll until no task runs any more (or ``timeout`` seconds); the last status either way."""
    deadline = time.monotonic() + timeout
    while True:
        current = status(engine)
        if current.quiet or time.monotonic() >= deadline:
            return current
        time.sleep(min(every, max(deadline - time.monotonic(), 0.0)))
