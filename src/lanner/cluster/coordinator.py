"""The liveness coordinator: declares silent instances DISCONNECTED and resubmits dead workers' jobs.

It runs in every executor process; one round at a time runs in the whole cluster (an
advisory lock on PostgreSQL, the write lock on SQLite).  Each round, in one transaction:

1. instances that have not heartbeated for longer than their own ``timeout`` (and
   started more than their ``initial-delay`` ago) become DISCONNECTED; the coordinator's
   own instance is never one of them;
2. the jobs held by a DISCONNECTED, TERMINATED_FORCED or ERROR worker are, once due by
   the restart strategy, forgotten and sent to the executor as ``Resubmit`` events, and
   the instance becomes NOT_RUNNING.  Jobs held by an instance already NOT_RUNNING or
   gone (a zombie that woke up and took more before fencing itself) go at once;
3. ended instances become EMPTY after an hour, and are forgotten a day later.

Forgetting the holding and sending the event commit together, so a job is resubmitted
once.  The executor's attempt fencing rejects a late result of the dead attempt, and
drops the resubmission of an attempt whose result came first.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lanner.background import run_every
from lanner.config.settings import WorkerTaskRestartStrategy as Strategy
from lanner.engine.core.events import Resubmit
from lanner.engine.shell import messages
from lanner.model.service_state import ServiceState
from lanner.store import service_instances as instances
from lanner.store import settings_repository
from lanner.store.database import write_connection
from lanner.store.service_instances import Instance, InvalidTransition

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from lanner.config.settings import Liveness
    from lanner.store.queue import Queue

log = logging.getLogger(__name__)
S = ServiceState
_LOCK_KEY = 0x4C414E4E4552  # "LANNER": the advisory lock one coordinator round holds
_AWAITING = frozenset({S.DISCONNECTED, S.TERMINATED_FORCED, S.ERROR})
ENDED_KEPT = timedelta(hours=1)  # ended instances stay visible this long before becoming EMPTY
EMPTY_KEPT = timedelta(days=1)
DUE_MARGIN = 0.05  # seconds past a due moment before looking: the comparison is strict
RESUBMISSIONS = "cluster.resubmissions"  # instance_settings key: resubmissions so far (a metric)


@dataclass
class Round:
    """What one round did (for logs and tests)."""

    disconnected: list[str] = field(default_factory=list)
    resubmitted: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, int]] = field(default_factory=list)
    skipped: bool = False
    # Seconds until the next instance falls due (silent past its timeout, or its grace over):
    # the coordinator looks again then rather than a whole interval later.
    next_due_in: float | None = None


class Coordinator:
    def __init__(self, engine: Engine, queue: Queue, liveness: Liveness, *, strategy: Strategy,
                 max_resubmissions: int, own_ids: Callable[[], set[str]] = set) -> None:
        self.engine, self.queue, self.liveness = engine, queue, liveness
        self.strategy, self.max_resubmissions, self.own_ids = strategy, max_resubmissions, own_ids
        self._random = random.Random()

    def run(self, stop: threading.Event) -> None:
        interval = self.liveness.interval.total_seconds()
        due_in: list[float | None] = [None]  # when the last check's next instance falls due; None after a failure

        def check() -> None:
            due_in[0] = None
            due_in[0] = self.check().next_due_in

        def next_wait() -> float:
            # Jitter: coordinators started together do not all knock at once.
            delay = interval * self._random.uniform(0.85, 1.15)
            return delay if due_in[0] is None else min(delay, due_in[0] + DUE_MARGIN)

        run_every(stop, next_wait, check, failure=f"liveness check failed; trying again in {interval:.1f} s",
                  logger=log)

    def check(self) -> Round:
        done = Round()
        with write_connection(self.engine) as connection, connection.begin():
            if connection.dialect.name == "postgresql" and not connection.execute(
                    sa.select(sa.func.pg_try_advisory_xact_lock(_LOCK_KEY))).scalar():
                done.skipped = True  # another coordinator is at it
                return done
            now = instances.database_now(connection)
            found = {instance.id: instance for instance in instances.list_instances(connection)}
            own = self.own_ids()
            for instance in list(found.values()):
                if instance.id not in own and _silent(instance, now):
                    found[instance.id] = self._disconnect(connection, instance, now, done)
            for instance in found.values():
                if instance.state in _AWAITING and self._due(instance, now):
                    self._resubmit(connection, instance.id, _who(instance), done)
                    self._change(connection, instance, S.NOT_RUNNING, "its jobs were dealt with")
            for holder in instances.holders(connection):
                holding = found.get(holder)
                if holding is None or holding.state not in (*_AWAITING, S.CREATED, S.RUNNING, S.TERMINATING):
                    # A fenced zombie took jobs before noticing, or the instance is gone: nobody runs them.
                    self._resubmit(connection, holder, _who(holding) if holding else f"worker {holder[:8]}", done)
            self._housekeeping(connection, found, now)
            done.next_due_in = self._next_due_in(found, own, now)
            if done.resubmitted:
                settings_repository.add(connection, RESUBMISSIONS, len(done.resubmitted))
        for instance_id in done.disconnected:
            log.warning("instance %s declared DISCONNECTED: no heartbeat within its liveness timeout", instance_id)
        if done.resubmitted or done.failed:
            log.warning("resubmitted %d job(s) of dead workers, failed %d (strategy %s)",
                        len(done.resubmitted), len(done.failed), self.strategy)
        return done

    def _disconnect(self, connection: Connection, instance: Instance, now: datetime, done: Round) -> Instance:
        silent = (now - instance.heartbeat_at).total_seconds()
        if self._change(connection, instance, S.DISCONNECTED, f"no heartbeat for {silent:.1f} s"):
            done.disconnected.append(instance.id)
            return replace(instance, state=S.DISCONNECTED)
        return instance

    def _next_due_in(self, found: dict[str, Instance], own: set[str], now: datetime) -> float | None:
        """Seconds until an instance checked now would be found silent, or its jobs due; None: nothing pending."""
        moments = [_silent_from(instance) for instance in found.values()
                   if instance.id not in own and instance.state.alive]
        if self.strategy is Strategy.AFTER_TERMINATION_GRACE_PERIOD:
            moments += [instance.heartbeat_at + timedelta(seconds=instance.seconds("terminationGracePeriod", 300.0))
                        for instance in found.values() if instance.state is S.DISCONNECTED]
        ahead = [(moment - now).total_seconds() for moment in moments if moment > now]
        return min(ahead) if ahead else None

    def _due(self, instance: Instance, now: datetime) -> bool:
        if self.strategy is not Strategy.AFTER_TERMINATION_GRACE_PERIOD or instance.state is not S.DISCONNECTED:
            return True
        # It may still be finishing its tasks for as long as its own grace period allows.
        grace = instance.seconds("terminationGracePeriod", 300.0)
        return now >= instance.heartbeat_at + timedelta(seconds=grace)

    def _resubmit(self, connection: Connection, worker_id: str, who: str, done: Round) -> None:
        fail = self.strategy is Strategy.NEVER
        for job in instances.take_held_jobs(connection, worker_id):
            event = Resubmit(job["task_run_id"], int(job["attempt"]), f"{who} stopped while running attempt "
                             f"{job['attempt']}", fail=fail, max_resubmissions=self.max_resubmissions)
            self.queue.send(connection, messages.EXECUTOR,
                            messages.event_payload(job["execution_id"], event, job["tenant_id"]),
                            key=job["execution_id"], tenant_id=job["tenant_id"])
            (done.failed if fail else done.resubmitted).append((job["task_run_id"], int(job["attempt"])))

    def _housekeeping(self, connection: Connection, found: dict[str, Instance], now: datetime) -> None:
        for instance in found.values():
            if instance.state in (S.TERMINATED_GRACEFULLY, S.NOT_RUNNING) and instance.updated_at is not None \
                    and instance.updated_at < now - ENDED_KEPT:
                self._change(connection, instance, S.EMPTY, "ended more than an hour ago")
        instances.forget_ended(connection, now - EMPTY_KEPT)

    @staticmethod
    def _change(connection: Connection, instance: Instance, state: ServiceState, reason: str) -> bool:
        try:
            with connection.begin_nested():
                instances.transition(connection, instance.id, state, reason, expected=[instance.state])
            return True
        except InvalidTransition as exc:  # it changed meanwhile (it stopped by itself): leave it be
            log.info("%s", exc)
            return False


def _silent(instance: Instance, now: datetime) -> bool:
    return instance.state.alive and now > _silent_from(instance)


def _silent_from(instance: Instance) -> datetime:
    """When a live instance without a newer heartbeat counts as silent (never within its initial delay)."""
    return max(instance.started_at + timedelta(seconds=instance.seconds("initialDelay", 10.0)),
               instance.heartbeat_at + timedelta(seconds=instance.seconds("timeout", 10.0)))


def _who(instance: Instance) -> str:
    return (f"{instance.service_type.lower()} {instance.id[:8]} (pid {instance.pid} on {instance.hostname}, "
            f"{instance.state})")
