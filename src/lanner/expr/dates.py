"""Dates: the ``date``, ``dateAdd`` and ``timestamp*`` filters and the ``now()`` function.

Every one of them first turns its input into a zoned datetime, as Kestra does:

- a Python ``datetime`` with a zone is used as it is; without one, it is read in the
  ``timeZone`` argument's zone; a ``date`` is read as noon of that day;
- an integer is epoch seconds;
- a string is read with ``existingFormat`` when given, else as ISO-8601: with an
  offset (``2024-05-01T10:00:00Z``), without one (read in ``timeZone``), or a bare
  date (its midnight in ``timeZone``).

The result is then shown in ``timeZone``.  Where Kestra uses the server's zone by
default, Lanner uses UTC, so a flow renders the same on every machine.  ``now()``
returns a datetime (printed as ISO-8601); ``date`` and ``dateAdd`` return text.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lanner.expr import javatime
from lanner.expr.errors import EvalError, type_name
from lanner.expr.frame import Frame
from lanner.expr.registry import filter_, function, int_arg, string_arg
from lanner.expr.services import current_time

_OFFSET = re.compile(r"(?:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?")
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
_BRACKETED_ZONE = re.compile(r"^(.*)\[([^\]]+)\]$")
_EXACT_UNITS = {
    "MICROS": timedelta(microseconds=1), "MILLIS": timedelta(milliseconds=1),
    "SECONDS": timedelta(seconds=1), "MINUTES": timedelta(minutes=1), "HOURS": timedelta(hours=1),
    "HALF_DAYS": timedelta(hours=12),
}  # fmt: skip
_CALENDAR_DAYS = {"DAYS": 1, "WEEKS": 7}
_CALENDAR_MONTHS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}


# A memo of a pure function (same text, same immutable result): it has no observable effect,
# so decide may reach it (see lanner.engine.core.surroundings).
@lru_cache(maxsize=256)
def zone(name: str | None) -> tzinfo:
    """Java's ``ZoneId.of``: a region (``Europe/Paris``, ``UTC``), ``Z`` or an offset."""
    if name is None or name == "Z":
        return UTC
    offset = _OFFSET.fullmatch(name)
    if offset:
        sign, hours, minutes, seconds = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0), seconds=int(seconds or 0))
        if delta > timedelta(hours=18):
            raise EvalError("a time zone offset must be within 18 hours")
        return timezone(-delta if sign == "-" else delta)
    if name in ("GMT", "UT"):
        return UTC
    if not _ZONE_NAME.fullmatch(name) or ".." in name:
        raise EvalError("unknown time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise EvalError(f"unknown time zone `{name}`") from None


def to_datetime(value: Any, tz: tzinfo, existing_format: str | None = None) -> datetime:
    """The zoned datetime a date filter works on (see the module's docstring)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 12, tzinfo=tz)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz)
        except (OverflowError, OSError, ValueError):
            raise EvalError("the epoch seconds are out of range") from None
    if not isinstance(value, str):
        raise EvalError(f"a date is expected, not a {type_name(value)}")
    if existing_format is not None:
        parsed, zoned = javatime.parse(value, existing_format, zone)
        return parsed if zoned else parsed.replace(tzinfo=tz)
    text, region = value.strip(), None
    bracketed = _BRACKETED_ZONE.match(text)
    if bracketed:
        text, region = bracketed.group(1), zone(bracketed.group(2))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise EvalError("the value is not an ISO-8601 date; give its `existingFormat`") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=region or tz)
    return parsed.astimezone(region) if region else parsed


def _format(moment: datetime, args: dict[str, Any], owner: str) -> str:
    format_ = string_arg(args, "format", owner, "iso")
    tz = zone(string_arg(args, "timeZone", owner, "") or None)
    try:
        return javatime.formatter(format_)(moment.astimezone(tz))
    except (OverflowError, ValueError):
        raise EvalError("the date is out of the supported range") from None


def _input(value: Any, args: dict[str, Any], owner: str) -> datetime:
    tz = zone(string_arg(args, "timeZone", owner, "") or None)
    existing = string_arg(args, "existingFormat", owner, "") or None
    return to_datetime(value, tz, existing)


_DATE_PARAMETERS = ("format", "timeZone", "existingFormat", "locale")


@filter_("date", *_DATE_PARAMETERS)
def date_filter(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    return _format(_input(value, args, "the `date` filter"), args, "the `date` filter")


def add(moment: datetime, amount: int, unit: str) -> datetime:
    """``ZonedDateTime.plus``: exact units on the timeline, calendar units on the wall clock."""
    unit = unit.upper()
    try:
        if unit in _EXACT_UNITS or unit == "NANOS":
            step = _EXACT_UNITS[unit] * amount if unit != "NANOS" else timedelta(microseconds=amount // 1000)
            utc = moment.astimezone(UTC) + step
            return utc.astimezone(moment.tzinfo)
        if unit in _CALENDAR_DAYS:
            return _relocalize(moment.replace(tzinfo=None) + timedelta(days=amount * _CALENDAR_DAYS[unit]), moment)
        if unit in _CALENDAR_MONTHS:
            months = moment.year * 12 + moment.month - 1 + amount * _CALENDAR_MONTHS[unit]
            year, month = divmod(months, 12)
            day = min(moment.day, calendar.monthrange(year, month + 1)[1])
            return _relocalize(moment.replace(tzinfo=None, year=year, month=month + 1, day=day), moment)
    except (OverflowError, ValueError):
        raise EvalError("the date is out of the supported range") from None
    units = ", ".join(["NANOS", *_EXACT_UNITS, *_CALENDAR_DAYS, *_CALENDAR_MONTHS])
    raise EvalError(f"unknown unit; use one of {units}")


def _relocalize(wall: datetime, like: datetime) -> datetime:
    return wall.replace(tzinfo=like.tzinfo, fold=like.fold)


@filter_("dateAdd", "amount", "unit", *_DATE_PARAMETERS)
def date_add(value: Any, args: dict[str, Any], frame: Frame) -> Any:
    if value is None:
        return None
    owner = "the `dateAdd` filter"
    amount = int_arg(args, "amount", owner)
    moment = add(_input(value, args, owner), amount, string_arg(args, "unit", owner))
    return _format(moment, args, owner)


def _timestamp(name: str, scale: int) -> None:
    def timestamp(value: Any, args: dict[str, Any], frame: Frame) -> Any:
        if value is None:
            return None
        moment = _input(value, args, f"the `{name}` filter")
        delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return micros * scale // 1_000_000 if scale > 1_000_000 else micros // (1_000_000 // scale)

    filter_(name, "timeZone", "existingFormat")(timestamp)


_timestamp("timestamp", 1)
_timestamp("timestampMilli", 1_000)
_timestamp("timestampMicro", 1_000_000)
_timestamp("timestampNano", 1_000_000_000)


@function("now", *_DATE_PARAMETERS)
def now(args: dict[str, Any], frame: Frame) -> Any:
    owner = "the `now` function"
    moment = current_time(frame.rt.services, zone(string_arg(args, "timeZone", owner, "") or None))
    return _format(moment, args, owner) if "format" in args else moment
