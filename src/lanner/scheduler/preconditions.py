"""A Flow trigger's ``preconditions``: which ended executions count, and when they add up to a fire.

Each entry of ``flows`` and each ``where`` filter is one precondition.  An ended
execution meets some of them (:func:`met_by`).  With one precondition, each execution
that meets it fires the trigger (inside the daily window, for the ``DAILY_*`` types).
With several, the trigger waits until every one has been met within the same time
window, then fires once (:func:`record`); with ``resetOnSuccess`` (the default) the
count then starts again, otherwise each further execution that meets one fires again
until the window ends.

Windows, in ``timeWindow.timezone`` (UTC by default):

* ``DURATION_WINDOW`` (the default, ``window`` P1D): consecutive windows of ``window``
  from midnight, moved later by ``windowAdvance``;
* ``SLIDING_WINDOW``: a window of ``window`` (P1D) opened by the first execution that
  counts; one counting after it ends opens the next;
* ``DAILY_TIME_WINDOW``: each day from ``startTime`` to ``endTime``;
* ``DAILY_TIME_DEADLINE``: each day from midnight to ``deadline``.

Executions ending outside the day's window of a ``DAILY_*`` type do not count.  The
progress is a plain dict kept in the trigger's row (``state.preconditions``), so it
survives restarts and is shared by every executor; callers hold the row's lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lanner.expr import ExpressionError, render_value
from lanner.expr.truthiness import truthy
from lanner.tasks.core.conditions import MultipleCondition
from lanner.tasks.core.triggers import ExecutionFilter, Preconditions, TimeWindow, UpstreamFlow

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Counted:
    """A set of preconditions counted across executions, and where its count is kept in the trigger's state."""

    key: str
    ids: tuple[str, ...]
    window: TimeWindow
    reset_on_success: bool


def of_preconditions(spec: Preconditions) -> Counted:
    return Counted("preconditions", tuple(condition_ids(spec)), spec.time_window or TimeWindow(),
                   spec.reset_on_success)


def of_multiple(condition: MultipleCondition) -> Counted:
    window = condition.time_window or TimeWindow.model_validate(
        {"window": condition.window, "windowAdvance": condition.window_advance})
    return Counted(f"multiple:{condition.id}", tuple(condition.conditions), window, condition.reset_on_success)


def condition_ids(spec: Preconditions) -> list[str]:
    return [f"flows[{i}]" for i in range(len(spec.flows))] + [w.id for w in spec.where]


def is_stateful(spec: Preconditions | None) -> bool:
    """Whether the trigger must remember executions between messages (several preconditions)."""
    return spec is not None and len(spec.flows) + len(spec.where) > 1


def met_by(spec: Preconditions, upstream: dict[str, Any], context: dict[str, Any]) -> list[str]:
    """The ids of the preconditions the ended execution ``upstream`` (trigger variables) meets."""
    met = [f"flows[{i}]" for i, flow in enumerate(spec.flows) if _flow_matches(flow, upstream)]
    return met + [w.id for w in spec.where if _where_matches(w.operand, w.filters, upstream, context)]


def _flow_matches(flow: UpstreamFlow, upstream: dict[str, Any]) -> bool:
    if flow.namespace != upstream["namespace"] or (flow.flow_id is not None and flow.flow_id != upstream["flowId"]):
        return False
    if flow.states and upstream["state"] not in flow.states:
        return False
    labels = upstream.get("labels") or {}
    return all(str(labels.get(key)) == str(value) for key, value in flow.labels.items())


def _where_matches(operand: str, filters: list[ExecutionFilter], upstream: dict[str, Any],
                   context: dict[str, Any]) -> bool:
    results = (_filter_holds(f, upstream, context) for f in filters)
    return any(results) if operand == "OR" else all(results)


def _filter_holds(condition: ExecutionFilter, upstream: dict[str, Any], context: dict[str, Any]) -> bool:
    if condition.field == "EXPRESSION":
        try:
            value = render_value(condition.value, context)
        except ExpressionError:
            return False  # a filter that cannot be evaluated is not met: the trigger must not fire by accident
    else:
        value = {"FLOW_ID": upstream["flowId"], "NAMESPACE": upstream["namespace"],
                 "STATE": upstream["state"]}[condition.field]
    kind, expected = condition.type, condition.value
    if kind == "IS_NULL":
        return value is None
    if kind == "IS_NOT_NULL":
        return value is not None
    if kind in ("IS_TRUE", "IS_FALSE"):
        return truthy(value) == (kind == "IS_TRUE")
    if kind in ("IN", "NOT_IN"):
        return (str(value) in (condition.values or [])) == (kind == "IN")
    text = "" if value is None else str(value)
    if kind == "EQUAL_TO":
        return text == expected
    if kind == "NOT_EQUAL_TO":
        return text != expected
    if kind == "STARTS_WITH":
        return text.startswith(expected or "")
    if kind == "ENDS_WITH":
        return text.endswith(expected or "")
    if kind == "CONTAINS":
        return (expected or "") in text
    return re.fullmatch(expected or "", text) is not None  # REGEX: the whole value, as Java's matches()


def in_daily_window(window: TimeWindow | None, moment: datetime) -> bool:
    """For one precondition: does an execution ending at ``moment`` count at all?"""
    return window is None or not window.type.startswith("DAILY_") or _bounds(window, moment) is not None


def record(counted: Counted, progress: dict[str, Any] | None, met: list[str], moment: datetime,
           execution_id: str) -> tuple[bool, dict[str, Any] | None]:
    """Count the preconditions ``met`` by an execution that ended at ``moment``: (fire?, the new progress)."""
    progress = progress or {}
    start, end = _parse(progress.get("start")), _parse(progress.get("end"))
    results: dict[str, Any] = dict(progress.get("met") or {})
    if start is None or end is None or not start <= moment < end:
        bounds = _bounds(counted.window, moment)
        if bounds is None:
            return False, progress or None  # outside the day's window: it does not count
        (start, end), results = bounds, {}
    for condition in met:
        results[condition] = {"executionId": execution_id, "date": moment.isoformat()}
    fire = all(condition in results for condition in counted.ids)
    if fire and counted.reset_on_success:
        results = {}
    return fire, {"start": start.isoformat(), "end": end.isoformat(), "met": results}


def _bounds(window: TimeWindow, moment: datetime) -> tuple[datetime, datetime] | None:
    """The window an execution ending at ``moment`` falls in; None outside a daily window."""
    zone = ZoneInfo(window.timezone or "UTC")
    local = moment.astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), zone)
    if window.type == "SLIDING_WINDOW":
        return moment, moment + (window.window or DAY)
    if window.type == "DURATION_WINDOW":
        length = window.window or DAY
        origin = midnight + (window.window_advance or timedelta(0))
        while origin > moment:  # an advance can put today's first window after ``moment``
            origin -= DAY
        start = origin + length * ((moment - origin) // length)
        return start, start + length
    if window.type == "DAILY_TIME_DEADLINE":
        start, end = midnight, _at(local, window.deadline, zone)
    else:
        start, end = _at(local, window.start_time, zone), _at(local, window.end_time, zone)
    return (start, end) if start <= moment < end else None


def _at(local: datetime, text: str | None, zone: ZoneInfo) -> datetime:
    """``text`` (a time of day, maybe with an offset) on ``local``'s date."""
    of_day = time.fromisoformat((text or "00:00").replace("Z", "+00:00"))
    if of_day.tzinfo is not None:
        return datetime.combine(local.date(), of_day).astimezone(UTC)
    return datetime.combine(local.date(), of_day, zone)


def _parse(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None
