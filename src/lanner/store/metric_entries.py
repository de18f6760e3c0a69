"""The metrics tasks report (counters and timers), read from the task runs that carry them.

A task run keeps its metrics as a JSON list (``task_runs.metrics``: ``{name, type, value, tags}``,
a timer's value in seconds).  Kestra's API shows them as ``MetricEntry`` rows, a timer in
milliseconds, stamped with the task run's end: each query here unnests the lists in SQL
(``jsonb_array_elements`` on PostgreSQL, ``json_each`` on SQLite) and filters, pages, lists the
distinct names or aggregates per time bucket in the database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import time_buckets
from lanner.store.tables import task_runs
from lanner.store.time_buckets import Width
from lanner.timestamps import as_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

AGGREGATIONS = ("sum", "avg", "min", "max")
SORTS = {"name": "name", "type": "type", "value": "value", "timestamp": "stamp", "taskId": "task_id"}


@dataclass(frozen=True)
class MetricEntry:
    namespace: str
    flow_id: str
    task_id: str
    execution_id: str
    task_run_id: str
    type: str
    name: str
    value: float  # a timer in milliseconds, as Kestra shows it
    timestamp: datetime
    tags: dict[str, str]


def _rows(connection: Connection) -> tuple[str, dict[str, str]]:
    """The FROM clause unnesting the metrics, and the SQL of each metric's fields."""
    if connection.dialect.name == "postgresql":
        return (f"FROM {task_runs.name} t CROSS JOIN LATERAL jsonb_array_elements("
                "CASE WHEN jsonb_typeof(t.metrics) = 'array' THEN t.metrics ELSE '[]'::jsonb END) AS m(item)",
                {"name": "m.item->>'name'", "type": "COALESCE(m.item->>'type', 'counter')",
                 "raw": "CAST(m.item->>'value' AS double precision)", "tags": "m.item->'tags'"})
    return (f"FROM {task_runs.name} t, json_each(CASE WHEN json_type(t.metrics) = 'array' THEN t.metrics "
            "ELSE '[]' END) AS m",
            {"name": "json_extract(m.value, '$.name')", "type": "COALESCE(json_extract(m.value, '$.type'), 'counter')",
             "raw": "CAST(json_extract(m.value, '$.value') AS REAL)", "tags": "json_extract(m.value, '$.tags')"})


def _select(connection: Connection, where: Sequence[str]) -> str:
    source, item = _rows(connection)
    value = f"CASE WHEN {item['type']} = 'timer' THEN {item['raw']} * 1000.0 ELSE {item['raw']} END"
    return (f"SELECT t.namespace, t.flow_id, t.task_id, t.execution_id, t.id AS task_run_id, {item['name']} AS name, "
            f"{item['type']} AS type, {value} AS value, {item['tags']} AS tags, "
            f"COALESCE(t.end_date, t.updated_at) AS stamp {source} WHERE t.tenant_id = :tenant AND "
            + " AND ".join(where))


def of_execution(connection: Connection, execution_id: str, *, task_run_id: str | None = None,
                 task_id: str | None = None, sort: Sequence[tuple[str, bool]] = (), limit: int = 10, offset: int = 0,
                 tenant_id: str = DEFAULT_TENANT) -> tuple[list[MetricEntry], int]:
    """A page of the execution's metrics (of one task run or task) and how many there are."""
    where = ["t.execution_id = :execution"]
    params: dict[str, Any] = {"tenant": tenant_id, "execution": execution_id, "limit": limit, "offset": offset}
    if task_run_id is not None:
        where.append("t.id = :task_run")
        params["task_run"] = task_run_id
    if task_id is not None:
        where.append("t.task_id = :task")
        params["task"] = task_id
    inner = _select(connection, where)
    order = ", ".join(f"{SORTS[name]} {'DESC' if descending else 'ASC'}" for name, descending in sort) or "stamp ASC"
    rows = connection.execute(sa.text(f"SELECT * FROM ({inner}) AS found ORDER BY {order}, task_run_id, name "
                                      "LIMIT :limit OFFSET :offset"), params)
    found = [_entry(row) for row in rows]
    total = connection.execute(sa.text(f"SELECT COUNT(*) FROM ({inner}) AS found"), params).scalar_one()
    return found, int(total)


def names(connection: Connection, namespace: str, flow_id: str, *, task_id: str | None = None,
          tenant_id: str = DEFAULT_TENANT) -> list[str]:
    """The distinct names of the metrics a flow's tasks (or one task) reported, sorted."""
    where = ["t.namespace = :namespace", "t.flow_id = :flow"]
    params: dict[str, Any] = {"tenant": tenant_id, "namespace": namespace, "flow": flow_id}
    if task_id is not None:
        where.append("t.task_id = :task")
        params["task"] = task_id
    rows = connection.execute(sa.text(
        f"SELECT DISTINCT name FROM ({_select(connection, where)}) AS found WHERE name IS NOT NULL ORDER BY name"),
        params)
    return [str(row.name) for row in rows]


def tasks(connection: Connection, namespace: str, flow_id: str, *, tenant_id: str = DEFAULT_TENANT) -> list[str]:
    """The ids of a flow's tasks that reported metrics (deleted or renamed tasks included), sorted."""
    rows = connection.execute(sa.text(
        f"SELECT DISTINCT task_id FROM ({_select(connection, ['t.namespace = :namespace', 't.flow_id = :flow'])}) "
        "AS found ORDER BY task_id"), {"tenant": tenant_id, "namespace": namespace, "flow": flow_id})
    return [str(row.task_id) for row in rows]


def aggregate(connection: Connection, namespace: str, flow_id: str, metric: str, *, start: datetime,
              end: datetime, aggregation: str, task_id: str | None = None, width: Width | None = None,
              tenant_id: str = DEFAULT_TENANT) -> tuple[Width, list[tuple[datetime, float | None]]]:
    """``aggregation`` (sum, avg, min, max) of the metric's values per bucket from ``start`` to ``end``
    (every bucket, None where nothing was reported)."""
    width = width or time_buckets.width_for(start, end)
    starts = time_buckets.every(start, end, width)
    where = ["t.namespace = :namespace", "t.flow_id = :flow"]
    params: dict[str, Any] = {"tenant": tenant_id, "namespace": namespace, "flow": flow_id, "metric": metric}
    if task_id is not None:
        where.append("t.task_id = :task")
        params["task"] = task_id
    found = sa.text(_select(connection, where)).columns(
        sa.column("name"), sa.column("value"), sa.column("stamp", task_runs.c.end_date.type)).subquery("found")
    slot = time_buckets.bucket(connection, found.c.stamp, width).label("slot")
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation {aggregation!r} is unknown: use one of {', '.join(AGGREGATIONS)}")
    result = getattr(sa.func, aggregation)(found.c.value).label("result")
    query = (sa.select(slot, result)
             .where(found.c.name == metric, found.c.stamp >= time_buckets.bound(start),
                    found.c.stamp <= time_buckets.bound(end))
             .group_by(slot))
    values: dict[datetime, float | None] = dict.fromkeys(starts)
    for row in connection.execute(query, params):
        values[time_buckets.key(row.slot)] = None if row.result is None else float(row.result)
    return width, sorted(values.items())


def _entry(row: Any) -> MetricEntry:
    tags = row.tags
    if isinstance(tags, str):
        tags = json.loads(tags)
    stamp = row.stamp
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp)
    return MetricEntry(row.namespace, row.flow_id, row.task_id, row.execution_id, row.task_run_id, str(row.type),
                       str(row.name), float(row.value or 0.0), as_utc(stamp),
                       {str(k): str(v) for k, v in (tags or {}).items()})
