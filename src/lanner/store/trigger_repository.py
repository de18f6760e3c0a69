"""Trigger state: one row per (tenant, namespace, flow, trigger id), written with the flow itself.

Saving a flow writes its triggers' rows in the same transaction (:func:`sync_flow`), so
the scheduler never has to discover flows: a new trigger, or one whose definition
changed, gets ``next_fire_date = PLAN_NOW`` (due at once: the scheduler works out its
real next date), an unchanged one keeps its dates.  Rows of flow and webhook triggers
have no next date (they fire on events, not on time) but carry the operator's
``disabled`` flag like the others.

A scheduler claims due rows with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite holds its
write lock), creates the executions of their ticks and moves the dates on, all in one
transaction: a tick produces exactly one execution however many schedulers run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import bulk
from lanner.store.tables import triggers
from lanner.timestamps import as_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from lanner.model.flow import Flow

_t = triggers
PLAN_NOW = datetime(1970, 1, 1, tzinfo=UTC)  # next_fire_date of a row the scheduler must plan
SCHEDULED = ("io.kestra.plugin.core.trigger.Schedule", "io.kestra.plugin.core.trigger.ScheduleOnDates")


@dataclass(frozen=True)
class TriggerRow:
    tenant_id: str
    namespace: str
    flow_id: str
    trigger_id: str
    type: str
    definition: dict[str, Any]
    flow_revision: int | None = None
    last_fire_date: datetime | None = None
    next_fire_date: datetime | None = None
    backfill: dict[str, Any] | None = None
    disabled: bool = False
    scheduler_id: str | None = None
    execution_id: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.tenant_id, self.namespace, self.flow_id, self.trigger_id)

    @property
    def scheduled(self) -> bool:
        return self.type in SCHEDULED

    @property
    def needs_planning(self) -> bool:
        return self.next_fire_date is not None and self.next_fire_date <= PLAN_NOW


def definition_of(trigger: Any) -> dict[str, Any]:
    # serialize_as_any: conditions are declared as their base class; their own fields must be kept.
    definition: dict[str, Any] = trigger.model_dump(mode="json", by_alias=True, exclude_defaults=True,
                                                    serialize_as_any=True)
    return definition | {"type": trigger.TYPE}


def _hash(definition: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:16]


def sync_flow(connection: Connection, flow: Flow, revision: int, tenant_id: str = DEFAULT_TENANT,
              now: datetime | None = None) -> int:
    """Make the flow's trigger rows match its ``triggers`` (in the caller's transaction); return the rows created."""
    now = now or datetime.now(UTC)
    existing = {row.trigger_id: row for row in list_triggers(connection, namespace=flow.namespace,
                                                             flow_id=flow.id, tenant_id=tenant_id, exact=True)}
    wanted = {trigger.id: trigger for trigger in flow.triggers}
    gone = [trigger_id for trigger_id in existing if trigger_id not in wanted]
    if gone:
        connection.execute(sa.delete(_t).where(*_flow_key(tenant_id, flow.namespace, flow.id),
                                               _t.c.trigger_id.in_(gone)))
    created = 0
    for trigger_id, trigger in wanted.items():
        definition = definition_of(trigger)
        state = {"type": trigger.TYPE, "definition": definition, "hash": _hash(definition)}
        scheduled = trigger.TYPE in SCHEDULED
        row = existing.get(trigger_id)
        if row is None:
            connection.execute(sa.insert(_t).values(
                tenant_id=tenant_id, namespace=flow.namespace, flow_id=flow.id, trigger_id=trigger_id,
                flow_revision=revision, next_fire_date=PLAN_NOW if scheduled else None, state=state,
                backfill=_yaml_backfill(definition) or sa.null(), disabled=False, created_at=now, updated_at=now))
            created += 1
        elif row.state.get("hash") != state["hash"]:
            # A changed definition is planned again, from its last tick on: nothing fires twice.
            connection.execute(sa.update(_t).where(*_row_key(row.key)).values(
                flow_revision=revision, state=state, next_fire_date=PLAN_NOW if scheduled else None, updated_at=now))
        elif row.flow_revision != revision:
            connection.execute(sa.update(_t).where(*_row_key(row.key)).values(flow_revision=revision))
    return created


def _yaml_backfill(definition: dict[str, Any]) -> dict[str, Any] | None:
    """A Schedule's ``backfill`` in the flow (Kestra's older way): a backfill to run once, from its start."""
    backfill = definition.get("backfill")
    if not isinstance(backfill, dict) or not backfill.get("start"):
        return None
    return {"start": backfill["start"], "end": backfill.get("end"), "current": None,
            "paused": bool(backfill.get("paused")), "inputs": backfill.get("inputs") or {},
            "labels": backfill.get("labels") or {}, "fired": 0}


def forget_flow(connection: Connection, namespace: str, flow_id: str, tenant_id: str = DEFAULT_TENANT) -> None:
    """The flow was deleted: its triggers go with it."""
    connection.execute(sa.delete(_t).where(*_flow_key(tenant_id, namespace, flow_id)))


def claim_due(connection: Connection, now: datetime, limit: int) -> list[TriggerRow]:
    """Rows to work on now, locked until the caller's transaction ends: due ticks, and running backfills."""
    due = (sa.select(_t).where(_t.c.next_fire_date <= now, _t.c.disabled.is_(False))
           .order_by(_t.c.next_fire_date).limit(limit))
    backfilling = sa.select(_t).where(_t.c.backfill.is_not(None), _t.c.disabled.is_(False)).limit(limit)
    if connection.dialect.name == "postgresql":
        due, backfilling = due.with_for_update(skip_locked=True), backfilling.with_for_update(skip_locked=True)
    found = {row.key: row for row in map(_row, connection.execute(due))}
    for row in map(_row, connection.execute(backfilling)):
        if row.backfill and row.key not in found:  # JSON null is not SQL NULL on every backend
            found[row.key] = row
    return list(found.values())


def soonest(connection: Connection) -> datetime | None:
    """The earliest next fire date of an enabled trigger (to know how long to sleep)."""
    found = connection.execute(sa.select(sa.func.min(_t.c.next_fire_date)).where(_t.c.disabled.is_(False))).scalar()
    return _aware(found) if found is not None else None


_PROGRESS = ("last_fire_date", "next_fire_date", "scheduler_id", "execution_id", "updated_at")
_KEY_COLUMNS = ("tenant_id", "namespace", "flow_id", "trigger_id")


def save_progress(connection: Connection, updates: Sequence[dict[str, Any]]) -> None:
    """After a scheduler pass: each row's ``key`` with its new dates, backfill, scheduler and last execution.

    Missing fields keep their value; rows are written a few statements for all (one per
    set of fields given).
    """
    now = datetime.now(UTC)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for update in updates:
        values = {name: update[name] for name in _PROGRESS if name in update} | {"updated_at": now}
        if "backfill" in update:
            values["backfill"] = update["backfill"] if update["backfill"] is not None else sa.null()
        row = {f"{bulk.KEY_PREFIX}{column}": value for column, value in zip(_KEY_COLUMNS, update["key"], strict=True)}
        row.update(values)
        groups.setdefault(tuple(sorted(values)), []).append(row)
    for names, rows in groups.items():
        statement = sa.update(_t).where(*(_t.c[c] == sa.bindparam(f"{bulk.KEY_PREFIX}{c}") for c in _KEY_COLUMNS)) \
            .values({name: sa.bindparam(name) for name in names})
        bulk.update(connection, statement, _t, rows)


def list_triggers(connection: Connection, *, namespace: str | None = None, flow_id: str | None = None,
                  tenant_id: str = DEFAULT_TENANT, exact: bool = False, query: str | None = None,
                  limit: int | None = None, offset: int = 0, trigger_type: str | None = None) -> list[TriggerRow]:
    """Triggers of a namespace (and its children unless ``exact``), of a flow, matching ``query``, of a type."""
    select = _filtered(sa.select(_t), tenant_id=tenant_id, namespace=namespace, flow_id=flow_id, exact=exact,
                       query=query)
    if trigger_type is not None:
        select = select.where(_t.c.state["type"].as_string() == trigger_type)
    select = select.order_by(_t.c.namespace, _t.c.flow_id, _t.c.trigger_id).offset(offset)
    if limit is not None:
        select = select.limit(limit)
    return [_row(row) for row in connection.execute(select)]


def _filtered(select: sa.Select[Any], *, tenant_id: str, namespace: str | None, flow_id: str | None, exact: bool,
              query: str | None) -> sa.Select[Any]:
    select = select.where(_t.c.tenant_id == tenant_id)
    if namespace is not None:
        select = select.where(_t.c.namespace == namespace if exact else
                              sa.or_(_t.c.namespace == namespace, _t.c.namespace.startswith(namespace + ".")))
    if flow_id is not None:
        select = select.where(_t.c.flow_id == flow_id)
    if query:
        pattern = f"%{query.lower()}%"
        select = select.where(sa.or_(sa.func.lower(_t.c.flow_id).like(pattern),
                                     sa.func.lower(_t.c.trigger_id).like(pattern),
                                     sa.func.lower(_t.c.namespace).like(pattern)))
    return select


def count_triggers(connection: Connection, tenant_id: str = DEFAULT_TENANT) -> int:
    query = sa.select(sa.func.count()).select_from(_t).where(_t.c.tenant_id == tenant_id)
    count: int = connection.execute(query).scalar_one()
    return count


def get_trigger(connection: Connection, namespace: str, flow_id: str, trigger_id: str,
                tenant_id: str = DEFAULT_TENANT, *, lock: bool = False) -> TriggerRow | None:
    select = sa.select(_t).where(*_row_key((tenant_id, namespace, flow_id, trigger_id)))
    if lock and connection.dialect.name == "postgresql":
        select = select.with_for_update()
    found = connection.execute(select).first()
    return _row(found) if found is not None else None


def set_disabled(connection: Connection, row: TriggerRow, disabled: bool) -> None:
    """Disable or enable; an enabled schedule is planned again from now (the ticks it missed are not fired)."""
    values: dict[str, Any] = {"disabled": disabled, "updated_at": datetime.now(UTC)}
    if not disabled and row.disabled and row.scheduled:
        values["next_fire_date"] = PLAN_NOW
        values["state"] = {**row.state, "enabledAt": datetime.now(UTC).isoformat()}
    connection.execute(sa.update(_t).where(*_row_key(row.key)).values(**values))


def save_state(connection: Connection, row: TriggerRow, state: dict[str, Any]) -> None:
    """Replace the row's ``state`` document (a Flow trigger's preconditions progress; the caller holds the lock)."""
    connection.execute(sa.update(_t).where(*_row_key(row.key)).values(state=state, updated_at=datetime.now(UTC)))


def set_backfill(connection: Connection, row: TriggerRow, backfill: dict[str, Any] | None) -> None:
    connection.execute(sa.update(_t).where(*_row_key(row.key)).values(
        backfill=backfill if backfill is not None else sa.null(), updated_at=datetime.now(UTC)))


def unlock(connection: Connection, row: TriggerRow) -> None:
    """Forget which scheduler last held the trigger and plan it again from now."""
    values: dict[str, Any] = {"scheduler_id": None, "updated_at": datetime.now(UTC)}
    if row.scheduled:
        values["next_fire_date"] = PLAN_NOW
    connection.execute(sa.update(_t).where(*_row_key(row.key)).values(**values))


def reset(connection: Connection, row: TriggerRow) -> None:
    """Forget the trigger's state (Kestra's delete of a trigger): as if its flow had just declared it, enabled,
    never fired, no backfill, no scheduler; a schedule is planned again from now."""
    state = {"type": row.type, "definition": row.definition, "hash": row.state.get("hash") or _hash(row.definition)}
    connection.execute(sa.update(_t).where(*_row_key(row.key)).values(
        last_fire_date=None, next_fire_date=PLAN_NOW if row.scheduled else None, backfill=sa.null(), disabled=False,
        scheduler_id=None, execution_id=None, state=state, updated_at=datetime.now(UTC)))


def _flow_key(tenant_id: str, namespace: str, flow_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return _t.c.tenant_id == tenant_id, _t.c.namespace == namespace, _t.c.flow_id == flow_id


def _row_key(key: tuple[str, str, str, str]) -> tuple[sa.ColumnElement[bool], ...]:
    return (*_flow_key(key[0], key[1], key[2]), _t.c.trigger_id == key[3])


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return as_utc(moment)


def _row(row: Any) -> TriggerRow:
    state = dict(row.state or {})
    return TriggerRow(tenant_id=row.tenant_id, namespace=row.namespace, flow_id=row.flow_id,
                      trigger_id=row.trigger_id, type=state.get("type", ""), definition=state.get("definition") or {},
                      flow_revision=row.flow_revision, last_fire_date=_aware(row.last_fire_date),
                      next_fire_date=_aware(row.next_fire_date), backfill=row.backfill or None,
                      disabled=bool(row.disabled), scheduler_id=row.scheduler_id, execution_id=row.execution_id,
                      state=state, updated_at=_aware(row.updated_at))


def count_matching(connection: Connection, *, namespace: str | None = None, flow_id: str | None = None,
                   tenant_id: str = DEFAULT_TENANT, query: str | None = None) -> int:
    """How many rows :func:`list_triggers` finds with the same filters (without ``limit``/``offset``)."""
    select = _filtered(sa.select(sa.func.count()).select_from(_t), tenant_id=tenant_id, namespace=namespace,
                       flow_id=flow_id, exact=False, query=query)
    count: int = connection.execute(select).scalar_one()
    return count
