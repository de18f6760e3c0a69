"""Updating and deleting many rows by key in one statement.

On PostgreSQL the rows travel as one JSON document, read back with
``jsonb_to_recordset`` and joined to the table on its key columns: one round trip and
one prepared statement whatever the number of rows.  The join also keeps the planner
honest on tables without statistics (new, or growing fast): with
``WHERE tenant_id = ? AND id = ?`` it could not tell the primary key from any other
index led by ``tenant_id``, and sometimes read a whole tenant's rows to update one.

Elsewhere (SQLite) the same rows go through the given statement with ``executemany``,
which reuses one prepared statement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from lanner.timestamps import offset_iso

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialect constructors are untyped
KEY_PREFIX = "key_"  # parameters naming the row to change: key_<column>


def update(connection: Connection, statement: sa.Update, table: sa.Table, rows: Sequence[Mapping[str, Any]],
           *, also: str = "") -> None:
    """Apply ``statement`` (an UPDATE whose WHERE binds ``key_<column>``) to each row.

    Rows hold the new values by column name and the key as ``key_<column>``; all rows
    have the same keys.  ``also`` is extra SQL for PostgreSQL's SET list, in terms of the
    table aliased ``t`` (``"version = t.version + 1"``), matching what ``statement`` sets.
    """
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(statement, list(rows))
        return
    connection.execute(_update_sql(table, tuple(rows[0]), also), {"rows": _document(rows)})


def insert(connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (mappings of column name to value, the same names in all) with one statement."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(sa.insert(table), list(rows))
        return
    connection.execute(_insert_sql(table, tuple(rows[0])), {"rows": _document(rows)})


@cache
def _insert_sql(table: sa.Table, names: tuple[str, ...]) -> sa.TextClause:
    columns = ", ".join(names)
    return sa.text(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {_recordset(table, names)}")


def delete(connection: Connection, statement: sa.Delete, table: sa.Table, keys: Sequence[Mapping[str, Any]]) -> None:
    """Delete each row named by ``keys``: mappings of column name (or ``key_<column>``, as ``statement``
    binds it) to value, the same names in all."""
    if not keys:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(statement, list(keys))
        return
    connection.execute(_delete_sql(table, tuple(keys[0])), {"rows": _document(keys)})


@cache
def _update_sql(table: sa.Table, names: tuple[str, ...], also: str) -> sa.TextClause:
    keys = [name for name in names if name.startswith(KEY_PREFIX)]
    values = [name for name in names if not name.startswith(KEY_PREFIX)]
    assignments = [f"{name} = r.{name}" for name in values] + ([also] if also else [])
    match = " AND ".join(f"t.{key.removeprefix(KEY_PREFIX)} = r.{key}" for key in keys)
    return sa.text(f"UPDATE {table.name} AS t SET {', '.join(assignments)} "
                   f"FROM {_recordset(table, names)} WHERE {match}")


@cache
def _delete_sql(table: sa.Table, names: tuple[str, ...]) -> sa.TextClause:
    match = " AND ".join(f"t.{name.removeprefix(KEY_PREFIX)} = r.{name}" for name in names)
    return sa.text(f"DELETE FROM {table.name} AS t USING {_recordset(table, names)} WHERE {match}")


def _recordset(table: sa.Table, names: tuple[str, ...]) -> str:
    columns = ", ".join(f"{name} {_type(table, name)}" for name in names)
    return f"jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({columns})"


def _type(table: sa.Table, name: str) -> str:
    column = table.c[name.removeprefix(KEY_PREFIX)]
    return column.type.dialect_impl(_PG).compile(dialect=_PG)


def _document(rows: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps([{name: _plain(value) for name, value in row.items()} for row in rows],
                      separators=(",", ":"), default=_json_default)


# Batches repeat the same instants (a pass's "now", a schedule's tick) thousands of times.
_iso = lru_cache(maxsize=1024)(offset_iso)


def _plain(value: Any) -> Any:
    # SQL NULL for a JSON column is spelt sa.null() in statements; in the document, JSON null
    # becomes SQL NULL.
    return None if isinstance(value, sa.Null) else value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    raise TypeError(f"cannot store {type(value).__name__} in a bulk update")
