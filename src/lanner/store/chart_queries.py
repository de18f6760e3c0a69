"""A dashboard chart's data, computed by the database: one ``SELECT ... GROUP BY`` per chart.

The three data sources are the ``executions`` table, the ``logs`` table and the metrics that task
runs recorded (``task_runs.metrics``, a JSON list unnested by ``json_each`` on SQLite and
``jsonb_array_elements`` on PostgreSQL).  Columns with ``agg`` are aggregated, the others group;
dates are binned (minute, hour, day, week, month) when the column asks for an interval, and on a
TimeSeries' axis by the length of the time range.  Rows come back as ``{alias: value}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.dashboards.definition import DATE, FIELDS, NUMBER, TIME_FIELD, Chart, Column, Where
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store.tables import executions, logs, task_runs
from lanner.timestamps import as_utc, utc_instant

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

MAX_ROWS = 10_000

_SQLITE_BINS = {"MINUTE": ("%Y-%m-%dT%H:%M:00Z",), "HOUR": ("%Y-%m-%dT%H:00:00Z",),
                "DAY": ("%Y-%m-%dT00:00:00Z",), "WEEK": ("%Y-%m-%dT00:00:00Z", "-6 days", "weekday 1"),
                "MONTH": ("%Y-%m-01T00:00:00Z",)}


def auto_interval(span: timedelta) -> str:
    """The bin of a TimeSeries' axis for a time range of ``span``."""
    if span <= timedelta(hours=2):
        return "MINUTE"
    if span <= timedelta(days=2):
        return "HOUR"
    if span <= timedelta(days=62):
        return "DAY"
    if span <= timedelta(days=366):
        return "WEEK"
    return "MONTH"


def _seconds(connection: Connection, start: Any, end: Any) -> sa.ColumnElement[Any]:
    if connection.dialect.name == "postgresql":
        return sa.func.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def _metrics(connection: Connection) -> sa.Subquery:
    """One row per metric a task run recorded."""
    if connection.dialect.name == "postgresql":
        listed = sa.case((sa.func.jsonb_typeof(task_runs.c.metrics) == "array", task_runs.c.metrics),
                         else_=sa.literal_column("'[]'::jsonb"))
        item = sa.func.jsonb_array_elements(listed).table_valued("value").lateral("m")

        def text(key: str) -> sa.ColumnElement[Any]:
            return sa.func.jsonb_extract_path_text(item.c.value, key)
    else:
        item = sa.func.json_each(task_runs.c.metrics).table_valued("value").alias("m")

        def text(key: str) -> sa.ColumnElement[Any]:
            return sa.func.json_extract(item.c.value, f"$.{key}")
    return sa.select(
        task_runs.c.tenant_id, task_runs.c.namespace, task_runs.c.flow_id, task_runs.c.task_id,
        task_runs.c.execution_id, task_runs.c.id.label("task_run_id"), sa.cast(text("type"), sa.String).label("type"),
        sa.cast(text("name"), sa.String).label("name"), sa.cast(text("value"), sa.Float).label("value"),
        sa.func.coalesce(task_runs.c.end_date, task_runs.c.start_date).label("date"),
    ).select_from(task_runs).join(item, sa.true()).where(task_runs.c.metrics.is_not(None)).subquery("metrics")


def _fields(connection: Connection, source: str) -> tuple[Any, dict[str, Any], list[sa.ColumnElement[bool]]]:
    """The source's relation, its fields as SQL expressions, and the conditions every query adds."""
    if source == "Executions":
        t = executions.c
        return executions, {"ID": t.id, "NAMESPACE": t.namespace, "FLOW_ID": t.flow_id,
                            "FLOW_REVISION": t.flow_revision, "STATE": t.state,
                            "DURATION": _seconds(connection, t.start_date, t.end_date),
                            "START_DATE": t.start_date, "END_DATE": t.end_date}, [t.deleted.is_(False)]
    if source == "Logs":
        t = logs.c
        return logs, {"NAMESPACE": t.namespace, "FLOW_ID": t.flow_id, "TASK_ID": t.task_id,
                      "EXECUTION_ID": t.execution_id, "TASK_RUN_ID": t.task_run_id, "DATE": t.timestamp,
                      "TRIGGER_ID": t.trigger_id, "LEVEL": t.level, "MESSAGE": t.message}, []
    metrics = _metrics(connection)
    m = metrics.c
    return metrics, {"NAMESPACE": m.namespace, "FLOW_ID": m.flow_id, "TASK_ID": m.task_id,
                     "EXECUTION_ID": m.execution_id, "TASK_RUN_ID": m.task_run_id, "TYPE": m.type, "NAME": m.name,
                     "VALUE": m.value, "DATE": m.date}, []


def _bin(connection: Connection, column: Any, interval: str) -> sa.ColumnElement[Any]:
    if connection.dialect.name == "postgresql":
        return sa.func.to_char(sa.func.date_trunc(interval.lower(), sa.func.timezone("UTC", column)),
                               'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    pattern, *modifiers = _SQLITE_BINS[interval]
    return sa.func.strftime(pattern, column, *modifiers)


def _time(connection: Connection, moment: datetime) -> datetime:
    # SQLite compares the stored UTC text: bind a naive UTC time in the same format.
    return moment if connection.dialect.name == "postgresql" else as_utc(moment).replace(tzinfo=None)


def _value(connection: Connection, kind: str, raw: Any) -> Any:
    if kind == NUMBER:
        return float(raw)
    if kind == DATE:
        return _time(connection, datetime.fromisoformat(str(raw).replace("Z", "+00:00")))
    return str(raw)


def _condition(connection: Connection, source: str, fields: dict[str, Any], where: Where) -> sa.ColumnElement[bool]:
    if where.type == "OR":
        return sa.or_(*(_condition(connection, source, fields, child) for child in where.children))
    column, kind = fields[where.field], FIELDS[source][where.field]
    if where.type == "IS_NULL":
        return sa.and_(column.is_(None))
    if where.type == "IS_NOT_NULL":
        return sa.and_(column.is_not(None))
    if where.type in ("IN", "NOT_IN"):
        values = [_value(connection, kind, v) for v in where.values]
        return sa.and_(column.in_(values) if where.type == "IN" else column.not_in(values))
    value = _value(connection, kind, where.value)
    operations = {
        "EQUAL_TO": lambda: column == value, "NOT_EQUAL_TO": lambda: column != value,
        "GREATER_THAN": lambda: column > value, "GREATER_THAN_OR_EQUAL_TO": lambda: column >= value,
        "LESS_THAN": lambda: column < value, "LESS_THAN_OR_EQUAL_TO": lambda: column <= value,
        "CONTAINS": lambda: column.contains(value, autoescape=True),
        "STARTS_WITH": lambda: column.startswith(value, autoescape=True),
        "ENDS_WITH": lambda: column.endswith(value, autoescape=True),
    }
    return sa.and_(operations[where.type]())


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_instant(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def chart_data(connection: Connection, chart: Chart, *, start: datetime, end: datetime,
               filters: tuple[Where, ...] = (), offset: int = 0, limit: int = MAX_ROWS,
               tenant_id: str = DEFAULT_TENANT) -> tuple[list[dict[str, Any]], int]:
    """The chart's rows between ``start`` and ``end`` (on the source's date), with ``filters`` ANDed to the
    chart's own ``where``: a page of them and how many there are."""
    assert chart.source is not None
    source = chart.source
    relation, fields, conditions = _fields(connection, source)
    span = end - start
    selected: dict[str, sa.ColumnElement[Any]] = {}
    groups: list[sa.ColumnElement[Any]] = []
    for column in chart.columns:
        selected[column.alias] = _expression(connection, chart, column, fields, span)
        if column.agg is None:
            groups.append(selected[column.alias])
    time = fields[TIME_FIELD[source]]
    where = [relation.c.tenant_id == tenant_id, *conditions, time >= _time(connection, start),
             time <= _time(connection, end)]
    where += [_condition(connection, source, fields, w) for w in (*chart.where, *filters)]
    # Labels of our own: an alias may be any text, of any length (PostgreSQL's identifiers stop at 63 bytes).
    by_alias = {alias: expression.label(f"c{index}") for index, (alias, expression) in enumerate(selected.items())}
    query = sa.select(*by_alias.values()).select_from(relation).where(*where)
    if chart.aggregated and groups:
        query = query.group_by(*groups)
    total = connection.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    order = list(chart.order_by) or ([(chart.time_column, False)] if chart.time_column else [])
    clauses = [by_alias[alias].desc() if descending else by_alias[alias].asc() for alias, descending in order]
    clauses += [label.asc() for alias, label in by_alias.items() if alias not in dict(order)]
    rows = connection.execute(query.order_by(*clauses).offset(offset).limit(min(limit, MAX_ROWS))).all()
    return [{alias: _plain(value) for alias, value in zip(selected, row, strict=True)} for row in rows], int(total)


def _expression(connection: Connection, chart: Chart, column: Column, fields: dict[str, Any],
                span: timedelta) -> sa.ColumnElement[Any]:
    assert chart.source is not None
    field = fields[column.field] if column.field else None
    if column.agg == "COUNT":
        return sa.func.count() if field is None else sa.func.count(field)
    if column.agg is not None:
        aggregate: sa.ColumnElement[Any] = getattr(sa.func, column.agg.lower())(field)
        return aggregate
    interval = column.interval or (auto_interval(span) if column.alias == chart.time_column else None)
    if interval is not None:
        return _bin(connection, field, interval)
    assert field is not None
    plain: sa.ColumnElement[Any] = field
    return plain
