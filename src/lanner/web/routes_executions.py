"""Executions and their logs (Kestra's ``/api/v1/executions`` and ``/api/v1/logs``)."""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from lanner.errors import WaitTimeoutError
from lanner.store import execution_repository as repo
from lanner.store.database import write_connection
from lanner.timestamps import instant
from lanner.web import params, shapes
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking, limits, read_form
from lanner.web.waiting import wait_for_end

router = APIRouter(tags=["Executions"])
FOLLOW_EVERY = 0.25  # seconds between looks at a followed execution
LATE_COMMIT = 5.0  # seconds: a log line is visible this long after a line of a higher id at the latest
WAIT_TIMEOUT = 3600.0  # seconds a `?wait=true` creation waits for the execution's end
READ_LOGS = 1000  # log lines read at once by the streams (follow, download)
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


@router.post("/executions/{execution_id}/restart")
def restart(execution_id: str, srv: Server = Depends(server)) -> dict[str, Any]:
    srv.executions.restart(execution_id)
    return shapes.execution(srv.executions.get(execution_id))


@router.delete("/executions/{execution_id}/kill", status_code=202)
def kill(execution_id: str, srv: Server = Depends(server)) -> dict[str, Any]:
    execution = srv.executions.get(execution_id)
    if execution.current.terminal:
        raise ApiError(409, f"execution {execution_id} is already {execution.current}")
    srv.executions.kill(execution_id)
    return shapes.execution(srv.executions.get(execution_id))


@router.post("/executions/{execution_id}/resume", openapi_extra=FORM)
async def resume(execution_id: str, request: Request, srv: Server = Depends(server)) -> dict[str, Any]:
    inputs = await _form(request)
    await blocking(srv.executions.resume, execution_id, inputs)
    return shapes.execution(await blocking(srv.executions.get, execution_id))


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
            if execution != last:  # the value, not its shape: a lone state's duration grows with the clock
                last = execution
                yield f"event: execution\ndata: {json.dumps(shapes.execution(execution))}\n\n"
            if execution.current.terminal or srv.draining.is_set():
                return
            await asyncio.sleep(FOLLOW_EVERY)

    return StreamingResponse(events(), media_type="text/event-stream")


@router.get("/logs/{execution_id}/follow", tags=["Logs"], response_class=StreamingResponse)
async def follow_logs(execution_id: str, srv: Server = Depends(server)) -> StreamingResponse:
    """Server-sent events: each new log line, until the execution has ended and its lines are sent."""
    await blocking(srv.executions.get, execution_id)

    async def events() -> AsyncIterator[str]:
        # Lines written by two writers at once may become visible out of id order: each look reads
        # again the lines past the highest id seen LATE_COMMIT seconds ago, and skips those it sent.
        sent: set[int] = set()
        floor: int | None = None
        marks: collections.deque[tuple[float, int]] = collections.deque()  # (when, highest id seen)
        while True:
            ended = (await blocking(srv.executions.get, execution_id)).current.terminal
            cursor = floor
            while True:  # a page at a time: an execution of a million lines is never read at once
                entries = await blocking(srv.executions.logs, execution_id, after_id=cursor, limit=READ_LOGS)
                for entry in entries:
                    if entry.id not in sent:
                        sent.add(entry.id or 0)
                        yield f"event: log\ndata: {json.dumps(shapes.log(entry))}\n\n"
                if len(entries) < READ_LOGS:
                    break
                cursor = entries[-1].id
            now = time.monotonic()
            if sent:
                marks.append((now, max(sent)))
            while marks and now - marks[0][0] >= LATE_COMMIT:
                floor = max(floor or 0, marks.popleft()[1])
                sent = {line for line in sent if line > floor}
            if ended or srv.draining.is_set():
                return
            await asyncio.sleep(FOLLOW_EVERY)

    return StreamingResponse(events(), media_type="text/event-stream")


@router.get("/logs/{execution_id}/download", tags=["Logs"], response_class=PlainTextResponse)
async def download_logs(execution_id: str, srv: Server = Depends(server)) -> StreamingResponse:
    """Every line as text, read and sent a page at a time."""
    await blocking(srv.executions.get, execution_id)

    async def lines() -> AsyncIterator[str]:
        cursor = None
        while True:
            entries = await blocking(srv.executions.logs, execution_id, after_id=cursor, limit=READ_LOGS)
            if entries:
                yield "".join(f"{instant(e.timestamp)} {e.level:<5} {e.task_id or '-'} {e.message}\n"
                              for e in entries)
            if len(entries) < READ_LOGS:
                return
            cursor = entries[-1].id

    return StreamingResponse(lines(), media_type="text/plain; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{execution_id}.log"'})


@router.get("/logs/{execution_id}", tags=["Logs"])
def logs(execution_id: str, request: Request, min_level: str | None = Query(None, alias="minLevel"),
         task_run_id: str | None = Query(None, alias="taskRunId"), task_id: str | None = Query(None, alias="taskId"),
         attempt: int | None = Query(None, ge=0, le=2**31 - 1), page: int = Query(1, ge=1, le=1_000_000),
         size: int | None = Query(None, ge=1), srv: Server = Depends(server)) -> JSONResponse:
    """A page of the execution's lines (Kestra answers them all; Lanner at most lanner.server.max-log-page-size).

    The answer is Kestra's list; when more lines follow, a ``Link`` header (``rel="next"``)
    gives the next page's address.
    """
    largest = limits(request).max_log_page_size
    if size is None:
        size = largest
    elif size > largest:
        raise ApiError(400, f"size {size} is more log lines than one page holds: ask for at most {largest} "
                            "(lanner.server.max-log-page-size) and follow the Link header to the next page")
    srv.executions.get(execution_id)  # 404 for an unknown execution
    try:
        entries = srv.executions.logs(execution_id, task_run_id=task_run_id, min_level=min_level, task_id=task_id,
                                      attempt=attempt, limit=size + 1, offset=(page - 1) * size)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    headers = {}
    if len(entries) > size:
        entries = entries[:size]
        following = request.url.include_query_params(page=page + 1, size=size)
        headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return JSONResponse([shapes.log(e) for e in entries], headers=headers)
