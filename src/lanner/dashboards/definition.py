"""Dashboards and charts as Kestra defines them in YAML, read and checked.

A dashboard is ``id``, ``title``, ``description``, ``timeWindow`` (``default``, ``max``: ISO 8601
durations) and ``charts``.  A chart is ``id``, ``type`` (Kestra's ``io.kestra.plugin.core.dashboard.chart``
TimeSeries, Bar, Pie, Table or Markdown), ``chartOptions`` and, but for Markdown, ``data``: a data source
(``io.kestra.plugin.core.dashboard.data`` Executions, Logs or Metrics) with ``columns`` (``{alias: {field,
agg, displayName, interval, ...}}``), ``where`` filters and ``orderBy``.

What Lanner cannot compute is refused here, with the reason and where it is in the YAML
(:class:`DefinitionError`), so that a stored dashboard never fails when its charts are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lanner.durations import parse_duration
from lanner.plain_yaml import YamlError, parse

CHART = "io.kestra.plugin.core.dashboard.chart."
DATA = "io.kestra.plugin.core.dashboard.data."
CHART_TYPES = ("TimeSeries", "Bar", "Pie", "Table", "Markdown")
SOURCES = ("Executions", "Logs", "Metrics")

TEXT, NUMBER, DATE = "text", "number", "date"
# The fields of each data source (Kestra's enums) Lanner computes, and their kind.
FIELDS: dict[str, dict[str, str]] = {
    "Executions": {"ID": TEXT, "NAMESPACE": TEXT, "FLOW_ID": TEXT, "FLOW_REVISION": NUMBER, "STATE": TEXT,
                   "DURATION": NUMBER, "START_DATE": DATE, "END_DATE": DATE},
    "Logs": {"NAMESPACE": TEXT, "FLOW_ID": TEXT, "TASK_ID": TEXT, "EXECUTION_ID": TEXT, "TASK_RUN_ID": TEXT,
             "DATE": DATE, "TRIGGER_ID": TEXT, "LEVEL": TEXT, "MESSAGE": TEXT},
    "Metrics": {"NAMESPACE": TEXT, "FLOW_ID": TEXT, "TASK_ID": TEXT, "EXECUTION_ID": TEXT, "TASK_RUN_ID": TEXT,
                "TYPE": TEXT, "NAME": TEXT, "VALUE": NUMBER, "DATE": DATE},
}
# Kestra's fields Lanner does not compute, with why.
UNSUPPORTED_FIELDS = {
    "LABELS": "label columns and filters are not computed by Lanner",
    "TRIGGER_EXECUTION_ID": "Lanner does not record the execution that triggered an execution for charts",
}
# The field a data source's time range applies to.
TIME_FIELD = {"Executions": "START_DATE", "Logs": "DATE", "Metrics": "DATE"}
AGGREGATIONS = ("COUNT", "SUM", "AVG", "MIN", "MAX")
INTERVALS = ("MINUTE", "HOUR", "DAY", "WEEK", "MONTH")
WHERE_VALUE = ("EQUAL_TO", "NOT_EQUAL_TO", "GREATER_THAN", "GREATER_THAN_OR_EQUAL_TO", "LESS_THAN",
               "LESS_THAN_OR_EQUAL_TO", "CONTAINS", "STARTS_WITH", "ENDS_WITH")
WHERE_VALUES = ("IN", "NOT_IN")
WHERE_NONE = ("IS_NULL", "IS_NOT_NULL")
WHERE_UNSUPPORTED = {"REGEX": "regular expressions are not computed by the database on SQLite",
                     "IS_TRUE": "no field of Lanner's data sources is a boolean",
                     "IS_FALSE": "no field of Lanner's data sources is a boolean"}
MAX_CHARTS = 100
MAX_COLUMNS = 50
MAX_FILTERS = 100  # in one list of `where`
MAX_DEPTH = 5  # OR filters within OR filters


class DefinitionError(Exception):
    """A dashboard or chart Lanner refuses: each problem names its place (``charts[0].data.columns.x``)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Column:
    alias: str
    field: str | None
    agg: str | None = None
    interval: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class Where:
    field: str
    type: str
    value: Any = None
    values: tuple[Any, ...] = ()
    children: tuple[Where, ...] = ()  # OR


@dataclass(frozen=True)
class Chart:
    id: str
    type: str  # the short name: TimeSeries, Bar...
    raw: dict[str, Any]
    source: str | None = None  # Executions, Logs, Metrics; None for Markdown
    columns: tuple[Column, ...] = ()
    where: tuple[Where, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (alias, descending)
    time_column: str | None = None  # the TimeSeries' date column alias

    @property
    def aggregated(self) -> bool:
        return any(c.agg for c in self.columns)


@dataclass(frozen=True)
class Dashboard:
    id: str
    title: str
    description: str | None
    default_window: timedelta
    max_window: timedelta | None
    time_window: dict[str, str | None]
    charts: tuple[Chart, ...] = field(default_factory=tuple)

    def chart(self, chart_id: str) -> Chart | None:
        return next((c for c in self.charts if c.id == chart_id), None)


def _load(source: str) -> dict[str, Any]:
    try:
        data = parse(source).data
    except YamlError as exc:
        where = f" (line {exc.line}, column {exc.column})" if exc.line else ""
        raise DefinitionError([f"not valid YAML{where}: {exc.message}"]) from None
    if not isinstance(data, dict):
        raise DefinitionError(["expected a YAML mapping"])
    return data


def read_dashboard(source: str, default_id: str | None = None) -> Dashboard:
    """The dashboard ``source`` defines (``default_id`` when it names none); :class:`DefinitionError` listing
    every problem otherwise."""
    data = _load(source)
    problems: list[str] = []
    known = {"id", "title", "description", "timeWindow", "charts"}
    problems += [f"{key}: unknown property (a dashboard has {', '.join(sorted(known))})"
                 for key in data if key not in known]
    dashboard_id, title = data.get("id", default_id), data.get("title")
    if not isinstance(dashboard_id, str) or not _identifier(dashboard_id):
        problems.append("id: required, letters, digits, `_` and `-`, starting with a letter or digit")
    if not isinstance(title, str) or not title.strip() or len(title) > 255:
        problems.append("title: required, a non-empty string of at most 255 characters")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        problems.append("description: a string")
    window = data.get("timeWindow") or {}
    default, maximum = timedelta(days=30), None
    if not isinstance(window, dict):
        problems.append("timeWindow: a mapping with `default` and `max` (ISO 8601 durations)")
        window = {}
    else:
        given = _duration(window.get("default"), "timeWindow.default", problems)
        maximum = _duration(window.get("max"), "timeWindow.max", problems)
        default = given or (min(default, maximum) if maximum is not None else default)
        if given is not None and maximum is not None and given > maximum:
            problems.append("timeWindow: `default` is longer than `max`")
    raw_charts = data.get("charts") or []
    charts: list[Chart] = []
    if not isinstance(raw_charts, list):
        problems.append("charts: a list of charts")
    elif len(raw_charts) > MAX_CHARTS:
        problems.append(f"charts: at most {MAX_CHARTS}")
    else:
        for index, raw in enumerate(raw_charts):
            try:
                charts.append(_chart(raw, f"charts[{index}]"))
            except DefinitionError as exc:
                problems += exc.problems
        ids = [c.id for c in charts]
        problems += [f"charts: the id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise DefinitionError(problems)
    assert isinstance(dashboard_id, str) and isinstance(title, str)
    time_window = {"default": _text(window.get("default")), "max": _text(window.get("max"))}
    return Dashboard(dashboard_id, title, description, default, maximum, time_window, tuple(charts))


def read_chart(source: str) -> Chart:
    """The chart ``source`` defines (one chart, as in a dashboard's ``charts``)."""
    return _chart(_load(source), "chart")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _identifier(value: str) -> bool:
    return bool(value) and len(value) <= 255 and value[0].isalnum() and value.isascii() and all(
        ch.isalnum() or ch in "_-" for ch in value)


def _duration(value: Any, where: str, problems: list[str]) -> timedelta | None:
    if value is None:
        return None
    try:
        found = parse_duration(str(value))
    except ValueError:
        problems.append(f"{where}: {str(value)[:50]!r} is not a duration; use ISO 8601, e.g. P30D or PT12H")
        return None
    if found <= timedelta(0):
        problems.append(f"{where}: must be positive")
        return None
    return found


def _chart(raw: Any, where: str) -> Chart:
    if not isinstance(raw, dict):
        raise DefinitionError([f"{where}: a chart is a mapping with id, type, chartOptions and data"])
    problems: list[str] = []
    chart_id, chart_type = raw.get("id"), raw.get("type")
    if not isinstance(chart_id, str) or not _identifier(chart_id):
        problems.append(f"{where}.id: required, letters, digits, `_` and `-`")
    short = chart_type[len(CHART):] if isinstance(chart_type, str) and chart_type.startswith(CHART) else None
    if short not in CHART_TYPES:
        problems.append(f"{where}.type: {str(chart_type)[:100]!r} is not a chart type Lanner draws: use "
                        + ", ".join(CHART + t for t in CHART_TYPES))
    options = raw.get("chartOptions") or {}
    if not isinstance(options, dict):
        problems.append(f"{where}.chartOptions: a mapping")
        options = {}
    if problems:
        raise DefinitionError(problems)
    assert isinstance(chart_id, str) and short is not None
    if short == "Markdown":
        if not isinstance(raw.get("content"), str):
            raise DefinitionError([f"{where}.content: a Markdown chart needs its `content` (a string)"])
        return Chart(chart_id, short, raw)
    data = raw.get("data")
    if not isinstance(data, dict):
        raise DefinitionError([f"{where}.data: required, a mapping with type and columns"])
    source_type = data.get("type")
    source = source_type[len(DATA):] if isinstance(source_type, str) and source_type.startswith(DATA) else None
    if source not in SOURCES:
        raise DefinitionError([f"{where}.data.type: {str(source_type)[:100]!r} is not a data source Lanner "
                               f"reads: use " + ", ".join(DATA + s for s in SOURCES)])
    columns = _columns(data.get("columns"), source, f"{where}.data.columns", problems)
    filters = _where_list(data.get("where"), source, f"{where}.data.where", problems)
    aliases = {c.alias for c in columns}
    order_by = _order_by(data.get("orderBy"), aliases, f"{where}.data.orderBy", problems)
    chart = Chart(chart_id, short, raw, source, tuple(columns), tuple(filters), tuple(order_by))
    time_column = _check_shape(chart, options, where, problems)
    if problems:
        raise DefinitionError(problems)
    return Chart(chart_id, short, raw, source, tuple(columns), tuple(filters), tuple(order_by), time_column)


def _columns(raw: Any, source: str, where: str, problems: list[str]) -> list[Column]:
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{where}: required, a mapping of column aliases to {{field, agg, displayName}}")
        return []
    if len(raw) > MAX_COLUMNS:
        problems.append(f"{where}: {MAX_COLUMNS} columns at most")
        return []
    found = []
    for alias, spec in raw.items():
        place = f"{where}.{alias}"
        if not isinstance(spec, dict):
            problems.append(f"{place}: a mapping with field, agg, displayName")
            continue
        name, agg, interval = spec.get("field"), spec.get("agg"), spec.get("interval")
        if agg is not None and agg not in AGGREGATIONS:
            problems.append(f"{place}.agg: {str(agg)[:50]!r} is not an aggregation: use {', '.join(AGGREGATIONS)}")
            continue
        kind = _field(name, source, f"{place}.field", problems, optional=agg == "COUNT")
        if agg is not None:
            if agg in ("SUM", "AVG") and kind not in (None, NUMBER):
                problems.append(f"{place}.agg: {agg} needs a numeric field ({name} is a {kind})")
            elif agg in ("MIN", "MAX") and kind == TEXT:
                problems.append(f"{place}.agg: {agg} needs a numeric or date field ({name} is text)")
            elif agg != "COUNT" and name is None:
                problems.append(f"{place}.field: {agg} needs a field")
        if interval is not None:
            if interval not in INTERVALS:
                problems.append(f"{place}.interval: use one of {', '.join(INTERVALS)}")
            elif kind != DATE or agg is not None:
                problems.append(f"{place}.interval: only a date column without agg has an interval")
        display = spec.get("displayName")
        found.append(Column(str(alias), name if isinstance(name, str) else None, agg, interval,
                            display if isinstance(display, str) else None))
    return found


def _field(name: Any, source: str, where: str, problems: list[str], optional: bool = False) -> str | None:
    if name is None and optional:
        return None
    if not isinstance(name, str):
        problems.append(f"{where}: required, one of {', '.join(FIELDS[source])}")
        return None
    if name in UNSUPPORTED_FIELDS:
        problems.append(f"{where}: {name} is not supported: {UNSUPPORTED_FIELDS[name]}")
        return None
    if name not in FIELDS[source]:
        problems.append(f"{where}: {name[:50]!r} is not a field of {source}: use one of {', '.join(FIELDS[source])}")
        return None
    return FIELDS[source][name]


def _where_list(raw: Any, source: str, where: str, problems: list[str], depth: int = 0) -> list[Where]:
    if raw is None:
        return []
    if depth > MAX_DEPTH:
        problems.append(f"{where}: OR filters nest {MAX_DEPTH} deep at most")
        return []
    if not isinstance(raw, list):
        problems.append(f"{where}: a list of filters")
        return []
    if len(raw) > MAX_FILTERS:
        problems.append(f"{where}: {MAX_FILTERS} filters at most")
        return []
    return [w for index, item in enumerate(raw)
            if (w := _where(item, source, f"{where}[{index}]", problems, depth))]


def _where(raw: Any, source: str, where: str, problems: list[str], depth: int) -> Where | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: a filter is a mapping with field, type and value")
        return None
    kind = raw.get("type")
    if not isinstance(kind, str):
        kind = str(kind)[:50]
    if kind == "OR":
        children = _where_list(raw.get("values"), source, f"{where}.values", problems, depth + 1)
        if not children:
            problems.append(f"{where}.values: an OR filter needs a list of filters")
        return Where("", "OR", children=tuple(children))
    known = (*WHERE_VALUE, *WHERE_VALUES, *WHERE_NONE, "OR")
    if kind in WHERE_UNSUPPORTED:
        problems.append(f"{where}.type: {kind} is not supported: {WHERE_UNSUPPORTED[kind]}")
        return None
    if kind not in known:
        problems.append(f"{where}.type: {str(kind)[:50]!r} is not a filter type: use one of {', '.join(known)}")
        return None
    name = raw.get("field")
    if _field(name, source, f"{where}.field", problems) is None:
        return None
    assert isinstance(name, str)
    field_kind = FIELDS[source][name]
    if kind in WHERE_VALUES:
        values = raw.get("values")
        if not isinstance(values, list) or not values:
            problems.append(f"{where}.values: {kind} needs a non-empty list of values")
            return None
        if not all(_fits(v, field_kind) for v in values):
            problems.append(f"{where}.values: every value must be a {field_kind} for {name}")
            return None
        return Where(name, kind, values=tuple(values))
    if kind in WHERE_VALUE:
        value = raw.get("value")
        if value is None or isinstance(value, (dict, list)):
            problems.append(f"{where}.value: {kind} needs a value (a string or a number)")
            return None
        if kind in ("CONTAINS", "STARTS_WITH", "ENDS_WITH") and field_kind != TEXT:
            problems.append(f"{where}.type: {kind} applies to text fields, not {name}")
            return None
        if not _fits(value, field_kind):
            problems.append(f"{where}.value: {str(value)[:50]!r} is not a {field_kind}"
                            + (" (ISO 8601 with a time zone)" if field_kind == DATE else ""))
            return None
        return Where(name, kind, value=value)
    return Where(name, kind)


def _fits(value: Any, kind: str) -> bool:
    """Whether a filter's value can be compared with a field of ``kind``."""
    if kind == NUMBER:
        try:
            float(value)
        except (TypeError, ValueError):
            return False
        return not isinstance(value, bool)
    if kind == DATE:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return False
        return moment.tzinfo is not None
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _order_by(raw: Any, aliases: set[str], where: str, problems: list[str]) -> list[tuple[str, bool]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(f"{where}: a list of {{column, order}}")
        return []
    found = []
    for index, item in enumerate(raw):
        column = item.get("column") if isinstance(item, dict) else None
        order = str(item.get("order", "ASC")).upper() if isinstance(item, dict) else "ASC"
        if not isinstance(column, str) or column not in aliases:
            problems.append(f"{where}[{index}].column: names a column alias ({', '.join(sorted(aliases))})")
        elif order not in ("ASC", "DESC"):
            problems.append(f"{where}[{index}].order: ASC or DESC")
        else:
            found.append((str(column), order == "DESC"))
    return found


def _check_shape(chart: Chart, options: dict[str, Any], where: str, problems: list[str]) -> str | None:
    """What each chart type needs of its columns; the TimeSeries' date column."""
    aliases = {c.alias: c for c in chart.columns}
    if chart.type in ("TimeSeries", "Bar", "Pie") and chart.columns and not chart.aggregated:
        problems.append(f"{where}.data.columns: a {chart.type} chart needs a column with `agg`")
    if chart.type in ("TimeSeries", "Bar"):
        column = options.get("column")
        if not isinstance(column, str) or column not in aliases:
            problems.append(f"{where}.chartOptions.column: names the column of the {chart.type} chart's axis, "
                            f"one of {', '.join(sorted(aliases)) or 'its columns'}")
            return None
        if chart.type == "TimeSeries":
            axis = aliases[column]
            if axis.agg is not None or chart.source is None or FIELDS[chart.source].get(axis.field or "") != DATE:
                problems.append(f"{where}.chartOptions.column: a TimeSeries' axis is a date column without agg")
                return None
            return str(column)
    for key in ("colorByColumn",):
        if key in options and (not isinstance(options[key], str) or options[key] not in aliases):
            problems.append(f"{where}.chartOptions.{key}: names one of the columns ({', '.join(sorted(aliases))})")
    return None
