"""One migrator at a time: the lock several starting processes race for.

PostgreSQL: a session-level advisory lock taken with polled ``pg_try_advisory_lock``;
it dies with the session, so a crashed migrator never leaves it behind.  Waiters find
the holder in ``pg_locks`` and name it through its ``application_name``.

SQLite: the database write lock itself (``BEGIN IMMEDIATE``), held for the whole
run, so the migrations commit or roll back together.  SQLite cannot say who holds
it, so the holder writes ``<database>.migrating`` with its name for waiters to read;
the file is only a label, never the lock.

Waiters report the holder immediately, then every :data:`REPORT_EVERY` seconds,
and give up with :class:`~lanner.errors.WaitTimeoutError` after the configured timeout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

import sqlalchemy as sa

from lanner.errors import WaitTimeoutError
from lanner.store.database import process_label, sqlite_path

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.engine import Connection, Engine

REPORT_EVERY = 5.0
_POLL = 0.2
# pg_try_advisory_lock(int4, int4): ("LNNR", 1) names Lanner's schema migrations.
_PG_LOCK_KEYS = (0x4C4E4E52, 1)

OnWait = Callable[[str | None, float], None]


@contextmanager
def migration_lock(engine: Engine, timeout: timedelta, on_wait: OnWait) -> Iterator[Connection]:
    """Hold the migration lock; yield the connection migrations must run on.

    On SQLite the yielded connection is inside the locking transaction, committed when
    the block ends normally and rolled back otherwise.
    """
    if engine.dialect.name == "sqlite":
        with _sqlite_lock(engine, timeout, on_wait) as connection:
            yield connection
    else:
        with _postgres_lock(engine, timeout, on_wait) as connection:
            yield connection


def _wait_loop(try_acquire: Callable[[], bool], holder: Callable[[], str | None], timeout: timedelta,
               on_wait: OnWait) -> None:
    started = time.monotonic()
    next_report = started
    while not try_acquire():
        now = time.monotonic()
        if now - started >= timeout.total_seconds():
            who = holder()
            raise WaitTimeoutError(
                f"gave up after {now - started:.0f} s waiting for the migration lock"
                + (f" held by {who}" if who else ""),
                "Another process is migrating this database. Wait for it to finish, or, if it is stuck, "
                "stop it; raise lanner.database.migration-lock-timeout for long migrations.",
            )
        if now >= next_report:
            on_wait(holder(), now - started)
            next_report = now + REPORT_EVERY
        time.sleep(_POLL)


@contextmanager
def _postgres_lock(engine: Engine, timeout: timedelta, on_wait: OnWait) -> Iterator[Connection]:
    with engine.connect() as connection:

        def try_acquire() -> bool:
            got = connection.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"), _keys()).scalar()
            connection.commit()
            return bool(got)

        def holder() -> str | None:
            row = connection.execute(
                sa.text(
                    "SELECT a.application_name, a.pid, a.client_addr, a.backend_start "
                    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :a AND l.objid = :b "
                    "AND l.objsubid = 2 "
                    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                _keys(),
            ).first()
            connection.commit()
            if row is None:
                return None
            name = row.application_name or "a session without application_name"
            return f"{name} (backend pid {row.pid}, client {row.client_addr or 'local'})"

        _wait_loop(try_acquire, holder, timeout, on_wait)
        try:
            yield connection
        finally:
            if connection.in_transaction():
                connection.rollback()
            with suppress(sa.exc.DBAPIError):  # a dropped session released it already
                connection.execute(sa.text("SELECT pg_advisory_unlock(:a, :b)"), _keys())
                connection.commit()


def _keys() -> dict[str, int]:
    return {"a": _PG_LOCK_KEYS[0], "b": _PG_LOCK_KEYS[1]}


def holder_file(engine: Engine) -> Path | None:
    path = sqlite_path(engine.url)
    return path.with_name(path.name + ".migrating") if path else None


@contextmanager
def _sqlite_lock(engine: Engine, timeout: timedelta, on_wait: OnWait) -> Iterator[Connection]:
    label = holder_file(engine)
    with engine.connect() as connection:
        # SQLAlchemy types the DBAPI connection as optional (None once invalidated); this one was just opened.
        raw = cast("sqlite3.Connection", connection.connection.driver_connection)
        previous_busy_ms = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        raw.execute("PRAGMA busy_timeout=0")  # poll instead, so the wait can be reported

        def try_acquire() -> bool:
            import sqlite3

            try:
                raw.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return False
                raise
            return True

        def holder() -> str | None:
            try:
                info = json.loads(label.read_text()) if label else None
            except (OSError, ValueError):
                return None
            return f"{info['holder']} (since {info['since']})" if info else None

        _wait_loop(try_acquire, holder, timeout, on_wait)
        raw.execute(f"PRAGMA busy_timeout={int(previous_busy_ms)}")
        connection.begin()  # adopt the transaction BEGIN IMMEDIATE opened
        if label:
            since = datetime.now(UTC).isoformat(timespec="seconds")
            label.write_text(json.dumps({"holder": process_label(), "since": since}))
        try:
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            if label:
                with suppress(OSError):
                    label.unlink()
