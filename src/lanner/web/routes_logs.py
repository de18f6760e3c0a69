"""An execution's log lines and log searches (Kestra's ``/api/v1/{tenant}/logs``).

``GET /logs/{executionId}`` answers Kestra's list, a page at a time (a ``Link`` header leads to the
next page); ``/follow`` streams new lines as server-sent events until the execution has ended;
``/download`` sends every line as text.  ``/logs/search`` searches every line of the tenant with
Kestra's ``LOG`` filters.  The deletions are one statement each, hence all or nothing.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from lanner.store import log_lines
from lanner.store.database import write_connection
from lanner.timestamps import instant
from lanner.web import query, shapes, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking, limits
from lanner.web.schemas.logs import LogPage, log_entry

router = APIRouter(tags=["Logs"])
FOLLOW_EVERY = 0.25  # seconds between looks at a followed execution
LATE_COMMIT = 5.0  # seconds: a log line is visible this long after a line of a higher id at the latest
READ_LOGS = 1000  # log lines read at once by the streams (follow, download)
MIN_LEVEL = Query(None, alias="minLevel", description="TRACE, DEBUG, INFO, WARN or ERROR: this level and above")


@router.get("/logs/search", response_model=LogPage)
def search(request: Request, page: query.Page = Depends(query.page), sort: list[str] = Query(default=[]),
           q: str | None = None, namespace: str | None = None, flow_id: str | None = Query(None, alias="flowId"),
           trigger_id: str | None = Query(None, alias="triggerId"), min_level: str | None = MIN_LEVEL,
           start_date: str | None = Query(None, alias="startDate"), end_date: str | None = Query(None, alias="endDate"),
           tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> LogPage:
    """Lines of every execution and trigger, filtered with ``filters[field][OPERATION]=value`` (fields: q,
    scope, namespace, flowId, triggerId, executionId, level, startDate, endDate, timeRange) or the 0.2x
    parameters; newest first unless ``sort`` says otherwise."""
    flat = query.legacy(q=q, flowId=flow_id, triggerId=trigger_id, level=min_level)
    if namespace is not None:
        flat.append(query.Filter("namespace", query.Op.PREFIX, namespace))
    if start_date is not None:
        flat.append(query.Filter("startDate", query.Op.GREATER_THAN_OR_EQUAL_TO, start_date))
    if end_date is not None:
        flat.append(query.Filter("endDate", query.Op.LESS_THAN_OR_EQUAL_TO, end_date))
    filters = query.parse(request, "LOG", extra=flat)
    order = [(s.field, s.descending) for s in query.sorts(sort, tuple(log_lines.SORTS), "timestamp:desc")]
    with srv.engine.connect() as connection:
        try:
            found, total = log_lines.search_logs(connection, filters, tenant_id=tenant, sort=order,
                                                 limit=page.size, offset=page.offset)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    return LogPage(results=[log_entry(line) for line in found], total=total)


@router.get("/logs/{execution_id}/follow", response_class=StreamingResponse)
async def follow(execution_id: str, min_level: str | None = MIN_LEVEL, tenant: str = Depends(tenants.tenant),
                 srv: Server = Depends(server)) -> StreamingResponse:
    """Server-sent events: each new log line, until the execution has ended and its lines are sent."""
    await blocking(srv.executions.get, execution_id, tenant)  # 404 before the stream starts
    _levels(min_level)

    async def events() -> AsyncIterator[str]:
        # Lines written by two writers at once may become visible out of id order: each look reads
        # again the lines past the highest id seen LATE_COMMIT seconds ago, and skips those it sent.
        sent: set[int] = set()
        floor: int | None = None
        marks: collections.deque[tuple[float, int]] = collections.deque()  # (when, highest id seen)
        while True:
            ended = (await blocking(srv.executions.get, execution_id, tenant)).current.terminal
            cursor = floor
            while True:  # a page at a time: an execution of a million lines is never read at once
                entries = await blocking(srv.executions.logs, execution_id, after_id=cursor, limit=READ_LOGS,
                                         min_level=min_level, tenant_id=tenant)
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


@router.get("/logs/{execution_id}/download", response_class=PlainTextResponse)
async def download(execution_id: str, min_level: str | None = MIN_LEVEL,
                   task_run_id: str | None = Query(None, alias="taskRunId"),
                   task_id: str | None = Query(None, alias="taskId"),
                   attempt: int | None = Query(None, ge=0, le=2**31 - 1),
                   tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> StreamingResponse:
    """Every line as text, read and sent a page at a time."""
    await blocking(srv.executions.get, execution_id, tenant)
    _levels(min_level)

    async def lines() -> AsyncIterator[str]:
        cursor = None
        while True:
            entries = await blocking(srv.executions.logs, execution_id, after_id=cursor, limit=READ_LOGS,
                                     min_level=min_level, task_run_id=task_run_id, task_id=task_id,
                                     attempt=attempt, tenant_id=tenant)
            if entries:
                yield "".join(f"{instant(e.timestamp)} {e.level:<5} {e.task_id or '-'} {e.message}\n"
                              for e in entries)
            if len(entries) < READ_LOGS:
                return
            cursor = entries[-1].id

    return StreamingResponse(lines(), media_type="text/plain; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{execution_id}.log"'})


@router.get("/logs/{execution_id}")
def execution_logs(execution_id: str, request: Request, min_level: str | None = MIN_LEVEL,
                   task_run_id: str | None = Query(None, alias="taskRunId"),
                   task_id: str | None = Query(None, alias="taskId"),
                   attempt: int | None = Query(None, ge=0, le=2**31 - 1), page: int = Query(1, ge=1, le=1_000_000),
                   size: int | None = Query(None, ge=1), tenant: str = Depends(tenants.tenant),
                   srv: Server = Depends(server)) -> JSONResponse:
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
    srv.executions.get(execution_id, tenant)  # 404 for an unknown execution
    _levels(min_level)
    entries = srv.executions.logs(execution_id, task_run_id=task_run_id, min_level=min_level, task_id=task_id,
                                  attempt=attempt, limit=size + 1, offset=(page - 1) * size, tenant_id=tenant)
    headers = {}
    if len(entries) > size:
        entries = entries[:size]
        following = request.url.include_query_params(page=page + 1, size=size)
        headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return JSONResponse([shapes.log(e) for e in entries], headers=headers)


@router.delete("/logs/{execution_id}", status_code=204)
def delete_execution_logs(execution_id: str, min_level: str | None = MIN_LEVEL,
                          task_run_id: str | None = Query(None, alias="taskRunId"),
                          task_id: str | None = Query(None, alias="taskId"),
                          attempt: int | None = Query(None, ge=0, le=2**31 - 1),
                          tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Response:
    """Delete the execution's lines (of one task run, task or attempt; ``minLevel`` and above), as Kestra: an
    execution without lines (or unknown) has nothing to delete."""
    _levels(min_level)
    with write_connection(srv.engine) as connection, connection.begin():
        log_lines.delete_logs(connection, execution_id, task_run_id=task_run_id, task_id=task_id, attempt=attempt,
                              min_level=min_level, tenant_id=tenant)
    return Response(status_code=204)


@router.delete("/logs/{namespace}/{flow_id}", status_code=204)
def delete_flow_logs(namespace: str, flow_id: str, trigger_id: str | None = Query(None, alias="triggerId"),
                     tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Response:
    """Delete every line of the flow (only its trigger's when ``triggerId`` is given)."""
    with write_connection(srv.engine) as connection, connection.begin():
        log_lines.delete_flow_logs(connection, namespace, flow_id, trigger_id=trigger_id, tenant_id=tenant)
    return Response(status_code=204)


def _levels(min_level: str | None) -> None:
    """A 400 naming ``minLevel`` when it is none of Kestra's levels."""
    if min_level is not None:
        try:
            log_lines.levels_from(min_level)
        except ValueError as exc:
            raise ApiError(400, f"minLevel: {exc}") from None
