"""Triggers (Kestra's ``/api/v1/triggers``): search, read, enable or disable, unlock, backfill.

Every change goes through :mod:`lanner.ops.triggers`, one write transaction with the
trigger's row locked.  An unknown trigger is a 404; a backfill that conflicts with the
one already there (or with none) a 409; a backfill that cannot run a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from lanner.ops import triggers as ops
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError

router = APIRouter(prefix="/triggers", tags=["Triggers"])
ONE = "/{namespace}/{flow_id}/{trigger_id}"
BACKFILL_BODY = Body(..., openapi_examples={"a day of ticks": {"value": {
    "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z", "inputs": {}, "labels": {}}}})
UPDATE_BODY = Body(..., openapi_examples={"disable": {"value": {
    "namespace": "company.team", "flowId": "nightly", "triggerId": "schedule", "disabled": True}}})


def _run(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return ops.describe(operation(*args, **kwargs))
    except ops.TriggerNotFound as exc:
        raise ApiError(404, exc.message) from None
    except ops.TriggerConflict as exc:
        raise ApiError(409, exc.message) from None
    except ops.InvalidBackfill as exc:
        raise ApiError(400, exc.message) from None


@router.get("/search")
def search(q: str | None = None, namespace: str | None = None, flow_id: str | None = Query(None, alias="flowId"),
           page: int = Query(1, ge=1, le=1_000_000), size: int = Query(25, ge=1, le=1000),
           srv: Server = Depends(server)) -> dict[str, Any]:
    """Triggers of a namespace (and its children), of a flow, or whose ids contain ``q``."""
    with srv.engine.connect() as connection:
        found, total = ops.search(connection, namespace=namespace, flow_id=flow_id, query=q, limit=size,
                                  offset=(page - 1) * size)
    return {"results": [ops.describe(row) for row in found], "total": total}


@router.put("")
def update(body: dict[str, Any] = UPDATE_BODY, srv: Server = Depends(server)) -> dict[str, Any]:
    """Kestra's update: ``{namespace, flowId, triggerId, disabled}`` enables or disables the trigger."""
    missing = [name for name in ("namespace", "flowId", "triggerId") if not isinstance(body.get(name), str)]
    if missing:
        raise ApiError(400, f"the body needs {', '.join(missing)}")
    if not isinstance(body.get("disabled"), bool):
        raise ApiError(400, "the body needs disabled: true or false")
    return _run(ops.set_disabled, srv.engine, body["namespace"], body["flowId"], body["triggerId"], body["disabled"])


@router.get(ONE)
def get(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> dict[str, Any]:
    with srv.engine.connect() as connection:
        return _run(ops.get, connection, namespace, flow_id, trigger_id)


@router.post(ONE + "/disable")
def disable(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> dict[str, Any]:
    return _run(ops.set_disabled, srv.engine, namespace, flow_id, trigger_id, True)


@router.post(ONE + "/enable")
def enable(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> dict[str, Any]:
    """Enable; a schedule is planned again from now (the ticks it missed while disabled are not fired)."""
    return _run(ops.set_disabled, srv.engine, namespace, flow_id, trigger_id, False)


@router.post(ONE + "/unlock")
def unlock(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> dict[str, Any]:
    """Forget the scheduler that last held the trigger and plan it again from now."""
    return _run(ops.unlock, srv.engine, namespace, flow_id, trigger_id)


@router.put(ONE + "/backfill")
def backfill(namespace: str, flow_id: str, trigger_id: str, body: dict[str, Any] = BACKFILL_BODY,
             srv: Server = Depends(server)) -> dict[str, Any]:
    """Fire the past ticks from ``start`` to ``end`` (now when absent), in order; dates ISO 8601,
    without an offset in the trigger's time zone."""
    return _run(ops.start_backfill, srv.engine, namespace, flow_id, trigger_id, start=body.get("start"),
                end=body.get("end"), inputs=body.get("inputs"), labels=body.get("labels"))


@router.post(ONE + "/backfill/pause")
def pause(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> dict[str, Any]:
    return _run(ops.pause_backfill, srv.engine, namespace, flow_id, trigger_id, True)


@router.post(ONE + "/backfill/unpause")
def unpause(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> dict[str, Any]:
    return _run(ops.pause_backfill, srv.engine, namespace, flow_id, trigger_id, False)


@router.delete(ONE + "/backfill")
def cancel(namespace: str, flow_id: str, trigger_id: str, srv: Server = Depends(server)) -> dict[str, Any]:
    """Cancel the backfill: what it fired stays, the rest never fires."""
    return _run(ops.cancel_backfill, srv.engine, namespace, flow_id, trigger_id)
