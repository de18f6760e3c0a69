"""Trigger conditions (Kestra's ``conditions:``), evaluated on a tick or on an ended execution.

Schedule conditions look at a date (``date``, by default ``{{ trigger.date }}``):
``DayWeek``, ``DayWeekInMonth``, ``TimeBetween``, ``DateTimeBetween``, ``Weekend``.
Flow-trigger conditions look at the upstream execution (``trigger`` variables):
``ExecutionStatus``, ``ExecutionFlow``, ``ExecutionNamespace``, ``ExecutionLabels``,
``ExecutionOutputs``.  ``PublicHoliday`` looks at a date too, in the calendars of the
``holidays`` package.  ``Expression``, ``Not`` and ``Or`` work on both.  A condition
that cannot be evaluated (a bad date, an expression error) counts as not met, and says
why: a trigger must neither fire by accident nor crash the scheduler.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from lanner.expr import ExpressionError, render_value
from lanner.expr.truthiness import truthy
from lanner.tasks.core import conditions as c

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


class ConditionError(Exception):
    pass


def applicable(trigger: Any, conditions: Sequence[Any] | None = None) -> list[Any]:
    """The trigger's conditions it can evaluate: those looking at what it offers (a date, an execution).

    The others are ignored, as Kestra's Schedule ignores execution conditions; the
    validator warns of each when the flow is saved.
    """
    sees = getattr(trigger, "CONDITIONS_SEE", None)
    given = trigger.conditions if conditions is None else conditions
    if sees is None:
        return list(given)
    return [c for c in given if getattr(c, "LOOKS_AT", "anything") in ("anything", *sees)]


def unmet(conditions: Sequence[Any], variables: dict[str, Any]) -> str | None:
    """None when every condition holds; otherwise which one did not, and why."""
    for condition in conditions:
        try:
            if not _holds(condition, variables):
                return f"condition {type(condition).__name__} not met"
        except (ConditionError, ExpressionError, ValueError, TypeError) as exc:
            return f"condition {type(condition).__name__} could not be evaluated: {exc}"
    return None


def _holds(condition: Any, variables: dict[str, Any]) -> bool:
    trigger = variables.get("trigger") or {}
    if isinstance(condition, c.Expression):
        return truthy(render_value(condition.expression, variables))
    if isinstance(condition, c.Not):
        return not any(_holds(inner, variables) for inner in condition.conditions)
    if isinstance(condition, c.Or):
        return any(_holds(inner, variables) for inner in condition.conditions)
    if isinstance(condition, c.ExecutionStatus):
        state = str(trigger.get("state", ""))
        return (not condition.in_ or state in condition.in_) and state not in condition.not_in
    if isinstance(condition, c.ExecutionFlow):
        return trigger.get("namespace") == condition.namespace and trigger.get("flowId") == condition.flow_id
    if isinstance(condition, c.ExecutionNamespace):
        namespace = str(trigger.get("namespace", ""))
        comparison = condition.comparison or ("PREFIX" if condition.prefix else "EQUALS")
        if comparison == "PREFIX":
            return namespace.startswith(condition.namespace)
        if comparison == "SUFFIX":
            return namespace.endswith(condition.namespace)
        return namespace == condition.namespace
    if isinstance(condition, c.ExecutionLabels):
        labels = trigger.get("labels") or {}
        return all(str(labels.get(key)) == str(value) for key, value in condition.labels.items())
    if isinstance(condition, c.ExecutionOutputs):
        return truthy(render_value(condition.expression, variables))
    if isinstance(condition, c.DayWeek):
        return DAYS[_date(condition.date, variables).weekday()] == condition.day_of_week
    if isinstance(condition, c.DayWeekInMonth):
        return _day_in_month(_date(condition.date, variables), condition.day_of_week, condition.day_in_month)
    if isinstance(condition, c.Weekend):
        return _date(condition.date, variables).weekday() >= 5
    if isinstance(condition, c.TimeBetween):
        moment = _datetime(condition.date, variables)
        return (condition.after is None or _time_at(moment, condition.after) >= _bound(condition.after)) and \
            (condition.before is None or _time_at(moment, condition.before) <= _bound(condition.before))
    if isinstance(condition, c.DateTimeBetween):
        moment = _datetime(condition.date, variables)
        return (condition.after is None or moment >= _aware_like(condition.after, moment)) and \
            (condition.before is None or moment <= _aware_like(condition.before, moment))
    if isinstance(condition, c.PublicHoliday):
        return _is_public_holiday(_date(condition.date, variables), condition.country or "", condition.subdivision)
    raise ConditionError(f"{type(condition).__name__} is not supported on this trigger")


@lru_cache(maxsize=64)
def _calendar(country: str, subdivision: str | None) -> Any:
    import holidays

    return holidays.country_holidays(country.upper(), subdiv=subdivision)


def _is_public_holiday(day: date, country: str, subdivision: str | None) -> bool:
    return day in _calendar(country, subdivision)


def _rendered(expression: str, variables: dict[str, Any]) -> str:
    value = render_value(expression, variables)
    if value in (None, ""):
        raise ConditionError(f"{expression!r} rendered empty")
    return str(value)


def _datetime(expression: str, variables: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(_rendered(expression, variables).replace("Z", "+00:00"))


def _date(expression: str, variables: dict[str, Any]) -> date:
    text = _rendered(expression, variables)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date() if "T" in text else date.fromisoformat(text)


def _bound(text: str) -> time:
    return time.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _time_at(moment: datetime, bound: str) -> time:
    """``moment``'s time of day where ``bound`` is: in its offset when it has one ("10:00:00+02:00", as
    Kestra compares them), else on the moment's own wall clock (the schedule's zone)."""
    offset = time.fromisoformat(bound.replace("Z", "+00:00")).tzinfo
    if offset is not None and moment.tzinfo is not None:
        moment = moment.astimezone(offset)
    return moment.time()


def _aware_like(text: str, reference: datetime) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=reference.tzinfo)


def _day_in_month(day: date, weekday: str, which: str) -> bool:
    if DAYS[day.weekday()] != weekday:
        return False
    if which == "LAST":
        return (day.day + 7) > _days_in_month(day)
    return (day.day - 1) // 7 == ("FIRST", "SECOND", "THIRD", "FOURTH").index(which)


def _days_in_month(day: date) -> int:
    following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return (following - date(day.year, day.month, 1)).days
