"""The namespace key-value store (Kestra's KV store): typed values under a key, per namespace and tenant.

A row of ``kv_store`` holds one key's value as JSON together with its Kestra
``kvType`` (STRING, NUMBER, BOOLEAN, DATETIME, DATE, DURATION, JSON), an optional
description and an optional expiry.  Reads return the typed value: numbers, booleans
and JSON structures as such; dates, date-times and durations as the ISO-8601 strings
Kestra prints them as in expressions.

Expiry is decided by the database's clock, never the caller's: ``expires_at`` is
computed in SQL (``now() + ttl``) and compared with the database's ``now`` when
reading, so workers on hosts whose clocks drift still agree on whether a key is
alive.  An expired key is invisible at once (reads, listings, ``overwrite: false``);
its row stays until :func:`purge_expired` deletes it in small batches
(:mod:`lanner.engine.shell.kv_purger` calls it periodically).

Kestra stores values as Ion files in internal storage with metadata beside them; one
table row per key gives the same behaviour with atomic writes: ``overwrite: false`` is
a single upsert whose update only applies to an expired row, so two concurrent
writers cannot both win.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, overload

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lanner.durations import parse_duration
from lanner.errors import LannerError
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store.database import write_connection
from lanner.store.storable import holds_nul
from lanner.store.tables import Timestamp, kv_store
from lanner.timestamps import as_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

PURGE_BATCH = 500  # rows per purge transaction: short write locks, bounded WAL growth
MAX_KEY_LENGTH = 255  # the column's size
_KEY = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")  # Kestra's KVStore.validateKey
_NAMESPACE = re.compile(r"[a-z0-9][a-z0-9._-]*")  # Kestra's namespace rule (lanner.model.spec.Namespace)
_KEY_RULE = "a key starts with a letter or a digit and holds only letters, digits, '.', '_' and '-'"
# SQLite's clock as text that sorts like the timestamps SQLAlchemy stores ("2024-05-01 12:00:00.123").
_SQLITE_CLOCK = "%Y-%m-%d %H:%M:%f"


class KVError(LannerError):
    """A key, namespace or value the store refuses; the message names it and says how to fix it."""


class KVType(StrEnum):
    STRING = "STRING"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    DATETIME = "DATETIME"
    DATE = "DATE"
    DURATION = "DURATION"
    JSON = "JSON"


@dataclass(frozen=True)
class KVEntry:
    """A live key with its metadata (Kestra's KVEntry plus the value)."""

    namespace: str
    key: str
    value: Any
    type: KVType
    description: str | None
    expiration: datetime | None  # UTC; None: never expires
    updated: datetime  # UTC
    created: datetime  # UTC
    version: int  # 1 when created, +1 on each overwrite


class KVStore:
    """The key-value store of one tenant; every method opens its own short transaction."""

    def __init__(self, engine: Engine, tenant_id: str = DEFAULT_TENANT) -> None:
        self.engine, self.tenant_id = engine, tenant_id

    def get(self, namespace: str, key: str) -> Any:
        """The key's typed value; None when it is absent or expired."""
        found = self.entry(namespace, key)
        return None if found is None else found.value

    def entry(self, namespace: str, key: str) -> KVEntry | None:
        """The key's value and metadata; None when it is absent or expired."""
        check_namespace(namespace)
        check_key(key)
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(kv_store).where(
                *self._key(namespace, key), _alive(connection))).first()
        if row is None:
            return None
        return KVEntry(row.namespace, row.key, decoded(row.value, row.value_type), KVType(row.value_type),
                       row.description, _from_database(row.expires_at), _from_database(row.updated_at),
                       _from_database(row.created_at), row.version)

    def set(self, namespace: str, key: str, value: Any, *, kv_type: KVType | str | None = None,
            ttl: timedelta | None = None, overwrite: bool = True, description: str | None = None) -> None:
        """Store ``value`` under ``key``, typed as ``kv_type`` (inferred from the value when None).

        ``ttl``: the key expires that long after now (by the database's clock).
        ``overwrite=False``: refuse when the key exists and has not expired.
        """
        check_namespace(namespace)
        check_key(key)
        if holds_nul(value) or holds_nul(description):
            raise KVError(f"Cannot set the KV key '{key}': its value holds a NUL character (\\u0000), "
                          "which cannot be stored", "Encode binary data (base64) before storing it.")
        stored, resolved = typed_value(key, value, kv_type)
        if ttl is not None and ttl <= timedelta(0):
            raise KVError(f"Cannot set the KV key '{key}': its ttl must be positive, not {ttl}",
                          "Give a ttl such as PT1H or 30m, or none for a key that never expires.")
        row = {"tenant_id": self.tenant_id, "namespace": namespace, "key": key, "value": stored,
               "value_type": resolved.value, "description": description}
        with write_connection(self.engine) as connection, connection.begin():
            written = connection.execute(_upsert(connection, row, ttl, overwrite)).first()
        if written is None:
            raise KVError(
                f"Cannot set the KV key '{key}' in the namespace '{namespace}': it already exists "
                "and overwrite is false",
                "Set overwrite: true to replace its value, or delete the key first.")

    def delete(self, namespace: str, key: str) -> bool:
        """Delete the key; True when it existed and had not expired."""
        check_namespace(namespace)
        check_key(key)
        with write_connection(self.engine) as connection, connection.begin():
            alive = connection.execute(sa.delete(kv_store).where(*self._key(namespace, key), _alive(connection)))
            if alive.rowcount:
                return True
            # An expired row is garbage: delete it too, but report the key absent, as a read would.
            connection.execute(sa.delete(kv_store).where(*self._key(namespace, key)))
        return False

    def keys(self, namespace: str, prefix: str | None = None) -> list[str]:
        """The namespace's live keys starting with ``prefix`` (all when None), sorted."""
        check_namespace(namespace)
        query = sa.select(kv_store.c.key).where(
            kv_store.c.tenant_id == self.tenant_id, kv_store.c.namespace == namespace)
        if prefix:
            query = query.where(kv_store.c.key.startswith(prefix, autoescape=True))
        with self.engine.connect() as connection:
            found = connection.execute(query.where(_alive(connection))).scalars().all()
        # SQLite's LIKE ignores case: the prefix is checked again exactly.  Sorting here
        # gives one order on both backends whatever PostgreSQL's collation.
        return sorted(key for key in found if prefix is None or key.startswith(prefix))

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete this tenant's expired rows (expired at ``now``, the database's clock when None)."""
        return purge_expired(self.engine, now, tenant_id=self.tenant_id)

    def _key(self, namespace: str, key: str) -> tuple[Any, ...]:
        return kv_store.c.tenant_id == self.tenant_id, kv_store.c.namespace == namespace, kv_store.c.key == key


def purge_expired(engine: Engine, now: datetime | None = None, *, tenant_id: str | None = None,
                  batch_size: int = PURGE_BATCH) -> int:
    """Delete expired rows (of every tenant unless ``tenant_id``), ``batch_size`` per transaction.

    Returns how many rows were deleted.  On PostgreSQL concurrent purgers skip each
    other's rows instead of waiting on them.
    """
    total = 0
    while True:
        with write_connection(engine) as connection, connection.begin():
            expired = _expired(connection, now)
            victims = sa.select(kv_store.c.tenant_id, kv_store.c.namespace, kv_store.c.key).where(expired)
            if tenant_id is not None:
                victims = victims.where(kv_store.c.tenant_id == tenant_id)
            victims = victims.limit(batch_size).with_for_update(skip_locked=True)
            # The condition is repeated so that a key set again meanwhile (a new ttl) survives.
            deleted: int = connection.execute(sa.delete(kv_store).where(
                sa.tuple_(kv_store.c.tenant_id, kv_store.c.namespace, kv_store.c.key).in_(victims),
                expired)).rowcount
        total += deleted
        if deleted < batch_size:
            return total


# --- keys and namespaces ------------------------------------------------------------------

def check_key(key: Any) -> str:
    """``key`` if Kestra accepts it as a KV key; a KVError saying why not otherwise."""
    if not isinstance(key, str) or not key:
        raise KVError(f"Invalid KV key {key!r}: a key is a non-empty string", "Give a key such as 'my_key'.")
    if len(key) > MAX_KEY_LENGTH:
        raise KVError(f"Invalid KV key '{key[:40]}...': it is {len(key)} characters long, "
                      f"at most {MAX_KEY_LENGTH} are allowed", "Use a shorter key.")
    if not _KEY.fullmatch(key):
        suggestion = re.sub(r"[^a-zA-Z0-9._-]", "_", key).lstrip("._-") or "my_key"
        raise KVError(f"Invalid KV key '{key}': {_KEY_RULE}", f"Use a key such as '{suggestion}'.")
    return key


def check_namespace(namespace: Any) -> str:
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace) or len(namespace) > MAX_KEY_LENGTH:
        raise KVError(f"Invalid namespace {namespace!r} for the KV store: a namespace starts with a lowercase "
                      "letter or a digit and holds only lowercase letters, digits, '.', '_' and '-'",
                      "Use the flow's namespace (the default) or one such as 'company.team'.")
    return namespace


# --- typed values ---------------------------------------------------------------------------

def typed_value(key: str, value: Any, kv_type: KVType | str | None) -> tuple[Any, KVType]:
    """The JSON to store for ``value`` as ``kv_type`` (inferred from the value when None), and the type.

    A JSON scalar is typed as what it is (``"42"`` as JSON is a NUMBER), as Kestra types
    a stored value by its class.  A number is stored as its decimal text: SQLite would
    otherwise turn a bare JSON number into a REAL (1.0 read back as 1, 2**64 rounded).
    """
    if value is None:
        raise KVError(f"Cannot set the KV key '{key}': its value is null",
                      "Give a value, or delete the key with io.kestra.plugin.core.kv.Delete.")
    resolved = _inferred(key, value) if kv_type is None else _kv_type(key, kv_type)
    try:
        typed = _plain(value) if kv_type is None else _CONVERTERS[resolved](value)
    except (ValueError, TypeError) as exc:
        shown = repr(value) if len(repr(value)) <= 200 else repr(value)[:200] + "..."
        raise KVError(f"Cannot store the KV key '{key}' as {resolved.value}: {shown} is not {exc}",
                      f"Give {exc}, or another kvType (or none, to infer the type from the value).") from None
    if resolved is KVType.JSON and not isinstance(typed, (dict, list)):
        resolved = _inferred(key, typed)
    return (repr(typed) if isinstance(typed, float) else str(typed)) if resolved is KVType.NUMBER else typed, resolved


def decoded(value: Any, value_type: str) -> Any:
    """The typed value of a stored one (the inverse of :func:`typed_value`)."""
    if value_type == KVType.NUMBER and isinstance(value, str):
        return int(value) if re.fullmatch(r"-?\d+", value) else float(value)
    return value


def _kv_type(key: str, kv_type: KVType | str) -> KVType:
    try:
        return KVType(str(kv_type).upper())
    except ValueError:
        raise KVError(f"Unknown kvType {kv_type!r} for the KV key '{key}'",
                      f"Use one of {', '.join(t.value for t in KVType)}.") from None


def _inferred(key: str, value: Any) -> KVType:
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return KVType.BOOLEAN
    if isinstance(value, (int, float)):
        return KVType.NUMBER
    if isinstance(value, str):
        return KVType.STRING
    if isinstance(value, (Mapping, list, tuple)):
        return KVType.JSON
    if isinstance(value, datetime):
        return KVType.DATETIME
    if isinstance(value, date):
        return KVType.DATE
    if isinstance(value, timedelta):
        return KVType.DURATION
    raise KVError(f"Cannot set the KV key '{key}': a {type(value).__name__} value has no kvType",
                  "Give a string, number, boolean, date, duration, list or map.")


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it (dates and durations as their ISO-8601 text)."""
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return _finite(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return java_duration(value)
    if isinstance(value, (Mapping, list, tuple)):
        try:
            return _tree(value)
        except ValueError:
            raise ValueError("JSON without NaN or infinite numbers") from None
    return value


def _tree(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tree(item) for item in value]
    return _plain(value)


def _finite(number: int | float) -> int | float:
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError("a finite number such as 42 or 3.5")
    return number


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))
    return str(_plain(value))


def _to_number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("a number such as 42 or 3.5")
    if isinstance(value, str):
        text = value.strip()
        if not re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", text):
            raise ValueError("a number such as 42 or 3.5")
        value = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    return _finite(value)


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("a boolean: true or false")


def _to_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and ("T" in value or " " in value.strip()):
        try:
            datetime.fromisoformat(value.strip())
            return value.strip()
        except ValueError:
            pass
    raise ValueError("an ISO-8601 date-time such as 2024-05-01T12:00:00Z")


def _to_date(value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValueError("an ISO-8601 date such as 2024-05-01")


def _to_duration(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("an ISO-8601 duration such as PT5M or P1D")
    try:
        return java_duration(parse_duration(value.strip() if isinstance(value, str) else value))
    except ValueError:
        raise ValueError("an ISO-8601 duration such as PT5M or P1D") from None


def _to_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError('JSON such as {"a": 1} or [1, 2]') from None
        if value is None:
            raise ValueError("JSON other than null")
        return value
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, (Mapping, list, tuple, int, bool)):
        return _plain(value)
    raise ValueError('JSON such as {"a": 1} or [1, 2]')


_CONVERTERS = {
    KVType.STRING: _to_string, KVType.NUMBER: _to_number, KVType.BOOLEAN: _to_boolean,
    KVType.DATETIME: _to_datetime, KVType.DATE: _to_date, KVType.DURATION: _to_duration, KVType.JSON: _to_json,
}


def java_duration(value: timedelta) -> str:
    """``value`` as Java's ``Duration.toString`` prints it (PT1H30M, PT0.25S, PT48H for two days)."""
    micros = value // timedelta(microseconds=1)
    sign, micros = ("-", -micros) if micros < 0 else ("", micros)
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    text = "PT" + (f"{sign}{hours}H" if hours else "") + (f"{sign}{minutes}M" if minutes else "")
    if seconds or micros or not (hours or minutes):
        fraction = f".{micros:06d}".rstrip("0") if micros else ""
        text += f"{sign}{seconds}{fraction}S"
    return text


# --- the database's clock -------------------------------------------------------------------

def _clock(connection: Connection, ttl: timedelta | None = None) -> Any:
    """The database's current UTC time (plus ``ttl``), as SQL comparable with the stored timestamps."""
    if connection.dialect.name == "postgresql":
        now = sa.func.now()
        return now if ttl is None else now + sa.literal(ttl, sa.Interval())
    if ttl is None:
        return sa.func.strftime(_SQLITE_CLOCK, "now")
    return sa.func.strftime(_SQLITE_CLOCK, "now", f"+{ttl.total_seconds():.3f} seconds")


def _alive(connection: Connection) -> Any:
    return sa.or_(kv_store.c.expires_at.is_(None), kv_store.c.expires_at > _clock(connection))


def _expired(connection: Connection, now: datetime | None) -> Any:
    cutoff = _clock(connection) if now is None else sa.literal(as_utc(now), Timestamp)
    return sa.and_(kv_store.c.expires_at.is_not(None), kv_store.c.expires_at <= cutoff)


def _upsert(connection: Connection, row: dict[str, Any], ttl: timedelta | None, overwrite: bool) -> Any:
    """INSERT the key, or update it: always when ``overwrite``, only if it expired otherwise."""
    now = _clock(connection)
    insert = postgresql_insert(kv_store) if connection.dialect.name == "postgresql" else sqlite_insert(kv_store)
    insert = insert.values(**row, expires_at=None if ttl is None else _clock(connection, ttl),
                           version=1, created_at=now, updated_at=now)
    expired = _expired(connection, None)
    # An expired key set again starts over, as if it had been purged already.
    changes: dict[str, Any] = {
        name: insert.excluded[name] for name in ("value", "value_type", "description", "expires_at", "updated_at")}
    changes["version"] = sa.case((expired, 1), else_=kv_store.c.version + 1)
    changes["created_at"] = sa.case((expired, insert.excluded.created_at), else_=kv_store.c.created_at)
    return insert.on_conflict_do_update(
        index_elements=[kv_store.c.tenant_id, kv_store.c.namespace, kv_store.c.key],
        set_=changes, where=None if overwrite else expired,
    ).returning(kv_store.c.version)


@overload
def _from_database(moment: datetime | str) -> datetime: ...
@overload
def _from_database(moment: None) -> None: ...
def _from_database(moment: datetime | str | None) -> datetime | None:
    if moment is None:
        return None
    if isinstance(moment, str):  # defensive: SQLite text that SQLAlchemy did not parse
        moment = datetime.fromisoformat(moment)
    return as_utc(moment)
