"""Custom dashboards' bodies (Kestra's DashboardController)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from lanner.web.schemas.base import KestraModel


class TimeWindow(KestraModel):
    default: str | None = None
    max: str | None = None


class DashboardResponse(KestraModel):
    """A dashboard: what its YAML defines, with its source and dates."""

    tenant_id: str
    id: str
    title: str
    description: str | None = None
    time_window: TimeWindow | None = None
    charts: list[dict[str, Any]] = Field(default_factory=list)
    deleted: bool = False
    created: datetime | None = None
    updated: datetime | None = None
    source_code: str


class QueryFilterBody(KestraModel):
    field: str
    operation: str = "EQUALS"
    value: Any = None


class ChartFilters(KestraModel):
    """The time range, page and filters a dashboard's chart is drawn with (Kestra's ChartFiltersOverrides,
    0.2x's GlobalFilter)."""

    start_date: datetime | None = None
    end_date: datetime | None = None
    page_size: int | None = Field(None, ge=1, le=10_000)
    page_number: int | None = Field(None, ge=1, le=1_000_000)
    namespace: str | None = None
    labels: dict[str, str] | None = None
    filters: list[QueryFilterBody] | None = None


class PreviewRequest(KestraModel):
    """A chart's YAML and the filters to draw it with."""

    chart: str = Field(min_length=1)
    global_filter: ChartFilters | None = None

