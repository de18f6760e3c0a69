"""A PostgreSQL database named in ``lanner.database.url`` that does not exist yet.

SQLite creates its file on first use; PostgreSQL refuses a connection to a database that
was never created (SQLSTATE ``3D000``).  Where Lanner may create the schema (``sys
database migrate``, a server starting with ``auto-migrate``), it creates the database
too, as ``createdb`` would: connected to the ``postgres`` maintenance database (or
``template1``) with the same user, it runs ``CREATE DATABASE``.  When that user may not
(no ``CREATEDB`` privilege), or where Lanner only reads, the error says what to run.
"""

from __future__ import annotations

import logging
import re
import shlex
from typing import TYPE_CHECKING, Any

from lanner.errors import DatabaseUnavailableError

if TYPE_CHECKING:
    from sqlalchemy import URL

log = logging.getLogger(__name__)

MISSING_DATABASE = "3D000"  # invalid_catalog_name: "database ... does not exist"
_ALREADY_THERE = "42P04"  # duplicate_database: another process created it first
_MAINTENANCE_DATABASES = ("postgres", "template1")
_MISSING_MESSAGE = re.compile(r'FATAL:\s+database ".*" does not exist')


def is_missing_database(exc: BaseException) -> bool:
    """Whether a connection failed because the database named in the URL does not exist."""
    error = getattr(exc, "orig", exc)
    if getattr(error, "sqlstate", None) == MISSING_DATABASE:
        return True
    # libpq reports a refused connection without its SQLSTATE: only the server's message tells.
    return _MISSING_MESSAGE.search(str(error)) is not None


def how_to_create(url: URL) -> str:
    """The commands that create the database by hand, for a hint."""
    options = [f"-h {shlex.quote(url.host)}"] if url.host else []
    options += [f"-p {url.port}"] if url.port else []
    options += [f"-U {shlex.quote(url.username)}"] if url.username else []
    name = url.database or ""
    quoted = '"' + name.replace('"', '""') + '"'
    owner = f' OWNER "{url.username}"' if url.username else ""
    return (f"Create it, then start again:\n  createdb {' '.join([*options, shlex.quote(name)])}\n"
            f"or, in psql as a user who may create databases:\n  CREATE DATABASE {quoted}{owner};")


def missing_database_error(url: URL, why: str = "") -> DatabaseUnavailableError:
    """The error of a command that found the database missing; ``why``: Lanner's own attempt failed, and why."""
    from lanner.masking import mask_url

    masked = mask_url(url)
    hint = how_to_create(url)
    if not why:
        hint += "\n('lanner sys database migrate' creates it itself when this user may create databases.)"
    return DatabaseUnavailableError(f"the PostgreSQL database {url.database!r} does not exist ({masked}){why}", hint)


def ensure_database(url: URL, connect_args: dict[str, Any]) -> None:
    """Create the URL's database when it does not exist; raise with the commands to run when it cannot.

    Probes with a connection of its own, never pooled: the caller's engine may set each
    of its connections up (a shadow schema's ``search_path``) after this returns.  Any
    other connection problem is left to the caller's first use of its engine, which
    reports it as it always has.
    """
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    probe = sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with probe.connect():
            return
    except sa.exc.OperationalError as exc:
        if not is_missing_database(exc):
            return
    finally:
        probe.dispose()
    problem = None
    for maintenance in _MAINTENANCE_DATABASES:
        admin = sa.create_engine(url.set(database=maintenance), isolation_level="AUTOCOMMIT",
                                 poolclass=NullPool, connect_args=connect_args)
        try:
            with admin.connect() as connection:
                name = connection.dialect.identifier_preparer.quote(url.database or "")
                connection.execute(sa.text(f"CREATE DATABASE {name}"))
            log.info("created the PostgreSQL database %s (it did not exist)", url.database)
            return
        except sa.exc.ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) == _ALREADY_THERE:
                return  # created meanwhile by another process starting on the same URL
            problem = str(exc.orig).strip().splitlines()[0]
            break  # connected, but not allowed: another maintenance database would not help
        except sa.exc.OperationalError as exc:
            problem = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        finally:
            admin.dispose()
    raise missing_database_error(url, f" and Lanner could not create it: {problem}")
