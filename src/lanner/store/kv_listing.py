"""The key-value store seen across namespaces: every key's metadata, a namespace's ancestors' keys, and
the deletion of many keys at once (the API's ``/kv`` and ``/namespaces/{namespace}/kv`` listings).

Only live keys are listed (an expired key is absent, as a read would find it).  A bulk deletion is
one statement: the keys named go together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import sql_filters
from lanner.store.database import write_connection
from lanner.store.kv_repository import _alive, _from_database, check_key, check_namespace
from lanner.store.tables import kv_store

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

SORTS = {"key": kv_store.c.key, "namespace": kv_store.c.namespace, "updateDate": kv_store.c.updated_at,
         "creationDate": kv_store.c.created_at, "expirationDate": kv_store.c.expires_at}
HANDLERS: Mapping[str, sql_filters.Handler] = {
    "namespace": sql_filters.text(kv_store.c.namespace), "updated": sql_filters.moment(kv_store.c.updated_at),
    "q": lambda leaf: sql_filters.text(kv_store.c.key)(_Contains(str(leaf.value))) if str(leaf.op) == "EQUALS"
    else ~sql_filters.text(kv_store.c.key)(_Contains(str(leaf.value)))}


@dataclass(frozen=True)
class _Contains:
    value: str
    field: str = "q"
    op: str = "CONTAINS"

    def values(self) -> list[str]:
        return [self.value]


@dataclass(frozen=True)
class KeyInfo:
    """A live key's metadata (Kestra's ``KVEntry``)."""

    namespace: str
    key: str
    version: int
    description: str | None
    created: datetime
    updated: datetime
    expiration: datetime | None


def _info(row: Any) -> KeyInfo:
    return KeyInfo(str(row.namespace), str(row.key), int(row.version), row.description,
                   _from_database(row.created_at), _from_database(row.updated_at), _from_database(row.expires_at))


_COLUMNS = (kv_store.c.namespace, kv_store.c.key, kv_store.c.version, kv_store.c.description, kv_store.c.created_at,
            kv_store.c.updated_at, kv_store.c.expires_at)


def search(connection: Connection, filters: sql_filters.Tree, *, sort: Sequence[tuple[str, bool]] = (),
           limit: int = 10, offset: int = 0, tenant_id: str = DEFAULT_TENANT) -> tuple[list[KeyInfo], int]:
    """A page of the tenant's live keys matching ``filters`` (fields q, namespace, updated) and how many match."""
    where = sa.and_(kv_store.c.tenant_id == tenant_id, _alive(connection), sql_filters.condition(filters, HANDLERS))
    order = [SORTS[name].desc() if descending else SORTS[name].asc() for name, descending in sort]
    found = sql_filters.guarded(lambda: [_info(row) for row in connection.execute(sa.select(*_COLUMNS).where(
        where).order_by(*order, kv_store.c.namespace, kv_store.c.key).limit(limit).offset(offset or None))])
    total = connection.execute(sa.select(sa.func.count()).select_from(kv_store).where(where)).scalar_one()
    return found, int(total)


def of_namespaces(connection: Connection, namespaces: Sequence[str], *,
                  tenant_id: str = DEFAULT_TENANT) -> list[KeyInfo]:
    """The live keys of ``namespaces``, in their order, each namespace's keys sorted."""
    if not namespaces:
        return []
    rows = connection.execute(sa.select(*_COLUMNS).where(
        kv_store.c.tenant_id == tenant_id, kv_store.c.namespace.in_(list(namespaces)), _alive(connection)))
    found = [_info(row) for row in rows]
    rank = {namespace: index for index, namespace in enumerate(namespaces)}
    return sorted(found, key=lambda info: (rank[info.namespace], info.key))


def ancestors(namespace: str) -> list[str]:
    """``a.b.c`` → ``["a.b", "a"]``: the namespaces a namespace inherits from, nearest first."""
    parts = namespace.split(".")
    return [".".join(parts[:size]) for size in range(len(parts) - 1, 0, -1)]


def delete_keys(engine: Engine, namespace: str, keys: Sequence[str], *, tenant_id: str = DEFAULT_TENANT) -> list[str]:
    """Delete ``keys`` of ``namespace`` in one statement; the live keys that were deleted, sorted (an expired
    key named is deleted too, but not reported, as a read would not find it)."""
    check_namespace(namespace)
    for key in keys:
        check_key(key)
    if not keys:
        return []
    with write_connection(engine) as connection, connection.begin():
        named = sa.and_(kv_store.c.tenant_id == tenant_id, kv_store.c.namespace == namespace,
                        kv_store.c.key.in_(list(keys)))
        alive = connection.execute(sa.select(kv_store.c.key).where(named, _alive(connection))).scalars().all()
        connection.execute(sa.delete(kv_store).where(named))
    return sorted(str(key) for key in alive)


def namespaces(connection: Connection, *, tenant_id: str = DEFAULT_TENANT) -> list[str]:
    """The namespaces holding at least one live key."""
    return [str(ns) for ns in connection.execute(sa.select(kv_store.c.namespace).distinct().where(
        kv_store.c.tenant_id == tenant_id, _alive(connection))).scalars()]
