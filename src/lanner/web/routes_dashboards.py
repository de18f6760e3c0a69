"""Custom dashboards (Kestra's ``/api/v1/{tenant}/dashboards``): YAML definitions, stored, and their charts'
data computed by the database (:mod:`lanner.store.chart_queries`).

A dashboard or chart Lanner cannot compute (a type, field, aggregation or filter it does not know) is
refused when it is created, updated or validated, with the reason and where it is in the YAML.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError

from lanner.dashboards.definition import (
    FIELDS,
    Chart,
    Dashboard,
    DefinitionError,
    Where,
    read_chart,
    read_dashboard,
)
from lanner.durations import parse_duration
from lanner.store import chart_queries, dashboard_repository
from lanner.store.dashboard_repository import StoredDashboard
from lanner.store.database import write_connection
from lanner.timestamps import as_utc
from lanner.web import query, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.flow_bodies import YAML
from lanner.web.flow_bodies import source as _source
from lanner.web.limits import blocking
from lanner.web.schemas.base import PagedResults
from lanner.web.schemas.dashboards import (
    ChartFilters,
    DashboardResponse,
    PreviewRequest,
    QueryFilterBody,
    TimeWindow,
)
from lanner.web.schemas.flows import ValidateConstraintViolation

router = APIRouter(prefix="/dashboards", tags=["Dashboards"])
Rows = PagedResults[dict[str, Any]]  # a chart's data: rows keyed by column alias
PREVIEW_WINDOW = timedelta(days=8)  # a preview's time range when its filters give none (as Kestra)
# The search fields of a chart's filters, as the data sources' fields.
FILTER_FIELDS = {"namespace": "NAMESPACE", "flowId": "FLOW_ID", "state": "STATE", "executionId": "EXECUTION_ID",
                 "taskId": "TASK_ID", "taskRunId": "TASK_RUN_ID", "triggerId": "TRIGGER_ID", "level": "LEVEL",
                 "id": "ID", "type": "TYPE"}
FILTER_OPS = {"EQUALS": "EQUAL_TO", "NOT_EQUALS": "NOT_EQUAL_TO", "IN": "IN", "NOT_IN": "NOT_IN",
              "CONTAINS": "CONTAINS", "STARTS_WITH": "STARTS_WITH", "ENDS_WITH": "ENDS_WITH", "PREFIX": "PREFIX"}


def _refused(exc: DefinitionError, what: str) -> ApiError:
    return ApiError(422, f"invalid {what}: {exc.problems[0]}" + (
        f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""), list(exc.problems))


def _read(source: str, default_id: str | None = None) -> Dashboard:
    try:
        return read_dashboard(source, default_id)
    except DefinitionError as exc:
        raise _refused(exc, "dashboard") from None


def _shape(stored: StoredDashboard) -> DashboardResponse:
    dashboard = read_dashboard(stored.source, stored.id)
    return DashboardResponse(tenant_id=stored.tenant_id, id=stored.id, title=dashboard.title,
                             description=dashboard.description, time_window=TimeWindow(**dashboard.time_window),
                             charts=[chart.raw for chart in dashboard.charts], deleted=stored.deleted,
                             created=stored.created and as_utc(stored.created),
                             updated=stored.updated and as_utc(stored.updated), source_code=stored.source)


@router.get("", response_model=PagedResults[DashboardResponse])
def search(q: str | None = Query(None, max_length=1000, description="Text in the id or title"),
           sort: list[str] | None = Query(None, description="id, title, created or updated, with :asc or :desc"),
           paging: query.Page = Depends(query.page), tenant: str = Depends(tenants.tenant),
           srv: Server = Depends(server)) -> PagedResults[DashboardResponse]:
    sorts = [(s.field, s.descending) for s in query.sorts(sort, tuple(dashboard_repository.SORTS), "title:asc")]
    with srv.engine.connect() as connection:
        found, total = dashboard_repository.search(connection, q=q, sorts=sorts, offset=paging.offset,
                                                   limit=paging.size, tenant_id=tenant)
    return PagedResults(results=[_shape(d) for d in found], total=total)


@router.post("", openapi_extra=YAML, response_model=DashboardResponse)
async def create(request: Request, tenant: str = Depends(tenants.tenant),
                 srv: Server = Depends(server)) -> DashboardResponse:
    return await blocking(_create, srv, await _source(request), tenant)


def _create(srv: Server, source: str, tenant: str) -> DashboardResponse:
    dashboard = _read(source, uuid.uuid4().hex[:22])
    try:
        with write_connection(srv.engine) as connection, connection.begin():
            stored = dashboard_repository.create(connection, dashboard.id, dashboard.title, source, tenant)
    except IntegrityError:  # created by another request at the same moment
        stored = None
    if stored is None:
        raise ApiError(409, f"dashboard {dashboard.id!r} already exists; update it with PUT "
                            f"/api/v1/{tenant}/dashboards/{dashboard.id}")
    return _shape(stored)


@router.post("/validate", openapi_extra=YAML, response_model=ValidateConstraintViolation)
async def validate(request: Request) -> ValidateConstraintViolation:
    source = await _source(request)
    try:
        await blocking(read_dashboard, source, "validated")
    except DefinitionError as exc:
        return _violation(exc)
    return ValidateConstraintViolation(index=0)


@router.post("/validate/chart", openapi_extra=YAML, response_model=ValidateConstraintViolation)
async def validate_chart(request: Request) -> ValidateConstraintViolation:
    source = await _source(request)
    try:
        await blocking(read_chart, source)
    except DefinitionError as exc:
        return _violation(exc)
    return ValidateConstraintViolation(index=0)


def _violation(exc: DefinitionError) -> ValidateConstraintViolation:
    """Kestra's answer for an invalid dashboard or chart; ``problems`` (Lanner's) has one entry per problem."""
    return ValidateConstraintViolation(index=0, constraints="\n".join(exc.problems),
                                       problems=[{"message": p, "severity": "error"} for p in exc.problems])


@router.post("/charts/preview", response_model=PagedResults[dict[str, Any]])
def preview(body: PreviewRequest, page: int | None = Query(None, ge=1, le=query.MAX_PAGE),
            size: int | None = Query(None, ge=1, le=query.MAX_SIZE), tenant: str = Depends(tenants.tenant),
            srv: Server = Depends(server)) -> Rows:
    try:
        chart = read_chart(body.chart)
    except DefinitionError as exc:
        raise _refused(exc, "chart") from None
    return _data(srv, chart, body.global_filter or ChartFilters(), PREVIEW_WINDOW, None, page, size, tenant)


@router.get("/{dashboard_id}", response_model=DashboardResponse)
def get(dashboard_id: str, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> DashboardResponse:
    with srv.engine.connect() as connection:
        return _shape(_stored(connection, dashboard_id, tenant))


def _stored(connection: Any, dashboard_id: str, tenant: str) -> StoredDashboard:
    stored = dashboard_repository.get(connection, dashboard_id, tenant)
    if stored is None:
        raise ApiError(404, f"no dashboard {dashboard_id[:255]!r}")
    return stored


@router.put("/{dashboard_id}", openapi_extra=YAML, response_model=DashboardResponse)
async def update(dashboard_id: str, request: Request, tenant: str = Depends(tenants.tenant),
                 srv: Server = Depends(server)) -> DashboardResponse:
    return await blocking(_update, srv, dashboard_id, await _source(request), tenant)


def _update(srv: Server, dashboard_id: str, source: str, tenant: str) -> DashboardResponse:
    dashboard = _read(source, dashboard_id)
    if dashboard.id != dashboard_id:
        raise ApiError(422, f"the YAML's id {dashboard.id!r} is not the path's {dashboard_id!r}; a dashboard's id "
                            "cannot change")
    with write_connection(srv.engine) as connection, connection.begin():
        stored = dashboard_repository.update(connection, dashboard_id, dashboard.title, source, tenant)
    if stored is None:
        raise ApiError(404, f"no dashboard {dashboard_id[:255]!r}; create it with POST /api/v1/{tenant}/dashboards")
    return _shape(stored)


@router.delete("/{dashboard_id}", status_code=204)
def delete(dashboard_id: str, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Response:
    with write_connection(srv.engine) as connection, connection.begin():
        deleted = dashboard_repository.delete(connection, dashboard_id, tenant)
    if not deleted:
        raise ApiError(404, f"no dashboard {dashboard_id[:255]!r}")
    return Response(status_code=204)


@router.post("/{dashboard_id}/charts/{chart_id}", response_model=PagedResults[dict[str, Any]])
def chart_data(dashboard_id: str, chart_id: str, body: ChartFilters | None = None,
               page: int | None = Query(None, ge=1, le=query.MAX_PAGE),
               size: int | None = Query(None, ge=1, le=query.MAX_SIZE),
               tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> PagedResults[dict[str, Any]]:
    with srv.engine.connect() as connection:
        stored = _stored(connection, dashboard_id, tenant)
    dashboard = read_dashboard(stored.source, stored.id)
    chart = dashboard.chart(chart_id)
    if chart is None:
        raise ApiError(404, f"dashboard {dashboard_id!r} has no chart {chart_id[:255]!r}: its charts are "
                            f"{', '.join(c.id for c in dashboard.charts) or 'none'}")
    return _data(srv, chart, body or ChartFilters(), dashboard.default_window, dashboard.max_window, page, size,
                 tenant)


def _data(srv: Server, chart: Chart, filters: ChartFilters, default_window: timedelta,
          max_window: timedelta | None, page: int | None, size: int | None, tenant: str) -> Rows:
    if chart.source is None:
        raise ApiError(400, f"chart {chart.id!r} is a {chart.type} chart: it has no data to compute")
    start_date, end_date, window = _time_filters(filters)
    end = end_date or datetime.now(UTC)
    start = start_date or end - (window or default_window)
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(400, "startDate and endDate need a time zone (e.g. 2025-01-31T12:00:00Z)")
    if start > end:
        raise ApiError(400, "startDate is after endDate")
    if max_window is not None and end - start > max_window:
        raise ApiError(400, f"the time range is longer than the dashboard's timeWindow.max ({max_window})")
    size = size or filters.page_size
    page = page or filters.page_number or 1
    offset, limit = ((page - 1) * size, size) if size else (0, chart_queries.MAX_ROWS)
    wheres = _filters(chart, filters)
    with srv.engine.connect() as connection:
        rows, total = chart_queries.chart_data(connection, chart, start=start, end=end, filters=wheres,
                                               offset=offset, limit=limit, tenant_id=tenant)
    return PagedResults(results=rows, total=total)


TIME_FIELDS = ("startDate", "endDate", "timeRange")


def _time_filters(filters: ChartFilters) -> tuple[datetime | None, datetime | None, timedelta | None]:
    """The time range: the body's ``startDate``/``endDate``, or Kestra 1.x's filters on ``startDate``,
    ``endDate`` (any comparison: the date is the bound) and ``timeRange`` (a duration up to now)."""
    start, end, window = filters.start_date, filters.end_date, None
    for item in filters.filters or []:
        if item.field not in TIME_FIELDS:
            continue
        raw = str(item.value if item.value is not None else "")
        if item.field == "timeRange":
            try:
                window = parse_duration(raw)
            except ValueError:
                raise ApiError(400, f"filters[timeRange]: {raw[:50]!r} is not a duration (e.g. PT24H, P7D)") from None
        elif item.field == "startDate":
            start = query.instant_value("startDate", raw)
        else:
            end = query.instant_value("endDate", raw)
    return start, end, window


def _filters(chart: Chart, filters: ChartFilters) -> tuple[Where, ...]:
    """The request's filters as conditions on the chart's data source; a 400 for one it cannot apply."""
    assert chart.source is not None
    fields = FIELDS[chart.source]
    found: list[Where] = []
    if filters.labels:
        raise ApiError(400, "label filters are not supported on charts by Lanner")
    given = [*(filters.filters or [])]
    if filters.namespace:
        given.append(QueryFilterBody(field="namespace", operation="PREFIX", value=filters.namespace))
    for item in given:
        if item.field in TIME_FIELDS:
            continue
        name = FILTER_FIELDS.get(item.field)
        op = FILTER_OPS.get(str(item.operation).upper())
        if name is None or name not in fields:
            raise ApiError(400, f"filter field {item.field[:100]!r} does not apply to {chart.source}: use one of "
                                + ", ".join(k for k, v in FILTER_FIELDS.items() if v in fields))
        if op is None:
            raise ApiError(400, f"filter operation {str(item.operation)[:50]!r} is not supported on charts: use one of "
                                + ", ".join(FILTER_OPS))
        values = item.value if isinstance(item.value, list) else [
            v for v in str(item.value if item.value is not None else "").split(",") if v]
        if op == "PREFIX":
            found.append(Where("", "OR", children=(Where(name, "EQUAL_TO", value=str(item.value)),
                                                  Where(name, "STARTS_WITH", value=f"{item.value}."))))
        elif op in ("IN", "NOT_IN"):
            found.append(Where(name, op, values=tuple(str(v) for v in values)))
        else:
            found.append(Where(name, op, value=str(item.value)))
    return tuple(found)

