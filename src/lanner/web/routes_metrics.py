"""The metrics tasks report, as Kestra's ``/api/v1/{tenant}/metrics`` serves them.

Counters and timers come from the task runs that carry them (:mod:`lanner.store.metric_entries`); a
timer is shown in milliseconds, each metric stamped with its task run's end.  (``/metrics`` without
``/api/v1`` is the Prometheus exposition, :mod:`lanner.web.metrics`.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Query

from lanner.store import metric_entries
from lanner.store.time_buckets import Width
from lanner.timestamps import instant
from lanner.web import params, query, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.schemas.base import PagedResults
from lanner.web.schemas.stats import MetricAggregation, MetricAggregations, MetricEntry

router = APIRouter(tags=["Metrics"])
DEFAULT_SPAN = timedelta(days=30)


@router.get("/metrics/names/{namespace}/{flow_id}", response_model=list[str])
def flow_metric_names(namespace: str, flow_id: str, tenant: str = Depends(tenants.tenant),
                      srv: Server = Depends(server)) -> list[str]:
    """The names of the metrics the flow's tasks reported."""
    with srv.engine.connect() as connection:
        return metric_entries.names(connection, namespace, flow_id, tenant_id=tenant)


@router.get("/metrics/names/{namespace}/{flow_id}/{task_id}", response_model=list[str])
def task_metric_names(namespace: str, flow_id: str, task_id: str, tenant: str = Depends(tenants.tenant),
                      srv: Server = Depends(server)) -> list[str]:
    """The names of the metrics one task of the flow reported."""
    with srv.engine.connect() as connection:
        return metric_entries.names(connection, namespace, flow_id, task_id=task_id, tenant_id=tenant)


@router.get("/metrics/tasks/{namespace}/{flow_id}", response_model=list[str])
def tasks_with_metrics(namespace: str, flow_id: str, tenant: str = Depends(tenants.tenant),
                       srv: Server = Depends(server)) -> list[str]:
    """The ids of the flow's tasks that reported metrics (deleted or renamed tasks included)."""
    with srv.engine.connect() as connection:
        return metric_entries.tasks(connection, namespace, flow_id, tenant_id=tenant)


def _aggregate(namespace: str, flow_id: str, metric: str, task_id: str | None, start: datetime | None,
               end: datetime | None, aggregation: str, group_by: str | None, tenant: str,
               srv: Server) -> MetricAggregations:
    start, end = params.date_span(start, end, DEFAULT_SPAN)
    function = aggregation.lower()
    if function not in metric_entries.AGGREGATIONS:
        raise ApiError(400, f"aggregation {aggregation[:50]!r} is unknown: use one of "
                            f"{', '.join(metric_entries.AGGREGATIONS)}")
    width = None
    if group_by is not None:
        try:
            width = Width(group_by.lower())
        except ValueError:
            raise ApiError(400, f"groupBy {group_by[:50]!r} is unknown: use one of "
                                f"{', '.join(w.value for w in Width)} (or none: chosen from the span)") from None
    with srv.engine.connect() as connection:
        try:
            chosen, values = metric_entries.aggregate(connection, namespace, flow_id, metric, start=start, end=end,
                                                      aggregation=function, task_id=task_id, width=width,
                                                      tenant_id=tenant)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    return MetricAggregations(group_by=chosen.value, aggregations=[
        MetricAggregation(name=metric, value=value, date=instant(moment)) for moment, value in values])


AGGREGATION = Query("sum", description="sum, avg, min or max")
GROUP_BY = Query(None, alias="groupBy", description="minute, hour, day, week or month (default: from the span)")
START = Query(None, alias="startDate", description="Default: 30 days before endDate")
END = Query(None, alias="endDate", description="Default: now")


@router.get("/metrics/aggregates/{namespace}/{flow_id}/{metric}", response_model=MetricAggregations)
def aggregate_flow_metric(namespace: str, flow_id: str, metric: str, start_date: datetime | None = START,
                          end_date: datetime | None = END, aggregation: str = AGGREGATION,
                          group_by: str | None = GROUP_BY, tenant: str = Depends(tenants.tenant),
                          srv: Server = Depends(server)) -> MetricAggregations:
    """The metric's values over the flow's executions, aggregated per time bucket."""
    return _aggregate(namespace, flow_id, metric, None, start_date, end_date, aggregation, group_by, tenant, srv)


@router.get("/metrics/aggregates/{namespace}/{flow_id}/{task_id}/{metric}", response_model=MetricAggregations)
def aggregate_task_metric(namespace: str, flow_id: str, task_id: str, metric: str,
                          start_date: datetime | None = START, end_date: datetime | None = END,
                          aggregation: str = AGGREGATION, group_by: str | None = GROUP_BY,
                          tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> MetricAggregations:
    """The metric's values of one task over the flow's executions, aggregated per time bucket."""
    return _aggregate(namespace, flow_id, metric, task_id, start_date, end_date, aggregation, group_by, tenant, srv)


@router.get("/metrics/{execution_id}", response_model=PagedResults[MetricEntry])
def execution_metrics(execution_id: str, page: query.Page = Depends(query.page), sort: list[str] = Query(default=[]),
                      task_run_id: str | None = Query(None, alias="taskRunId"),
                      task_id: str | None = Query(None, alias="taskId"), tenant: str = Depends(tenants.tenant),
                      srv: Server = Depends(server)) -> PagedResults[MetricEntry]:
    """A page of the execution's metrics (of one task run or task); 404 for an unknown execution."""
    srv.executions.get(execution_id, tenant)
    order = [(s.field, s.descending) for s in query.sorts(sort, tuple(metric_entries.SORTS), "timestamp:asc")]
    with srv.engine.connect() as connection:
        found, total = metric_entries.of_execution(connection, execution_id, task_run_id=task_run_id,
                                                   task_id=task_id, sort=order, limit=page.size,
                                                   offset=page.offset, tenant_id=tenant)
    return PagedResults[MetricEntry](total=total, results=[MetricEntry(
        tenant_id=tenant, namespace=m.namespace, flow_id=m.flow_id, task_id=m.task_id, execution_id=m.execution_id,
        task_run_id=m.task_run_id, type=m.type, name=m.name, value=m.value, timestamp=instant(m.timestamp),
        tags=m.tags, execution_kind="NORMAL") for m in found])
