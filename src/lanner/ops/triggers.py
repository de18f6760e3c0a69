"""Trigger operations: list, enable or disable, unlock, and start, pause, resume or cancel a backfill.

The API, the CLI and the UI all come here, so each operation means the same thing
wherever it is asked for.  Each change is one write transaction that locks the
trigger's row first (``get_trigger(..., lock=True)``), so it never interleaves with a
scheduler pass working on the same row: the pass either saw the row before the change
or sees it after.

A backfill fires a scheduled trigger's past ticks between ``start`` and ``end`` (now
when open-ended), in order, a batch per scheduler pass; its progress lives on the row as
``{start, end, current, paused, inputs, labels, fired}``.  A date without an offset is
in the trigger's ``timezone`` (UTC when it has none).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lanner.errors import UsageError
from lanner.scheduler.planning import parse_moment
from lanner.store import trigger_repository as repo
from lanner.store.database import write_connection
from lanner.store.trigger_repository import PLAN_NOW, TriggerRow
from lanner.timestamps import instant

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


class TriggerNotFound(UsageError):
    """No trigger with this namespace, flow id and trigger id (the API answers 404)."""


class TriggerConflict(UsageError):
    """The trigger's state forbids the change: a backfill already runs, or none does (409)."""


class InvalidBackfill(UsageError):
    """A backfill that cannot run: not a scheduled trigger, a bad date, start after end (400)."""


def describe(row: TriggerRow) -> dict[str, Any]:
    """A trigger as the API shows it (Kestra's names: ``date`` is the last fire date)."""
    planned = row.next_fire_date if row.next_fire_date is not None and row.next_fire_date > PLAN_NOW else None
    backfill = None
    if row.backfill:
        backfill = {**row.backfill, "currentDate": row.backfill.get("current")}
    return {
        "tenantId": row.tenant_id, "namespace": row.namespace, "flowId": row.flow_id, "triggerId": row.trigger_id,
        "type": row.type, "flowRevision": row.flow_revision, "nextExecutionDate": instant(planned),
        "date": instant(row.last_fire_date), "lastExecutionDate": instant(row.last_fire_date),
        "disabled": row.disabled, "backfill": backfill, "schedulerId": row.scheduler_id,
        "executionId": row.execution_id, "updatedDate": instant(row.updated_at),
        "timezone": row.definition.get("timezone") if row.scheduled else None,
    }


def backfill_progress(backfill: Mapping[str, Any] | None) -> str:
    """``paused, 12 fired, at 2024-01-01T05:00:00+00:00`` for people; empty without a backfill."""
    if not backfill:
        return ""
    parts = ["paused" if backfill.get("paused") else "running", f"{int(backfill.get('fired') or 0)} fired"]
    if backfill.get("current"):
        parts.append(f"at {backfill['current']}")
    else:
        parts.append(f"from {backfill.get('start')}")
    if backfill.get("end"):
        parts.append(f"until {backfill['end']}")
    return ", ".join(parts)


def search(connection: Connection, *, namespace: str | None = None, flow_id: str | None = None,
           query: str | None = None, limit: int | None = None, offset: int = 0) -> tuple[list[TriggerRow], int]:
    found = repo.list_triggers(connection, namespace=namespace, flow_id=flow_id, query=query, limit=limit,
                               offset=offset)
    total = repo.count_matching(connection, namespace=namespace, flow_id=flow_id, query=query)
    return found, total


def get(connection: Connection, namespace: str, flow_id: str, trigger_id: str) -> TriggerRow:
    row = repo.get_trigger(connection, namespace, flow_id, trigger_id)
    if row is None:
        raise _missing(namespace, flow_id, trigger_id)
    return row


def set_disabled(engine: Engine, namespace: str, flow_id: str, trigger_id: str, disabled: bool) -> TriggerRow:
    """Disable or enable; a schedule enabled again is planned from now (what it missed is not fired)."""
    with write_connection(engine) as connection, connection.begin():
        row = _locked(connection, namespace, flow_id, trigger_id)
        if row.disabled != disabled:
            repo.set_disabled(connection, row, disabled)
        return get(connection, namespace, flow_id, trigger_id)


def unlock(engine: Engine, namespace: str, flow_id: str, trigger_id: str) -> TriggerRow:
    """Forget the scheduler that last held the trigger and plan it again from now (nothing missed is fired)."""
    with write_connection(engine) as connection, connection.begin():
        repo.unlock(connection, _locked(connection, namespace, flow_id, trigger_id))
        return get(connection, namespace, flow_id, trigger_id)


def start_backfill(engine: Engine, namespace: str, flow_id: str, trigger_id: str, *, start: str,
                   end: str | None = None, inputs: Mapping[str, Any] | None = None,
                   labels: Mapping[str, Any] | list[Any] | None = None) -> TriggerRow:
    with write_connection(engine) as connection, connection.begin():
        row = _locked(connection, namespace, flow_id, trigger_id)
        if not row.scheduled:
            raise InvalidBackfill(f"trigger {trigger_id} of flow {namespace}.{flow_id} is a {short_type(row.type)} "
                                  "trigger: only Schedule and ScheduleOnDates triggers backfill")
        if row.backfill:
            raise TriggerConflict(f"trigger {trigger_id} of flow {namespace}.{flow_id} already has a backfill "
                                  f"({backfill_progress(row.backfill)}): cancel it first")
        zone = row.definition.get("timezone") or "UTC"
        begin = _moment(start, "start", zone)
        finish = _moment(end, "end", zone) if end else None
        if finish is not None and begin > finish:
            raise InvalidBackfill(f"the backfill's start {begin.isoformat()} is after its end {finish.isoformat()}")
        if inputs is not None and not isinstance(inputs, Mapping):
            raise InvalidBackfill("the backfill's inputs must be a mapping of input ids to values")
        backfill = {"start": begin.isoformat(), "end": finish.isoformat() if finish else None, "current": None,
                    "paused": False, "inputs": dict(inputs or {}), "labels": _labels(labels), "fired": 0}
        repo.set_backfill(connection, row, backfill)
        return get(connection, namespace, flow_id, trigger_id)


def pause_backfill(engine: Engine, namespace: str, flow_id: str, trigger_id: str, paused: bool) -> TriggerRow:
    with write_connection(engine) as connection, connection.begin():
        row = _locked(connection, namespace, flow_id, trigger_id)
        if not row.backfill:
            raise TriggerConflict(f"trigger {trigger_id} of flow {namespace}.{flow_id} has no backfill to "
                                  f"{'pause' if paused else 'resume'}")
        repo.set_backfill(connection, row, {**row.backfill, "paused": paused})
        return get(connection, namespace, flow_id, trigger_id)


def cancel_backfill(engine: Engine, namespace: str, flow_id: str, trigger_id: str) -> TriggerRow:
    """Stop the backfill: the ticks it fired stay fired, the others never will be."""
    with write_connection(engine) as connection, connection.begin():
        row = _locked(connection, namespace, flow_id, trigger_id)
        if not row.backfill:
            raise TriggerConflict(f"trigger {trigger_id} of flow {namespace}.{flow_id} has no backfill to cancel")
        repo.set_backfill(connection, row, None)
        return get(connection, namespace, flow_id, trigger_id)


def _locked(connection: Connection, namespace: str, flow_id: str, trigger_id: str) -> TriggerRow:
    row = repo.get_trigger(connection, namespace, flow_id, trigger_id, lock=True)
    if row is None:
        raise _missing(namespace, flow_id, trigger_id)
    return row


def _missing(namespace: str, flow_id: str, trigger_id: str) -> TriggerNotFound:
    return TriggerNotFound(f"trigger {trigger_id} of flow {namespace}.{flow_id} not found",
                           "List the triggers with: lanner trigger list")


def _moment(text: Any, name: str, zone: str) -> datetime:
    if not isinstance(text, str) or not text.strip():
        raise InvalidBackfill(f"the backfill's {name} must be an ISO date-time, e.g. 2024-01-31T10:00:00Z")
    try:
        return parse_moment(text, zone)
    except ValueError:
        raise InvalidBackfill(f"the backfill's {name} {text!r} is not an ISO date-time "
                              "(e.g. 2024-01-31T10:00:00Z, or without an offset in the trigger's time zone)") from None


def _labels(labels: Mapping[str, Any] | list[Any] | None) -> dict[str, str]:
    """A mapping, or Kestra's list of ``{key, value}``."""
    if not labels:
        return {}
    if isinstance(labels, Mapping):
        return {str(k): str(v) for k, v in labels.items()}
    found = {}
    for item in labels:
        if not isinstance(item, Mapping) or "key" not in item or "value" not in item:
            raise InvalidBackfill("the backfill's labels must be a mapping, or a list of {key, value}")
        found[str(item["key"])] = str(item["value"])
    return found


def short_type(type_name: str) -> str:
    """``io.kestra.plugin.core.trigger.Schedule`` -> ``Schedule``."""
    return type_name.rsplit(".", 1)[-1]


