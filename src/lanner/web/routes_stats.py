"""The dashboards' figures (Kestra's ``/api/v1/{tenant}/stats``) and the usage report (``/usages/all``).

Each figure is counted by the database (:mod:`lanner.store.statistics`): executions, task runs or log
lines per time bucket, the width of a bucket chosen from the span as Kestra chooses it (``groupBy``:
minute, hour, day, week or month).  Without dates a chart covers the last 30 days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends

from lanner import version
from lanner.store import statistics
from lanner.store.log_lines import SYSTEM_NAMESPACE
from lanner.store.statistics import Range
from lanner.store.time_buckets import Width
from lanner.web import params, shapes, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.schemas.stats import (
    ByFlowStatisticRequest,
    ByNamespaceStatisticRequest,
    DailyExecutionStatistics,
    ExecutionCountStatistics,
    ExecutionUsage,
    FlowUsage,
    LastExecutionsRequest,
    LogStatisticRequest,
    LogStatistics,
    StatisticRequest,
    SummaryRequest,
    SummaryStatistics,
    Usage,
    daily,
)

router = APIRouter(tags=["Stats"])
DEFAULT_SPAN = timedelta(days=30)
USAGE_SPAN = timedelta(days=3)  # the days of executions the usage report counts


def _span(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    return params.date_span(start, end, DEFAULT_SPAN)


def _states(states: list[str] | None) -> list[str]:
    unknown = [s for s in states or [] if s not in statistics.STATES]
    if unknown:
        raise ApiError(400, f"state {', '.join(unknown)[:200]} is not a state: use {', '.join(statistics.STATES)}")
    return list(states or [])


def _scope(scope: list[str] | str | None) -> tuple[str | None, bool]:
    """Kestra's ``scope`` (USER, SYSTEM): (the system namespace or None, whether it is left out)."""
    values = {scope} if isinstance(scope, str) else set(scope or [])
    unknown = values - {"USER", "SYSTEM"}
    if unknown:
        raise ApiError(400, f"scope {', '.join(sorted(unknown))[:100]} is unknown: use USER or SYSTEM")
    return (None, False) if values in (set(), {"USER", "SYSTEM"}) else (SYSTEM_NAMESPACE, values == {"USER"})


def _buckets(srv: Server, where: Range, *, task_runs: bool = False,
             by: tuple[str, ...] = ()) -> dict[tuple[str, ...], list[statistics.Bucket]]:
    with srv.engine.connect() as connection:
        try:
            return statistics.per_bucket(connection, where, task_runs_instead=task_runs, by=by)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None


def _daily(body: StatisticRequest, tenant: str, srv: Server, *, task_runs: bool) -> list[DailyExecutionStatistics]:
    start, end = _span(body.start_date, body.end_date)
    system, excluded = _scope(body.scope)
    namespace = system if system is not None and not excluded and body.namespace is None else body.namespace
    where = Range(start, end, tenant, namespace, body.flow_id, body.q, _states(body.state),
                  excluded=system if excluded else None)
    buckets = _buckets(srv, where, task_runs=task_runs)[()]
    return [daily(bucket, where.group.value) for bucket in buckets]


@router.post("/stats/executions/daily", response_model=list[DailyExecutionStatistics])
def executions_daily(body: StatisticRequest, tenant: str = Depends(tenants.tenant),
                     srv: Server = Depends(server)) -> list[DailyExecutionStatistics]:
    """Executions per bucket: how many per state, and their durations."""
    return _daily(body, tenant, srv, task_runs=False)


@router.post("/stats/taskruns/daily", response_model=list[DailyExecutionStatistics])
def task_runs_daily(body: StatisticRequest, tenant: str = Depends(tenants.tenant),
                    srv: Server = Depends(server)) -> list[DailyExecutionStatistics]:
    """Task runs per bucket: how many per state, and their durations."""
    return _daily(body, tenant, srv, task_runs=True)


@router.post("/stats/executions/daily/group-by-flow",
             response_model=dict[str, dict[str, list[DailyExecutionStatistics]]])
def executions_daily_by_flow(body: ByFlowStatisticRequest, tenant: str = Depends(tenants.tenant),
                             srv: Server = Depends(server)) -> dict[str, dict[str, list[DailyExecutionStatistics]]]:
    """Executions per bucket, per namespace then flow (``namespaceOnly``: per namespace, under the key ``*``)."""
    start, end = _span(body.start_date, body.end_date)
    where = Range(start, end, tenant, body.namespace, body.flow_id, body.q)
    by = ("namespace",) if body.namespace_only else ("namespace", "flow_id")
    grouped = _buckets(srv, where, by=by)
    wanted = {(f.namespace, f.id) for f in body.flows or []}
    answer: dict[str, dict[str, list[DailyExecutionStatistics]]] = {}
    for group, buckets in sorted(grouped.items()):
        flow = "*" if body.namespace_only else group[1]
        if wanted and not body.namespace_only and (group[0], flow) not in wanted:
            continue
        answer.setdefault(group[0], {})[flow] = [daily(b, where.group.value) for b in buckets]
    return answer


@router.post("/stats/executions/daily/group-by-namespace", response_model=dict[str, ExecutionCountStatistics])
def executions_by_namespace(body: ByNamespaceStatisticRequest, tenant: str = Depends(tenants.tenant),
                            srv: Server = Depends(server)) -> dict[str, ExecutionCountStatistics]:
    """Executions per namespace: how many per state, and in all."""
    start, end = _span(body.start_date, body.end_date)
    with srv.engine.connect() as connection:
        counts = statistics.counts_per_namespace(connection, Range(start, end, tenant, body.namespace))
    return {ns: ExecutionCountStatistics(counts=c, total=sum(c.values())) for ns, c in sorted(counts.items())}


@router.post("/stats/executions/latest/group-by-flow")
def latest_by_flow(body: LastExecutionsRequest, tenant: str = Depends(tenants.tenant),
                   srv: Server = Depends(server)) -> list[dict[str, Any]]:
    """The latest execution of each flow named (Kestra's ``Execution``)."""
    pairs = [(f.namespace, f.id) for f in body.flows or []]
    if len(pairs) > 1000:
        raise ApiError(400, f"{len(pairs)} flows: ask for the latest executions of at most 1000 flows at once")
    with srv.engine.connect() as connection:
        ids = statistics.latest_executions(connection, pairs, tenant_id=tenant)
    return [shapes.execution(srv.executions.get(execution_id, tenant)) for execution_id in ids]


@router.post("/stats/logs/daily", response_model=list[LogStatistics])
def logs_daily(body: LogStatisticRequest, tenant: str = Depends(tenants.tenant),
               srv: Server = Depends(server)) -> list[LogStatistics]:
    """Log lines per bucket and level (``logLevel``: that level and above)."""
    start, end = _span(body.start_date, body.end_date)
    level = body.log_level.upper() if body.log_level else None
    if level is not None and level not in statistics.LEVELS:
        raise ApiError(400, f"logLevel {body.log_level!r} is not a level: use {', '.join(statistics.LEVELS)}")
    where = Range(start, end, tenant, body.namespace, body.flow_id, body.q)
    with srv.engine.connect() as connection:
        try:
            counted = statistics.log_counts(connection, where, min_level=level)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    return [LogStatistics(timestamp=start_.isoformat().replace("+00:00", "Z"), counts=counts,
                          group_by=where.group.value) for start_, counts in counted]


@router.post("/stats/summary", response_model=SummaryStatistics)
def summary(body: SummaryRequest, tenant: str = Depends(tenants.tenant),
            srv: Server = Depends(server)) -> SummaryStatistics:
    """How many flows and triggers the tenant (or the namespace and its children) has."""
    with srv.engine.connect() as connection:
        flow_count, trigger_count = statistics.flow_and_trigger_counts(connection, namespace=body.namespace,
                                                                       tenant_id=tenant)
    return SummaryStatistics(flows=flow_count, triggers=trigger_count)


@router.get("/usages/all", response_model=Usage, tags=["Misc"])
def usages(tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Usage:
    """Kestra's usage report: the flows and namespaces counted, the executions of the last three days per day."""
    end = datetime.now(UTC)
    where = Range(end - USAGE_SPAN, end, tenant, width=Width.DAY)
    with srv.engine.connect() as connection:
        flow_count, _ = statistics.flow_and_trigger_counts(connection, tenant_id=tenant)
        namespaces = statistics.namespace_count(connection, tenant_id=tenant)
        executions = statistics.per_bucket(connection, where)[()]
        task_runs = statistics.per_bucket(connection, where, task_runs_instead=True)[()]
    return Usage(uuid=srv.instance_id, instance_uuid=srv.instance_id, server_type="STANDALONE",
                 server_version=version(), start_time=None,
                 flows=FlowUsage(count=flow_count, namespaces_count=namespaces),
                 executions=ExecutionUsage(daily_executions_count=[daily(b, "day") for b in executions],
                                           daily_task_runs_count=[daily(b, "day") for b in task_runs]))
