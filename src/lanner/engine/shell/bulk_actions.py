"""An operator's action on many executions at once: all of them, in one transaction, or none.

Every execution named is locked and checked first (:func:`lanner.engine.core.actions.refusal`);
one that is missing or cannot take the action refuses the whole request, which then lists each
refused id and why (Kestra's bulk answer), and nothing is written.  Otherwise each execution
takes the action as the single routes do it, all in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lanner.engine.core import actions
from lanner.engine.core.decide import Event, Kill, Pause, Restart, Resume, Unqueue
from lanner.engine.shell import messages
from lanner.engine.shell.flow_cache import FlowNotFound
from lanner.engine.shell.service import start_many
from lanner.model.state import State
from lanner.store import execution_repository as repo
from lanner.store import flow_repository
from lanner.store.database import write_connection

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from lanner.engine.shell.service import Executions
    from lanner.model.execution import Execution

_EVENTS: dict[str, Event] = {"kill": Kill(), "pause": Pause(), "resume": Resume(), "restart": Restart(),
                             "force-run": Unqueue(State.RUNNING)}


@dataclass(frozen=True)
class Options:
    """What some actions take: the unqueued executions' state, the labels to add, the status to set,
    replaying on the flow's latest revision."""

    state: State = State.RUNNING
    labels: list[tuple[str, str]] = field(default_factory=list)
    status: State | None = None
    latest_revision: bool = False


@dataclass(frozen=True)
class Outcome:
    count: int
    invalids: list[dict[str, Any]]


def invalid(execution_id: str, why: str) -> dict[str, Any]:
    """One refused id, in Kestra's shape (a constraint violation on ``execution``)."""
    return {"message": why, "invalidValue": execution_id, "propertyPath": "execution"}


def run(service: Executions, action: str, ids: list[str], tenant_id: str, options: Options | None = None) -> Outcome:
    """Take ``action`` (a key of actions.ACTIONS) on the executions ``ids``: all of them, or none."""
    options = options or Options()
    if action == "unqueue" and options.state not in actions.UNQUEUE_STATES:
        raise ValueError(f"state {options.state}: an unqueued execution becomes "
                         f"{', '.join(actions.UNQUEUE_STATES)}; use one of these")
    if action == "change-status" and (options.status is None or not options.status.terminal):
        raise ValueError(f"status {options.status}: an execution's status can only be changed to an end state "
                         f"({', '.join(s for s in State if s.terminal)})")
    with write_connection(service.engine) as connection, connection.begin():
        found: list[Execution] = []
        refused: list[dict[str, Any]] = []
        for execution_id in sorted(set(ids)):  # one lock order for every bulk request
            execution = None if "\x00" in execution_id else repo.lock_execution(connection, execution_id, tenant_id)
            why = "execution not found" if execution is None else actions.refusal(action, execution)
            if execution is not None and why is None and action == "restart" and not service._over(execution):
                why = "execution still running its afterExecution tasks"
            if why is not None:
                refused.append(invalid(execution_id, why))
            elif execution is not None:
                found.append(execution)
        if refused:
            return Outcome(0, refused)  # nothing written: the transaction ends empty
        for execution in found:
            _apply(service, connection, action, execution, options)
        return Outcome(len(found), [])


def _apply(service: Executions, connection: Connection, action: str, execution: Execution,
           options: Options) -> None:
    now = datetime.now(UTC)
    event = Unqueue(options.state) if action == "unqueue" else _EVENTS.get(action)
    if event is not None:
        service.queue.send(connection, messages.EXECUTOR,
                           messages.event_payload(execution.id, event, execution.tenant_id), key=execution.id)
    elif action == "labels":
        repo.save_execution(connection, execution,
                            replace(execution, labels=actions.relabel(execution, options.labels, keep=True)))
    elif action == "change-status" and options.status is not None:
        repo.save_execution(connection, execution, actions.change_status(execution, options.status, now))
    elif action == "delete":
        repo.delete_execution(connection, execution.id, execution.tenant_id)
    elif action == "replay":
        revision = execution.flow_revision
        if options.latest_revision:
            latest = flow_repository.get_flow(connection, execution.namespace, execution.flow_id, None,
                                              execution.tenant_id)
            if latest is None:
                raise FlowNotFound(f"flow {execution.namespace}.{execution.flow_id} not found")
            revision = latest.revision
        copy = actions.replay(execution, now, revision=revision)
        repo.save_execution(connection, execution, replace(execution, labels={**execution.labels,
                                                                             actions.REPLAYED: "true"}))
        start_many(connection, service.queue, [copy])
