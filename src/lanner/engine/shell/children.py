"""Executions started by other executions (Subflow): creating them, and telling the parent how they ended.

The child is created in the transaction that decided to start it, CREATED with a Start
message for the executor (delayed for a ``scheduleDate``); its trigger records the
parent (Kestra's shape: the starting task's type, executionId, namespace, flowId,
taskRunId), which is how its end finds its way back as a
:class:`~lanner.engine.core.decide.ChildEnded` event.  Only an executable task run starts a
child, so a trigger naming a parent task run that waits is all it takes to be one.  A
child that cannot be created (unknown flow, invalid inputs) is reported to the parent
at once as FAILED, with the reason.

A secret revealed while rendering the request (``secret()``, a SECRET input of the
parent) reaches the child only through a SECRET input, which encrypts it; any other
input gets it masked (``******``), so no execution stores it in clear.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lanner.engine.core.creation import new_execution
from lanner.engine.core.decide import ChildEnded, Start
from lanner.engine.core.inputs import InputsError
from lanner.engine.shell import messages
from lanner.engine.shell.flow_cache import FlowNotFound
from lanner.expr import ExpressionError
from lanner.model.execution import Execution
from lanner.model.state import State
from lanner.store import execution_repository as repo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from lanner.engine.shell.flow_cache import FlowCache
    from lanner.store.queue import Queue
    from lanner.tasks.executable import Child


def create(connection: Connection, queue: Queue, flows: FlowCache, parent: Execution, child: Child) -> None:
    now = datetime.now(UTC)
    tenant = parent.tenant_id
    try:
        if child.revision is None:
            flow, revision = flows.current(connection, child.namespace, child.flow_id, tenant)
        else:
            flow, revision = flows.revision(connection, child.namespace, child.flow_id, child.revision, tenant), \
                child.revision
        trigger = {"type": child.started_by, "executionId": parent.id, "namespace": parent.namespace,
                   "flowId": parent.flow_id, "flowRevision": parent.flow_revision, "taskRunId": child.task_run_id,
                   "taskId": child.task_id, "wait": child.wait}
        execution = new_execution(flow, revision, inputs=child.inputs, labels=child.labels, trigger=trigger,
                                  tenant_id=tenant, now=now, execution_id=child.execution_id, parent_id=parent.id,
                                  secrets=child.secrets)
    except (FlowNotFound, InputsError, ExpressionError) as exc:
        why = f"cannot start flow {child.namespace}.{child.flow_id}: {exc}"
        _send(queue, connection, parent, ChildEnded(child.task_run_id, child.execution_id, State.FAILED, message=why))
        return
    repo.insert_execution(connection, execution)
    queue.send(connection, messages.EXECUTOR, messages.event_payload(execution.id, Start(), tenant),
               key=execution.id, delay=child.delay, tenant_id=tenant)


def tell_parent(connection: Connection, queue: Queue, execution: Execution) -> None:
    """An execution ended: if the executable task run that started it waits for it, send it the end."""
    trigger = execution.trigger or {}
    if not trigger.get("taskRunId") or not trigger.get("executionId") or not trigger.get("wait", True):
        return
    parent = Execution(id=trigger["executionId"], namespace=trigger.get("namespace", ""),
                       flow_id=trigger.get("flowId", ""), flow_revision=trigger.get("flowRevision", 1),
                       state=execution.state, tenant_id=execution.tenant_id)
    _send(queue, connection, parent, ChildEnded(trigger["taskRunId"], execution.id, execution.current,
                                                dict(execution.outputs)))


def _send(queue: Queue, connection: Connection, parent: Execution, event: ChildEnded) -> None:
    queue.send(connection, messages.EXECUTOR, messages.event_payload(parent.id, event, parent.tenant_id),
               key=parent.id, tenant_id=parent.tenant_id)
