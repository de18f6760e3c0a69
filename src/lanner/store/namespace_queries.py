"""Namespaces as Kestra's open-source edition has them: implicit, the namespaces something lives in.

No table holds namespaces: one exists while a flow (not deleted) or a live KV key is in it, and each
of those makes its parents exist too (``a.b.c`` makes ``a`` and ``a.b``), as Kestra derives its tree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import kv_listing
from lanner.store.tables import flows

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def holding(connection: Connection, *, tenant_id: str = DEFAULT_TENANT) -> set[str]:
    """The namespaces that hold a flow (not deleted) or a live KV key."""
    flow_namespaces = connection.execute(sa.select(flows.c.namespace).distinct().where(
        flows.c.tenant_id == tenant_id, ~flows.c.deleted)).scalars()
    return {str(ns) for ns in flow_namespaces} | set(kv_listing.namespaces(connection, tenant_id=tenant_id))


def tree(namespaces: set[str]) -> set[str]:
    """``namespaces`` with every parent of each."""
    return {".".join(ns.split(".")[:size]) for ns in namespaces for size in range(1, ns.count(".") + 2)}
