"""Flow concurrency limits (``concurrency: {limit, behavior}``), applied by the executor.

How many executions of one flow may run at once is a question about several
executions, so it is answered here rather than in ``decide``: in the executor's
transaction, under a lock on the flow's row (so two executors never both take the last
slot), before deciding a start and after an execution ends.

* Starting: with ``limit`` executions already active — or older ones already waiting,
  so that waiting executions start in order — the new one is QUEUED (``QUEUE``),
  CANCELLED (``CANCEL``) or FAILED (``FAIL``) instead of starting.
* Ending: each slot freed sends a Start to the oldest QUEUED execution of the flow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from lanner.engine.core.decide import Decision, Note, Start
from lanner.engine.shell import messages
from lanner.model.flow import ConcurrencyBehavior
from lanner.model.state import Cause, State
from lanner.store.tables import executions, flows

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from lanner.model.execution import Execution
    from lanner.model.flow import Flow
    from lanner.store.queue import Queue

_e = executions
ACTIVE = (State.RUNNING, State.PAUSED, State.KILLING, State.RESTARTED, State.RETRYING)


def gate(connection: Connection, flow: Flow, execution: Execution, now: datetime, *,
         started_here: int = 0) -> Decision | None:
    """The decision that keeps ``execution`` from starting, or None when it may start.

    ``started_here``: executions of the flow this transaction already started (not yet
    written, so not counted by the query).
    """
    limit = flow.concurrency
    if limit is None or execution.current not in (State.CREATED, State.QUEUED):
        return None
    _lock_flow(connection, execution)
    active = _count(connection, execution, ACTIVE) + started_here
    waiting_before = _count(connection, execution, (State.QUEUED,), older_than=execution)
    if active + waiting_before < limit.limit:
        return None
    why = f"the flow's concurrency limit ({limit.limit}) is reached"
    if limit.behavior is ConcurrencyBehavior.QUEUE:
        if execution.current is State.QUEUED:
            return Decision(execution)
        return Decision(execution.to(State.QUEUED, now, Cause.QUEUED), notes=(Note("INFO", f"queued: {why}"),))
    final = State.CANCELLED if limit.behavior is ConcurrencyBehavior.CANCEL else State.FAILED
    note = Note("WARN" if final is State.CANCELLED else "ERROR", f"{final}: {why}")
    return Decision(execution.to(final, now, Cause.CONCURRENCY), notes=(note,), ended=True)


def release(connection: Connection, queue: Queue, flow: Flow, ended: Execution) -> None:
    """``ended`` freed a slot: start the oldest queued executions the limit now admits."""
    limit = flow.concurrency
    if limit is None or limit.behavior is not ConcurrencyBehavior.QUEUE:
        return
    _lock_flow(connection, ended)
    free = limit.limit - _count(connection, ended, ACTIVE)
    if free <= 0:
        return
    oldest = connection.execute(
        sa.select(_e.c.id).where(*_same_flow(ended), _e.c.state == State.QUEUED.value, ~_e.c.deleted)
        .order_by(_e.c.created_at, _e.c.id).limit(free)).scalars().all()
    for execution_id in oldest:
        queue.send(connection, messages.EXECUTOR, messages.event_payload(execution_id, Start(), ended.tenant_id),
                   key=execution_id, tenant_id=ended.tenant_id)


def _lock_flow(connection: Connection, execution: Execution) -> None:
    connection.execute(
        sa.select(flows.c.revision).where(flows.c.tenant_id == execution.tenant_id,
                                          flows.c.namespace == execution.namespace,
                                          flows.c.flow_id == execution.flow_id).with_for_update())


def _same_flow(execution: Execution) -> tuple[sa.ColumnElement[bool], ...]:
    return (_e.c.tenant_id == execution.tenant_id, _e.c.namespace == execution.namespace,
            _e.c.flow_id == execution.flow_id)


def _count(connection: Connection, execution: Execution, states: tuple[State, ...], *,
           older_than: Execution | None = None) -> int:
    query = (sa.select(sa.func.count()).select_from(_e)
             .where(*_same_flow(execution), _e.c.state.in_([s.value for s in states]), _e.c.id != execution.id,
                    ~_e.c.deleted))
    if older_than is not None:
        query = query.where(_e.c.created_at < older_than.state.start_date)
    return connection.execute(query).scalar_one()
