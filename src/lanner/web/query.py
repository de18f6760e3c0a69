"""Searches as Kestra 1.x's clients send them: ``filters[field][OPERATION]=value``, ``sort``, ``page``, ``size``.

A filter names a field and an operation; which fields a search knows, and which operations each field
admits, are Kestra's (``RESOURCES`` and ``OPERATIONS`` below).  An unknown field, an operation the field
does not admit, or a malformed parameter is a 400 naming it, never ignored: a search meant for one
namespace must not answer every namespace.

Forms read (each as kestrapy and Kestra's UI send them):

- ``filters[namespace][EQUALS]=company.team``: a leaf; for ``IN``/``NOT_IN`` the value is a
  comma-separated list (or the parameter is repeated);
- ``filters[labels][EQUALS][team]=data``: a map value (labels), one key per parameter;
- ``filters[or][0][state][EQUALS]=FAILED&filters[or][1][state][EQUALS]=KILLED``: a group, one level deep.

The top level is an AND of its leaves and groups.  The flat 0.2x parameters (``namespace=``,
``state=``, …) keep working: each route turns them into the same filters (:func:`legacy`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import Query, Request

from lanner.web.errors import ApiError

MAX_PAGE = 1_000_000
MAX_SIZE = 10_000
MAX_FILTERS = 100  # filter parameters in one request


class Op(StrEnum):
    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    GREATER_THAN = "GREATER_THAN"
    LESS_THAN = "LESS_THAN"
    GREATER_THAN_OR_EQUAL_TO = "GREATER_THAN_OR_EQUAL_TO"
    LESS_THAN_OR_EQUAL_TO = "LESS_THAN_OR_EQUAL_TO"
    IN = "IN"
    NOT_IN = "NOT_IN"
    STARTS_WITH = "STARTS_WITH"
    ENDS_WITH = "ENDS_WITH"
    CONTAINS = "CONTAINS"
    REGEX = "REGEX"
    PREFIX = "PREFIX"  # the namespace itself or one of its children


_TEXT = (Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH, Op.REGEX, Op.IN, Op.NOT_IN, Op.PREFIX)
_ID = (Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH, Op.IN, Op.NOT_IN)
_DATE = (Op.GREATER_THAN_OR_EQUAL_TO, Op.GREATER_THAN, Op.LESS_THAN_OR_EQUAL_TO, Op.LESS_THAN, Op.EQUALS,
         Op.NOT_EQUALS)
_YES_NO = (Op.EQUALS, Op.NOT_EQUALS)

# Each field Kestra's searches know, with the operations it admits (Kestra's QueryFilter.Field).
OPERATIONS: Mapping[str, tuple[Op, ...]] = {
    "q": _YES_NO, "scope": _YES_NO, "namespace": _TEXT, "kind": (Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN),
    "labels": (Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN, Op.CONTAINS), "flowId": _TEXT, "updated": _DATE,
    "startDate": _DATE, "endDate": _DATE, "state": (Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN),
    "timeRange": (Op.EQUALS,), "triggerExecutionId": _ID, "triggerId": _ID, "triggerState": _YES_NO,
    "executionId": _ID, "childFilter": _YES_NO, "workerId": _ID, "existingOnly": _YES_NO, "level": _YES_NO,
    "path": (Op.EQUALS, Op.NOT_EQUALS, Op.IN), "parentPath": (Op.EQUALS, Op.NOT_EQUALS, Op.STARTS_WITH),
    "version": _YES_NO,
}

# The fields each search admits (Kestra's QueryFilter.Resource).
RESOURCES: Mapping[str, tuple[str, ...]] = {
    "FLOW": ("labels", "namespace", "q", "scope", "flowId"),
    "NAMESPACE": ("existingOnly", "q"),  # q: as kestrapy 2.0 sends it (Kestra 1.x's namespace search)
    "EXECUTION": ("q", "scope", "flowId", "startDate", "endDate", "state", "labels", "triggerExecutionId",
                  "childFilter", "namespace", "kind", "timeRange"),
    "LOG": ("q", "scope", "namespace", "startDate", "endDate", "flowId", "triggerId", "level", "executionId",
            "timeRange"),
    "TASK": ("namespace", "q", "endDate", "flowId", "startDate", "state", "labels", "triggerExecutionId",
             "childFilter"),
    "TRIGGER": ("q", "scope", "namespace", "workerId", "flowId", "startDate", "endDate", "triggerId",
                "triggerState"),
    "KV_METADATA": ("q", "namespace", "updated"),
    "NAMESPACE_FILE_METADATA": ("q", "namespace", "path", "parentPath", "version", "updated"),
    "SECRET": ("q", "namespace"),
}

_PARAM = re.compile(r"^filters((?:\[[^\[\]]*\])+)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


@dataclass(frozen=True)
class Filter:
    """One leaf: ``field`` ``op`` ``value`` (a string, a list for IN/NOT_IN, or a map for labels)."""

    field: str
    op: Op
    value: Any

    def values(self) -> list[str]:
        """The value as a list (IN / NOT_IN: its comma-separated items)."""
        if isinstance(self.value, list):
            return [str(v) for v in self.value]
        if isinstance(self.value, dict):
            return [f"{k}:{v}" for k, v in self.value.items()]
        return [item for item in str(self.value).split(",") if item != ""]


@dataclass(frozen=True)
class Group:
    """Filters joined by ``logical`` (``and`` / ``or``); the top level of a search is an ``and`` group."""

    logical: str = "and"
    children: tuple[Filter | Group, ...] = ()

    def leaves(self) -> Iterable[Filter]:
        for child in self.children:
            if isinstance(child, Filter):
                yield child
            else:
                yield from child.leaves()

    def find(self, name: str) -> list[Filter]:
        """The top-level AND's leaves on ``name`` (what a route can push down to its query)."""
        if self.logical != "and":
            return []
        return [c for c in self.children if isinstance(c, Filter) and c.field == name]

    def __bool__(self) -> bool:
        return bool(self.children)


@dataclass
class _Node:
    leaves: dict[tuple[str, str], Any] = field(default_factory=dict)
    groups: dict[tuple[str, str], _Node] = field(default_factory=dict)


def parse(request: Request, resource: str, extra: Sequence[Filter] = ()) -> Group:
    """The request's ``filters[...]`` parameters for a search of ``resource`` (a key of RESOURCES), with
    ``extra`` (the route's flat parameters, already turned into filters) ANDed; a 400 naming what is
    wrong."""
    allowed = RESOURCES[resource]
    root = _Node()
    count = 0
    for key, value in request.query_params.multi_items():
        if not key.startswith("filters"):
            continue
        count += 1
        if count > MAX_FILTERS:
            raise ApiError(400, f"too many filters: at most {MAX_FILTERS} in one request")
        match = _PARAM.match(key)
        if not match:
            raise ApiError(400, f"query parameter {key[:100]!r}: expected filters[field][OPERATION]=value",
                           _help(resource))
        _place(root, _PART.findall(match.group(1)), value, key)
    group = _build(root, allowed, resource)
    if extra:
        group = Group("and", (*extra, *group.children))
    return group


def _place(root: _Node, parts: list[str], value: str, key: str) -> None:
    if parts and parts[0].lower() in ("and", "or"):
        if len(parts) < 4 or not parts[1].isdigit():
            raise ApiError(400, f"query parameter {key[:100]!r}: a group is filters[{parts[0]}][INDEX][field]"
                                "[OPERATION]=value")
        root = root.groups.setdefault((parts[0].lower(), parts[1]), _Node())
        parts = parts[2:]
        if parts and parts[0].lower() in ("and", "or"):
            raise ApiError(400, f"query parameter {key[:100]!r}: groups nest one level deep at most")
    if len(parts) == 2:
        name, operation = parts
        previous = root.leaves.get((name, operation))
        root.leaves[(name, operation)] = value if previous is None else f"{previous},{value}"
    elif len(parts) == 3:  # a map value: filters[labels][EQUALS][key]=value
        name, operation, map_key = parts
        current = root.leaves.setdefault((name, operation), {})
        if not isinstance(current, dict):
            raise ApiError(400, f"query parameter {key[:100]!r}: filters[{name}][{operation}] is given both as a "
                                "value and as a map")
        current[map_key] = value
    else:
        raise ApiError(400, f"query parameter {key[:100]!r}: expected filters[field][OPERATION]=value")


def _build(node: _Node, allowed: Sequence[str], resource: str) -> Group:
    """The top-level AND: its leaves, then one group per logical of the ``filters[or|and][i]`` entries."""
    children: list[Filter | Group] = [_leaf(name, operation, value, allowed, resource)
                                      for (name, operation), value in node.leaves.items()]
    for logical in ("and", "or"):
        entries = sorted(((int(index), sub) for (lg, index), sub in node.groups.items() if lg == logical),
                         key=lambda item: item[0])
        members = [_build(sub, allowed, resource) for _, sub in entries]
        members_flat = tuple(m.children[0] if len(m.children) == 1 else m for m in members if m.children)
        if members_flat:
            children.append(Group(logical, members_flat))
    return Group("and", tuple(children))


def _leaf(name: str, operation: str, value: Any, allowed: Sequence[str], resource: str) -> Filter:
    if name not in allowed:
        raise ApiError(400, f"filter field {name[:100]!r} is not supported when searching {resource.lower()}s: "
                            f"use one of {', '.join(allowed)}", _help(resource))
    try:
        op = Op(operation.upper())
    except ValueError:
        raise ApiError(400, f"filter operation {operation[:100]!r} is unknown: use one of "
                            f"{', '.join(OPERATIONS[name])}") from None
    if op not in OPERATIONS[name]:
        raise ApiError(400, f"operation {op} is not supported for filter field {name!r}: use one of "
                            f"{', '.join(OPERATIONS[name])}")
    if op == Op.REGEX and isinstance(value, str):
        try:
            re.compile(value)
        except re.error as exc:
            raise ApiError(400, f"filters[{name}][REGEX]: {value[:100]!r} is not a regular expression: {exc}") \
                from None
    return Filter(name, op, value)


def _help(resource: str) -> list[str]:
    return [f"fields for {resource.lower()}s: " + "; ".join(
        f"{name} ({', '.join(OPERATIONS[name])})" for name in RESOURCES[resource])]


def legacy(**flat: Any) -> list[Filter]:
    """Filters for a route's flat 0.2x parameters (``namespace=x`` → ``filters[namespace][EQUALS]=x``; a list
    → IN); None and empty values are left out."""
    found: list[Filter] = []
    for name, value in flat.items():
        if value is None or value == [] or value == {}:
            continue
        if isinstance(value, list):
            found.append(Filter(name, Op.IN, [str(v) for v in value]))
        else:
            found.append(Filter(name, Op.EQUALS, value))
    return found


# In-memory evaluation, for searches over what a route already holds (flows, triggers, namespaces).

Getter = Callable[[Any, str], Any]


def matches(group: Group, record: Any, get: Getter) -> bool:
    """Whether ``record`` passes ``group``; ``get(record, field)`` gives a field's value (a string, a
    datetime, a mapping for labels, or None)."""
    results = (matches(c, record, get) if isinstance(c, Group) else _test(c, get(record, c.field))
               for c in group.children)
    return any(results) if group.logical == "or" else all(results)


def _test(leaf: Filter, actual: Any) -> bool:
    op = leaf.op
    if isinstance(actual, Mapping):  # labels
        wanted = leaf.value if isinstance(leaf.value, dict) else dict(
            item.partition(":")[::2] for item in leaf.values())
        pairs = {(str(k), str(v)) for k, v in actual.items()}
        if op == Op.EQUALS:
            return all((k, v) in pairs for k, v in wanted.items())
        if op == Op.NOT_EQUALS:
            return not any((k, v) in pairs for k, v in wanted.items())
        if op == Op.IN:
            return any((k, v) in pairs for k, v in wanted.items())
        if op == Op.NOT_IN:
            return not any((k, v) in pairs for k, v in wanted.items())
        return any(str(v) in f"{k}:{val}" for k, val in pairs for v in wanted.values())  # CONTAINS
    if isinstance(actual, datetime):
        return _compare(op, actual, _instant(leaf))
    text = "" if actual is None else str(actual)
    value = str(leaf.value)
    tests: dict[Op, Callable[[], bool]] = {
        Op.EQUALS: lambda: text == value, Op.NOT_EQUALS: lambda: text != value,
        Op.IN: lambda: text in leaf.values(), Op.NOT_IN: lambda: text not in leaf.values(),
        Op.STARTS_WITH: lambda: text.startswith(value), Op.ENDS_WITH: lambda: text.endswith(value),
        Op.CONTAINS: lambda: value.lower() in text.lower(),
        Op.REGEX: lambda: re.search(value, text) is not None,
        Op.PREFIX: lambda: text == value or text.startswith(value + "."),
    }
    if op in tests:
        return tests[op]()
    return _compare(op, text, value)


def _compare(op: Op, actual: Any, value: Any) -> bool:
    if actual is None:
        return False
    return bool({Op.EQUALS: actual == value, Op.NOT_EQUALS: actual != value, Op.GREATER_THAN: actual > value,
                 Op.LESS_THAN: actual < value, Op.GREATER_THAN_OR_EQUAL_TO: actual >= value,
                 Op.LESS_THAN_OR_EQUAL_TO: actual <= value}.get(op, False))


def _instant(leaf: Filter) -> datetime:
    return instant_value(leaf.field, str(leaf.value))


def instant_value(name: str, raw: str) -> datetime:
    """A date filter's value as an aware datetime; a 400 naming the filter when it is not ISO 8601 with a
    time zone."""
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ApiError(400, f"filters[{name}]: {raw[:100]!r} is not a date-time; use ISO 8601 with a time zone, "
                            "e.g. 2025-01-31T12:00:00Z") from None
    if moment.tzinfo is None:
        raise ApiError(400, f"filters[{name}]: {raw[:100]!r} has no time zone; add Z or an offset")
    return moment


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool


def sorts(raw: Sequence[str] | None, allowed: Sequence[str], default: str) -> list[Sort]:
    """``sort=field:asc|desc`` parameters (repeated or comma-joined); a 400 naming an unknown field."""
    found = []
    for item in (part for value in (raw or [default]) for part in value.split(",") if part.strip()):
        name, _, direction = item.strip().partition(":")
        if name not in allowed or direction.lower() not in ("", "asc", "desc"):
            raise ApiError(400, f"cannot sort by {item[:100]!r}: use one of {', '.join(allowed)}, with :asc or :desc")
        found.append(Sort(name, direction.lower() == "desc"))
    return found


@dataclass(frozen=True)
class Page:
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def of(self, items: Sequence[Any]) -> list[Any]:
        return list(items[self.offset:self.offset + self.size])


def page(page: int = Query(1, ge=1, le=MAX_PAGE, description="The page, from 1"),
         size: int = Query(10, ge=1, le=MAX_SIZE, description="Results per page")) -> Page:
    """``page`` and ``size`` (Kestra's defaults: 1 and 10)."""
    return Page(page, size)
