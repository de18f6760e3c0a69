"""Reading executions: one by id, searches, the latest per flow, distinct values, a CSV export.

Searches take Kestra 1.x's ``filters[field][OPERATION]=value`` (fields and operations:
:data:`lanner.web.query.RESOURCES` ``EXECUTION``) and the flat 0.2x parameters, ANDed; every filter is
applied in SQL (:mod:`lanner.store.execution_search`), so a page costs the same whatever the table
holds.  The flat ``namespace`` matches the namespace and its children (Kestra's prefix),
``startDate`` and ``endDate`` bound when executions started, ``timeRange`` (an ISO 8601 duration,
``PT24H``) keeps those started within it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from lanner.model.execution import Execution as ExecutionValue
from lanner.model.state import State
from lanner.store import execution_search
from lanner.web import params, query, shapes, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.schemas import executions as schemas
from lanner.web.schemas.base import IdWithNamespace, PagedResults

router = APIRouter(tags=["Executions"])
DEFAULT_SORT = "state.startDate:desc"
MAX_LATEST = 1000  # flows one /executions/latest asks about
EXPORT_PAGE = 500  # executions read at once by the CSV export
# distinct-field-values: Kestra's QueryFilter.Field names (and the filter names) -> the search's fields.
DISTINCT_FIELDS = {"NAMESPACE": "namespace", "FLOW_ID": "flowId", "STATE": "state", "namespace": "namespace",
                   "flowId": "flowId", "state": "state"}
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE)
EXPORT_COLUMNS = ("id", "namespace", "flowId", "flowRevision", "state", "startDate", "endDate", "duration",
                  "labels", "parentId", "originalId", "triggerId", "triggerType")


def duration(raw: str, name: str = "timeRange") -> timedelta:
    """An ISO 8601 duration (``PT24H``, ``P1D``, ``PT5M``); a 400 naming the filter otherwise."""
    match = _DURATION.match(raw.strip())
    if not match or raw.strip().upper() in ("P", "PT") or raw.strip().upper().endswith("T"):
        raise ApiError(400, f"{name}: {raw[:50]!r} is not an ISO 8601 duration; write e.g. PT24H, P1D or PT5M")
    days, hours, minutes, seconds = match.groups()
    return timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
                     seconds=float(seconds or 0))


def typed(group: query.Group) -> query.Group:
    """The search with its values typed for SQL: dates as aware datetimes, timeRange as a duration; a 400
    for a value that is not one, or that holds a NUL character."""
    children: list[query.Filter | query.Group] = []
    for child in group.children:
        if isinstance(child, query.Group):
            children.append(typed(child))
            continue
        raw = child.value
        texts = raw.values() if isinstance(raw, dict) else raw if isinstance(raw, list) else [raw]
        if any("\x00" in str(text) for text in texts):
            raise ApiError(400, f"filters[{child.field}]: a NUL character (\\0) cannot match anything; remove it")
        value: Any = raw
        if child.field in ("startDate", "endDate") and not isinstance(raw, datetime):
            value = query.instant_value(child.field, str(raw))
        elif child.field == "timeRange" and not isinstance(raw, timedelta):
            value = duration(str(raw))
        elif child.field == "state":
            for item in child.values():
                if item not in State.__members__:
                    raise ApiError(400, f"filters[state]: {item[:50]!r} is not a state; use one of "
                                        f"{', '.join(State.__members__)}")
        children.append(query.Filter(child.field, child.op, value))
    return query.Group(group.logical, tuple(children))


def _search_filters(request: Request, namespace: str | None, flow_id: str | None, states: list[State],
                    start_date: str | None, end_date: str | None, labels: list[str], time_range: str | None,
                    q: str | None) -> query.Group:
    flat = query.legacy(flowId=flow_id, state=[str(s) for s in states], q=q, timeRange=time_range)
    if namespace:
        flat.append(query.Filter("namespace", query.Op.PREFIX, namespace))
    if start_date:
        flat.append(query.Filter("startDate", query.Op.GREATER_THAN_OR_EQUAL_TO, start_date))
    if end_date:
        flat.append(query.Filter("startDate", query.Op.LESS_THAN_OR_EQUAL_TO, end_date))
    if labels:
        flat.append(query.Filter("labels", query.Op.EQUALS, params.labels(labels)))
    return typed(query.parse(request, "EXECUTION", extra=flat))


def _page(srv: Server, tenant: str, group: query.Group | None, sort: list[str] | None,
          page: query.Page) -> JSONResponse:
    order = [(s.field, s.descending) for s in query.sorts(sort, tuple(execution_search.SORTS), DEFAULT_SORT)]
    with srv.engine.connect() as connection:
        found = execution_search.search(connection, group, tenant_id=tenant, sort=order, limit=page.size,
                                        offset=page.offset)
        found = srv.executions.in_declared_order(connection, found)
        total = execution_search.count(connection, group, tenant_id=tenant)
    # Sent as built (response_model documents it): FastAPI would validate every execution again.
    return JSONResponse({"results": [shapes.execution(e) for e in found], "total": total})


@router.get("/executions/search", response_model=PagedResults[schemas.Execution])
def search(request: Request, namespace: str | None = Query(None, description="The namespace or a parent of it"),
           flow_id: str | None = Query(None, alias="flowId"), state: list[State] = Query(default=[]),
           start_date: str | None = Query(None, alias="startDate", description="Started at or after (ISO 8601)"),
           end_date: str | None = Query(None, alias="endDate", description="Started at or before (ISO 8601)"),
           labels: list[str] = Query(default=[], description="key:value, repeatable"),
           time_range: str | None = Query(None, alias="timeRange", description="Started within (PT24H)"),
           q: str | None = Query(None, description="Text in the id, namespace or flow id"),
           sort: list[str] | None = Query(None, description=f"field:asc|desc; fields: "
                                                            f"{', '.join(execution_search.SORTS)}"),
           page: query.Page = Depends(query.page), tenant: str = Depends(tenants.tenant),
           srv: Server = Depends(server)) -> JSONResponse:
    """Executions matching every filter, newest first (task runs are not included: read an execution for them)."""
    group = _search_filters(request, namespace, flow_id, state, start_date, end_date, labels, time_range, q)
    return _page(srv, tenant, group, sort, page)


@router.get("/executions", response_model=PagedResults[schemas.Execution])
def by_flow(namespace: str = Query(min_length=1), flow_id: str = Query(alias="flowId", min_length=1),
            page: query.Page = Depends(query.page), tenant: str = Depends(tenants.tenant),
            srv: Server = Depends(server)) -> JSONResponse:
    """The executions of one flow, newest first."""
    group = typed(query.Group("and", (query.Filter("namespace", query.Op.EQUALS, namespace),
                                      query.Filter("flowId", query.Op.EQUALS, flow_id))))
    return _page(srv, tenant, group, None, page)


@router.post("/executions/latest", response_model=list[schemas.LastExecution])
def latest(flows: list[IdWithNamespace] = Body(description="The flows, as {namespace, id}"),
           tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[schemas.LastExecution]:
    """Each flow's latest execution (flows without one are left out)."""
    if len(flows) > MAX_LATEST:
        raise ApiError(400, f"{len(flows)} flows: ask about at most {MAX_LATEST} at once")
    with srv.engine.connect() as connection:
        found = execution_search.latest(connection, [(f.namespace, f.id) for f in flows], tenant_id=tenant)
    return [schemas.LastExecution(id=e.id, flow_id=e.flow_id, namespace=e.namespace, start_date=e.state.start_date,
                                  status=e.current) for e in found]


@router.get("/executions/distinct-field-values", response_model=list[str])
def distinct_field_values(request: Request, field: str = Query(description="NAMESPACE, FLOW_ID or STATE"),
                          size: int = Query(1000, ge=1, le=10_000), tenant: str = Depends(tenants.tenant),
                          srv: Server = Depends(server)) -> list[str]:
    """The distinct values one field takes among the executions matching the filters, sorted."""
    if field not in DISTINCT_FIELDS:
        raise ApiError(400, f"field {field[:50]!r}: use NAMESPACE, FLOW_ID or STATE")
    group = typed(query.parse(request, "EXECUTION"))
    with srv.engine.connect() as connection:
        return execution_search.distinct_values(connection, DISTINCT_FIELDS[field], group, tenant_id=tenant,
                                                limit=size)


@router.get("/executions/export/by-query/csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
def export_csv(request: Request, tenant: str = Depends(tenants.tenant),
               srv: Server = Depends(server)) -> StreamingResponse:
    """Every execution matching the filters, newest first, as CSV (one row per execution), streamed."""
    group = typed(query.parse(request, "EXECUTION"))
    now = datetime.now(UTC)  # one instant for every page: a timeRange keeps the same meaning

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        offset = 0
        while True:
            with srv.engine.connect() as connection:
                found = execution_search.search(connection, group, tenant_id=tenant, limit=EXPORT_PAGE,
                                                offset=offset, now=now)
            for execution in found:
                writer.writerow(_csv_row(execution))
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(found) < EXPORT_PAGE:
                return
            offset += EXPORT_PAGE

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": "attachment; filename=executions.csv"})


def _csv_row(execution: ExecutionValue) -> list[Any]:
    shaped = schemas.execution(execution)
    trigger = shaped.trigger
    return [shaped.id, shaped.namespace, shaped.flow_id, shaped.flow_revision, shaped.state.current,
            _iso(shaped.state.start_date), _iso(shaped.state.end_date), shaped.state.duration,
            ";".join(f"{label.key}:{label.value}" for label in shaped.labels), shaped.parent_id or "",
            shaped.original_id, trigger.id if trigger else "", trigger.type if trigger else ""]


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


@router.get("/executions/{execution_id}", response_model=schemas.Execution)
def get(execution_id: str, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> JSONResponse:
    """The execution with its task runs."""
    return JSONResponse(shapes.execution(srv.executions.get(execution_id, tenant)))
