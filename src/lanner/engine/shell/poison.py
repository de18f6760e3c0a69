"""Setting aside the executor's poison messages, and failing the executions they name.

A message delivered ``lanner.queue.max-deliveries`` times without its processing ever
completing (see :mod:`lanner.store.deliveries`) is moved to ``queue_set_aside`` in a
transaction of its own, then the execution it names is failed with the reason in a
second one.  Two transactions, so that an execution whose own state is what breaks
the executor cannot bring the message back: at worst that execution is left as it
was, and the set-aside message (with its reason) says which one it is.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.errors import DatabaseUnavailableError
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import deliveries
from lanner.store.database import write_connection

if TYPE_CHECKING:
    from lanner.engine.shell.executor import Executor
    from lanner.store.deliveries import Claim
    from lanner.store.queue import Message

log = logging.getLogger(__name__)
CRASHED = "the executor stopped while processing it (it crashed, or was killed or stopped by a timeout)"


def database_away(exc: BaseException) -> bool:
    """An error of the database (connection lost, locked, deadlock, serialization), not of the message."""
    if isinstance(exc, DatabaseUnavailableError | sa.exc.OperationalError | sa.exc.InterfaceError
                  | sa.exc.DisconnectionError | sa.exc.TimeoutError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


def reason(failed: int, last_error: str | None) -> str:
    why = f"processing it raised {last_error}" if last_error else CRASHED
    return f"set aside after {failed} deliveries that did not complete; the last one: {why}"


def set_aside(executor: Executor, exhausted: list[Claim]) -> list[Message]:
    """Move these messages out of the queue, then fail the executions they name (each step committed)."""
    reasons = {found.id: reason(found.deliveries - 1, executor.last_error(found.id)) for found in exhausted}
    with write_connection(executor.engine) as connection, connection.begin():
        moved = deliveries.set_aside(connection, list(reasons), executor.claimer, reasons)
    targets: dict[tuple[str, str], str] = {}
    for message in moved:
        key = execution_of(message.payload)
        log.error("message %d on topic %s%s %s; it is kept in queue_set_aside (lanner sys cluster set-aside)",
                  message.id, message.topic, f" for execution {key[1]}" if key else "", reasons[message.id])
        if key is not None:
            targets.setdefault(key, reasons[message.id])
    if targets:
        try:
            executor._guarded(lambda: _fail(executor, targets))
        except Exception:  # the message is aside already: the executor goes on
            log.exception("cannot fail execution(s) %s after setting their message aside",
                          ", ".join(key[1] for key in targets))
    return moved


def execution_of(payload: Any) -> tuple[str, str] | None:
    """(tenant, execution id) named by an executor message, if it names one readably."""
    if not isinstance(payload, dict):
        return None
    execution_id, tenant_id = payload.get("executionId"), payload.get("tenantId", DEFAULT_TENANT)
    if isinstance(execution_id, str) and isinstance(tenant_id, str) and execution_id:
        return tenant_id, execution_id
    return None


def _fail(executor: Executor, targets: dict[tuple[str, str], str]) -> None:
    with write_connection(executor.engine) as connection, connection.begin():
        current = executor.cache.lock_many(connection, list(targets))
        decided = [(before, executor.fail(before, f"a message for this execution was {targets[key]}"))
                   for key, before in current.items()]
        executor.write(connection, decided)
