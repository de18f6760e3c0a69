"""Searching executions with Kestra 1.x's filters, in SQL: only the page asked for is read.

A search is a tree of conditions (what the API's ``filters[field][OPERATION]=value`` parse to):
a group has ``logical`` (``and`` / ``or``) and ``children``; a leaf has ``field``, ``op`` (the
operation's name, ``EQUALS``...) and ``value``, already typed by the caller (an aware datetime for
``startDate``/``endDate``, a timedelta for ``timeRange``, a list for ``IN``/``NOT_IN``, a mapping
for ``labels``).  Each field maps to a column or a JSON path of the ``executions`` row:

=====================  ==========================================================================
namespace, flowId      the columns; text operations, ``PREFIX``: the namespace or its children
state                  the current state
labels                 ``EQUALS``: has every pair; ``NOT_EQUALS``/``NOT_IN``: none; ``IN``: one;
                       ``CONTAINS``: a ``key:value`` containing the text
startDate, endDate     the state's start (``created_at``, indexed) and end dates
timeRange              started within the duration before ``now``
childFilter            ``CHILD``: started by another execution (``parentId`` set); ``MAIN``: not
triggerExecutionId     the execution whose end or Subflow task started it
q                      contained (any case) in the id, the namespace or the flow id
kind                   ``NORMAL`` (every Lanner execution; Kestra's TEST and PLAYGROUND match none)
scope                  ``USER``: outside the ``system`` namespace; ``SYSTEM``: inside it
=====================  ==========================================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.model.execution import Execution
from lanner.model.tenant import DEFAULT_TENANT
from lanner.store.execution_repository import EXECUTION_COLUMNS, execution_of_row
from lanner.store.sql_filters import Leaf, Tree
from lanner.store.tables import executions

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

SYSTEM_NAMESPACE = "system"  # Kestra's namespace of system flows (the scope filter)
_e = executions


class UnsupportedFilter(ValueError):
    """A field or operation this search cannot apply (the caller's parser should have refused it)."""


# Sort fields (Kestra's names) and what they order by.
SORTS: Mapping[str, Any] = {
    "id": _e.c.id, "namespace": _e.c.namespace, "flowId": _e.c.flow_id, "flowRevision": _e.c.flow_revision,
    "state.current": _e.c.state, "state.startDate": _e.c.created_at, "startDate": _e.c.created_at,
    "createdAt": _e.c.created_at, "state.endDate": _e.c.end_date, "endDate": _e.c.end_date,
    "state.duration": None,  # end - start: per dialect
}


def search(connection: Connection, tree: Tree | None, *, tenant_id: str = DEFAULT_TENANT,
           sort: Sequence[tuple[str, bool]] = (("state.startDate", True),), limit: int = 25, offset: int = 0,
           now: datetime | None = None) -> list[Execution]:
    """A page of the executions matching ``tree``, ordered by ``sort`` ((field, descending) pairs), without
    their task runs."""
    query = sa.select(*EXECUTION_COLUMNS).where(*_where(connection, tree, tenant_id, now))
    order = []
    for name, descending in sort:
        column = _sort_column(connection, name)
        order.append(column.desc() if descending else column.asc())
    tie = sort[0][1] if sort else True
    order.append(_e.c.id.desc() if tie else _e.c.id.asc())
    rows = connection.execute(query.order_by(*order).limit(limit).offset(offset))
    return [execution_of_row(row, ()) for row in rows]


def count(connection: Connection, tree: Tree | None, *, tenant_id: str = DEFAULT_TENANT,
          now: datetime | None = None) -> int:
    found: int = connection.execute(sa.select(sa.func.count()).select_from(_e)
                                    .where(*_where(connection, tree, tenant_id, now))).scalar_one()
    return found


def ids(connection: Connection, tree: Tree | None, *, tenant_id: str = DEFAULT_TENANT,
        now: datetime | None = None, limit: int = 100_000) -> list[str]:
    """The ids of the matching executions, newest first."""
    query = (sa.select(_e.c.id).where(*_where(connection, tree, tenant_id, now))
             .order_by(_e.c.created_at.desc(), _e.c.id.desc()).limit(limit))
    return [row.id for row in connection.execute(query)]


def distinct_values(connection: Connection, field: str, tree: Tree | None = None, *,
                    tenant_id: str = DEFAULT_TENANT, limit: int = 1000) -> list[str]:
    """The distinct values of ``namespace``, ``flowId`` or ``state`` among the matching executions, sorted."""
    column = {"namespace": _e.c.namespace, "flowId": _e.c.flow_id, "state": _e.c.state}[field]
    query = (sa.select(column).distinct().where(*_where(connection, tree, tenant_id, None))
             .order_by(column).limit(limit))
    return [row[0] for row in connection.execute(query)]


def latest(connection: Connection, flows: Sequence[tuple[str, str]], *,
           tenant_id: str = DEFAULT_TENANT) -> list[Execution]:
    """The latest execution of each (namespace, flow id) that has one, in the order asked."""
    found = []
    for namespace, flow_id in dict.fromkeys(flows):
        row = connection.execute(
            sa.select(*EXECUTION_COLUMNS)
            .where(_e.c.tenant_id == tenant_id, ~_e.c.deleted, _e.c.namespace == namespace, _e.c.flow_id == flow_id)
            .order_by(_e.c.created_at.desc(), _e.c.id.desc()).limit(1)).first()
        if row is not None:
            found.append(execution_of_row(row, ()))
    return found


def _sort_column(connection: Connection, name: str) -> Any:
    if name not in SORTS:
        raise UnsupportedFilter(f"cannot sort by {name!r}: use one of {', '.join(SORTS)}")
    if name == "state.duration":
        if connection.dialect.name == "sqlite":
            return sa.func.julianday(_e.c.end_date) - sa.func.julianday(_e.c.start_date)
        return _e.c.end_date - _e.c.start_date
    return SORTS[name]


def _where(connection: Connection, tree: Tree | None, tenant_id: str,
           now: datetime | None) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [_e.c.tenant_id == tenant_id, ~_e.c.deleted]
    if tree is not None and tree.children:
        conditions.append(_group(connection, tree, now or datetime.now(UTC)))
    return conditions


def _group(connection: Connection, tree: Tree, now: datetime) -> sa.ColumnElement[bool]:
    parts = [(_group(connection, child, now) if hasattr(child, "children") else _leaf(connection, child, now))
             for child in tree.children]
    return sa.or_(*parts) if tree.logical == "or" else sa.and_(*parts)


def _values(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [item for item in str(value).split(",") if item]


def _text(column: Any, op: str, value: Any) -> Any:
    text = str(value)
    if op == "EQUALS":
        return column == text
    if op == "NOT_EQUALS":
        return column != text
    if op == "IN":
        return column.in_(_values(value))
    if op == "NOT_IN":
        return column.not_in(_values(value))
    if op == "CONTAINS":
        return sa.func.lower(column).contains(text.lower(), autoescape=True)
    if op == "STARTS_WITH":
        return column.startswith(text, autoescape=True)
    if op == "ENDS_WITH":
        return column.endswith(text, autoescape=True)
    if op == "REGEX":
        return column.regexp_match(text)
    if op == "PREFIX":
        return sa.or_(column == text, column.startswith(text + ".", autoescape=True))
    raise UnsupportedFilter(f"operation {op} is not supported here")


def _date(column: Any, op: str, value: datetime) -> Any:
    value = value.astimezone(UTC)
    tests = {"EQUALS": column == value, "NOT_EQUALS": column != value, "GREATER_THAN": column > value,
             "GREATER_THAN_OR_EQUAL_TO": column >= value, "LESS_THAN": column < value,
             "LESS_THAN_OR_EQUAL_TO": column <= value}
    if op not in tests:
        raise UnsupportedFilter(f"operation {op} is not supported for dates")
    return tests[op]


def _negated(op: str, condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.not_(condition) if op in ("NOT_EQUALS", "NOT_IN") else condition


def _leaf(connection: Connection, leaf: Leaf, now: datetime) -> Any:
    name, op, value = leaf.field, str(leaf.op), leaf.value
    if name == "namespace":
        return _text(_e.c.namespace, op, value)
    if name == "flowId":
        return _text(_e.c.flow_id, op, value)
    if name == "state":
        return _text(_e.c.state, op, value)
    if name == "startDate":
        return _date(_e.c.created_at, op, value)
    if name == "endDate":
        return _date(_e.c.end_date, op, value)
    if name == "timeRange":
        if not isinstance(value, timedelta):
            raise UnsupportedFilter("timeRange needs a duration")
        return _e.c.created_at >= (now - value).astimezone(UTC)
    if name == "childFilter":
        child = str(value).upper() == "CHILD"
        condition: Any = _e.c.parent_id.is_not(None) if child else _e.c.parent_id.is_(None)
        return _negated(op, condition)
    if name == "triggerExecutionId":
        trigger = sa.func.coalesce(_e.c.trigger["executionId"].as_string(),
                                   _e.c.trigger[("variables", "executionId")].as_string())
        return sa.and_(trigger.is_not(None), _text(trigger, op, value))
    if name == "q":
        text = str(value).lower()
        condition = sa.or_(*(sa.func.lower(c).contains(text, autoescape=True)
                             for c in (_e.c.id, _e.c.namespace, _e.c.flow_id)))
        return _negated(op, condition)
    if name == "kind":
        normal = "NORMAL" in [v.upper() for v in _values(value)]
        return _negated(op, sa.true() if normal else sa.false())
    if name == "scope":
        system = str(value).upper() == "SYSTEM"
        condition = _text(_e.c.namespace, "PREFIX", SYSTEM_NAMESPACE)
        return _negated(op, condition if system else sa.not_(condition))
    if name == "labels":
        return _labels(connection, op, value)
    raise UnsupportedFilter(f"filter field {name!r} is not supported when searching executions")


def _labels(connection: Connection, op: str, value: Any) -> sa.ColumnElement[bool]:
    pairs = value if isinstance(value, Mapping) else dict(item.partition(":")[::2] for item in _values(value))
    if op == "CONTAINS":
        texts = [str(v) for v in pairs.values()] if isinstance(value, Mapping) else _values(value)
        return sa.or_(*(_label_containing(connection, text) for text in texts))
    each = [_has_label(connection, str(k), str(v)) for k, v in pairs.items()]
    if not each:
        raise UnsupportedFilter("a labels filter needs at least one key:value")
    if op == "EQUALS":
        return sa.and_(*each)
    if op == "IN":
        return sa.or_(*each)
    if op in ("NOT_EQUALS", "NOT_IN"):
        return sa.not_(sa.or_(*each))
    raise UnsupportedFilter(f"operation {op} is not supported for labels")


def _has_label(connection: Connection, key: str, value: str) -> sa.ColumnElement[bool]:
    if connection.dialect.name == "postgresql":
        label = [{"key": key, "value": value}]
        return _e.c.labels.op("@>", return_type=sa.Boolean)(sa.cast(sa.literal(json.dumps(label)), _e.c.labels.type))
    each = sa.func.json_each(_e.c.labels).table_valued("value").alias("label")
    return sa.exists(sa.select(1).select_from(each).where(
        sa.func.json_extract(each.c.value, "$.key") == key, sa.func.json_extract(each.c.value, "$.value") == value))


def _label_containing(connection: Connection, text: str) -> sa.ColumnElement[bool]:
    """A label whose ``key:value`` contains ``text`` (any case)."""
    key: Any
    value: Any
    if connection.dialect.name == "postgresql":
        each = sa.func.jsonb_array_elements(_e.c.labels).table_valued("value").alias("label")
        key, value = each.c.value.op("->>")("key"), each.c.value.op("->>")("value")
    else:
        each = sa.func.json_each(_e.c.labels).table_valued("value").alias("label")
        key, value = sa.func.json_extract(each.c.value, "$.key"), sa.func.json_extract(each.c.value, "$.value")
    pair = sa.type_coerce(key, sa.String) + ":" + sa.type_coerce(value, sa.String)
    return sa.exists(sa.select(1).select_from(each).where(
        sa.func.lower(pair).contains(text.lower(), autoescape=True)))
