"""The figures of Kestra's dashboards: executions, task runs and log lines counted per time bucket.

Every figure is one aggregate query (``GROUP BY`` bucket, state, and flow or namespace when asked),
run by the database on both backends; Python only lays the grouped rows out and adds the empty
buckets.  Executions and task runs fall in the bucket of their start (their creation while they
have not started); a duration is ``end - start`` of those that ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.model.state import State
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import time_buckets
from lanner.store.tables import executions, flows, logs, task_runs, triggers
from lanner.store.time_buckets import Width

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

STATES = tuple(str(state) for state in State)
LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")


@dataclass(frozen=True)
class Range:
    """What a chart covers: the tenant, a namespace (itself and its children), a flow, a span of time."""

    start: datetime
    end: datetime
    tenant_id: str = DEFAULT_TENANT
    namespace: str | None = None
    flow_id: str | None = None
    q: str | None = None  # text the namespace or the flow id contains
    states: Sequence[str] = ()
    width: Width | None = None  # None: Kestra's width for the span
    excluded: str | None = None  # a namespace left out (with its children): Kestra's scope USER leaves out system

    @property
    def group(self) -> Width:
        return self.width or time_buckets.width_for(self.start, self.end)


@dataclass
class Durations:
    """Seconds: the shortest, mean, longest and total of the ended ones; ``count``: every one counted."""

    min: float = 0.0
    avg: float = 0.0
    max: float = 0.0
    sum: float = 0.0
    count: int = 0


@dataclass
class Bucket:
    start: datetime
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    durations: Durations = field(default_factory=Durations)


def _seconds(connection: Connection, start: Any, end: Any) -> sa.ColumnElement[Any]:
    if connection.dialect.name == "postgresql":
        return sa.func.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def _scope(table: sa.Table, where: Range) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [table.c.tenant_id == where.tenant_id]
    if where.namespace:
        conditions.append(sa.or_(table.c.namespace == where.namespace,
                                 table.c.namespace.startswith(where.namespace + ".", autoescape=True)))
    if where.flow_id:
        conditions.append(table.c.flow_id == where.flow_id)
    if where.q:
        text = where.q.lower()
        conditions.append(sa.or_(sa.func.lower(table.c.namespace).contains(text, autoescape=True),
                                 sa.func.lower(table.c.flow_id).contains(text, autoescape=True)))
    if where.states:
        conditions.append(table.c.state.in_(list(where.states)))
    if where.excluded:
        conditions.append(sa.and_(table.c.namespace != where.excluded,
                                  ~table.c.namespace.startswith(where.excluded + ".", autoescape=True)))
    if table is executions:
        conditions.append(~executions.c.deleted)
    return conditions


def per_bucket(connection: Connection, where: Range, *, task_runs_instead: bool = False,
               by: Sequence[str] = ()) -> dict[tuple[str, ...], list[Bucket]]:
    """Counts per state and durations, per bucket of ``where``'s span, for each group of ``by`` (column names
    among namespace and flow_id; ``()``: one group, keyed ``()``).  Every bucket is there, empty or not."""
    table = task_runs if task_runs_instead else executions
    moment = sa.func.coalesce(table.c.start_date, table.c.created_at)
    width = where.group
    slot = time_buckets.bucket(connection, moment, width).label("slot")
    seconds = sa.case((table.c.end_date.is_not(None), _seconds(connection, table.c.start_date, table.c.end_date)))
    keys = [table.c[name] for name in by]
    query = (sa.select(*keys, slot, table.c.state, sa.func.count().label("n"), sa.func.min(seconds).label("low"),
                       sa.func.max(seconds).label("high"), sa.func.sum(seconds).label("total"),
                       sa.func.count(seconds).label("ended"))
             .where(*_scope(table, where), moment >= time_buckets.bound(where.start),
                    moment <= time_buckets.bound(where.end))
             .group_by(*keys, slot, table.c.state))
    starts = time_buckets.every(where.start, where.end, width)
    grouped: dict[tuple[str, ...], dict[datetime, Bucket]] = {}
    totals: dict[tuple[tuple[str, ...], datetime], list[float]] = {}  # [low, high, sum, ended]
    for row in connection.execute(query):
        group = tuple(str(row[index]) for index in range(len(by)))
        buckets = grouped.setdefault(group, {start: Bucket(start) for start in starts})
        start = time_buckets.key(row.slot)
        current = buckets.setdefault(start, Bucket(start))
        current.counts[str(row.state)] = current.counts.get(str(row.state), 0) + int(row.n)
        current.durations.count += int(row.n)
        if row.ended:
            low, high, total, ended = totals.setdefault((group, start), [float("inf"), 0.0, 0.0, 0])
            totals[(group, start)] = [min(low, float(row.low)), max(high, float(row.high)),
                                      total + float(row.total), ended + int(row.ended)]
    for (group, start), (low, high, total, ended) in totals.items():
        durations = grouped[group][start].durations
        durations.min, durations.max, durations.sum = max(low, 0.0), max(high, 0.0), max(total, 0.0)
        durations.avg = durations.sum / ended if ended else 0.0
    if not by and () not in grouped:
        grouped[()] = {start: Bucket(start) for start in starts}
    return {group: sorted(buckets.values(), key=lambda b: b.start) for group, buckets in grouped.items()}


def counts_per_namespace(connection: Connection, where: Range) -> dict[str, dict[str, int]]:
    """Executions per namespace and state over ``where``'s span."""
    moment = sa.func.coalesce(executions.c.start_date, executions.c.created_at)
    query = (sa.select(executions.c.namespace, executions.c.state, sa.func.count())
             .where(*_scope(executions, where), moment >= time_buckets.bound(where.start),
                    moment <= time_buckets.bound(where.end))
             .group_by(executions.c.namespace, executions.c.state))
    found: dict[str, dict[str, int]] = {}
    for namespace, state, count in connection.execute(query):
        found.setdefault(str(namespace), dict.fromkeys(STATES, 0))[str(state)] = int(count)
    return found


def latest_executions(connection: Connection, flows_wanted: Sequence[tuple[str, str]], *,
                      tenant_id: str = DEFAULT_TENANT) -> list[str]:
    """The id of each flow's latest execution (by creation), for the (namespace, flow id) pairs given."""
    if not flows_wanted:
        return []
    _e = executions
    rank = sa.func.row_number().over(partition_by=(_e.c.namespace, _e.c.flow_id),
                                     order_by=(_e.c.created_at.desc(), _e.c.id.desc())).label("rank")
    wanted = sa.or_(*(sa.and_(_e.c.namespace == ns, _e.c.flow_id == flow) for ns, flow in flows_wanted))
    ranked = sa.select(_e.c.id, _e.c.namespace, _e.c.flow_id, rank).where(
        _e.c.tenant_id == tenant_id, ~_e.c.deleted, wanted).subquery()
    rows = connection.execute(sa.select(ranked.c.id).where(ranked.c.rank == 1)
                              .order_by(ranked.c.namespace, ranked.c.flow_id))
    return [str(row.id) for row in rows]


def log_counts(connection: Connection, where: Range, *, min_level: str | None = None) -> list[tuple[datetime,
                                                                                                   dict[str, int]]]:
    """Log lines per bucket and level (``min_level`` and above when given)."""
    width = where.group
    slot = time_buckets.bucket(connection, logs.c.timestamp, width).label("slot")
    conditions = _scope(logs, Range(where.start, where.end, where.tenant_id, where.namespace, where.flow_id, where.q))
    if min_level is not None:
        conditions.append(logs.c.level.in_(LEVELS[LEVELS.index(min_level):]))
    query = (sa.select(slot, logs.c.level, sa.func.count())
             .where(*conditions, logs.c.timestamp >= time_buckets.bound(where.start),
                    logs.c.timestamp <= time_buckets.bound(where.end))
             .group_by(slot, logs.c.level))
    buckets = {start: dict.fromkeys(LEVELS, 0) for start in time_buckets.every(where.start, where.end, width)}
    for slot_value, level, count in connection.execute(query):
        buckets.setdefault(time_buckets.key(slot_value), dict.fromkeys(LEVELS, 0))[str(level)] = int(count)
    return sorted(buckets.items())


def flow_and_trigger_counts(connection: Connection, *, namespace: str | None = None,
                            tenant_id: str = DEFAULT_TENANT) -> tuple[int, int]:
    """How many flows (not deleted) and triggers the tenant (or the namespace and its children) has."""
    def scoped(table: sa.Table) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = [table.c.tenant_id == tenant_id]
        if namespace:
            conditions.append(sa.or_(table.c.namespace == namespace,
                                     table.c.namespace.startswith(namespace + ".", autoescape=True)))
        return conditions
    flow_count = connection.execute(sa.select(sa.func.count()).select_from(flows).where(
        *scoped(flows), ~flows.c.deleted)).scalar_one()
    live = sa.select(flows.c.namespace, flows.c.flow_id).where(~flows.c.deleted, flows.c.tenant_id == tenant_id)
    trigger_count = connection.execute(sa.select(sa.func.count()).select_from(triggers).where(
        *scoped(triggers), sa.tuple_(triggers.c.namespace, triggers.c.flow_id).in_(live))).scalar_one()
    return int(flow_count), int(trigger_count)


def namespace_count(connection: Connection, *, tenant_id: str = DEFAULT_TENANT) -> int:
    """How many namespaces hold a flow that is not deleted."""
    return int(connection.execute(sa.select(sa.func.count(sa.distinct(flows.c.namespace))).where(
        flows.c.tenant_id == tenant_id, ~flows.c.deleted)).scalar_one())


def default_range(now: datetime, days: int = 30) -> tuple[datetime, datetime]:
    """Kestra's default span: the last ``days`` days up to now."""
    return now - timedelta(days=days), now
