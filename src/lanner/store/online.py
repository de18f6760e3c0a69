"""Helpers for online (zero-downtime) migrations; see ``docs/migrations.md``.

Migration scripts may import this module and nothing else from Lanner.  Its
functions' behaviour is frozen once released, because old migrations call them:
change one only by adding a new function.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


def create_index_online(name: str, table: str, columns: Sequence[str], *, unique: bool = False) -> None:
    """Create an index without blocking writes to ``table``.

    PostgreSQL: ``CREATE INDEX CONCURRENTLY`` outside the migration's transaction (which
    is committed first).  A build interrupted earlier leaves an INVALID index behind; it
    is dropped and rebuilt, so the migration can simply be run again.  SQLite: a plain
    ``CREATE INDEX`` (SQLite has a single writer; there is nothing to keep online).
    """
    context = op.get_context()
    if context.dialect.name != "postgresql":
        op.create_index(name, table, list(columns), unique=unique, if_not_exists=True)
        return
    with context.autocommit_block():
        if context.as_sql:  # a dry run prints the build; there is no catalogue to look at
            op.create_index(name, table, list(columns), unique=unique, postgresql_concurrently=True, if_not_exists=True)
            return
        connection = op.get_bind()
        valid = connection.execute(
            sa.text(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = :name AND pg_table_is_visible(c.oid)"
            ),
            {"name": name},
        ).scalar()
        if valid is False:
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
        op.create_index(name, table, list(columns), unique=unique, postgresql_concurrently=True, if_not_exists=True)


def drop_index_online(name: str, table: str) -> None:
    """Drop an index without blocking writes (``DROP INDEX CONCURRENTLY`` on PostgreSQL)."""
    context = op.get_context()
    if context.dialect.name != "postgresql":
        op.drop_index(name, table_name=table, if_exists=True)
        return
    with context.autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
