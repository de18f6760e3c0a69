"""Executions (Kestra's ``/api/v1/executions``); their logs are :mod:`lanner.web.routes_logs`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile

from lanner.errors import WaitTimeoutError
from lanner.model.state import State
from lanner.store import execution_repository as repo
from lanner.store.database import write_connection
from lanner.web import params, shapes
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking, read_form
from lanner.web.waiting import wait_for_end

router = APIRouter(tags=["Executions"])
FOLLOW_EVERY = 0.25  # seconds between looks at a followed execution
WAIT_TIMEOUT = 3600.0  # seconds a `?wait=true` creation waits for the execution's end
# Executions sort by when they were created (Kestra's state.startDate for a started one).
SORTABLE = ("state.startDate", "startDate", "createdAt")
FORM = {"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object",
                                                                       "additionalProperties": {"type": "string"}}}}}}


async def _form(request: Request) -> dict[str, Any]:
    if "multipart/form-data" not in request.headers.get("content-type", "") and \
            "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    form = await read_form(request)
    values: dict[str, Any] = {}
    for key, value in form.multi_items():
        if (isinstance(value, str) and "\x00" in value) or "\x00" in key:
            raise ApiError(422, f"input `{key[:100]!r}`: a NUL character (\\0) cannot be stored; remove it or "
                                "encode the data (base64)")
        if isinstance(value, UploadFile):
            raise ApiError(422, f"input `{key}`: file inputs are not supported yet")
        if key in values:  # a repeated field (several values of a MULTISELECT): a list
            previous = values[key]
            values[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            values[key] = value
    return values


@router.get("/executions/search")
def search(namespace: str | None = None, flow_id: str | None = Query(None, alias="flowId"),
           state: list[State] = Query(default=[]), start_date: datetime | None = Query(None, alias="startDate"),
           end_date: datetime | None = Query(None, alias="endDate"), labels: list[str] = Query(default=[]),
           sort: str = "state.startDate:desc", page: int = Query(1, ge=1, le=1_000_000),
           size: int = Query(25, ge=1, le=1000), srv: Server = Depends(server)) -> dict[str, Any]:
    field, _, direction = sort.partition(":")
    if field not in SORTABLE or direction.lower() not in ("", "asc", "desc"):
        raise ApiError(400, f"cannot sort by {sort!r}: use one of {', '.join(SORTABLE)}, with :asc or :desc")
    filters: dict[str, Any] = {
        "namespace": namespace, "flow_id": flow_id, "states": state or None, "labels": params.labels(labels),
        "since": _aware(start_date, "startDate"), "until": _aware(end_date, "endDate")}
    with srv.engine.connect() as connection:
        found = repo.list_executions(connection, limit=size, offset=(page - 1) * size,
                                     oldest_first=direction.lower() == "asc", **filters)
        found = srv.executions.in_declared_order(connection, found)
        total = repo.count_executions(connection, **filters)
    return {"results": [shapes.execution(e) for e in found], "total": total}


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ApiError(400, f"{name} {moment.isoformat()} has no time zone: add one, e.g. Z or +02:00")
    return moment


@router.get("/executions/{execution_id}")
def get(execution_id: str, srv: Server = Depends(server)) -> dict[str, Any]:
    return shapes.execution(srv.executions.get(execution_id))


# Registered after the routes under /executions/{id}/...: FastAPI matches in order, and
# /executions/{namespace}/{flowId} would take /executions/{id}/restart for a flow.
@router.post("/executions/{namespace}/{flow_id}", openapi_extra=FORM)
async def create(namespace: str, flow_id: str, request: Request, labels: list[str] = Query(default=[]),
                 wait: bool = False, srv: Server = Depends(server)) -> dict[str, Any]:
    inputs = await _form(request)
    service = srv.executions
    execution = await blocking(service.create, namespace, flow_id, inputs, labels=params.labels(labels))
    if wait:  # awaited, not blocked on: a long wait holds no thread
        try:
            execution = await wait_for_end(srv, execution.id, WAIT_TIMEOUT)
        except WaitTimeoutError as exc:
            raise ApiError(409, str(exc)) from None
    return shapes.execution(execution)


@router.delete("/executions/{execution_id}", status_code=204)
def delete(execution_id: str, srv: Server = Depends(server)) -> Response:
    execution = srv.executions.get(execution_id)
    if not execution.current.terminal:
        raise ApiError(409, f"execution {execution_id} is {execution.current}; kill it before deleting it")
    with write_connection(srv.engine) as connection, connection.begin():
        repo.delete_execution(connection, execution_id)
    return Response(status_code=204)


@router.get("/executions/{execution_id}/follow", response_class=StreamingResponse)
async def follow(execution_id: str, srv: Server = Depends(server)) -> StreamingResponse:
    """Server-sent events: the execution each time it changes, until it ends (or the server stops)."""
    await blocking(srv.executions.get, execution_id)  # 404 before the stream starts

    async def events() -> AsyncIterator[str]:
        last = None
        while True:
            execution = await blocking(srv.executions.get, execution_id)
            shaped = shapes.execution(execution)
            if shaped != last:
                last = shaped
                yield f"event: execution\ndata: {json.dumps(shaped)}\n\n"
            if execution.current.terminal or srv.draining.is_set():
                return
            await asyncio.sleep(FOLLOW_EVERY)

    return StreamingResponse(events(), media_type="text/event-stream")
