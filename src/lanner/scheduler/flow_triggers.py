"""Flow triggers: start flows when executions of other flows end; and schedules' ``stopAfter``.

The executor sends one message per ended execution (``ended.executions``).  This
consumer, running in executor processes, takes a batch of them in a write transaction,
creates the executions of every ``io.kestra.plugin.core.trigger.Flow`` trigger whose
conditions the ended execution meets, and commits: taking the message and creating the
executions happen together, so each upstream execution fires each trigger once, however
many executors run.  A flow's own executions never trigger it (that would loop).
The same pass disables a Schedule whose ``stopAfter`` lists the
state an execution it started ended in.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lanner.engine.core.inputs import InputsError
from lanner.engine.core.variables import rendered_labels
from lanner.engine.shell import messages
from lanner.engine.shell.flow_cache import FlowCache, FlowNotFound
from lanner.engine.shell.service import Executions
from lanner.errors import UsageError
from lanner.expr import ExpressionError, render_value
from lanner.model.state import TERMINAL
from lanner.model.tenant import DEFAULT_TENANT
from lanner.scheduler import preconditions
from lanner.scheduler.conditions import applicable, unmet
from lanner.store import trigger_repository as triggers
from lanner.store.database import write_connection
from lanner.store.trigger_repository import TriggerRow
from lanner.tasks.core.conditions import MultipleCondition
from lanner.tasks.core.triggers import FlowTrigger

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from lanner.store.queue import Queue

log = logging.getLogger(__name__)
BATCH = 200
FLOW_TYPE = FlowTrigger.TYPE


@dataclass
class Fired:
    created: list[tuple[str, str]] = field(default_factory=list)  # (upstream execution, new execution)
    stopped: list[tuple[str, str, str]] = field(default_factory=list)  # schedules disabled by stopAfter
    failed: list[str] = field(default_factory=list)


class FlowTriggers:
    def __init__(self, engine: Engine, queue: Queue, flows: FlowCache | None = None) -> None:
        self.engine, self.queue = engine, queue
        self.flows = flows or FlowCache()
        self.executions = Executions(engine, queue, self.flows)

    def run(self, stop: threading.Event, idle_wait: float = 1.0) -> None:
        while not stop.is_set():
            try:
                handled = self.process_batch()
            except Exception:
                log.exception("flow-trigger pass failed; retrying")
                stop.wait(idle_wait)
                continue
            if handled < BATCH:
                self.queue.wait(messages.ENDED_EXECUTIONS, idle_wait)

    def process_batch(self, limit: int = BATCH) -> int:
        fired = Fired()
        with write_connection(self.engine) as connection, connection.begin():
            batch = self.queue.take(connection, messages.ENDED_EXECUTIONS, limit, version=messages.FORMAT)
            if not batch:
                return 0
            by_tenant: dict[str, list[TriggerRow]] = {}
            for message in batch:
                ended = message.payload
                tenant = ended.get("tenantId", DEFAULT_TENANT)
                if tenant not in by_tenant:
                    by_tenant[tenant] = [row for row in triggers.list_triggers(connection, tenant_id=tenant,
                                                                               trigger_type=FLOW_TYPE)
                                         if not row.disabled]
                    _lock_counting(connection, by_tenant[tenant])
                self._stop_after(connection, ended, fired)
                for row in by_tenant[tenant]:
                    self._fire(connection, row, ended, fired)
        for why in fired.failed:
            log.warning("%s", why)
        return len(batch)

    def _fire(self, connection: Connection, row: TriggerRow, ended: dict[str, Any], fired: Fired) -> None:
        if (row.tenant_id, row.namespace, row.flow_id) == (ended.get("tenantId", DEFAULT_TENANT), ended["namespace"],
                                                            ended["flowId"]):
            return  # a flow's own executions never trigger it: that would loop forever
        try:
            flow, _ = self.flows.current(connection, row.namespace, row.flow_id, row.tenant_id)
        except FlowNotFound:
            return
        spec = next((t for t in flow.triggers if t.id == row.trigger_id), None)
        if not isinstance(spec, FlowTrigger) or spec.disabled or flow.disabled:
            return
        variables = {"executionId": ended["executionId"], "namespace": ended["namespace"],
                     "flowId": ended["flowId"], "flowRevision": ended.get("flowRevision"), "state": ended["state"],
                     "outputs": ended.get("outputs") or {}, "labels": ended.get("labels") or {}}
        if not _matches(spec, variables):
            return
        # Date conditions (DayWeek, TimeBetween...) look at trigger.date: here, when the upstream execution ended.
        moment = _ended_at(ended)
        context = {"flow": {"id": flow.id, "namespace": flow.namespace},
                   "trigger": {**variables, "date": moment.isoformat()}}
        conditions = applicable(spec)
        multiples = [c for c in conditions if isinstance(c, MultipleCondition)]
        why = unmet([c for c in conditions if not isinstance(c, MultipleCondition)], context)
        if why is not None:
            return
        counts: list[tuple[preconditions.Counted, list[str]]] = []
        wanted = spec.preconditions
        if wanted is not None and (wanted.flows or wanted.where):
            met = preconditions.met_by(wanted, variables, context)
            if not met:
                return
            if preconditions.is_stateful(wanted):
                counts.append((preconditions.of_preconditions(wanted), met))
            elif not preconditions.in_daily_window(wanted.time_window, moment):
                return
        for multiple in multiples:
            met = [name for name, condition in multiple.conditions.items() if unmet([condition], context) is None]
            if not met:
                return
            counts.append((preconditions.of_multiple(multiple), met))
        if counts and not _count(connection, row, counts, moment, ended["executionId"]):
            return
        trigger = {"id": row.trigger_id, "type": spec.TYPE, "variables": variables}
        where = f"flow trigger {row.trigger_id} of {row.namespace}.{row.flow_id} (upstream {ended['executionId']})"
        try:
            with connection.begin_nested():  # a bad trigger's failure must not undo the others
                inputs = render_value(spec.inputs, context)
                labels = rendered_labels(spec.labels, context)
                created = self.executions.create_in(connection, row.namespace, row.flow_id, inputs,
                                                    labels=labels, trigger=trigger, tenant_id=row.tenant_id)
        except (InputsError, ExpressionError, UsageError, FlowNotFound) as exc:
            fired.failed.append(f"{where}: not fired: {exc}")
            return
        fired.created.append((ended["executionId"], created.id))

    def _stop_after(self, connection: Connection, ended: dict[str, Any], fired: Fired) -> None:
        trigger_id = ended.get("triggerId")
        if not trigger_id:
            return
        key = (ended["namespace"], ended["flowId"], trigger_id, ended.get("tenantId", DEFAULT_TENANT))
        row = triggers.get_trigger(connection, *key)  # no lock: most triggers have no stopAfter
        stop_after = (row.definition.get("stopAfter") or []) if row is not None else []
        if row is None or row.disabled or ended["state"] not in stop_after:
            return
        row = triggers.get_trigger(connection, *key, lock=True)
        if row is not None and not row.disabled:
            triggers.set_disabled(connection, row, True)
            fired.stopped.append((row.namespace, row.flow_id, row.trigger_id))
            log.info("trigger %s of %s.%s disabled: an execution it started ended %s (stopAfter)",
                     row.trigger_id, row.namespace, row.flow_id, ended["state"])


def _matches(spec: FlowTrigger, upstream: dict[str, Any]) -> bool:
    """The trigger's ``states`` filter (any ending by default); preconditions are counted apart."""
    state = upstream["state"]
    if state not in {str(s) for s in TERMINAL}:
        return False
    return not spec.states or state in spec.states


def _count(connection: Connection, row: TriggerRow, counts: list[tuple[preconditions.Counted, list[str]]],
           moment: datetime, execution_id: str) -> bool:
    """Record what an execution met in the trigger's row; whether every count now adds up to a fire."""
    locked = triggers.get_trigger(connection, row.namespace, row.flow_id, row.trigger_id, row.tenant_id, lock=True)
    if locked is None:
        return False
    state, fire = dict(locked.state), True
    for counted, met in counts:
        fired, state[counted.key] = preconditions.record(counted, state.get(counted.key), met, moment, execution_id)
        fire = fire and fired
    triggers.save_state(connection, locked, state)
    return fire


def _lock_counting(connection: Connection, rows: list[TriggerRow]) -> None:
    """Lock, in one order for every consumer, the rows whose preconditions are counted across executions.

    Taken as they come, two executors' batches could lock two such rows in opposite orders
    and deadlock; in key order they queue instead.
    """
    for row in sorted((r for r in rows if _several_preconditions(r.definition)), key=lambda r: r.key):
        triggers.get_trigger(connection, row.namespace, row.flow_id, row.trigger_id, row.tenant_id, lock=True)


def _several_preconditions(definition: dict[str, Any]) -> bool:
    """Whether a trigger counts executions (several preconditions, or a MultipleCondition), from its definition."""
    wanted = definition.get("preconditions")
    if isinstance(wanted, dict) and len(wanted.get("flows") or []) + len(wanted.get("where") or []) > 1:
        return True
    return any(isinstance(c, dict) and str(c.get("type", "")).endswith("MultipleCondition")
               for c in definition.get("conditions") or [])


def _ended_at(ended: dict[str, Any]) -> datetime:
    # Messages written before endDate was added carry none: they are read at once, so now is close.
    text = ended.get("endDate")
    return datetime.fromisoformat(text).astimezone(UTC) if text else datetime.now(UTC)
