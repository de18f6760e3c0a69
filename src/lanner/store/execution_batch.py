"""Reading, locking and saving many executions at once: the executor's hot path.

An executor handles a batch of messages concerning many executions.  Doing it one
execution at a time costs a dozen round trips each; here a batch costs a fixed
handful: one locking read of the rows' versions (ordered by id, so two executors lock
in the same order), one read of the executions and task runs it does not already hold,
and one statement per kind of write (:mod:`lanner.store.bulk`).

:class:`ExecutionCache` keeps what an executor read or wrote, keyed by the row
``version`` that every write bumps: a large execution is then not re-read for each
result that concerns it, and a version that does not match means someone else wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import bulk
from lanner.store import execution_repository as repo
from lanner.store.tables import executions, task_runs

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from lanner.model.execution import Execution

Key = tuple[str, str]  # (tenant_id, execution_id)
_e, _t = executions, task_runs


def _among(connection: Connection, query: sa.Select[Any], table: sa.Table, column: sa.Column[Any], tenant_id: str,
           ids: Iterable[str]) -> sa.Select[Any]:
    """``query`` restricted to the rows of ``tenant_id`` whose ``column`` is one of ``ids``.

    PostgreSQL joins ``unnest`` of both key columns, so that no condition on the table
    alone is left for the planner to misjudge.  With ``tenant_id = ? AND id IN (...)``
    on a new or fast-growing table (no statistics yet, or stale ones), it guessed the
    tenant condition selective and read every row of the tenant for each batch:
    quadratic work as executions piled up.  Now it can only choose between a lookup
    per key and one scan, by the table's actual size.
    """
    ids = sorted(ids)
    if connection.dialect.name != "postgresql":
        return query.where(table.c.tenant_id == tenant_id, column.in_(ids))
    keys = sa.func.unnest(sa.bindparam("key_tenants", [tenant_id] * len(ids), type_=ARRAY(sa.String)),
                          sa.bindparam("key_ids", ids, type_=ARRAY(sa.String))
                          ).table_valued("tenant_id", "id").render_derived(name="keys")
    return query.join(keys, sa.and_(table.c.tenant_id == keys.c.tenant_id, column == keys.c.id))


def lock_versions(connection: Connection, keys: Iterable[Key]) -> dict[Key, int]:
    """Lock the rows of these executions (FOR UPDATE on PostgreSQL) and return their versions."""
    found: dict[Key, int] = {}
    for tenant_id, ids in _by_tenant(keys).items():
        query = (_among(connection, sa.select(_e.c.id, _e.c.version), _e, _e.c.id, tenant_id, ids)
                 .where(~_e.c.deleted)
                 .order_by(_e.c.id).with_for_update(of=_e))
        found.update({(tenant_id, row.id): row.version for row in connection.execute(query)})
    return found


def read_many(connection: Connection, keys: Iterable[Key]) -> dict[Key, Execution]:
    """These executions with their task runs, in two queries per tenant."""
    result: dict[Key, Execution] = {}
    for tenant_id, ids in _by_tenant(keys).items():
        rows = connection.execute(_among(connection, sa.select(*repo._EXECUTION_COLUMNS), _e, _e.c.id, tenant_id, ids))
        heads = {row.id: row for row in rows}
        runs: dict[str, list[Any]] = {execution_id: [] for execution_id in heads}
        query = (_among(connection, sa.select(_t.c.execution_id, *repo._GET_TASK_RUNS.selected_columns),
                        _t, _t.c.execution_id, tenant_id, heads)
                 .order_by(_t.c.execution_id, _t.c.ordinal, _t.c.created_at, _t.c.id))
        for row in connection.execute(query):
            runs[row.execution_id].append(repo._task_run(row))
        result.update({(tenant_id, i): repo._execution(head, tuple(runs[i])) for i, head in heads.items()})
    return result


def save_many(connection: Connection, pairs: Sequence[tuple[Execution, Execution]]) -> None:
    """Write what changed in each (before, after) pair: one executemany per kind of statement."""
    now = repo._utcnow()
    rows: list[dict[str, Any]] = []
    touched: list[dict[str, Any]] = []  # only their task runs changed: the row gets a new version, nothing else
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    deletes: list[dict[str, Any]] = []
    for before, after in pairs:
        new, changed, removed = repo._task_run_changes(before, after, now)
        row_changed = any(repo._differs(getattr(before, n), getattr(after, n)) for n in repo._EXECUTION_FIELDS)
        if not (row_changed or new or changed or removed):
            continue
        key = {"key_tenant_id": after.tenant_id, "key_id": after.id}
        if row_changed:
            values = repo._execution_row(after, now)
            values.pop("tenant_id", None)
            values.pop("id", None)
            rows.append({**values, **key})
        else:
            touched.append({"updated_at": now, **key})
        inserts += new
        updates += changed
        deletes += removed
    for group in (rows, touched):
        bulk.update(connection, repo._UPDATE_EXECUTION, _e, group, also=repo.BUMP_VERSION)
    bulk.delete(connection, repo._DELETE_TASK_RUNS, _t, deletes)
    bulk.update(connection, repo._UPDATE_TASK_RUNS, _t, updates)
    if inserts:
        connection.execute(repo._INSERT_TASK_RUNS, inserts)


class ExecutionCache:
    """Executions an executor read or wrote, by the row version they were at (bounded, oldest out)."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._entries: dict[Key, tuple[int, Execution]] = {}

    def lock_many(self, connection: Connection, keys: Iterable[Key]) -> dict[Key, Execution]:
        """Lock these executions and return them, reading only those not cached at their current version."""
        versions = lock_versions(connection, keys)
        found: dict[Key, Execution] = {}
        missing = []
        for key, version in versions.items():
            cached = self._entries.get(key)
            if cached is not None and cached[0] == version:
                found[key] = cached[1]
            else:
                missing.append(key)
        for key, execution in read_many(connection, missing).items():
            self._remember(key, versions[key], execution)
            found[key] = execution
        return found

    def lock(self, connection: Connection, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> Execution | None:
        return self.lock_many(connection, [(tenant_id, execution_id)]).get((tenant_id, execution_id))

    def saved(self, before: Execution, after: Execution) -> None:
        """Record that ``after`` was committed over ``before`` (one version later)."""
        key = (after.tenant_id, after.id)
        cached = self._entries.get(key)
        if cached is not None and cached[1] is before:
            self._remember(key, cached[0] + 1, after)
        else:
            self._entries.pop(key, None)

    def forget(self, execution_id: str, tenant_id: str = DEFAULT_TENANT) -> None:
        self._entries.pop((tenant_id, execution_id), None)

    def _remember(self, key: Key, version: int, execution: Execution) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (version, execution)
        while len(self._entries) > self.size:
            self._entries.pop(next(iter(self._entries)))


def _by_tenant(keys: Iterable[Key]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for tenant_id, execution_id in keys:
        grouped.setdefault(tenant_id, set()).add(execution_id)
    return grouped
