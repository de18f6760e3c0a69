"""Deploying a whole namespace at once (``flow namespace update`` and ``POST /api/v1/flows/{namespace}``).

All or nothing: the flows are checked together first (each valid, each in the namespace
or one of its children, no flow twice), then saved in one transaction; with ``delete``
the namespace's flows that are not among them are deleted in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lanner.model.tenant import DEFAULT_TENANT
from lanner.store import flow_repository

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from lanner.flows.validator import Validation


@dataclass(frozen=True)
class Deployed:
    state: str  # created, updated, unchanged or deleted
    namespace: str
    flow_id: str
    revision: int | None


def namespace_problems(namespace: str | None, results: list[Validation], *, children: bool = True) -> list[str]:
    """Flows outside ``namespace`` (and its children, unless ``children`` is false), and flows defined
    twice, one line each."""
    problems: list[str] = []
    seen: dict[tuple[str, str], str | None] = {}
    for result in results:
        flow = result.flow
        if flow is None:
            continue
        inside = namespace is None or flow.namespace == namespace or (
            children and flow.namespace.startswith(namespace + "."))
        if not inside:
            wanted = f"{namespace} or one of its child namespaces" if children else str(namespace)
            problems.append(f"{result.file}: error: namespace: '{flow.namespace}' is not {wanted}")
        key = (flow.namespace, flow.id)
        if key in seen:
            problems.append(f"{result.file}: error: id: flow {flow.namespace}.{flow.id} is also defined in {seen[key]}")
        seen[key] = result.file
    return problems


def deploy(connection: Connection, namespace: str | None, results: list[Validation], *, delete: bool,
           children: bool = True, tenant_id: str = DEFAULT_TENANT) -> list[Deployed]:
    """Save every (valid, checked) flow; with ``delete`` and a namespace, delete the namespace's others
    (its children's too, with ``children``)."""
    done = []
    for result in results:
        assert result.flow is not None
        saved = flow_repository.save_flow(connection, result.flow, result.source, tenant_id)
        state = ("created" if saved.created else "updated") if saved.changed else "unchanged"
        done.append(Deployed(state, result.flow.namespace, result.flow.id, saved.revision))
    if delete and namespace is not None:
        kept = {(r.flow.namespace, r.flow.id) for r in results if r.flow}
        for existing in flow_repository.list_flows(connection, namespace, with_children=children, tenant_id=tenant_id):
            if (existing.namespace, existing.flow_id) not in kept:
                revision = flow_repository.delete_flow(connection, existing.namespace, existing.flow_id, tenant_id)
                done.append(Deployed("deleted", existing.namespace, existing.flow_id, revision))
    return done
