"""The executor: the thin I/O shell around ``decide``, one transaction per batch of messages.

For each batch of messages on the ``executor`` topic, in one write transaction: lock
every execution concerned, fold each one's messages through ``decide``, then save what
changed, queue the jobs and kills, write the log lines and delete the messages, each
kind of write once for the whole batch.  A crash anywhere rolls all of it back and the
messages are processed again; the attempt fencing in ``decide`` makes a replayed result
harmless.  All decisions are made before anything is written, so a bug met while
deciding one execution fails that execution (with a log line) instead of blocking the
queue.  What a decision asks for (jobs, kills, log lines) is written by
:mod:`lanner.engine.shell.effects`.

Poison messages.  Each delivery of a message is counted before it is processed
(:mod:`lanner.store.deliveries`), so a message whose processing crashes or kills the
process, or raises, is not delivered forever: once delivered ``max_deliveries`` times
without completing it is set aside, and the execution it names is failed with the
reason, in a transaction of its own.  A message that failed a batch is retried alone,
so the others of that batch go on.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

import sqlalchemy as sa

from lanner.engine.core.decide import Decision, Note, Start, decide
from lanner.engine.shell import concurrency, effects, held_jobs, messages, poison
from lanner.engine.shell.expression_services import surroundings
from lanner.engine.shell.flow_cache import FlowCache, FlowNotFound
from lanner.engine.shell.foreign_formats import ForeignFormats
from lanner.model.execution import Execution, new_id
from lanner.model.flow import Flow
from lanner.model.state import Cause, State
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import deliveries, execution_batch, maintenance_flag
from lanner.store.database import then_commit, write_connection
from lanner.store.queue import Message, Queue

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)
BATCH = 200
ERRORS_KEPT = 1000  # last errors remembered per message id, for the reason of a set-aside


# An execution with more messages than this in one claim (a large loop's results) is decided
# after the others, in a transaction of its own: the small executions claimed beside it do not
# wait for its decision and its writes.
HEAVY = 8
# And at most this many messages of one execution are claimed at once: the heavy transaction
# stays short, so what arrives while it runs waits less.
PER_EXECUTION = 16


def light_first(claimed: Sequence[deliveries.Claim]) -> tuple[list[int], list[int]]:
    """The claimed message ids in two groups: those of executions with at most HEAVY messages
    in the claim, then the others (each execution's messages stay together, in id order)."""
    counts = Counter((found.tenant_id, found.key) for found in claimed)
    light = [found.id for found in claimed if counts[(found.tenant_id, found.key)] <= HEAVY]
    heavy = [found.id for found in claimed if counts[(found.tenant_id, found.key)] > HEAVY]
    return light, heavy


class Executor:
    def __init__(self, engine: Engine, queue: Queue, flows: FlowCache | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), *,
                 max_deliveries: int = deliveries.DEFAULT_MAX_DELIVERIES) -> None:
        self.engine, self.queue, self.flows, self.clock = engine, queue, flows or FlowCache(), clock
        self.cache = execution_batch.ExecutionCache()
        self.max_deliveries = max(max_deliveries, 1)
        self.claimer = f"executor-{new_id()}"  # this executor's claims (lanner.store.deliveries)
        self._errors: dict[int, str] = {}  # message id -> what its last delivery here raised
        self._retrying = False  # the last claim was a message delivered before: look again at once
        self._capped = False  # the last claim left messages of an execution for the next one

    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        foreign = ForeignFormats(self.engine, self.queue, messages.EXECUTOR)
        held = held_jobs.HeldJobs(self.engine, self.queue)
        while not stop.is_set():
            foreign.check()
            try:
                held.release_due()  # jobs waiting for old workers to leave (rolling upgrades)
            except Exception:
                log.exception("cannot release held jobs; retrying")
            try:
                handled = self.process_batch()
            except Exception:  # the database went away, or a bug: say so, back off, try again
                log.exception("executor batch failed; retrying")
                stop.wait(idle_wait)
                continue
            if handled < BATCH and not self._retrying and not self._capped:
                # A partial batch emptied the topic; anything sent since has already signalled
                # the wait, which then returns at once (no empty transaction to find out).
                self.queue.wait(messages.EXECUTOR, idle_wait)

    def process_batch(self, limit: int = BATCH) -> int:
        """Claim up to ``limit`` messages (counting the delivery) and process them; returns how many were claimed."""
        # Messages in another payload format stay for an executor that knows it (rolling upgrades).
        claimed = deliveries.claim(self.engine, self.queue, messages.EXECUTOR, limit, version=messages.FORMAT,
                                   claimer=self.claimer, per_key=PER_EXECUTION)
        self._retrying = any(found.deliveries > 1 for found in claimed)
        # An execution had PER_EXECUTION messages claimed: it may have more, look again at once.
        self._capped = max(Counter((found.tenant_id, found.key) for found in claimed).values(),
                           default=0) >= PER_EXECUTION
        exhausted = [found for found in claimed if found.deliveries > self.max_deliveries]
        if exhausted:
            poison.set_aside(self, exhausted)
        deliverable = [found for found in claimed if found.deliveries <= self.max_deliveries]
        groups = [ids for ids in light_first(deliverable) if ids]
        for number, ids in enumerate(groups):
            try:
                self._guarded(partial(self._batch, ids))
            except Exception as exc:
                self._failed_delivery(ids, exc)
                for later in groups[number + 1:]:  # never delivered: their count goes back
                    deliveries.uncount(self.engine, later, self.claimer)
                raise
        return len(claimed)

    def _guarded(self, work: Callable[[], object]) -> None:
        # Written values enter the cache only once their transaction committed: a cached
        # version that never reached the database could match another executor's write.
        self._written: list[tuple[Execution, Execution]] = []
        try:
            work()
        except BaseException:
            for before, _ in self._written:
                self.cache.forget(before.id, before.tenant_id)
            raise
        for before, after in self._written:
            self.cache.saved(before, after)

    def _failed_delivery(self, ids: list[int], exc: Exception) -> None:
        """A batch raised: count it against its messages, unless the database was the reason."""
        if poison.database_away(exc):
            try:
                deliveries.uncount(self.engine, ids, self.claimer)
            except Exception:  # still away: the delivery stays counted
                log.debug("cannot take back the delivery count of %d message(s)", len(ids), exc_info=True)
            return
        for message_id in ids:
            self._errors[message_id] = f"{type(exc).__name__}: {exc}"
        while len(self._errors) > ERRORS_KEPT:
            del self._errors[next(iter(self._errors))]

    def last_error(self, message_id: int) -> str | None:
        return self._errors.pop(message_id, None)

    def _batch(self, ids: list[int]) -> int:
        with write_connection(self.engine) as connection, connection.begin():
            batch = deliveries.take(connection, ids, self.claimer)
            if not batch:
                return 0
            by_execution: dict[tuple[str, str], list[Message]] = {}
            for message in batch:
                key = (message.payload.get("tenantId", DEFAULT_TENANT), message.payload["executionId"])
                by_execution.setdefault(key, []).append(message)
            current = self.cache.lock_many(connection, by_execution)
            self._started: dict[tuple[str, str, str], int] = {}  # per flow, for concurrency limits
            self._maintenance: bool | None = None  # read once per batch, when a start is to be decided
            decided: list[tuple[Execution, Decision]] = []
            for key, items in by_execution.items():
                before = current.get(key)
                if before is None:
                    log.warning("message for unknown execution %s dropped", key[1])
                    continue
                decided.append((before, self._decide(connection, before, items)))
            # Every decision is made before anything is written: a bug in one execution's
            # decision fails that execution only, and the writes below are shared by all.
            self.write(connection, decided)
            return len(batch)

    def write(self, connection: Connection, decided: list[tuple[Execution, Decision]]) -> None:
        """Save these decisions and their effects, and commit."""
        changed = [(before, d.execution) for before, d in decided if d.execution != before]
        effects.stop(connection, self.queue, decided, self.flows)
        limited = self._limited_flows(connection, decided)
        if limited:  # freed slots are counted once the ends are written
            execution_batch.save_many(connection, changed)
            for flow, ended in limited:
                concurrency.release(connection, self.queue, flow, ended)
        with then_commit(connection):
            if not limited:
                execution_batch.save_many(connection, changed)
            effects.write(connection, self.queue, decided, self.clock())
        self._written.extend(changed)

    def _limited_flows(self, connection: Connection,
                       decided: list[tuple[Execution, Decision]]) -> list[tuple[Flow, Execution]]:
        """(flow, an execution that ended) once per flow with a concurrency limit among the ended ones."""
        found: dict[tuple[str, str, str], tuple[Flow, Execution]] = {}
        for _, decision in decided:
            execution = decision.execution
            key = (execution.tenant_id, execution.namespace, execution.flow_id)
            if decision.ended and key not in found:
                try:
                    flow = self.flows.revision(connection, execution.namespace, execution.flow_id,
                                               execution.flow_revision, execution.tenant_id)
                except FlowNotFound:
                    continue
                if flow.concurrency is not None:
                    found[key] = (flow, execution)
        return list(found.values())

    def _decide(self, connection: Connection, before: Execution, items: list[Message]) -> Decision:
        try:
            flow = self.flows.revision(connection, before.namespace, before.flow_id, before.flow_revision,
                                       before.tenant_id)
            events = [messages.event_of(m.payload) for m in items]
            if before.current in (State.CREATED, State.QUEUED) and any(isinstance(e, Start) for e in events) \
                    and self._in_maintenance(connection):
                # Maintenance mode: nothing starts; the execution waits, and leaving restarts it.
                if before.current is State.QUEUED:
                    return Decision(before)
                return Decision(before.to(State.QUEUED, self.clock(), Cause.QUEUED),
                                notes=(Note("INFO", "queued: maintenance mode"),))
            key = (before.tenant_id, before.namespace, before.flow_id)
            if flow.concurrency is not None and any(isinstance(event, Start) for event in events):
                gated = concurrency.gate(connection, flow, before, self.clock(),
                                         started_here=self._started.get(key, 0))
                if gated is not None:
                    return gated
                self._started[key] = self._started.get(key, 0) + 1
            return decide(before, flow, events,
                          surroundings(self.engine, before.tenant_id, before.namespace, self.clock()))
        except FlowNotFound as exc:
            return self._failed(before, exc)
        except sa.exc.SQLAlchemyError:
            raise  # the database, not the execution: the whole batch is retried
        except Exception as exc:  # a bug while deciding: fail this execution rather than block the queue
            log.exception("cannot decide execution %s", before.id)
            return self._failed(before, exc)

    def _in_maintenance(self, connection: Connection) -> bool:
        if self._maintenance is None:
            self._maintenance = maintenance_flag.is_on(connection)
        return self._maintenance

    def _failed(self, execution: Execution, exc: Exception) -> Decision:
        if isinstance(exc, FlowNotFound):
            return self.fail(execution, str(exc), Cause.ERROR)
        return self.fail(execution, f"internal error: {type(exc).__name__}: {exc}")

    def fail(self, execution: Execution, message: str, cause: Cause = Cause.INTERNAL_ERROR) -> Decision:
        """FAILED with ``message`` as an ERROR log line (nothing changes for an execution already over)."""
        if execution.current.terminal:
            return Decision(execution)
        failed = execution.to(State.FAILED, self.clock(), cause)
        return Decision(failed, notes=(Note("ERROR", message),), ended=True)

