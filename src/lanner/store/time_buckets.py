"""Time buckets for the statistics and metric charts: which width, and the SQL that puts a row in one.

Kestra picks the width from the range asked for (its ``DateUtils.groupByType``): a month per bucket over
more than 365 days, a week over more than 180, a day over more than one, an hour over more than six
hours, a minute below.  The database truncates each row's timestamp to its bucket (``date_trunc`` on
PostgreSQL, ``strftime`` on SQLite, in UTC) and groups on it, so a chart costs one ``GROUP BY`` whatever
the number of rows; the empty buckets are added afterwards (one per bucket, never per row).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.timestamps import as_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

MAX_BUCKETS = 2000  # buckets in one answer: a wider range or a finer width is refused


class Width(StrEnum):
    MONTH = "month"
    WEEK = "week"
    DAY = "day"
    HOUR = "hour"
    MINUTE = "minute"


def width_for(start: datetime, end: datetime) -> Width:
    """Kestra's width for the range ``start``..``end``."""
    span = end - start
    if span.days > 365:
        return Width.MONTH
    if span.days > 180:
        return Width.WEEK
    if span.days > 1:
        return Width.DAY
    if span // timedelta(hours=1) > 6:
        return Width.HOUR
    return Width.MINUTE


_SQLITE_FORMATS = {Width.MONTH: "%Y-%m-01 00:00:00", Width.DAY: "%Y-%m-%d 00:00:00",
                   Width.HOUR: "%Y-%m-%d %H:00:00", Width.MINUTE: "%Y-%m-%d %H:%M:00"}


def bucket(connection: Connection, column: Any, width: Width) -> sa.ColumnElement[Any]:
    """SQL: the start of the bucket holding ``column`` (a UTC timestamp)."""
    if connection.dialect.name == "postgresql":
        return sa.func.date_trunc(width.value, sa.func.timezone("UTC", column))
    if width == Width.WEEK:  # back six days, then forward to a Monday (the same day when it is one)
        return sa.func.strftime("%Y-%m-%d 00:00:00", column, "-6 days", "weekday 1")
    return sa.func.strftime(_SQLITE_FORMATS[width], column)


def bound(moment: datetime) -> datetime:
    """A range bound as the stored timestamps compare with it (UTC on both backends)."""
    return as_utc(moment)


def floor(moment: datetime, width: Width) -> datetime:
    """The start of the bucket holding ``moment`` (UTC)."""
    moment = as_utc(moment)
    if width == Width.MINUTE:
        return moment.replace(second=0, microsecond=0)
    if width == Width.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if width == Width.DAY:
        return day
    if width == Width.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def following(moment: datetime, width: Width) -> datetime:
    """The start of the bucket after the one starting at ``moment``."""
    if width == Width.MONTH:
        return moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1)
    step = {Width.WEEK: timedelta(weeks=1), Width.DAY: timedelta(days=1), Width.HOUR: timedelta(hours=1),
            Width.MINUTE: timedelta(minutes=1)}[width]
    return moment + step


def every(start: datetime, end: datetime, width: Width) -> list[datetime]:
    """The starts of every bucket from ``start``'s to ``end``'s; ValueError past :data:`MAX_BUCKETS`."""
    found: list[datetime] = []
    current, last = floor(start, width), floor(end, width)
    while current <= last:
        found.append(current)
        if len(found) > MAX_BUCKETS:
            raise ValueError(f"{start.isoformat()} to {end.isoformat()} is more than {MAX_BUCKETS} {width.value}s: "
                             "ask for a shorter range")
        try:
            current = following(current, width)
        except (OverflowError, ValueError):  # past the year 9999
            break
    return found


def key(value: Any) -> datetime:
    """A bucket read back from the database (text on SQLite, a naive UTC timestamp on PostgreSQL)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a time bucket: {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
