"""The dashboards' figures (Kestra's ``/stats`` bodies), the metric rows and aggregations, the usage report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from lanner.store.kv_repository import java_duration
from lanner.store.statistics import Bucket
from lanner.timestamps import instant
from lanner.web.schemas.base import IdWithNamespace, KestraModel


class StatisticRequest(KestraModel):
    """Which executions (or task runs) a chart counts; the last 30 days when no dates are given."""

    q: str | None = None
    scope: list[str] | str | None = None
    namespace: str | None = Field(None, description="This namespace and its children")
    flow_id: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    state: list[str] | None = None


class ByFlowStatisticRequest(KestraModel):
    q: str | None = None
    namespace: str | None = None
    flow_id: str | None = None
    flows: list[IdWithNamespace] | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    namespace_only: bool | None = None


class ByNamespaceStatisticRequest(KestraModel):
    namespace: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None


class LastExecutionsRequest(KestraModel):
    flows: list[IdWithNamespace] | None = None


class LogStatisticRequest(KestraModel):
    q: str | None = None
    namespace: str | None = None
    flow_id: str | None = None
    log_level: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None


class SummaryRequest(KestraModel):
    namespace: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None


class Duration(KestraModel):
    """Java durations (``PT1.5S``) of the ended ones; ``count``: every one counted."""

    min: str
    avg: str
    max: str
    sum: str
    count: int


class DailyExecutionStatistics(KestraModel):
    start_date: str
    duration: Duration
    task_runs_duration: Duration | None = None
    execution_counts: dict[str, int]
    group_by: str


class ExecutionCountStatistics(KestraModel):
    counts: dict[str, int]
    total: int


class LogStatistics(KestraModel):
    timestamp: str
    counts: dict[str, int]
    group_by: str


class SummaryStatistics(KestraModel):
    flows: int
    triggers: int


def _java(seconds: float) -> str:
    return java_duration(timedelta(seconds=round(seconds, 6)))


def daily(bucket: Bucket, group_by: str) -> DailyExecutionStatistics:
    d = bucket.durations
    return DailyExecutionStatistics(
        start_date=instant(bucket.start), group_by=group_by, execution_counts=dict(bucket.counts),
        duration=Duration(min=_java(d.min), avg=_java(d.avg), max=_java(d.max), sum=_java(d.sum), count=d.count))


# --- metrics ---------------------------------------------------------------------------------

class MetricEntry(KestraModel):
    tenant_id: str | None = None
    namespace: str
    flow_id: str
    task_id: str | None = None
    execution_id: str | None = None
    task_run_id: str | None = None
    type: str
    name: str
    value: float
    timestamp: str
    tags: dict[str, str] = Field(default_factory=dict)
    execution_kind: str | None = None


class MetricAggregation(KestraModel):
    name: str
    value: float | None = None
    date: str


class MetricAggregations(KestraModel):
    group_by: str
    aggregations: list[MetricAggregation]


# --- the usage report -----------------------------------------------------------------------

class FlowUsage(KestraModel):
    count: int
    namespaces_count: int
    task_type_count: dict[str, int] | None = None
    trigger_type_count: dict[str, int] | None = None
    task_runner_type_count: dict[str, int] | None = None


class ExecutionUsage(KestraModel):
    daily_executions_count: list[DailyExecutionStatistics]
    daily_task_runs_count: list[DailyExecutionStatistics] | None = None


class Usage(KestraModel):
    """Kestra's usage report (what its anonymous telemetry would send): flows and executions counted."""

    uuid: str | None = None
    start_uuid: str | None = None
    instance_uuid: str | None = None
    server_type: str | None = None
    server_version: str | None = None
    start_time: str | None = None
    flows: FlowUsage
    executions: ExecutionUsage
    plugins: list[dict[str, Any]] | None = None
