"""Timestamps as text: Kestra's instant, and the two forms Lanner stores on purpose.

* :func:`instant`: what the API, the CLI's JSON and expressions (``execution.startDate``)
  show, Kestra's ISO-8601 instant: ``2024-01-31T08:00:00.123456Z``.  Python's ``isoformat``
  with ``Z`` for UTC; another offset is kept as it is (``+02:00``), a naive time gets
  none.  :func:`utc_instant` converts to UTC first (a naive time is UTC).
* :func:`sortable_instant`: the dates of execution state histories as stored, in UTC with
  always six fractional digits, so that the strings sort as the times do.
* :func:`offset_iso`: Python's ``isoformat`` (``+00:00``), in the JSON documents the
  database turns back into timestamps (bulk writes, held jobs) and in backups, which
  ``datetime.fromisoformat`` reads back: the bytes of those must not change.

:func:`as_utc` is the one rule for naive datetimes: SQLite gives timestamps back without
an offset, and they are UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@overload
def instant(moment: datetime) -> str: ...
@overload
def instant(moment: None) -> None: ...
@overload
def instant(moment: datetime | None) -> str | None: ...
def instant(moment: datetime | None) -> str | None:
    """Kestra's ISO-8601 instant: ``isoformat()`` with ``Z`` for UTC (None stays None)."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@overload
def utc_instant(moment: datetime) -> str: ...
@overload
def utc_instant(moment: None) -> None: ...
@overload
def utc_instant(moment: datetime | None) -> str | None: ...
def utc_instant(moment: datetime | None) -> str | None:
    """:func:`instant` of the moment in UTC (always ``Z``)."""
    return None if moment is None else instant(as_utc(moment))


def sortable_instant(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, always with microseconds (so strings sort as times)."""
    return as_utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def offset_iso(moment: datetime) -> str:
    """Python's ``isoformat()``, offset written ``+00:00``: for documents a database or ``fromisoformat`` reads."""
    return moment.isoformat()
