"""Executions (Kestra's ``/api/v1/executions``); their logs are :mod:`lanner.web.routes_logs`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import UploadFile

from lanner.errors import WaitTimeoutError
from lanner.store import execution_repository as repo
from lanner.store.database import write_connection
from lanner.web import params, shapes
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking, read_form
from lanner.web.schemas.executions import Execution as ExecutionBody
from lanner.web.waiting import wait_for_end

router = APIRouter(tags=["Executions"])
FOLLOW_EVERY = 0.25  # seconds between looks at a followed execution
WAIT_TIMEOUT = 3600.0  # seconds a `?wait=true` creation waits for the execution's end
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


# Registered after the routes under /executions/{id}/...: FastAPI matches in order, and
# /executions/{namespace}/{flowId} would take /executions/{id}/restart for a flow.
@router.post("/executions/{namespace}/{flow_id}", openapi_extra=FORM, response_model=ExecutionBody)
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
            if execution != last:  # the value, not its shape: a lone state's duration grows with the clock
                last = execution
                yield f"event: execution\ndata: {json.dumps(shapes.execution(execution))}\n\n"
            if execution.current.terminal or srv.draining.is_set():
                return
            await asyncio.sleep(FOLLOW_EVERY)

    return StreamingResponse(events(), media_type="text/event-stream")
