"""The namespace key-value store over HTTP (Kestra's ``/api/v1/{tenant}/namespaces/{namespace}/kv`` and
``/api/v1/{tenant}/kv``).

Keys are answered as Kestra's ``KVEntry`` (metadata) and ``KvDetail`` (type, value, revision); a
bulk deletion removes the keys named in one statement.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from lanner.store import kv_listing
from lanner.store.kv_listing import KeyInfo
from lanner.store.kv_repository import KVStore, check_namespace
from lanner.timestamps import instant, utc_instant
from lanner.web import query, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking
from lanner.web.schemas.namespaces import KVDeleteBulk, KVDetail, KVEntry, KVPage

router = APIRouter(prefix="/namespaces/{namespace}/kv", tags=["KV"])
every_key = APIRouter(tags=["KV"])  # /kv: the keys of every namespace
VALUE = {"requestBody": {"content": {"application/json": {}, "text/plain": {"schema": {"type": "string"}}},
                         "required": True}}


def _store(srv: Server, tenant: str) -> KVStore:
    return KVStore(srv.engine, tenant)


def _entry(info: KeyInfo) -> KVEntry:
    return KVEntry(namespace=info.namespace, key=info.key, revision=info.version, description=info.description,
                   creation_date=utc_instant(info.created), update_date=utc_instant(info.updated),
                   expiration_date=instant(info.expiration))


@every_key.get("/kv", response_model=KVPage)
def search(request: Request, page: query.Page = Depends(query.page), sort: list[str] = Query(default=[]),
           tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> KVPage:
    """A page of the live keys of every namespace, filtered (``filters[q|namespace|updated][OP]``)."""
    filters = query.parse(request, "KV_METADATA")
    order = [(s.field, s.descending) for s in query.sorts(sort, tuple(kv_listing.SORTS), "namespace:asc")]
    with srv.engine.connect() as connection:
        try:
            found, total = kv_listing.search(connection, filters, sort=order, limit=page.size, offset=page.offset,
                                             tenant_id=tenant)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    return KVPage(results=[_entry(info) for info in found], total=total)


@router.get("", response_model=list[KVEntry])
def list_keys(namespace: str, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[KVEntry]:
    """The namespace's live keys, sorted."""
    check_namespace(namespace)
    with srv.engine.connect() as connection:
        return [_entry(info) for info in kv_listing.of_namespaces(connection, [namespace], tenant_id=tenant)]


@router.get("/inheritance", response_model=list[KVEntry])
def inherited(namespace: str, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[KVEntry]:
    """The live keys of the namespace's parents (``a.b.c``: those of ``a.b``, then of ``a``)."""
    check_namespace(namespace)
    with srv.engine.connect() as connection:
        return [_entry(info) for info in kv_listing.of_namespaces(connection, kv_listing.ancestors(namespace),
                                                                   tenant_id=tenant)]


@router.delete("", response_model=KVDeleteBulk)
def delete_many(namespace: str, body: KVDeleteBulk, tenant: str = Depends(tenants.tenant),
                srv: Server = Depends(server)) -> KVDeleteBulk:
    """Delete the keys named, all at once; answers the keys that were there."""
    if len(body.keys) > 10_000:
        raise ApiError(400, f"{len(body.keys)} keys: delete at most 10000 at once")
    return KVDeleteBulk(keys=kv_listing.delete_keys(srv.engine, namespace, body.keys, tenant_id=tenant))


@router.get("/{key}", response_model=KVDetail)
def get(namespace: str, key: str, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> KVDetail:
    entry = _store(srv, tenant).entry(namespace, key)
    if entry is None:
        raise ApiError(404, f"no key `{key}` in namespace {namespace} (or it expired)")
    return KVDetail(type=str(entry.type), value=entry.value, revision=entry.version,
                    updated=utc_instant(entry.updated))


@router.put("/{key}", openapi_extra=VALUE, status_code=204)
async def put(namespace: str, key: str, request: Request, tenant: str = Depends(tenants.tenant),
              srv: Server = Depends(server)) -> Response:
    raw = (await request.body()).decode("utf-8", errors="replace")
    # Kestra reads the body as JSON when it parses (numbers, booleans, objects), as text otherwise.
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    await blocking(_store(srv, tenant).set, namespace, key, value)  # the write on a thread, not the event loop
    return Response(status_code=204)


@router.delete("/{key}")
def delete(namespace: str, key: str, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> bool:
    """Whether the key was there and is deleted now (Kestra answers the same boolean, 200 either way)."""
    return _store(srv, tenant).delete(namespace, key)
