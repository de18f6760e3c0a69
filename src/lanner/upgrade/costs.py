"""What each migration costs: its steps by cost class, times the sizes of the tables they touch.

Migration scripts are append-only and never edited, so their costs are declared here,
read without running them.  A step is ``(cost class, table)``; the class says whether
writes to the table wait for it and how its duration grows with the table:

=============================  ==========================================  =====================
class                          what it is                                  locks writes
=============================  ==========================================  =====================
``instant``                    a catalog change (new table, nullable        no (a brief lock)
                               column on PostgreSQL)
``add_column``                 a nullable column: PostgreSQL changes the    SQLite: yes (the
                               catalog only; SQLite copies the table        database), PG: brief
``create_index_concurrently``  an index built online (PostgreSQL            PostgreSQL: no;
                               CONCURRENTLY; a plain CREATE INDEX on SQLite) SQLite: yes
``create_index``               a plain index build                          yes
``rewrite``                    the table is copied (a type change, a        yes
                               volatile default)
=============================  ==========================================  =====================

Rates are conservative figures for a modest server (a few hundred MB/s of sequential
I/O); the estimate is an order of magnitude to plan a maintenance window, not a promise.
A test checks that every migration in the catalogue has an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from lanner.store.table_stats import TableSize

COST: dict[str, list[tuple[str, str | None]]] = {
    "0001": [("instant", None)],
    "0002": [("instant", "worker_jobs_running"), ("add_column", "task_runs"),
             ("create_index_concurrently", "queue_messages")],
    "0003": [("add_column", "flow_revisions")],
    "0004": [("instant", "queue_set_aside")],
    "0005": [("instant", "dashboards")],
}

# Seconds = FIXED + rows / ROWS_PER_S + bytes / BYTES_PER_S, per class.
_FIXED = 0.05
_RATES = {  # (rows per second, bytes per second); None: independent of the table's size
    "instant": None,
    "add_column": (400_000, 150_000_000),
    "create_index_concurrently": (250_000, 200_000_000),
    "create_index": (300_000, 200_000_000),
    "rewrite": (150_000, 100_000_000),
}
_DESCRIPTIONS = {
    "instant": "catalog change",
    "add_column": "add a nullable column",
    "create_index_concurrently": "online index build",
    "create_index": "index build",
    "rewrite": "rewrite of the table",
}
CLASSES = tuple(_RATES)


@dataclass(frozen=True)
class StepCost:
    cost: str
    table: str | None
    rows: int
    bytes: int
    locks_writes: bool
    seconds: float
    detail: str


def locks_writes(cost: str, backend: str) -> bool:
    if cost == "instant":
        return False
    if cost == "add_column":
        return backend != "postgresql"
    if cost == "create_index_concurrently":
        return backend != "postgresql"
    return True


def step_cost(cost: str, table: str | None, size: TableSize | None, backend: str) -> StepCost:
    if cost not in _RATES:
        raise ValueError(f"unknown migration cost class {cost!r} (known: {', '.join(CLASSES)})")
    rows, size_bytes = (size.rows, size.bytes) if size is not None else (0, 0)
    rate = _RATES[cost]
    if cost == "add_column" and backend == "postgresql":
        rate = None  # a nullable column without a default is a catalog change on PostgreSQL
    seconds = _FIXED if rate is None else _FIXED + rows / rate[0] + size_bytes / rate[1]
    what = _DESCRIPTIONS[cost] if not (cost == "add_column" and backend != "postgresql") \
        else "add a column (SQLite copies the table)"
    if cost == "create_index_concurrently" and backend != "postgresql":
        what = "index build (plain CREATE INDEX on SQLite)"
    on = f" on {table}" if table else ""
    return StepCost(cost, table, rows, size_bytes, locks_writes(cost, backend), round(seconds, 3), f"{what}{on}")


def tables_of(revisions: list[str]) -> list[str]:
    return [table for revision in revisions for _, table in COST.get(revision, []) if table]
