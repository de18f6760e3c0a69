"""The figures ``/metrics`` reports, read from the database in a handful of cheap queries.

They are cluster-wide: every webserver reads the same tables, so whichever one
Prometheus scrapes reports the whole cluster, not its own process.  One scrape is six
statements on one connection (seven on PostgreSQL, which asks its own clock): service
instances (a few rows), the resubmission counter, queue depth, task runs and executions
by state (``GROUP BY`` over indexed columns), and the duration distribution of the
executions that ended in the last hour, bucketed by the database (``SUM(CASE ...)``)
rather than fetched row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.store import settings_repository
from lanner.store.service_instances import database_now
from lanner.store.tables import executions, queue_messages, queue_set_aside, service_instances, task_runs
from lanner.timestamps import as_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

DURATION_WINDOW = timedelta(hours=1)
# Upper bounds in seconds: from a Log task to a nightly batch.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0,
                    12 * 3600.0)


@dataclass(frozen=True)
class InstanceRow:
    id: str
    service_type: str
    state: str
    heartbeat_age: float  # seconds since its last heartbeat, by the database's clock


@dataclass(frozen=True)
class Durations:
    """Executions that ended in the window: their count, total and cumulative bucket counts."""

    count: int = 0
    total: float = 0.0
    buckets: tuple[tuple[float, int], ...] = ()


@dataclass(frozen=True)
class Figures:
    instances: list[InstanceRow] = field(default_factory=list)
    resubmissions: int = 0
    queue_depth: dict[str, int] = field(default_factory=dict)
    set_aside: int = 0
    task_runs: dict[str, int] = field(default_factory=dict)
    executions: dict[str, int] = field(default_factory=dict)
    durations: Durations = Durations()


def read(connection: Connection, *, resubmissions_key: str, buckets: Sequence[float] = DURATION_BUCKETS,
         window: timedelta = DURATION_WINDOW) -> Figures:
    """Every figure; ``resubmissions_key`` is the counter's key in ``instance_settings`` (the coordinator's)."""
    now = database_now(connection)
    return Figures(instances=instance_rows(connection, now), resubmissions=counter(connection, resubmissions_key),
                   queue_depth=_counts(connection, queue_messages.c.topic),
                   set_aside=connection.execute(sa.select(sa.func.count()).select_from(queue_set_aside)).scalar_one(),
                   task_runs=_counts(connection, task_runs.c.state),
                   executions=_counts(connection, executions.c.state, ~executions.c.deleted),
                   durations=durations(connection, since=now - window, buckets=buckets))


def instance_rows(connection: Connection, now: datetime) -> list[InstanceRow]:
    _s = service_instances
    rows = connection.execute(sa.select(_s.c.id, _s.c.service_type, _s.c.state, _s.c.heartbeat_at))
    return [InstanceRow(row.id, row.service_type, row.state, max(0.0, (now - as_utc(row.heartbeat_at)).total_seconds()))
            for row in rows]


def counter(connection: Connection, key: str) -> int:
    value = settings_repository.get(connection, key, 0)
    return int(value) if isinstance(value, int | float) else 0


def durations(connection: Connection, *, since: datetime, buckets: Sequence[float]) -> Durations:
    _e = executions
    seconds = _seconds_between(connection, _e.c.start_date, _e.c.end_date)
    columns: list[sa.ColumnElement[Any]] = [sa.func.count(), sa.func.coalesce(sa.func.sum(seconds), 0.0)]
    columns += [sa.func.coalesce(sa.func.sum(sa.case((seconds <= bound, 1), else_=0)), 0) for bound in buckets]
    row = connection.execute(sa.select(*columns).where(
        _e.c.end_date.is_not(None), _e.c.start_date.is_not(None), _e.c.end_date >= _bind_time(connection, since),
        ~_e.c.deleted)).one()
    return Durations(count=int(row[0]), total=float(row[1]),
                     buckets=tuple((bound, int(count)) for bound, count in zip(buckets, row[2:], strict=True)))


def _counts(connection: Connection, column: sa.Column[Any], *where: sa.ColumnElement[bool]) -> dict[str, int]:
    query = sa.select(column, sa.func.count()).where(*where).group_by(column)
    return {str(key): int(count) for key, count in connection.execute(query)}


def _seconds_between(connection: Connection, start: sa.Column[Any], end: sa.Column[Any]) -> sa.ColumnElement[Any]:
    if connection.dialect.name == "postgresql":
        return sa.func.extract("epoch", end - start)
    # SQLite stores UTC wall times as text; julianday() reads them to the microsecond.
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def _bind_time(connection: Connection, moment: datetime) -> datetime:
    # SQLite compares the stored UTC text: bind a naive UTC time in the same format.
    return moment if connection.dialect.name == "postgresql" else as_utc(moment).replace(tzinfo=None)
