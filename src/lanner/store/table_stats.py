"""How big the tables are: rows and bytes, read cheaply, for estimating how long a migration runs.

PostgreSQL: ``pg_total_relation_size`` (table, indexes, TOAST) and the planner's
``reltuples``, or an exact ``count(*)`` when the table has never been analysed or is small
enough to count at once.  SQLite: ``count(*)`` and the pages of the table and its indexes
from ``dbstat`` when the library has it, else the file's size shared out by rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

EXACT_BELOW = 1_000_000  # rows: under this, count(*) is cheap enough and exact


@dataclass(frozen=True)
class TableSize:
    table: str
    rows: int
    bytes: int
    exists: bool = True


def table_sizes(connection: Connection, tables: list[str]) -> dict[str, TableSize]:
    existing = set(sa.inspect(connection).get_table_names())
    sizes: dict[str, TableSize] = {}
    for table in dict.fromkeys(tables):
        if table not in existing:
            sizes[table] = TableSize(table, 0, 0, exists=False)
        elif connection.dialect.name == "postgresql":
            sizes[table] = _postgres(connection, table)
        else:
            sizes[table] = _sqlite(connection, table)
    return sizes


def _count(connection: Connection, table: str) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one())


def _postgres(connection: Connection, table: str) -> TableSize:
    row = connection.execute(sa.text(
        "SELECT pg_total_relation_size(c.oid) AS bytes, c.reltuples AS estimate FROM pg_class c "
        "WHERE c.oid = to_regclass(:name)"), {"name": table}).one()
    estimate = float(row.estimate)
    rows = _count(connection, table) if estimate < EXACT_BELOW else int(estimate)
    return TableSize(table, rows, int(row.bytes))


def _sqlite(connection: Connection, table: str) -> TableSize:
    rows = _count(connection, table)
    try:
        used = connection.execute(sa.text(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = :name "
            "OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = :name AND type = 'index')"),
            {"name": table}).scalar_one()
        return TableSize(table, rows, int(used))
    except sa.exc.OperationalError:  # no dbstat in this SQLite build
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
        names = [r[0] for r in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        total = sum(_count(connection, name) for name in names) or 1
        return TableSize(table, rows, int(pages * size * rows / total))


def topic_depth(connection: Connection, topic: str) -> int:
    """Messages waiting on one queue topic (delayed ones included)."""
    from lanner.store.tables import queue_messages

    return int(connection.execute(sa.select(sa.func.count()).select_from(queue_messages)
                                  .where(queue_messages.c.topic == topic)).scalar_one())
