"""Triggers addressed by body or by query (Kestra 0.21 and kestrapy's forms): set-disabled, unlock, delete,
and backfill create / pause / unpause / delete, each for one trigger (the body names it), for a list
(``by-triggers``) or for the triggers a search keeps (``by-query``: ``filters[field][OP]`` parameters, or a
body ``{filters: [{field, operation, value}]}``).

A bulk action is one transaction answering ``{count}``: the triggers it changed (set-disabled counts all it
was given).  A list naming an unknown trigger is a 404 and changes nothing; triggers the action does not
apply to (no backfill to pause, no scheduler to forget) are skipped.  For one trigger, no backfill to act
on is a 409.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request

from lanner.ops import trigger_bulk as bulk
from lanner.ops import triggers as ops
from lanner.web import query, tenants
from lanner.web import trigger_search as search_
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.routes_triggers import matching, run
from lanner.web.schemas.base import BulkResponse
from lanner.web.schemas.triggers import CreateBackfill, SetDisabled, SetDisabledMany, TriggerContext, TriggerId

router = APIRouter(prefix="/triggers", tags=["Triggers"])
LEGACY_Q = Query(None, description="Deprecated: filters[q][EQUALS]")
LEGACY_NS = Query(None, description="Deprecated: filters[namespace][PREFIX]")


def _on_keys(srv: Server, tenant: str, items: list[TriggerId], action: bulk.Action) -> BulkResponse:
    try:
        return BulkResponse(count=bulk.on_keys(srv.engine, bulk.keys_of(items), action, tenant))
    except ops.TriggerNotFound as exc:
        raise ApiError(404, exc.message) from None


def _on_query(request: Request, srv: Server, tenant: str, action: bulk.Action, q: str | None,
              namespace: str | None, body: dict[str, Any] | None = None) -> BulkResponse:
    filters = query.parse(request, "TRIGGER", extra=[*search_.legacy(q, namespace), *_body_filters(body)])
    chosen = {row.key for row in matching(srv, tenant, filters)}
    return BulkResponse(count=bulk.on_matching(srv.engine, lambda row: row.key in chosen, action, tenant))


def _body_filters(body: dict[str, Any] | None) -> list[query.Filter]:
    """``{filters: [{field, operation, value}]}`` (kestrapy's delete by query) as filters, checked as the
    query string's are."""
    if not body or body.get("filters") is None:
        return []
    items = body["filters"]
    if not isinstance(items, list):
        raise ApiError(400, "filters: expected a list of {field, operation, value}")
    found = []
    allowed = query.RESOURCES["TRIGGER"]
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise ApiError(400, f"filters[{index}]: expected {{field, operation, value}}")
        name = next((f for f in allowed if f.lower() == item["field"].lower()), None)
        if name is None:
            raise ApiError(400, f"filters[{index}]: field {item['field'][:50]!r} is not supported when searching "
                                f"triggers: use one of {', '.join(allowed)}")
        try:
            op = query.Op(str(item.get("operation") or "EQUALS").upper())
        except ValueError:
            op = None
        if op is None or op not in query.OPERATIONS[name]:
            raise ApiError(400, f"filters[{index}]: operation {item.get('operation')!r} is not supported for "
                                f"{name}: use one of {', '.join(query.OPERATIONS[name])}")
        value = item.get("value")
        found.append(query.Filter(name, op, value if isinstance(value, list) else str(value)))
    return found


# -- enable / disable ---------------------------------------------------------------------------------

@router.put("/set-disabled")
def set_disabled(body: SetDisabled, tenant: str = Depends(tenants.tenant),
                 srv: Server = Depends(server)) -> TriggerContext:
    """Disable or enable one trigger; a schedule enabled again is planned from now."""
    return run(bulk.on_one, srv.engine, bulk.keys_of([body])[0], bulk.set_disabled(body.disabled), tenant)


@router.post("/set-disabled/by-triggers")
def set_disabled_many(body: SetDisabledMany, tenant: str = Depends(tenants.tenant),
                      srv: Server = Depends(server)) -> BulkResponse:
    return _on_keys(srv, tenant, body.triggers, bulk.set_disabled(body.disabled))


@router.post("/set-disabled/by-query")
def set_disabled_matching(request: Request, disabled: bool = Query(True), q: str | None = LEGACY_Q,
                          namespace: str | None = LEGACY_NS, tenant: str = Depends(tenants.tenant),
                          srv: Server = Depends(server)) -> BulkResponse:
    return _on_query(request, srv, tenant, bulk.set_disabled(disabled), q, namespace)


# -- unlock, delete ------------------------------------------------------------------------------------

@router.post("/unlock/by-triggers")
def unlock_many(body: list[TriggerId], tenant: str = Depends(tenants.tenant),
                srv: Server = Depends(server)) -> BulkResponse:
    """Unlock the triggers a scheduler holds (the others are skipped)."""
    return _on_keys(srv, tenant, body, bulk.unlock)


@router.post("/unlock/by-query")
def unlock_matching(request: Request, q: str | None = LEGACY_Q, namespace: str | None = LEGACY_NS,
                    tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> BulkResponse:
    return _on_query(request, srv, tenant, bulk.unlock, q, namespace)


@router.delete("/delete/by-triggers")
def delete_many(body: list[TriggerId], tenant: str = Depends(tenants.tenant),
                srv: Server = Depends(server)) -> BulkResponse:
    """Forget the state of the triggers (they stay in their flows, planned again from now)."""
    return _on_keys(srv, tenant, body, bulk.reset)


@router.delete("/delete/by-query")
def delete_matching(request: Request, body: dict[str, Any] | None = Body(None), q: str | None = LEGACY_Q,
                    namespace: str | None = LEGACY_NS, tenant: str = Depends(tenants.tenant),
                    srv: Server = Depends(server)) -> BulkResponse:
    return _on_query(request, srv, tenant, bulk.reset, q, namespace, body)


# -- backfills -------------------------------------------------------------------------------------------

@router.put("/backfill/create")
def create_backfill(body: CreateBackfill, srv: Server = Depends(server)) -> TriggerContext:
    """Start a backfill: ``{namespace, flowId, triggerId, backfill: {start, end, inputs, labels}}``."""
    wanted = body.backfill
    labels = wanted.labels if not isinstance(wanted.labels, list) else [item.model_dump() for item in wanted.labels]
    return run(ops.start_backfill, srv.engine, body.namespace, body.flow_id, body.trigger_id, start=wanted.start,
               end=wanted.end, inputs=wanted.inputs, labels=labels)


def _one(srv: Server, tenant: str, body: TriggerId, action: bulk.Action, verb: str) -> TriggerContext:
    return run(bulk.on_one, srv.engine, bulk.keys_of([body])[0], action, tenant, f"has no backfill to {verb}")


@router.put("/backfill/pause")
def pause(body: TriggerId, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> TriggerContext:
    return _one(srv, tenant, body, bulk.pause_backfill(True), "pause")


@router.put("/backfill/unpause")
def unpause(body: TriggerId, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> TriggerContext:
    return _one(srv, tenant, body, bulk.pause_backfill(False), "resume")


@router.post("/backfill/delete")
def delete_backfill(body: TriggerId, tenant: str = Depends(tenants.tenant),
                    srv: Server = Depends(server)) -> TriggerContext:
    """Cancel the backfill: what it fired stays, the rest never fires."""
    return _one(srv, tenant, body, bulk.cancel_backfill, "cancel")


@router.post("/backfill/pause/by-triggers")
def pause_many(body: list[TriggerId], tenant: str = Depends(tenants.tenant),
               srv: Server = Depends(server)) -> BulkResponse:
    return _on_keys(srv, tenant, body, bulk.pause_backfill(True))


@router.post("/backfill/unpause/by-triggers")
def unpause_many(body: list[TriggerId], tenant: str = Depends(tenants.tenant),
                 srv: Server = Depends(server)) -> BulkResponse:
    return _on_keys(srv, tenant, body, bulk.pause_backfill(False))


@router.post("/backfill/delete/by-triggers")
def delete_backfill_many(body: list[TriggerId], tenant: str = Depends(tenants.tenant),
                         srv: Server = Depends(server)) -> BulkResponse:
    return _on_keys(srv, tenant, body, bulk.cancel_backfill)


@router.post("/backfill/pause/by-query")
def pause_matching(request: Request, q: str | None = LEGACY_Q, namespace: str | None = LEGACY_NS,
                   tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> BulkResponse:
    return _on_query(request, srv, tenant, bulk.pause_backfill(True), q, namespace)


@router.post("/backfill/unpause/by-query")
def unpause_matching(request: Request, q: str | None = LEGACY_Q, namespace: str | None = LEGACY_NS,
                     tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> BulkResponse:
    return _on_query(request, srv, tenant, bulk.pause_backfill(False), q, namespace)


@router.post("/backfill/delete/by-query")
def delete_backfill_matching(request: Request, q: str | None = LEGACY_Q, namespace: str | None = LEGACY_NS,
                             tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> BulkResponse:
    return _on_query(request, srv, tenant, bulk.cancel_backfill, q, namespace)
