"""Log lines in the database: the one place they are written and read.

Three writers share this module: the executor (its notes, inside its transaction:
:func:`append_logs`), a worker's log flusher while attempts run (:func:`write_lines`, one
short statement per batch), and a worker's release of finished attempts (the lines that
remain, in the same statement as the results: :data:`INSERT_FROM_JSON` on PostgreSQL,
:func:`append_logs` on SQLite).  Every line carries its attempt number, so lines written
by an attempt whose worker died are told apart from the resubmitted attempt's.

Lines are read in id order.  On PostgreSQL, ids are taken when a row is inserted and
become visible when it commits, so two writers may make a lower id visible after a
higher one: a reader following new lines keeps the ids it has seen (:attr:`LogEntry.id`)
rather than a count.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.durations import parse_duration
from lanner.log_level import LEVEL_NAMES
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import sql_filters
from lanner.store.database import write_connection
from lanner.store.tables import logs
from lanner.timestamps import as_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine



@dataclass(frozen=True)
class LogEntry:
    tenant_id: str
    namespace: str
    flow_id: str
    execution_id: str | None
    task_run_id: str | None
    task_id: str | None
    attempt: int | None
    level: str
    message: str
    timestamp: datetime
    trigger_id: str | None = None
    id: int | None = field(default=None, compare=False)  # the row's id once stored (None before)


_INSERT_LOGS = sa.insert(logs)
_COLUMNS = ("tenant_id", "namespace", "flow_id", "execution_id", "task_run_id", "task_id", "trigger_id", "attempt",
            "level", "message", "timestamp")
# PostgreSQL: the rows of the JSON array bound as :logs, in one statement (a CTE of the release, or alone).
INSERT_FROM_JSON = f"""
    INSERT INTO {logs.name} ({', '.join(_COLUMNS)})
    SELECT {', '.join(_COLUMNS)}
    FROM jsonb_to_recordset(CAST(:logs AS jsonb)) AS l(tenant_id varchar, namespace varchar, flow_id varchar,
        execution_id varchar, task_run_id varchar, task_id varchar, trigger_id varchar, attempt int, level varchar,
        message text, timestamp timestamptz)"""
_INSERT_FROM_JSON = sa.text(INSERT_FROM_JSON)


def append_logs(connection: Connection, entries: Sequence[LogEntry]) -> None:
    """Insert ``entries`` in the caller's transaction (one ``executemany``)."""
    if entries:
        connection.execute(_INSERT_LOGS, [_row(entry) for entry in entries])


def json_rows(entries: Sequence[LogEntry]) -> str:
    """``entries`` as the JSON array :data:`INSERT_FROM_JSON` reads."""
    return json.dumps([{"tenant_id": e.tenant_id, "namespace": e.namespace, "flow_id": e.flow_id,
                        "execution_id": e.execution_id, "task_run_id": e.task_run_id, "task_id": e.task_id,
                        "trigger_id": e.trigger_id, "attempt": e.attempt, "level": e.level, "message": e.message,
                        "timestamp": _utc(e.timestamp).isoformat()} for e in entries],
                      separators=(",", ":"), ensure_ascii=False)


def write_lines(engine: Engine, entries: Sequence[LogEntry]) -> None:
    """Insert ``entries`` now, on their own: one autocommit statement on PostgreSQL, one short
    write transaction on SQLite (the write lock is held for this insert only)."""
    if not entries:
        return
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(_INSERT_FROM_JSON, {"logs": json_rows(entries)})
        return
    with write_connection(engine) as connection, connection.begin():
        append_logs(connection, entries)


def list_logs(connection: Connection, execution_id: str, *, task_run_id: str | None = None,
              min_level: str | None = None, task_id: str | None = None, attempt: int | None = None,
              tenant_id: str = DEFAULT_TENANT, after_id: int | None = None, limit: int | None = None,
              offset: int = 0) -> list[LogEntry]:
    """An execution's log lines in the order they were written; ``min_level`` and more severe;
    ``after_id``: only lines of a greater id (mind the module's note on commit order);
    ``limit`` lines at most, past the first ``offset``."""
    query = sa.select(logs).where(logs.c.tenant_id == tenant_id, logs.c.execution_id == execution_id)
    if after_id is not None:
        query = query.where(logs.c.id > after_id)
    if task_run_id is not None:
        query = query.where(logs.c.task_run_id == task_run_id)
    if task_id is not None:
        query = query.where(logs.c.task_id == task_id)
    if attempt is not None:
        query = query.where(logs.c.attempt == attempt)
    if min_level is not None:
        query = query.where(logs.c.level.in_(levels_from(min_level)))
    return [_entry(row) for row in connection.execute(query.order_by(logs.c.id).limit(limit).offset(offset or None))]


def levels_from(min_level: str) -> tuple[str, ...]:
    """``min_level`` and the more severe levels; ValueError naming the level when it is none of Kestra's."""
    level = min_level.upper()
    if level not in LEVEL_NAMES:
        raise ValueError(f"unknown log level {min_level!r}: expected one of {', '.join(LEVEL_NAMES)}")
    return LEVEL_NAMES[LEVEL_NAMES.index(level):]


# --- searches and deletions (the API's /logs routes) -------------------------------------------

SYSTEM_NAMESPACE = "system"  # Kestra's system flows' namespace: what scope=SYSTEM selects
# The columns a search sorts by, under Kestra's names.
SORTS = {"timestamp": logs.c.timestamp, "level": logs.c.level, "namespace": logs.c.namespace,
         "flowId": logs.c.flow_id, "taskId": logs.c.task_id, "executionId": logs.c.execution_id}


def _level(leaf: sql_filters.Leaf) -> sql_filters.Condition:
    wanted = logs.c.level.in_(levels_from(str(leaf.value)))
    return wanted if str(leaf.op) == "EQUALS" else ~wanted


def _scope(leaf: sql_filters.Leaf) -> sql_filters.Condition:
    values = {v.upper() for v in leaf.values()}
    unknown = values - {"USER", "SYSTEM"}
    if unknown:
        raise ValueError(f"filters[scope]: {', '.join(sorted(unknown))} is not a scope; use USER or SYSTEM")
    system = logs.c.namespace == SYSTEM_NAMESPACE
    chosen = system if values == {"SYSTEM"} else ~system if values == {"USER"} else sa.true()
    return chosen if str(leaf.op) == "EQUALS" else ~chosen


def _time_range(now: datetime) -> sql_filters.Handler:
    def handle(leaf: sql_filters.Leaf) -> sql_filters.Condition:
        try:
            span = parse_duration(str(leaf.value))
        except (ValueError, TypeError):
            raise ValueError(f"filters[timeRange]: {str(leaf.value)[:100]!r} is not a duration; use ISO 8601, "
                             "e.g. PT24H or P7D") from None
        return logs.c.timestamp >= as_utc(now) - span
    return handle


def _q(leaf: sql_filters.Leaf) -> sql_filters.Condition:
    """``q``: the message holds the text, ignoring case (NOT_EQUALS: it does not)."""
    holds = sa.func.lower(logs.c.message).contains(str(leaf.value).lower(), autoescape=True)
    return holds if str(leaf.op) == "EQUALS" else ~holds


def _handlers(now: datetime) -> dict[str, sql_filters.Handler]:
    return {"q": _q, "scope": _scope,
            "namespace": sql_filters.text(logs.c.namespace), "flowId": sql_filters.text(logs.c.flow_id),
            "triggerId": sql_filters.text(logs.c.trigger_id), "executionId": sql_filters.text(logs.c.execution_id),
            "level": _level, "startDate": sql_filters.moment(logs.c.timestamp),
            "endDate": sql_filters.moment(logs.c.timestamp), "timeRange": _time_range(now)}


def search_logs(connection: Connection, filters: sql_filters.Tree, *, tenant_id: str = DEFAULT_TENANT,
                sort: Sequence[tuple[str, bool]] = (("timestamp", True),), limit: int = 10, offset: int = 0,
                now: datetime | None = None) -> tuple[list[LogEntry], int]:
    """A page of the tenant's lines matching ``filters`` (``sort``: (field of :data:`SORTS`, descending)
    pairs) and how many match; ValueError naming a filter whose value cannot be read."""
    where = sa.and_(logs.c.tenant_id == tenant_id,
                    sql_filters.condition(filters, _handlers(now or datetime.now(UTC))))
    order = [SORTS[name].desc() if descending else SORTS[name].asc() for name, descending in sort]
    order.append(logs.c.id.desc() if (sort and sort[0][1]) else logs.c.id.asc())
    found = sql_filters.guarded(lambda: [_entry(row) for row in connection.execute(
        sa.select(logs).where(where).order_by(*order).limit(limit).offset(offset or None))])
    total = connection.execute(sa.select(sa.func.count()).select_from(logs).where(where)).scalar_one()
    return found, int(total)


def delete_logs(connection: Connection, execution_id: str, *, task_run_id: str | None = None,
                task_id: str | None = None, attempt: int | None = None, min_level: str | None = None,
                tenant_id: str = DEFAULT_TENANT) -> int:
    """Delete an execution's lines (those of a task run, a task, an attempt, ``min_level`` and more severe);
    how many were deleted.  In the caller's transaction."""
    where = [logs.c.tenant_id == tenant_id, logs.c.execution_id == execution_id]
    if task_run_id is not None:
        where.append(logs.c.task_run_id == task_run_id)
    if task_id is not None:
        where.append(logs.c.task_id == task_id)
    if attempt is not None:
        where.append(logs.c.attempt == attempt)
    if min_level is not None:
        where.append(logs.c.level.in_(levels_from(min_level)))
    return int(connection.execute(sa.delete(logs).where(*where)).rowcount or 0)


def delete_flow_logs(connection: Connection, namespace: str, flow_id: str, *, trigger_id: str | None = None,
                     tenant_id: str = DEFAULT_TENANT) -> int:
    """Delete a flow's lines (only its trigger's when ``trigger_id``); how many.  In the caller's transaction."""
    where = [logs.c.tenant_id == tenant_id, logs.c.namespace == namespace, logs.c.flow_id == flow_id]
    if trigger_id is not None:
        where.append(logs.c.trigger_id == trigger_id)
    return int(connection.execute(sa.delete(logs).where(*where)).rowcount or 0)


def _entry(row: Any) -> LogEntry:
    return LogEntry(row.tenant_id, row.namespace, row.flow_id, row.execution_id, row.task_run_id, row.task_id,
                    row.attempt, row.level, row.message, as_utc(row.timestamp), row.trigger_id, row.id)


def _row(entry: LogEntry) -> dict[str, Any]:
    return {"tenant_id": entry.tenant_id, "namespace": entry.namespace, "flow_id": entry.flow_id,
            "execution_id": entry.execution_id, "task_run_id": entry.task_run_id, "task_id": entry.task_id,
            "trigger_id": entry.trigger_id, "attempt": entry.attempt, "level": entry.level,
            "message": entry.message, "timestamp": _utc(entry.timestamp)}


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment}: log timestamps are timezone-aware")
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


