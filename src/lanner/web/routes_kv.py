"""The namespace key-value store over HTTP (Kestra's ``/api/v1/namespaces/{namespace}/kv``)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from lanner.store.kv_repository import KVEntry, KVStore
from lanner.timestamps import instant
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking

router = APIRouter(prefix="/namespaces/{namespace}/kv", tags=["KV"])
VALUE = {"requestBody": {"content": {"application/json": {}, "text/plain": {"schema": {"type": "string"}}},
                         "required": True}}


def _store(srv: Server) -> KVStore:
    return KVStore(srv.engine)


def _meta(entry: KVEntry) -> dict[str, Any]:
    return {"key": entry.key, "description": entry.description, "expirationDate": instant(entry.expiration),
            "updateDate": instant(entry.updated), "creationDate": instant(entry.created)}


@router.get("")
def list_keys(namespace: str, srv: Server = Depends(server)) -> list[dict[str, Any]]:
    store = _store(srv)
    entries = [store.entry(namespace, key) for key in store.keys(namespace)]
    return [_meta(entry) for entry in entries if entry is not None]


@router.get("/{key}")
def get(namespace: str, key: str, srv: Server = Depends(server)) -> dict[str, Any]:
    entry = _store(srv).entry(namespace, key)
    if entry is None:
        raise ApiError(404, f"no key `{key}` in namespace {namespace} (or it expired)")
    return {"type": str(entry.type), "value": entry.value}


@router.put("/{key}", openapi_extra=VALUE, status_code=204)
async def put(namespace: str, key: str, request: Request, srv: Server = Depends(server)) -> Response:
    raw = (await request.body()).decode("utf-8", errors="replace")
    # Kestra reads the body as JSON when it parses (numbers, booleans, objects), as text otherwise.
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    await blocking(_store(srv).set, namespace, key, value)  # the database write on a thread, not the event loop
    return Response(status_code=204)


@router.delete("/{key}", status_code=204)
def delete(namespace: str, key: str, srv: Server = Depends(server)) -> Response:
    if not _store(srv).delete(namespace, key):
        raise ApiError(404, f"no key `{key}` in namespace {namespace}")
    return Response(status_code=204)
