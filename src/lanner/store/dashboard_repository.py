"""Custom dashboards: their YAML sources, by tenant and id (the ``dashboards`` table).

A delete is soft, as Kestra's: the row stays with ``deleted`` set, and creating a dashboard with
the same id again brings the row back with the new source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lanner.model.tenant import DEFAULT_TENANT
from lanner.store.tables import dashboards
from lanner.timestamps import as_utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

SORTS = {"id": dashboards.c.id, "title": dashboards.c.title, "created": dashboards.c.created,
         "updated": dashboards.c.updated}


@dataclass(frozen=True)
class StoredDashboard:
    tenant_id: str
    id: str
    source: str
    title: str
    created: datetime
    updated: datetime
    deleted: bool = False


def _row(row: Any) -> StoredDashboard:
    return StoredDashboard(row.tenant_id, row.id, row.source, row.title, as_utc(row.created), as_utc(row.updated),
                           bool(row.deleted))


def get(connection: Connection, dashboard_id: str, tenant_id: str = DEFAULT_TENANT) -> StoredDashboard | None:
    row = connection.execute(sa.select(dashboards).where(
        dashboards.c.tenant_id == tenant_id, dashboards.c.id == dashboard_id, dashboards.c.deleted.is_(False))).first()
    return None if row is None else _row(row)


def create(connection: Connection, dashboard_id: str, title: str, source: str,
           tenant_id: str = DEFAULT_TENANT) -> StoredDashboard | None:
    """The new dashboard; None when a live one already has that id (a deleted one is replaced)."""
    now = datetime.now(UTC)
    existing = connection.execute(sa.select(dashboards.c.deleted).where(
        dashboards.c.tenant_id == tenant_id, dashboards.c.id == dashboard_id).with_for_update()).first()
    if existing is not None and not existing.deleted:
        return None
    values = {"source": source, "title": title, "created": now, "updated": now, "deleted": False}
    if existing is None:
        connection.execute(sa.insert(dashboards).values(tenant_id=tenant_id, id=dashboard_id, **values))
    else:
        connection.execute(sa.update(dashboards).where(
            dashboards.c.tenant_id == tenant_id, dashboards.c.id == dashboard_id).values(**values))
    return StoredDashboard(tenant_id, dashboard_id, source, title, now, now)


def update(connection: Connection, dashboard_id: str, title: str, source: str,
           tenant_id: str = DEFAULT_TENANT) -> StoredDashboard | None:
    """The updated dashboard; None when there is none with that id."""
    now = datetime.now(UTC)
    changed = connection.execute(sa.update(dashboards).where(
        dashboards.c.tenant_id == tenant_id, dashboards.c.id == dashboard_id, dashboards.c.deleted.is_(False),
    ).values(source=source, title=title, updated=now))
    if changed.rowcount == 0:
        return None
    return get(connection, dashboard_id, tenant_id)


def delete(connection: Connection, dashboard_id: str, tenant_id: str = DEFAULT_TENANT) -> bool:
    changed = connection.execute(sa.update(dashboards).where(
        dashboards.c.tenant_id == tenant_id, dashboards.c.id == dashboard_id, dashboards.c.deleted.is_(False),
    ).values(deleted=True, updated=datetime.now(UTC)))
    return bool(changed.rowcount)


def search(connection: Connection, *, q: str | None = None, sorts: list[tuple[str, bool]] | None = None,
           offset: int = 0, limit: int = 10, tenant_id: str = DEFAULT_TENANT) -> tuple[list[StoredDashboard], int]:
    """A page of live dashboards whose id or title contains ``q`` (any case), and how many match."""
    where = [dashboards.c.tenant_id == tenant_id, dashboards.c.deleted.is_(False)]
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(sa.or_(sa.func.lower(dashboards.c.id).like(pattern, escape="\\"),
                            sa.func.lower(dashboards.c.title).like(pattern, escape="\\")))
    total = connection.execute(sa.select(sa.func.count()).select_from(dashboards).where(*where)).scalar_one()
    order = [SORTS[name].desc() if descending else SORTS[name].asc() for name, descending in (sorts or [])]
    rows = connection.execute(sa.select(dashboards).where(*where).order_by(*order, dashboards.c.id)
                              .offset(offset).limit(limit)).all()
    return [_row(row) for row in rows], int(total)
