"""PostgreSQL restores that must build the schema: load into a separate schema, then swap it in.

A restore into a database at another schema version (the rollback after an upgrade)
cannot drop the tables, rebuild them and load the rows in one transaction on
PostgreSQL: an online migration builds its index ``CONCURRENTLY``, outside any
transaction.  So the backup's schema is built and loaded in a schema of its own
(``lanner_restore_<hex>``), reached through the session's ``search_path``, and one
short transaction then drops the old tables and moves the new ones in
(``ALTER TABLE ... SET SCHEMA`` carries their indexes, constraints and owned id
sequences).  Until that transaction commits the database is as it was; a failure
drops the separate schema, and one left by a killed restore is dropped by the next.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.errors import RestoreRefusedError
from lanner.store.database import create_engine

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.pool import ConnectionPoolEntry

    from lanner.config.settings import Database

PREFIX = "lanner_restore_"


@contextmanager
def shadow_schema(engine: Engine, config: Database) -> Iterator[tuple[Engine, Callable[[], None]]]:
    """An engine whose sessions work in a fresh schema, and ``swap()`` that replaces Lanner's tables with its own.

    Leaving the block without calling ``swap()`` (or when it fails) drops the schema.
    """
    name = PREFIX + uuid.uuid4().hex[:12]
    try:
        with engine.begin() as connection:
            _drop_leftovers(connection)
            target = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
            connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    except sa.exc.ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        database, user = engine.url.database, engine.url.username or "Lanner's database user"
        raise RestoreRefusedError(
            f"this restore builds the backup's schema in a schema of its own, and {user} may not create one "
            f"in the database {database}: {str(exc.orig).strip()}. Nothing was written.",
            f"Grant it for the restore (GRANT CREATE ON DATABASE \"{database}\" TO \"{user}\"), "
            "or restore as the database's owner.") from exc
    shadow = _engine_in(config, name)
    try:
        yield shadow, lambda: _swap(engine, name, target)
    finally:
        shadow.dispose()
        with suppress(sa.exc.DBAPIError), engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


def _engine_in(config: Database, schema: str) -> Engine:
    from sqlalchemy import event

    shadow = create_engine(config)

    @event.listens_for(shadow, "connect", insert=True)
    def _search_path(dbapi_connection: psycopg.Connection[Any], _record: ConnectionPoolEntry) -> None:
        # Outside a transaction, or the pool's reset-on-return would roll the SET back.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        dbapi_connection.execute(f'SET search_path TO "{schema}"')
        dbapi_connection.autocommit = autocommit

    return shadow


def _swap(engine: Engine, shadow: str, target: str) -> None:
    with engine.begin() as connection:
        drop_lanner_tables(connection, target)
        for name in sa.inspect(connection).get_table_names(schema=shadow):
            connection.execute(sa.text(f'ALTER TABLE "{shadow}"."{name}" SET SCHEMA "{target}"'))
        connection.execute(sa.text(f'DROP SCHEMA "{shadow}"'))


def drop_lanner_tables(connection: Connection, schema: str | None = None) -> None:
    """Drop Lanner's tables and its version table from ``schema`` (the connection's default when None)."""
    from lanner.store.migration_scripts import VERSION_TABLE
    from lanner.store.tables import metadata

    present = set(sa.inspect(connection).get_table_names(schema=schema))
    prefix = f'"{schema}".' if schema else ""
    for table in [*reversed(metadata.sorted_tables), sa.table(VERSION_TABLE)]:
        if table.name in present:
            connection.execute(sa.text(f'DROP TABLE {prefix}"{table.name}"'))


def _drop_leftovers(connection: Connection) -> None:
    """Schemas left by a restore that was killed before it could clean up."""
    names = connection.execute(
        sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :prefix"), {"prefix": PREFIX + "%"}).scalars()
    for name in list(names):
        connection.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
