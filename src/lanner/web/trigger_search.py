"""Trigger searches: Kestra's ``TRIGGER`` filters over the tenant's trigger rows, their sorts, and the rows
as the API shows them (:class:`~lanner.web.schemas.triggers.TriggerContext`).

Triggers are few (one row per trigger of each flow), so filters are evaluated in memory with
:func:`lanner.web.query.matches`; ``q`` matches a namespace, flow id or trigger id containing it, any
case; ``startDate``/``endDate`` bound the next execution date (``dateFilter=LAST_TRIGGERED_DATE``: the
last fire date); ``triggerState`` is ``ENABLED`` or ``DISABLED``; ``scope`` ``USER`` or ``SYSTEM`` (the
``system`` namespace and its children); ``workerId`` the scheduler that last evaluated the trigger.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from lanner.ops.triggers import describe
from lanner.store.trigger_repository import PLAN_NOW, SCHEDULED, TriggerRow
from lanner.web import query
from lanner.web.errors import ApiError
from lanner.web.schemas.base import labels
from lanner.web.schemas.triggers import Backfill, TriggerContext, TriggerEntry

SYSTEM_NAMESPACE = "system"
SORTS = ("namespace", "flowId", "triggerId", "executionId", "workerId", "nextExecutionDate", "date",
         "updatedDate", "disabled")
DATE_FILTERS = ("NEXT_EXECUTION_DATE", "LAST_TRIGGERED_DATE")
REALTIME = ("io.kestra.plugin.core.trigger.Webhook", "io.kestra.plugin.core.trigger.Flow")


def legacy(q: str | None = None, namespace: str | None = None, flow_id: str | None = None,
           worker_id: str | None = None) -> list[query.Filter]:
    """The 0.2x flat parameters as filters (a ``namespace`` names it and its children)."""
    found = query.legacy(q=q, flowId=flow_id, workerId=worker_id)
    if namespace:
        found.append(query.Filter("namespace", query.Op.PREFIX, namespace))
    return found


def select(rows: Sequence[TriggerRow], filters: query.Group, date_filter: str | None = None) -> list[TriggerRow]:
    """The rows ``filters`` keeps."""
    if date_filter is not None and date_filter not in DATE_FILTERS:
        raise ApiError(400, f"dateFilter {date_filter[:50]!r} is unknown: use {' or '.join(DATE_FILTERS)}")
    last = date_filter == "LAST_TRIGGERED_DATE"
    return [row for row in rows if _matches(filters, row, last)]


def _matches(group: query.Group, row: TriggerRow, last: bool) -> bool:
    results = (_matches(c, row, last) if isinstance(c, query.Group) else _leaf(c, row, last) for c in group.children)
    return any(results) if group.logical == "or" else all(results)


def _leaf(leaf: query.Filter, row: TriggerRow, last: bool) -> bool:
    if leaf.field == "q":
        needle = str(leaf.value).lower()
        found = any(needle in text.lower() for text in (row.namespace, row.flow_id, row.trigger_id))
        return found if leaf.op == query.Op.EQUALS else not found
    if leaf.field in ("startDate", "endDate"):
        query.instant_value(leaf.field, str(leaf.value))  # a 400 naming a value that is no date, row or not
        moment = row.last_fire_date if last else _planned(row)
        if moment is None:
            return False
        return query.matches(query.Group("and", (leaf,)), row, lambda _row, _name: moment)
    if leaf.field in ("triggerState", "scope"):
        leaf = query.Filter(leaf.field, leaf.op, str(leaf.value).upper())
    return query.matches(query.Group("and", (leaf,)), row, _value)


def _value(row: TriggerRow, name: str) -> Any:
    return {
        "namespace": row.namespace, "flowId": row.flow_id, "triggerId": row.trigger_id,
        "workerId": row.scheduler_id, "triggerState": "DISABLED" if row.disabled else "ENABLED",
        "scope": "SYSTEM" if row.namespace == SYSTEM_NAMESPACE or row.namespace.startswith(SYSTEM_NAMESPACE + ".")
        else "USER",
    }.get(name)


def _planned(row: TriggerRow) -> datetime | None:
    return row.next_fire_date if row.next_fire_date is not None and row.next_fire_date > PLAN_NOW else None


def sort(rows: list[TriggerRow], raw: Sequence[str] | None) -> list[TriggerRow]:
    """Rows sorted by ``sort=field:asc|desc`` (default: namespace, flow id, trigger id); absent values last."""
    keys: dict[str, Callable[[TriggerRow], Any]] = {
            "namespace": lambda r: r.namespace, "flowId": lambda r: r.flow_id, "triggerId": lambda r: r.trigger_id,
            "executionId": lambda r: r.execution_id, "workerId": lambda r: r.scheduler_id,
            "nextExecutionDate": _planned, "date": lambda r: r.last_fire_date,
            "updatedDate": lambda r: r.updated_at, "disabled": lambda r: r.disabled}
    ordered = sorted(rows, key=lambda r: r.key)
    for order in reversed(query.sorts(raw, SORTS, "namespace")):
        get = keys[order.field]
        present = [r for r in ordered if get(r) is not None]
        absent = [r for r in ordered if get(r) is None]
        ordered = sorted(present, key=get, reverse=order.descending) + absent
    return ordered


def context(row: TriggerRow) -> TriggerContext:
    """The row as Kestra's trigger state."""
    shown = describe(row)
    planned, fired = shown["nextExecutionDate"], shown["date"]
    stop_after = row.definition.get("stopAfter")
    return TriggerContext(
        tenant_id=row.tenant_id, namespace=row.namespace, flow_id=row.flow_id, trigger_id=row.trigger_id,
        date=fired, next_execution_date=planned, backfill=backfill(row.backfill),
        stop_after=stop_after if isinstance(stop_after, list) else None, disabled=row.disabled,
        execution_id=row.execution_id, updated_date=shown["updatedDate"], worker_id=row.scheduler_id,
        updated_at=shown["updatedDate"], evaluated_at=fired, next_evaluation_date=planned,
        last_triggered_date=fired, locked=False, kind=kind(row.type), type=row.type, flow_revision=row.flow_revision,
        last_execution_date=fired, scheduler_id=row.scheduler_id, timezone=shown["timezone"])


def kind(type_name: str) -> str:
    if type_name in SCHEDULED:
        return "SCHEDULE"
    return "REALTIME" if type_name in REALTIME else "POLLING"


def backfill(stored: dict[str, Any] | None) -> Backfill | None:
    if not stored:
        return None
    return Backfill(start=stored.get("start"), end=stored.get("end"), current_date=stored.get("current"),
                    paused=bool(stored.get("paused")), inputs=dict(stored.get("inputs") or {}),
                    labels=labels(stored.get("labels")), fired=int(stored.get("fired") or 0))


def entry(row: TriggerRow) -> TriggerEntry:
    state = context(row)
    definition = dict(row.definition) or None
    return TriggerEntry(abstract_trigger=definition, trigger_context=state, trigger=definition, state=state)


CSV_COLUMNS = ("namespace", "flowId", "triggerId", "type", "disabled", "workerId", "executionId", "date",
               "nextExecutionDate", "updatedDate", "backfill")


def csv_row(row: TriggerRow) -> list[str]:
    state = context(row)
    values = [state.namespace, state.flow_id, state.trigger_id, state.type, str(state.disabled).lower(),
              state.worker_id, state.execution_id, state.date, state.next_execution_date, state.updated_date,
              "" if state.backfill is None else f"{state.backfill.start}/{state.backfill.end or ''}"]
    return ["" if value is None else str(value) for value in values]
