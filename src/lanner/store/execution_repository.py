"""Executions, their task runs, and the jobs workers hold, in the database (log lines: ``log_lines``).

An execution is one small row of ``executions`` plus one row of ``task_runs`` per task
run, so that a ForEach of thousands of iterations updates a few small rows per step
instead of rewriting one large document.  ``task_runs.ordinal`` is the task run's
position in ``Execution.task_runs``: task runs come back in the order they were created,
which timestamps cannot give (a transaction writes many rows at one instant).

Saving is a diff: :func:`save_execution` gets the execution as it was read and as it
is now, and writes the execution row plus only the task runs that are new, changed or
gone, each kind with one ``executemany``.  The executor builds new values with
``dataclasses.replace``, so an untouched task run is the very same object in both:
comparing thousands of them costs an identity check each.

JSON columns use Kestra's camelCase shapes, so exported rows read like Kestra's:

* state histories: ``[{"state": "RUNNING", "date": "2024-05-01T10:00:00.000000Z", "cause": "started"}, ...]``
  (``cause`` only where one was recorded: older entries have none, and load as such)
* attempts: ``[{"state": {"histories": [...]}, "workerId": "w1", "message": "..."}]``
  (``workerId`` and ``message`` left out when unset, as Kestra does)
* labels: ``[{"key": "team", "value": "data"}]``; metrics: the list of dicts as given.

Empty mappings and lists are stored as SQL NULL and read back empty.  Dates are stored
in UTC (SQLite keeps no offset) and read back as timezone-aware UTC datetimes.

Batch inserts use ``executemany``: psycopg 3 pipelines it into one round trip and SQLite
reuses one prepared statement; measured on 2,000 log rows, a multi-row ``VALUES``
statement was 3x (PostgreSQL) to 10x (SQLite) slower, as it is compiled for every size.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from itertools import compress
from operator import is_not
from typing import TYPE_CHECKING, Any, overload

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lanner.model import run_index
from lanner.model.execution import Attempt, Execution, TaskRun
from lanner.model.state import State, StateHistory, Transition
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import bulk

# Log lines have a module of their own; these names stay importable from here.
from lanner.store.log_lines import LogEntry, append_logs, list_logs  # noqa: F401
from lanner.store.tables import executions, task_runs, worker_jobs_running
from lanner.timestamps import as_utc, sortable_instant

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Row


# --- statements (built once; SQLAlchemy caches their compiled form) --------------------

_e, _t = executions, task_runs
_EXECUTION_COLUMNS = (_e.c.tenant_id, _e.c.id, _e.c.namespace, _e.c.flow_id, _e.c.flow_revision, _e.c.state_history,
                      _e.c.inputs, _e.c.outputs, _e.c.labels, _e.c.trigger, _e.c.variables, _e.c.parent_id,
                      _e.c.original_id)
EXECUTION_COLUMNS = _EXECUTION_COLUMNS  # for lanner.store.execution_search
_EXECUTION_KEY = (_e.c.tenant_id == sa.bindparam("tenant_id"), _e.c.id == sa.bindparam("id"))
_GET_EXECUTION = sa.select(*_EXECUTION_COLUMNS).where(*_EXECUTION_KEY, ~_e.c.deleted)
_LOCK_EXECUTION = _GET_EXECUTION.with_for_update()  # SQLite renders no FOR UPDATE: its caller holds the write lock
_GET_TASK_RUNS = (
    sa.select(_t.c.id, _t.c.task_id, _t.c.parent_task_run_id, _t.c.value, _t.c.iteration, _t.c.state_history,
              _t.c.attempts, _t.c.outputs, _t.c.metrics)
    .where(_t.c.tenant_id == sa.bindparam("tenant_id"), _t.c.execution_id == sa.bindparam("id"))
    .order_by(_t.c.ordinal, _t.c.created_at, _t.c.id)
)
_INSERT_EXECUTION = sa.insert(_e)
# Keys are bound as key_*: SQLAlchemy reserves parameters named after columns for SET.
_UPDATE_EXECUTION = (
    sa.update(_e)
    .where(_e.c.tenant_id == sa.bindparam("key_tenant_id"), _e.c.id == sa.bindparam("key_id"))
    .values(version=_e.c.version + 1)
)
BUMP_VERSION = "version = t.version + 1"  # the same, for lanner.store.bulk on PostgreSQL
_INSERT_TASK_RUNS = sa.insert(_t)
_UPDATE_TASK_RUNS = sa.update(_t).where(_t.c.tenant_id == sa.bindparam("key_tenant_id"),
                                        _t.c.id == sa.bindparam("key_id"))
_DELETE_TASK_RUNS = sa.delete(_t).where(_t.c.tenant_id == sa.bindparam("key_tenant_id"),
                                        _t.c.id == sa.bindparam("key_id"))
_j = worker_jobs_running
_JOB_KEY = (_j.c.tenant_id == sa.bindparam("tenant_id"), _j.c.task_run_id == sa.bindparam("task_run_id"),
            _j.c.attempt == sa.bindparam("attempt"))
_FORGET_JOB = sa.delete(_j).where(*_JOB_KEY)

# Fields of Execution stored in its own row (task runs have theirs).
_EXECUTION_FIELDS = ("namespace", "flow_id", "flow_revision", "state", "inputs", "labels", "trigger", "outputs",
                     "parent_id", "original_id", "variables")
_NULL = sa.null()  # a parameter value the JSON type binds as SQL NULL (None would be JSON 'null')


# --- executions -------------------------------------------------------------------------

def insert_execution(connection: Connection, execution: Execution) -> None:
    """Store a new execution and its task runs."""
    now = _utcnow()
    connection.execute(_INSERT_EXECUTION, {**_execution_row(execution, now),
                                           "created_at": _utc(execution.state.start_date)})
    if execution.task_runs:
        connection.execute(_INSERT_TASK_RUNS, [
            _new_task_run_row(execution, run, index, now) for index, run in enumerate(execution.task_runs)])


def insert_executions(connection: Connection, many: Sequence[Execution]) -> None:
    """Store new executions (without task runs yet) with one statement."""
    if not many:
        return
    now = _utcnow()
    bulk.insert(connection, executions, [{**_execution_row(execution, now),
                                          "created_at": _utc(execution.state.start_date)} for execution in many])
    runs = [_new_task_run_row(e, run, index, now) for e in many for index, run in enumerate(e.task_runs)]
    if runs:
        connection.execute(_INSERT_TASK_RUNS, runs)


def get_execution(connection: Connection, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> Execution | None:
    """The execution with its task runs, without locking it."""
    return _read(connection, _GET_EXECUTION, execution_id, tenant_id)


def execution_state(connection: Connection, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> State | None:
    """Only the execution's current state (cheap: no task runs are read)."""
    query = sa.select(executions.c.state).where(executions.c.tenant_id == tenant_id, executions.c.id == execution_id)
    state = connection.execute(query).scalar()
    return None if state is None else State(state)


def lock_execution(connection: Connection, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> Execution | None:
    """The execution with its task runs, its row locked until the caller's transaction ends.

    On PostgreSQL this serialises executors working on one execution (``FOR UPDATE``);
    on SQLite the caller's write transaction already does.
    """
    return _read(connection, _LOCK_EXECUTION, execution_id, tenant_id)


def save_execution(connection: Connection, before: Execution | None, after: Execution) -> None:
    """Write what changed between ``before`` (as read, None if new) and ``after``.

    The execution row's ``version`` goes up by one whenever anything changed.
    """
    if before is None:
        insert_execution(connection, after)
        return
    if (before.tenant_id, before.id) != (after.tenant_id, after.id):
        raise ValueError(f"cannot save execution {after.id} over execution {before.id}")
    now = _utcnow()
    inserts, updates, deletes = _task_run_changes(before, after, now)
    row_changed = any(_differs(getattr(before, name), getattr(after, name)) for name in _EXECUTION_FIELDS)
    if not (row_changed or inserts or updates or deletes):
        return
    key = {"key_tenant_id": after.tenant_id, "key_id": after.id}
    values = _execution_row(after, now) if row_changed else {"updated_at": now}
    values.pop("tenant_id", None)  # the key goes in the WHERE clause, not in SET
    values.pop("id", None)
    bulk.update(connection, _UPDATE_EXECUTION, _e, [{**values, **key}], also=BUMP_VERSION)
    bulk.delete(connection, _DELETE_TASK_RUNS, _t, deletes)
    bulk.update(connection, _UPDATE_TASK_RUNS, _t, updates)
    if inserts:
        connection.execute(_INSERT_TASK_RUNS, inserts)


def delete_execution(connection: Connection, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> bool:
    """Mark an execution deleted (it disappears from reads and searches); False when there was none."""
    done = connection.execute(sa.update(_e).where(_e.c.tenant_id == tenant_id, _e.c.id == execution_id, ~_e.c.deleted)
                              .values(deleted=True, updated_at=_utcnow(), version=_e.c.version + 1))
    return done.rowcount == 1


def list_executions(connection: Connection, *, namespace: str | None = None, flow_id: str | None = None,
                    states: Collection[str] | None = None, limit: int = 100, offset: int = 0,
                    tenant_id: str = DEFAULT_TENANT, since: datetime | None = None, until: datetime | None = None,
                    labels: dict[str, str] | None = None, oldest_first: bool = False) -> list[Execution]:
    """Executions, newest first (or oldest), without their task runs (``task_runs`` is empty)."""
    query = _filtered(connection, sa.select(*_EXECUTION_COLUMNS), namespace=namespace, flow_id=flow_id,
                      states=states, tenant_id=tenant_id, since=since, until=until, labels=labels)
    order = (_e.c.created_at.asc(), _e.c.id.asc()) if oldest_first else (_e.c.created_at.desc(), _e.c.id.desc())
    query = query.order_by(*order).limit(limit).offset(offset)
    return [_execution(row, ()) for row in connection.execute(query)]


def count_executions(connection: Connection, **filters: Any) -> int:
    """How many executions :func:`list_executions` would list with these filters, all pages together."""
    count: int = connection.execute(
        _filtered(connection, sa.select(sa.func.count()).select_from(_e), **filters)).scalar_one()
    return count


def _filtered(connection: Connection, query: sa.Select[Any], *, namespace: str | None = None,
              flow_id: str | None = None, states: Collection[str] | None = None, tenant_id: str = DEFAULT_TENANT,
              since: datetime | None = None, until: datetime | None = None,
              labels: dict[str, str] | None = None) -> sa.Select[Any]:
    query = query.where(_e.c.tenant_id == tenant_id, ~_e.c.deleted)
    if namespace is not None:
        query = query.where(_e.c.namespace == namespace)
    if flow_id is not None:
        query = query.where(_e.c.flow_id == flow_id)
    if states:
        query = query.where(_e.c.state.in_([str(state) for state in states]))
    if since is not None:
        query = query.where(_e.c.created_at >= _utc(since))
    if until is not None:
        query = query.where(_e.c.created_at <= _utc(until))
    for key, value in (labels or {}).items():
        query = query.where(_has_label(connection, key, value))
    return query


def _has_label(connection: Connection, key: str, value: str) -> sa.ColumnElement[bool]:
    label = [{"key": key, "value": value}]
    if connection.dialect.name == "postgresql":
        return _e.c.labels.op("@>")(sa.cast(sa.literal(json.dumps(label)), _e.c.labels.type))
    each = sa.func.json_each(_e.c.labels).table_valued("value").alias("label")
    return sa.exists(sa.select(1).select_from(each).where(
        sa.func.json_extract(each.c.value, "$.key") == key, sa.func.json_extract(each.c.value, "$.value") == value))


def _read(connection: Connection, query: sa.Select[Any], execution_id: str, tenant_id: str) -> Execution | None:
    key = {"tenant_id": tenant_id, "id": execution_id}
    row = connection.execute(query, key).first()
    if row is None:
        return None
    return _execution(row, tuple(_task_run(run) for run in connection.execute(_GET_TASK_RUNS, key)))


def _task_run_changes(before: Execution, after: Execution, now: datetime) -> tuple[list[Any], list[Any], list[Any]]:
    """Rows to insert, update and delete; O(changed) comparisons in the usual append-only case."""
    old_runs, inserts, updates = before.task_runs, [], []
    old_positions: dict[str, int] | None = None  # built only once a task run is not where it was
    new_runs = after.task_runs
    if len(new_runs) >= len(old_runs):
        # The usual case, a decision's: task runs replaced in place, new ones appended.  Only those
        # not identical to before are looked at: the decision's index names them, else a C-level
        # pass over the references finds them.
        moved = run_index.replaced(old_runs, new_runs)
        if moved is None:
            moved = list(compress(range(len(old_runs)), map(is_not, old_runs, new_runs)))
        if all(old_runs[i].id == new_runs[i].id for i in moved):
            updates = [_task_run_update(after, new_runs[i], i, now) for i in moved if old_runs[i] != new_runs[i]]
            inserts = [_new_task_run_row(after, new_runs[i], i, now) for i in range(len(old_runs), len(new_runs))]
            return inserts, updates, []
    for index, run in enumerate(after.task_runs):
        if index < len(old_runs) and old_runs[index].id == run.id:
            if _differs(old_runs[index], run):
                updates.append(_task_run_update(after, run, index, now))
            continue
        if old_positions is None and index >= len(old_runs):
            # Every old task run is where it was, so this one is new (the usual append).
            inserts.append(_new_task_run_row(after, run, index, now))
            continue
        if old_positions is None:
            old_positions = {old.id: position for position, old in enumerate(old_runs)}
        if run.id in old_positions:  # moved: its ordinal changes
            updates.append(_task_run_update(after, run, index, now))
        else:
            inserts.append(_new_task_run_row(after, run, index, now))
    deletes = []
    if old_positions is not None or len(after.task_runs) < len(old_runs):
        kept = {run.id for run in after.task_runs}
        deletes = [{"key_tenant_id": after.tenant_id, "key_id": old.id} for old in old_runs if old.id not in kept]
    return inserts, updates, deletes


def _differs(old: Any, new: Any) -> bool:
    return old is not new and old != new


def _execution_row(execution: Execution, now: datetime) -> dict[str, Any]:
    state = execution.state
    return {
        "tenant_id": execution.tenant_id, "id": execution.id, "namespace": execution.namespace,
        "flow_id": execution.flow_id, "flow_revision": execution.flow_revision, "state": state.current.value,
        "state_history": _history_json(state), "inputs": _json_or_null(execution.inputs),
        "outputs": _json_or_null(execution.outputs),
        "labels": [{"key": key, "value": value} for key, value in execution.labels.items()],
        "trigger": _NULL if execution.trigger is None else execution.trigger,
        "variables": _json_or_null(execution.variables), "parent_id": execution.parent_id,
        "original_id": execution.original_id, "start_date": _utc(state.start_date),
        "end_date": _utc(state.end_date), "updated_at": now,
    }


def _execution(row: Row[*tuple[Any, ...]], runs: tuple[TaskRun, ...]) -> Execution:
    return Execution(
        id=row.id, namespace=row.namespace, flow_id=row.flow_id, flow_revision=row.flow_revision,
        state=_history(row.state_history), tenant_id=row.tenant_id, inputs=row.inputs or {},
        labels={label["key"]: label["value"] for label in row.labels or ()}, trigger=row.trigger,
        outputs=row.outputs or {}, task_runs=runs, parent_id=row.parent_id, original_id=row.original_id,
        variables=row.variables or {},
    )


execution_of_row = _execution  # for lanner.store.execution_search


def _task_run_values(run: TaskRun, index: int, now: datetime) -> dict[str, Any]:
    return {
        "task_id": run.task_id, "parent_task_run_id": run.parent_task_run_id, "value": run.value,
        "iteration": run.iteration, "state": run.state.current.value, "state_history": _history_json(run.state),
        "attempts": [_attempt_json(attempt) for attempt in run.attempts], "outputs": _json_or_null(run.outputs),
        "metrics": list(run.metrics) if run.metrics else _NULL, "start_date": _utc(run.state.start_date),
        "end_date": _utc(run.state.end_date), "ordinal": index, "updated_at": now,
    }


def _new_task_run_row(execution: Execution, run: TaskRun, index: int, now: datetime) -> dict[str, Any]:
    return {
        "tenant_id": execution.tenant_id, "id": run.id, "execution_id": execution.id,
        "namespace": execution.namespace, "flow_id": execution.flow_id, "created_at": _utc(run.state.start_date),
        **_task_run_values(run, index, now),
    }


def _task_run_update(execution: Execution, run: TaskRun, index: int, now: datetime) -> dict[str, Any]:
    return {"key_tenant_id": execution.tenant_id, "key_id": run.id, **_task_run_values(run, index, now)}


def _task_run(row: Row[*tuple[Any, ...]]) -> TaskRun:
    return TaskRun(
        id=row.id, task_id=row.task_id, state=_history(row.state_history),
        parent_task_run_id=row.parent_task_run_id, value=row.value, iteration=row.iteration,
        attempts=tuple(_attempt(item) for item in row.attempts or ()), outputs=row.outputs or {},
        metrics=tuple(row.metrics or ()),
    )


# --- JSON and dates ---------------------------------------------------------------------

def _history_json(history: StateHistory) -> list[dict[str, str]]:
    # _value_ (the member's plain attribute) rather than .value, whose descriptor costs a
    # Python call: this runs for every execution and task run written.
    return [{"state": t.state._value_, "date": sortable_instant(_utc(t.date))} if t.cause is None else
            {"state": t.state._value_, "date": sortable_instant(_utc(t.date)), "cause": str(t.cause)}
            for t in history.histories]


def _history(items: list[dict[str, str]]) -> StateHistory:
    return StateHistory(tuple(Transition(State(item["state"]), datetime.fromisoformat(item["date"]), item.get("cause"))
                              for item in items))


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    item: dict[str, Any] = {"state": {"histories": _history_json(attempt.state)}}
    if attempt.worker_id is not None:
        item["workerId"] = attempt.worker_id
    if attempt.message is not None:
        item["message"] = attempt.message
    return item


def _attempt(item: dict[str, Any]) -> Attempt:
    return Attempt(_history(item["state"]["histories"]), item.get("workerId"), item.get("message"))


def _json_or_null(value: Any) -> Any:
    return value if value else _NULL


@overload
def _utc(moment: datetime) -> datetime: ...
@overload
def _utc(moment: None) -> None: ...
def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment}: the model's dates are timezone-aware")
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# --- jobs held by workers ---------------------------------------------------------------

def record_running_job(connection: Connection, *, tenant_id: str, task_run_id: str, attempt: int,
                       execution_id: str, worker_id: str, payload: dict[str, Any]) -> None:
    """Note that ``worker_id`` holds this attempt; a job taken over by another worker moves to it."""
    record_running_jobs(connection, [{"tenant_id": tenant_id, "task_run_id": task_run_id, "attempt": attempt,
                                      "execution_id": execution_id, "worker_id": worker_id, "payload": payload}])


def record_running_jobs(connection: Connection, jobs: Sequence[dict[str, Any]]) -> None:
    """:func:`record_running_job` for many jobs, in one statement (keys as its arguments)."""
    if not jobs:
        return
    insert = postgresql_insert(_j) if connection.dialect.name == "postgresql" else sqlite_insert(_j)
    statement = insert.on_conflict_do_update(
        index_elements=[_j.c.tenant_id, _j.c.task_run_id, _j.c.attempt],
        set_={name: insert.excluded[name] for name in ("execution_id", "worker_id", "payload", "taken_at")},
    )
    now = _utcnow()
    connection.execute(statement, [{**job, "taken_at": now} for job in jobs])


def forget_running_job(connection: Connection, *, tenant_id: str, task_run_id: str, attempt: int) -> None:
    forget_running_jobs(connection, [{"tenant_id": tenant_id, "task_run_id": task_run_id, "attempt": attempt}])


def forget_running_jobs(connection: Connection, jobs: Sequence[dict[str, Any]]) -> None:
    """Forget many held jobs at once (each a mapping of tenant_id, task_run_id, attempt)."""
    bulk.delete(connection, _FORGET_JOB, _j, list(jobs))


def running_jobs(connection: Connection, *, worker_id: str | None = None, execution_id: str | None = None,
                 tenant_id: str = DEFAULT_TENANT) -> list[dict[str, Any]]:
    """Jobs held by workers, oldest first: what to resubmit when a worker dies, or to kill.

    ``worker_id``: that worker's jobs, whatever their tenant; ``execution_id``: that
    execution's jobs (in ``tenant_id``).  Both use an index.
    """
    query = sa.select(_j)
    if worker_id is not None:
        query = query.where(_j.c.worker_id == worker_id)
    if execution_id is not None:
        query = query.where(_j.c.tenant_id == tenant_id, _j.c.execution_id == execution_id)
    rows = connection.execute(query.order_by(_j.c.taken_at, _j.c.tenant_id, _j.c.task_run_id, _j.c.attempt))
    return [{**row._asdict(), "taken_at": as_utc(row.taken_at)} for row in rows]
