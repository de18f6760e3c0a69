"""Open the configured database: embedded SQLite by default, PostgreSQL for clusters.

SQLite gets WAL (readers never block the writer), foreign keys, a busy timeout, the
configured ``synchronous`` level (NORMAL by default: in WAL mode a crash of Lanner
loses nothing and a power cut may only undo the last commits), and
explicit ``BEGIN`` handling so a caller can ask for ``BEGIN IMMEDIATE`` (the
write lock the migrator relies on).  PostgreSQL goes through psycopg 3 and tags each
connection with an ``application_name`` naming this process, so that a process
waiting on a lock can say who holds it.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lanner.errors import DatabaseUnavailableError

if TYPE_CHECKING:
    import sqlite3

    import psycopg
    from sqlalchemy import URL
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.pool import ConnectionPoolEntry

    from lanner.config.settings import Database

# Execution option naming the statement that opens a SQLite transaction.
SQLITE_BEGIN = "lanner_sqlite_begin"


def process_label() -> str:
    """``pid@hostname``: how this process names itself in locks and history rows."""
    return f"{os.getpid()}@{socket.gethostname()}"


def parse_url(raw: str) -> URL:
    """The configured URL with the driver Lanner uses (psycopg 3 for PostgreSQL)."""
    from sqlalchemy.engine import make_url

    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def masked_url(raw: str) -> str:
    """The configured URL as shown to people: its password masked (``******``), whole if unparseable."""
    from lanner.masking import MASK, mask_url

    try:
        return mask_url(parse_url(raw))
    except Exception:  # an unparseable URL has nothing to hide but may hold a password: hide all
        return MASK


def sqlite_path(url: URL) -> Path | None:
    """The file behind a SQLite URL (None for in-memory databases)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def database_exists(config: Database) -> bool:
    """Whether the database is there to read, without creating it (only SQLite can be absent here)."""
    path = sqlite_path(parse_url(config.url))
    return path is None or path.exists()


def create_engine(config: Database, *, create: bool = True) -> Engine:
    """An engine for the configured database, created when missing (a SQLite file, a PostgreSQL database).

    ``create=False`` refuses to create a missing SQLite file and leaves a missing PostgreSQL
    database to the first connection's error (:func:`unavailable` says how to create it).
    """
    import sqlalchemy as sa

    url = parse_url(config.url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(url)
        if path is not None:
            if not path.exists() and not create:
                raise DatabaseUnavailableError(
                    f"the SQLite database {path} does not exist yet",
                    "Run 'lanner sys database migrate' to create it.",
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": config.busy_timeout.total_seconds()},
                                  **_pool_options(url, config))
        _configure_sqlite(engine, busy_ms=int(config.busy_timeout.total_seconds() * 1000),
                          synchronous=config.sqlite_synchronous)
        return engine
    connect_args = {"application_name": f"lanner {process_label()}"[:63], "connect_timeout": 10}
    # No pre-ping: it costs a round trip per transaction; a dropped connection fails its
    # transaction instead, which every caller already retries.
    if create:  # as a missing SQLite file is created above
        from lanner.store.postgres_database import ensure_database

        ensure_database(url, connect_args)
    return sa.create_engine(url, connect_args=connect_args, **_pool_options(url, config))


def _pool_options(url: URL, config: Database) -> dict[str, Any]:
    """The connection pool's size and wait (lanner.database.pool-size, max-overflow, pool-timeout)."""
    if url.get_backend_name() == "sqlite" and sqlite_path(url) is None:
        return {}  # an in-memory SQLite database lives in one connection: SQLAlchemy's own pool for it
    return {"pool_size": config.pool_size, "max_overflow": config.max_overflow,
            "pool_timeout": config.pool_timeout.total_seconds()}


def _configure_sqlite(engine: Engine, busy_ms: int, synchronous: str) -> None:
    import sqlite3

    import sqlalchemy as sa
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _switch_to_wal(cursor, busy_ms / 1000)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        raw = cast("sqlite3.Connection", connection.connection.driver_connection)
        # A transaction opened directly (the migration lock's BEGIN IMMEDIATE) is adopted as is.
        if not raw.in_transaction:
            begin = connection.get_execution_options().get(SQLITE_BEGIN, "BEGIN")
            try:
                raw.execute(begin)
            except sqlite3.OperationalError as exc:  # busy: as SQLAlchemy reports the driver's errors
                raise sa.exc.OperationalError(begin, None, exc) from None


def _switch_to_wal(cursor: Any, patience: float) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another process holds the lock it needs.

    Only the first switch of a new file needs an exclusive lock, and SQLite may refuse it
    at once (SQLITE_BUSY without calling the busy handler) while other processes open the
    same new file: several components starting together on an empty database.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + patience
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def check_connection(engine: Engine) -> None:
    """Connect once, turning driver errors into an actionable :class:`DatabaseUnavailableError`."""
    import sqlalchemy as sa

    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        raise unavailable(engine, exc) from None


def unavailable(engine: Engine, exc: Exception) -> DatabaseUnavailableError:
    from lanner.store.postgres_database import is_missing_database, missing_database_error

    if is_missing_database(exc):
        return missing_database_error(engine.url)
    from lanner.masking import mask_url

    masked = mask_url(engine.url)
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if detail == "database is locked":
        return DatabaseUnavailableError(
            f"the database {masked} is busy: another writer held its lock longer than "
            "lanner.database.busy-timeout; nothing was changed",
            "Run the command again, or raise lanner.database.busy-timeout (LANNER_DATABASE_BUSY_TIMEOUT).")
    return DatabaseUnavailableError(
        f"cannot connect to the database {masked}: {detail}",
        "Check lanner.database.url (or LANNER_DATABASE_URL) and that the database server is running.",
    )


def write_connection(engine: Engine) -> Connection:
    """A connection whose transactions take the write lock up front on SQLite.

    A deferred SQLite transaction that reads and then writes can fail at once with
    "database is locked" when another writer got there first; ``BEGIN IMMEDIATE``
    waits (up to the busy timeout) instead.  PostgreSQL is unaffected.
    """
    connection = engine.connect()
    if engine.dialect.name != "sqlite":
        return connection
    return connection.execution_options(**{SQLITE_BEGIN: "BEGIN IMMEDIATE"})



@contextlib.contextmanager
def then_commit(connection: Connection) -> Iterator[None]:
    """The end of the open transaction: writes whose results nobody reads, then COMMIT.

    On PostgreSQL they run in psycopg's pipeline mode: sent without waiting for each
    other, the COMMIT included, so they cost one round trip in all.  A statement inside
    must not be read from (SQLAlchemy would find no rows); its errors surface at the
    COMMIT, and the transaction rolls back as usual.
    """
    transaction = connection.get_transaction()
    if transaction is None:
        raise RuntimeError("then_commit() ends an open transaction: begin one first")
    if connection.dialect.name != "postgresql":
        yield
        transaction.commit()
        return
    raw = cast("psycopg.Connection[Any]", connection.connection.driver_connection)
    with raw.pipeline():
        yield
        transaction.commit()
