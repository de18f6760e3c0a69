"""Search filters (``filters[field][OPERATION]=value``, parsed by the API) as SQL conditions.

The API hands a tree of leaves (``field``, ``op``, ``value``) and groups (``logical``, ``children``);
each search names, per field it admits, the function that turns a leaf into a condition on its
columns (:func:`text`, :func:`moment` or its own).  A value that cannot be read (a date that is not
one) is a ``ValueError`` naming the filter, which the API answers as a 400.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from lanner.timestamps import as_utc


class Leaf(Protocol):
    @property
    def field(self) -> str: ...

    @property
    def op(self) -> str: ...

    @property
    def value(self) -> Any: ...

    def values(self) -> list[str]: ...


class Tree(Protocol):
    @property
    def logical(self) -> str: ...

    @property
    def children(self) -> Sequence[Any]: ...


Condition = sa.ColumnElement[bool]
Handler = Callable[[Leaf], Condition]


def condition(tree: Tree, handlers: Mapping[str, Handler]) -> Condition:
    """The whole tree as one condition (true when it is empty)."""
    parts = [condition(child, handlers) if hasattr(child, "children") else handlers[child.field](child)
             for child in tree.children]
    if not parts:
        return sa.true()
    return sa.or_(*parts) if tree.logical == "or" else sa.and_(*parts)


def text(column: Any) -> Handler:
    """The text operations on ``column`` (CONTAINS ignores case, as Kestra's searches do)."""
    def handle(leaf: Leaf) -> Condition:
        op, value = str(leaf.op), str(leaf.value)
        if op == "EQUALS":
            return column == value  # type: ignore[no-any-return]
        if op == "NOT_EQUALS":
            return sa.or_(column != value, column.is_(None))
        if op == "IN":
            return column.in_(leaf.values())  # type: ignore[no-any-return]
        if op == "NOT_IN":
            return sa.or_(column.not_in(leaf.values()), column.is_(None))
        if op == "CONTAINS":
            return sa.func.lower(column).contains(value.lower(), autoescape=True)
        if op == "STARTS_WITH":
            return column.startswith(value, autoescape=True)  # type: ignore[no-any-return]
        if op == "ENDS_WITH":
            return column.endswith(value, autoescape=True)  # type: ignore[no-any-return]
        if op == "PREFIX":
            return sa.or_(column == value, column.startswith(value + ".", autoescape=True))
        if op == "REGEX":
            return column.regexp_match(value)  # type: ignore[no-any-return]
        raise ValueError(f"filters[{leaf.field}][{op}] is not supported")
    return handle


def moment(column: Any) -> Handler:
    """The comparisons of a timestamp ``column`` with the filter's date-time."""
    def handle(leaf: Leaf) -> Condition:
        when = instant(leaf.field, str(leaf.value))
        compare: dict[str, Callable[[], Condition]] = {
            "EQUALS": lambda: column == when, "NOT_EQUALS": lambda: column != when,
            "GREATER_THAN": lambda: column > when, "GREATER_THAN_OR_EQUAL_TO": lambda: column >= when,
            "LESS_THAN": lambda: column < when, "LESS_THAN_OR_EQUAL_TO": lambda: column <= when}
        if str(leaf.op) not in compare:
            raise ValueError(f"filters[{leaf.field}][{leaf.op}] is not supported")
        return compare[str(leaf.op)]()
    return handle


def instant(name: str, raw: str) -> datetime:
    """A filter's date-time, in UTC (as the stored timestamps compare on both backends)."""
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ValueError(f"filters[{name}]: {raw[:100]!r} is not a date-time; use ISO 8601 with a time zone, "
                         "e.g. 2025-01-31T12:00:00Z") from None
    if when.tzinfo is None:
        raise ValueError(f"filters[{name}]: {raw[:100]!r} has no time zone; add Z or an offset")
    try:
        return as_utc(when)
    except OverflowError:
        raise ValueError(f"filters[{name}]: {raw[:100]!r} is out of range in UTC") from None


def guarded(run: Callable[[], Any]) -> Any:
    """``run()``, a value the database cannot read in a filter (a regular expression PostgreSQL's dialect
    refuses, a NUL character) turned into a ValueError naming it."""
    try:
        return run()
    except sa.exc.DataError as exc:
        cause = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        raise ValueError(f"a filter's value cannot be used by the database: {cause}") from None
