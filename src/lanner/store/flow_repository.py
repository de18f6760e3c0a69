"""Flows and their revisions in the database.

Saving a flow whose source changed stores revision N+1 with the source exactly as
written; saving the same source again stores nothing.  Deleting a flow stores one more
revision marked deleted, so history is never lost and a flow re-created later
continues the numbering (as Kestra does).

Each revision also keeps its source parsed (``definition``, the YAML as JSON), written
once when it is saved, so that searching flows never parses their sources again.  A
revision saved by a version that did not write it has none; readers then parse its
source (:func:`definition_of`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.model.state import TERMINAL
from lanner.model.tenant import DEFAULT_TENANT
from lanner.plain_yaml import YamlError, parse
from lanner.store import trigger_repository
from lanner.store.tables import executions, flow_revisions, flows

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from lanner.model.flow import Flow


@dataclass(frozen=True)
class FlowRevision:
    namespace: str
    flow_id: str
    revision: int
    source: str
    deleted: bool
    created_at: datetime | None = None
    tenant_id: str = DEFAULT_TENANT
    definition: dict[str, Any] | None = field(default=None, compare=False)  # the parsed source, when stored

    def parsed(self) -> dict[str, Any]:
        """The source as a mapping: the stored definition, else the source parsed now ({} if it is not one)."""
        return self.definition if self.definition is not None else definition_of(self.source) or {}


@dataclass(frozen=True)
class Listed:
    """What searching flows looks at: no source."""
    namespace: str
    flow_id: str
    revision: int
    labels: dict[str, Any]
    tenant_id: str = DEFAULT_TENANT


@dataclass(frozen=True)
class Saved:
    revision: int
    changed: bool  # False: the same source was already the current revision
    created: bool  # True: the flow did not exist (or was deleted) before


def save_flow(connection: Connection, flow: Flow, source: str, tenant_id: str = DEFAULT_TENANT) -> Saved:
    """Store ``source`` as the flow's next revision unless it is already the current one.

    Call inside a transaction; the flow's row is locked so concurrent saves serialise.
    """
    key = _key(tenant_id, flow.namespace, flow.id)
    current = connection.execute(
        sa.select(flows.c.revision, flows.c.source, flows.c.deleted).where(*key).with_for_update()
    ).first()
    if current is not None and not current.deleted and current.source == source:
        return Saved(current.revision, changed=False, created=False)
    revision = _latest_revision(connection, tenant_id, flow.namespace, flow.id) + 1
    now = datetime.now(UTC)
    connection.execute(sa.insert(flow_revisions).values(
        tenant_id=tenant_id, namespace=flow.namespace, flow_id=flow.id, revision=revision, source=source,
        deleted=False, created_at=now, definition=_stored(definition_of(source)),
    ))
    values = dict(revision=revision, source=source, labels=dict(flow.labels), disabled=flow.disabled, deleted=False,
                  updated_at=now)
    if current is None:
        connection.execute(sa.insert(flows).values(
            tenant_id=tenant_id, namespace=flow.namespace, flow_id=flow.id, created_at=now, **values))
    else:
        connection.execute(sa.update(flows).where(*key).values(**values))
    trigger_repository.sync_flow(connection, flow, revision, tenant_id, now)
    return Saved(revision, changed=True, created=current is None or current.deleted)


def delete_flow(connection: Connection, namespace: str, flow_id: str, tenant_id: str = DEFAULT_TENANT) -> int | None:
    """Mark a flow deleted with one more revision; None when there was nothing to delete."""
    key = _key(tenant_id, namespace, flow_id)
    current = connection.execute(sa.select(flows.c.source, flows.c.deleted).where(*key).with_for_update()).first()
    if current is None or current.deleted:
        return None
    revision = _latest_revision(connection, tenant_id, namespace, flow_id) + 1
    now = datetime.now(UTC)
    connection.execute(sa.insert(flow_revisions).values(
        tenant_id=tenant_id, namespace=namespace, flow_id=flow_id, revision=revision, source=current.source,
        deleted=True, created_at=now, definition=_stored(definition_of(current.source)),
    ))
    connection.execute(sa.update(flows).where(*key).values(revision=revision, deleted=True, updated_at=now))
    trigger_repository.forget_flow(connection, namespace, flow_id, tenant_id)
    return revision


def get_flow(connection: Connection, namespace: str, flow_id: str, revision: int | None = None,
             tenant_id: str = DEFAULT_TENANT) -> FlowRevision | None:
    """The current revision (None if absent or deleted), or the given revision."""
    if revision is None:
        row = connection.execute(sa.select(flows).where(*_key(tenant_id, namespace, flow_id), ~flows.c.deleted)).first()
        return _revision(row, row.updated_at) if row else None
    row = connection.execute(
        sa.select(flow_revisions)
        .where(*_revision_key(tenant_id, namespace, flow_id), flow_revisions.c.revision == revision)
    ).first()
    return _revision(row, row.created_at) if row else None


def get_revisions(connection: Connection, keys: Sequence[tuple[str, str, str, int]]) -> list[FlowRevision]:
    """Many revisions at once, by (tenant, namespace, flow id, revision); absent ones are left out."""
    found: list[FlowRevision] = []
    r = flow_revisions.c
    for start in range(0, len(keys), 500):  # well under SQLite's bound-parameter limit
        chunk = keys[start:start + 500]
        match = sa.tuple_(r.tenant_id, r.namespace, r.flow_id, r.revision).in_(chunk)
        found += [_revision(row, row.created_at) for row in connection.execute(sa.select(flow_revisions).where(match))]
    return found


def list_revisions(connection: Connection, namespace: str, flow_id: str,
                   tenant_id: str = DEFAULT_TENANT) -> list[FlowRevision]:
    rows = connection.execute(
        sa.select(flow_revisions)
        .where(*_revision_key(tenant_id, namespace, flow_id))
        .order_by(flow_revisions.c.revision)
    )
    return [_revision(row, row.created_at) for row in rows]


def list_flows(connection: Connection, namespace: str | None = None, *, with_children: bool = False,
               tenant_id: str = DEFAULT_TENANT) -> list[FlowRevision]:
    """Current, not deleted flows; in ``namespace`` (and its children when asked)."""
    query = _current(sa.select(flows), tenant_id, namespace, with_children)
    return [_revision(row, row.updated_at) for row in connection.execute(query)]


def _current(query: sa.Select[Any], tenant_id: str, namespace: str | None, with_children: bool) -> sa.Select[Any]:
    """``query`` narrowed to current, not deleted flows (of ``namespace``, and its children when asked), in order."""
    query = query.where(flows.c.tenant_id == tenant_id, ~flows.c.deleted)
    if namespace is not None:
        condition = flows.c.namespace == namespace
        if with_children:
            condition = condition | flows.c.namespace.startswith(namespace + ".", autoescape=True)
        query = query.where(condition)
    return query.order_by(flows.c.namespace, flows.c.flow_id)


def list_for_search(connection: Connection, namespace: str | None = None, *, with_children: bool = False,
                    tenant_id: str = DEFAULT_TENANT) -> list[Listed]:
    """What :func:`list_flows` lists, without the sources (their revisions are read by page: :func:`get_revisions`)."""
    columns = (flows.c.tenant_id, flows.c.namespace, flows.c.flow_id, flows.c.revision, flows.c.labels)
    rows = connection.execute(_current(sa.select(*columns), tenant_id, namespace, with_children))
    return [Listed(row.namespace, row.flow_id, row.revision, row.labels or {}, row.tenant_id) for row in rows]


def namespaces(connection: Connection, tenant_id: str = DEFAULT_TENANT) -> list[str]:
    """The namespaces holding at least one flow that is not deleted, in order."""
    query = (sa.select(flows.c.namespace).distinct()
             .where(flows.c.tenant_id == tenant_id, ~flows.c.deleted).order_by(flows.c.namespace))
    return [row.namespace for row in connection.execute(query)]


def delete_revisions(connection: Connection, namespace: str, flow_id: str, revisions: Sequence[int],
                     tenant_id: str = DEFAULT_TENANT) -> list[int]:
    """Remove past ``revisions`` from the flow's history (in the caller's transaction); the ones removed.

    The caller checks first (:func:`revisions_in_use`): the current revision is never removed here.
    """
    current = connection.execute(sa.select(flows.c.revision).where(*_key(tenant_id, namespace, flow_id))
                                 .with_for_update()).scalar()
    wanted = [r for r in revisions if r != current]
    if not wanted:
        return []
    r = flow_revisions.c
    found = [row.revision for row in connection.execute(
        sa.select(r.revision).where(*_revision_key(tenant_id, namespace, flow_id), r.revision.in_(wanted)))]
    if found:
        connection.execute(sa.delete(flow_revisions).where(*_revision_key(tenant_id, namespace, flow_id),
                                                           r.revision.in_(found)))
    return sorted(found)


def revisions_in_use(connection: Connection, namespace: str, flow_id: str, revisions: Sequence[int],
                     tenant_id: str = DEFAULT_TENANT) -> list[int]:
    """Which of ``revisions`` an execution that has not ended still runs (their definition is needed)."""
    e = executions.c
    ended = [str(state) for state in TERMINAL]
    rows = connection.execute(sa.select(e.flow_revision).distinct().where(
        e.tenant_id == tenant_id, e.namespace == namespace, e.flow_id == flow_id, e.flow_revision.in_(list(revisions)),
        e.state.not_in(ended), ~e.deleted))
    return sorted(row.flow_revision for row in rows)


def definition_of(source: str) -> dict[str, Any] | None:
    """A source parsed as stored with its revision: a mapping that JSON holds, else None."""
    try:
        data = parse(source).data
        json.dumps(data, allow_nan=False)  # PostgreSQL's JSON has no NaN or infinities
    except (YamlError, ValueError, TypeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _stored(definition: dict[str, Any] | None) -> Any:
    return sa.null() if definition is None else definition  # SQL NULL, not JSON null


def diff(old: FlowRevision, new: FlowRevision) -> str:
    """A unified diff between two revisions' sources."""
    return "".join(difflib.unified_diff(
        old.source.splitlines(keepends=True), new.source.splitlines(keepends=True),
        fromfile=f"{old.namespace}.{old.flow_id} revision {old.revision}",
        tofile=f"{new.namespace}.{new.flow_id} revision {new.revision}",
    ))


def _latest_revision(connection: Connection, tenant_id: str, namespace: str, flow_id: str) -> int:
    latest = connection.execute(
        sa.select(sa.func.max(flow_revisions.c.revision)).where(*_revision_key(tenant_id, namespace, flow_id))
    ).scalar()
    return latest or 0


def _key(tenant_id: str, namespace: str, flow_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return flows.c.tenant_id == tenant_id, flows.c.namespace == namespace, flows.c.flow_id == flow_id


def _revision_key(tenant_id: str, namespace: str, flow_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (flow_revisions.c.tenant_id == tenant_id, flow_revisions.c.namespace == namespace,
            flow_revisions.c.flow_id == flow_id)


def _revision(row: sa.Row[*tuple[Any, ...]], created_at: datetime) -> FlowRevision:
    definition = row._mapping.get("definition")  # flow_revisions rows only
    return FlowRevision(row.namespace, row.flow_id, row.revision, row.source, row.deleted, created_at, row.tenant_id,
                        definition)


def all_current(connection: Connection) -> list[FlowRevision]:
    """The current revision of every flow that is not deleted, in every tenant (for the upgrade check)."""
    columns = (flows.c.tenant_id, flows.c.namespace, flows.c.flow_id, flows.c.revision, flows.c.source,
               flows.c.deleted, flows.c.updated_at)
    rows = connection.execute(sa.select(*columns).where(~flows.c.deleted)
                              .order_by(flows.c.tenant_id, flows.c.namespace, flows.c.flow_id))
    return [_revision(row, row.updated_at) for row in rows]
