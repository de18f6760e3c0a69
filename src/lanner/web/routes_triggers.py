"""Triggers (Kestra's ``/api/v1/{tenant}/triggers``): search, a flow's triggers, the CSV export, read, enable
or disable, unlock, restart, reset (delete), backfill by path.

The bulk forms (``by-triggers``, ``by-query``) and Kestra's body-addressed forms are in
:mod:`lanner.web.routes_triggers_bulk`.  Every change is one write transaction with the trigger's row
locked.  An unknown trigger is a 404; a backfill that conflicts with the one already there (or with none)
a 409; a backfill that cannot run a 400.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from lanner.ops import trigger_bulk as bulk
from lanner.ops import triggers as ops
from lanner.store import trigger_repository as repo
from lanner.store.trigger_repository import TriggerRow
from lanner.web import query, tenants
from lanner.web import trigger_search as search_
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.schemas.base import PagedResults
from lanner.web.schemas.triggers import TriggerContext, TriggerEntry

router = APIRouter(prefix="/triggers", tags=["Triggers"])
ONE = "/{namespace}/{flow_id}/{trigger_id}"
BACKFILL_BODY = Body(..., openapi_examples={"a day of ticks": {"value": {
    "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z", "inputs": {}, "labels": {}}}})
UPDATE_BODY = Body(..., openapi_examples={"disable": {"value": {
    "namespace": "company.team", "flowId": "nightly", "triggerId": "schedule", "disabled": True}}})
SORT = Query(None, description="field:asc|desc, repeated; fields: " + ", ".join(search_.SORTS))


def run(operation: Callable[..., TriggerRow], *args: Any, **kwargs: Any) -> TriggerContext:
    """The operation's trigger as the API shows it, its refusals as 404 / 409 / 400."""
    try:
        return search_.context(operation(*args, **kwargs))
    except ops.TriggerNotFound as exc:
        raise ApiError(404, exc.message) from None
    except ops.TriggerConflict as exc:
        raise ApiError(409, exc.message) from None
    except ops.InvalidBackfill as exc:
        raise ApiError(400, exc.message) from None


def matching(srv: Server, tenant: str, filters: query.Group, date_filter: str | None = None) -> list[TriggerRow]:
    with srv.engine.connect() as connection:
        rows = repo.list_triggers(connection, tenant_id=tenant)
    return search_.select(rows, filters, date_filter)


@router.get("/search")
def search(request: Request, q: str | None = Query(None, description="Deprecated: filters[q][EQUALS]"),
           namespace: str | None = Query(None, description="Deprecated: filters[namespace][PREFIX]"),
           flow_id: str | None = Query(None, alias="flowId", description="Deprecated: filters[flowId][EQUALS]"),
           worker_id: str | None = Query(None, alias="workerId", description="Deprecated: filters[workerId][EQUALS]"),
           date_filter: str | None = Query(None, alias="dateFilter",
                                           description="What startDate/endDate bound: NEXT_EXECUTION_DATE "
                                                       "(default) or LAST_TRIGGERED_DATE"),
           sort: list[str] | None = SORT, paging: query.Page = Depends(query.page),
           tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> PagedResults[TriggerEntry]:
    """Triggers with their definition and state, filtered by ``filters[field][OP]`` (q, scope, namespace,
    workerId, flowId, startDate, endDate, triggerId, triggerState)."""
    filters = query.parse(request, "TRIGGER", extra=search_.legacy(q, namespace, flow_id, worker_id))
    found = search_.sort(matching(srv, tenant, filters, date_filter), sort)
    return PagedResults(results=[search_.entry(row) for row in paging.of(found)], total=len(found))


@router.get("/export/by-query/csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "one line per trigger"}})
def export(request: Request, q: str | None = None, namespace: str | None = None,
           tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Response:
    """The triggers the filters keep, as CSV: namespace, flowId, triggerId, type, disabled, workerId,
    executionId, date, nextExecutionDate, updatedDate, backfill (start/end)."""""
    filters = query.parse(request, "TRIGGER", extra=search_.legacy(q, namespace))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(search_.CSV_COLUMNS)
    writer.writerows(search_.csv_row(row) for row in search_.sort(matching(srv, tenant, filters), None))
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="triggers.csv"'})


@router.get("/{namespace}/{flow_id}")
def of_flow(namespace: str, flow_id: str, q: str | None = None, sort: list[str] | None = SORT,
            paging: query.Page = Depends(query.page), tenant: str = Depends(tenants.tenant),
            srv: Server = Depends(server)) -> PagedResults[TriggerContext]:
    """The states of one flow's triggers (ids containing ``q``); an unknown flow has none."""
    with srv.engine.connect() as connection:
        rows = repo.list_triggers(connection, namespace=namespace, flow_id=flow_id, tenant_id=tenant, exact=True)
    found = search_.sort(search_.select(rows, query.Group("and", tuple(query.legacy(q=q)))), sort)
    return PagedResults(results=[search_.context(row) for row in paging.of(found)], total=len(found))


@router.put("")
def update(body: dict[str, Any] = UPDATE_BODY, srv: Server = Depends(server)) -> TriggerContext:
    """Kestra 0.2x's update: ``{namespace, flowId, triggerId, disabled}`` enables or disables the trigger."""
    missing = [name for name in ("namespace", "flowId", "triggerId") if not isinstance(body.get(name), str)]
    if missing:
        raise ApiError(400, f"the body needs {', '.join(missing)}")
    if not isinstance(body.get("disabled"), bool):
        raise ApiError(400, "the body needs disabled: true or false")
    return run(ops.set_disabled, srv.engine, body["namespace"], body["flowId"], body["triggerId"], body["disabled"])


@router.get(ONE)
def get(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> TriggerContext:
    with srv.engine.connect() as connection:
        return run(ops.get, connection, namespace, flow_id, trigger_id)


@router.delete(ONE, status_code=204)
def delete(namespace: str, flow_id: str, trigger_id: str, tenant: str = Depends(tenants.tenant),
           srv: Server = Depends(server)) -> Response:
    """Forget the trigger's state (it stays in its flow): enabled, never fired, no backfill, planned from now."""
    run(bulk.on_one, srv.engine, (namespace, flow_id, trigger_id), bulk.reset, tenant)
    return Response(status_code=204)


@router.post(ONE + "/disable")
def disable(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> TriggerContext:
    return run(ops.set_disabled, srv.engine, namespace, flow_id, trigger_id, True)


@router.post(ONE + "/enable")
def enable(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> TriggerContext:
    """Enable; a schedule is planned again from now (the ticks it missed while disabled are not fired)."""
    return run(ops.set_disabled, srv.engine, namespace, flow_id, trigger_id, False)


@router.post(ONE + "/unlock")
def unlock(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> TriggerContext:
    """Forget the scheduler that last held the trigger and plan it again from now."""
    return run(ops.unlock, srv.engine, namespace, flow_id, trigger_id)


@router.post(ONE + "/restart")
def restart(namespace: str, flow_id: str, trigger_id: str, tenant: str = Depends(tenants.tenant),
            srv: Server = Depends(server)) -> TriggerContext:
    """Evaluate the trigger afresh: forget the scheduler holding it and plan it again from now."""
    return run(bulk.on_one, srv.engine, (namespace, flow_id, trigger_id), bulk.restart, tenant)


@router.put(ONE + "/backfill")
def backfill(namespace: str, flow_id: str, trigger_id: str, body: dict[str, Any] = BACKFILL_BODY,
             srv: Server = Depends(server)) -> TriggerContext:
    """Fire the past ticks from ``start`` to ``end`` (now when absent), in order; dates ISO 8601,
    without an offset in the trigger's time zone."""
    return run(ops.start_backfill, srv.engine, namespace, flow_id, trigger_id, start=body.get("start"),
               end=body.get("end"), inputs=body.get("inputs"), labels=body.get("labels"))


@router.post(ONE + "/backfill/pause")
def pause(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> TriggerContext:
    return run(ops.pause_backfill, srv.engine, namespace, flow_id, trigger_id, True)


@router.post(ONE + "/backfill/unpause")
def unpause(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> TriggerContext:
    return run(ops.pause_backfill, srv.engine, namespace, flow_id, trigger_id, False)


@router.delete(ONE + "/backfill")
def cancel(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> TriggerContext:
    """Cancel the backfill: what it fired stays, the rest never fires."""
    return run(ops.cancel_backfill, srv.engine, namespace, flow_id, trigger_id)
