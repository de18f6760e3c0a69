"""Query parameters shared by several routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lanner.timestamps import as_utc
from lanner.web.errors import ApiError


def labels(raw: list[str]) -> dict[str, str]:
    """``labels=key:value`` parameters (repeated) as a mapping; a 400 naming a malformed one."""
    found = {}
    for item in raw:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ApiError(400, f"label {item!r}: expected key:value")
        found[key] = value
    return found


def date_span(start: datetime | None, end: datetime | None, default: timedelta) -> tuple[datetime, datetime]:
    """``startDate`` and ``endDate`` as an aware UTC span (``end`` defaults to now, ``start`` to ``default``
    before it); a 400 for a date without a time zone, out of range, or a start after the end."""
    for name, moment in (("startDate", start), ("endDate", end)):
        if moment is not None and moment.tzinfo is None:
            raise ApiError(400, f"{name} {moment.isoformat()} has no time zone: add one, e.g. Z or +02:00")
    try:
        end = as_utc(end) if end else datetime.now(UTC)
        start = as_utc(start) if start else end - default
    except OverflowError:
        raise ApiError(400, "startDate or endDate is out of range: give dates between the years 1 and 9999 "
                            "(UTC), a start before the end") from None
    if start > end:
        raise ApiError(400, f"startDate {start.isoformat()} is after endDate {end.isoformat()}: swap them")
    return start, end
