"""One flow, or one namespace's flows (Kestra's ``/api/v1/{tenant}/flows/{namespace}[/{id}]``): create and
update from YAML, read (a revision, a deleted flow), delete, revisions, a task of a flow, a namespace's
flows listed or deployed at once.

The routes on literal paths (``/flows/search``, ``/flows/validate``...) are in
:mod:`.routes_flows_bulk`, :mod:`.routes_flows_files` and :mod:`.routes_flows_graph`, mounted
before these, whose ``/{namespace}`` would otherwise take them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from lanner.flows.namespace_deploy import Deployed, deploy, namespace_problems
from lanner.flows.validator import validate_source
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.web import flow_bodies, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.flow_bodies import MAX_INT, YAML
from lanner.web.limits import blocking
from lanner.web.schemas import flows as shapes
from lanner.web.schemas.flows import Flow, FlowInterface, FlowWithSource

if TYPE_CHECKING:
    from sqlalchemy import Connection

router = APIRouter(prefix="/flows", tags=["Flows"])


class DeployedFlow(FlowInterface):
    """A flow of a bulk deployment; ``state`` (Lanner's): created, updated, unchanged or deleted."""

    state: str


@router.post("", openapi_extra=YAML, status_code=200, response_model=FlowWithSource)
async def create(request: Request, tenant: str = Depends(tenants.tenant),
                 srv: Server = Depends(server)) -> FlowWithSource:
    """Creates a flow from its YAML source; 409 when it exists."""
    return await blocking(_create, srv, tenant, await flow_bodies.source(request))  # the body is read here


def _create(srv: Server, tenant: str, source: str) -> FlowWithSource:
    flow, stored = flow_bodies.valid(source)
    with write_connection(srv.engine) as connection, connection.begin():
        existing = flow_repository.get_flow(connection, flow.namespace, flow.id, tenant_id=tenant)
        if existing is not None and not existing.deleted:
            raise ApiError(409, f"flow {flow.namespace}.{flow.id} already exists; update it with "
                                f"PUT /api/v1/{tenant}/flows/{flow.namespace}/{flow.id}")
        flow_repository.save_flow(connection, flow, stored, tenant)
        saved = flow_bodies.current(connection, flow.namespace, flow.id, tenant)
    return shapes.flow_with_source(saved)


@router.put("/{namespace}/{flow_id}", openapi_extra=YAML, response_model=FlowWithSource)
async def update(namespace: str, flow_id: str, request: Request, tenant: str = Depends(tenants.tenant),
                 srv: Server = Depends(server)) -> FlowWithSource:
    """A new revision (an identical source stores nothing); 404 when the flow does not exist."""
    return await blocking(_update, srv, tenant, namespace, flow_id, await flow_bodies.source(request))


def _update(srv: Server, tenant: str, namespace: str, flow_id: str, source: str) -> FlowWithSource:
    flow, stored = flow_bodies.valid(source)
    if (flow.namespace, flow.id) != (namespace, flow_id):
        raise ApiError(400, f"the source defines {flow.namespace}.{flow.id}, not {namespace}.{flow_id}")
    with write_connection(srv.engine) as connection, connection.begin():
        existing = flow_repository.get_flow(connection, namespace, flow_id, tenant_id=tenant)
        if existing is None or existing.deleted:
            raise ApiError(404, f"flow {namespace}.{flow_id} not found; create it with POST /api/v1/{tenant}/flows")
        flow_repository.save_flow(connection, flow, stored, tenant)
        saved = flow_bodies.current(connection, namespace, flow_id, tenant)
    return shapes.flow_with_source(saved)


@router.get("/{namespace}", response_model=list[Flow])
def list_namespace(namespace: str, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[Flow]:
    """The namespace's flows (not its children's), by id."""
    with srv.engine.connect() as connection:
        found = flow_repository.list_flows(connection, namespace, tenant_id=tenant)
    return [shapes.flow(revision) for revision in found]


@router.post("/{namespace}", openapi_extra=YAML, response_model=list[DeployedFlow])
async def update_namespace(namespace: str, request: Request, delete: bool = True, override: bool = False,
                           tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[DeployedFlow]:
    """Deploys every flow of a multi-document YAML body (``---`` between flows) into the namespace or its
    children, all or nothing; ``delete`` (default true, as Kestra): the namespace's flows absent from the
    body are deleted.  ``override`` is accepted and has no effect (a Kestra Enterprise option)."""
    return await blocking(deploy_documents, srv, tenant, await flow_bodies.source(request), namespace, delete, True)


def deploy_documents(srv: Server, tenant: str, source: str, namespace: str | None, delete: bool,
                     children: bool) -> list[DeployedFlow]:
    """Validates every flow of ``source`` and deploys them in one transaction (see :mod:`namespace_deploy`)."""
    results = [validate_source(document, f"document {index + 1}")
               for index, document in enumerate(flow_bodies.documents(source))]
    found = [p for r in results for p in flow_bodies.problems(r) if p["severity"] == "error"]
    found += [{"message": line, "path": "namespace", "line": None, "column": None, "severity": "error"}
              for line in namespace_problems(namespace, results, children=children)]
    if found or any(r.flow is None for r in results):
        raise ApiError(400, "invalid flows: nothing deployed", found)
    with write_connection(srv.engine) as connection, connection.begin():
        done = deploy(connection, namespace, results, delete=delete, children=children, tenant_id=tenant)
        return [_deployed(connection, tenant, item) for item in done]


def _deployed(connection: Connection, tenant: str, item: Deployed) -> DeployedFlow:
    revision = flow_repository.get_flow(connection, item.namespace, item.flow_id, item.revision,
                                        tenant_id=tenant) if item.revision is not None else None
    if revision is None:
        return DeployedFlow(id=item.flow_id, namespace=item.namespace, revision=item.revision, tenant_id=tenant,
                            deleted=item.state == "deleted", state=item.state)
    return DeployedFlow.model_validate(shapes.interface(revision).model_dump() | {"state": item.state})


@router.get("/{namespace}/{flow_id}", response_model=FlowWithSource)
def get(namespace: str, flow_id: str, source: bool = False, revision: int | None = Query(None, ge=1, le=MAX_INT),
        allow_deleted: bool = Query(False, alias="allowDeleted"), tenant: str = Depends(tenants.tenant),
        srv: Server = Depends(server)) -> FlowWithSource:
    """The flow (its current revision, or ``revision``); ``source``: with its YAML; ``allowDeleted``: a
    deleted flow's last revision rather than a 404."""
    with srv.engine.connect() as connection:
        found = flow_repository.get_flow(connection, namespace, flow_id, revision, tenant_id=tenant)
        if found is None and revision is None and allow_deleted:
            history = flow_repository.list_revisions(connection, namespace, flow_id, tenant_id=tenant)
            found = history[-1] if history and history[-1].deleted else None
    if found is None or (found.deleted and revision is None and not allow_deleted):
        raise ApiError(404, f"flow {namespace}.{flow_id} not found" + (f" (revision {revision})" if revision else ""))
    shaped = shapes.flow_with_source(found)
    return shaped if source else shaped.model_copy(update={"source": None})


@router.get("/{namespace}/{flow_id}/revisions", response_model=list[FlowWithSource])
def revisions(namespace: str, flow_id: str, allow_delete: bool = Query(False, alias="allowDelete"),
              tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[FlowWithSource]:
    """Every revision kept, oldest first, with its source; ``allowDelete`` (accepted) changes nothing: the
    revisions of deletions are always listed."""
    with srv.engine.connect() as connection:
        found = flow_repository.list_revisions(connection, namespace, flow_id, tenant_id=tenant)
    if not found:
        raise ApiError(404, f"flow {namespace}.{flow_id} not found")
    return [shapes.flow_with_source(r) for r in found]


@router.delete("/{namespace}/{flow_id}/revisions", status_code=204)
def delete_revisions(namespace: str, flow_id: str, revisions: list[str] = Query(
        ..., description="The revisions to delete, comma-separated (or the parameter repeated)"),
        tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> Response:
    """Removes past revisions from the flow's history, all or none: 404 for a revision the flow does not
    have, 409 for its current revision or one an unfinished execution runs."""
    wanted = _revision_numbers(revisions)
    with write_connection(srv.engine) as connection, connection.begin():
        current = flow_repository.get_flow(connection, namespace, flow_id, tenant_id=tenant)
        history = {r.revision for r in flow_repository.list_revisions(connection, namespace, flow_id, tenant_id=tenant)}
        if not history:
            raise ApiError(404, f"flow {namespace}.{flow_id} not found")
        if missing := sorted(set(wanted) - history):
            raise ApiError(404, f"flow {namespace}.{flow_id} has no revision {', '.join(map(str, missing))}",
                           [f"its revisions: {', '.join(map(str, sorted(history)))}"])
        latest = max(history)
        if latest in wanted or (current is not None and current.revision in wanted):
            raise ApiError(409, f"revision {latest} is the flow's current revision and cannot be deleted")
        if used := flow_repository.revisions_in_use(connection, namespace, flow_id, wanted, tenant):
            raise ApiError(409, f"revision {', '.join(map(str, used))} of {namespace}.{flow_id} is run by an "
                                "execution that has not ended; delete it once the execution is over")
        flow_repository.delete_revisions(connection, namespace, flow_id, wanted, tenant)
    return Response(status_code=204)


def _revision_numbers(raw: list[str]) -> list[int]:
    numbers: list[int] = []
    for item in (part.strip() for value in raw for part in value.split(",")):
        if not item.isdigit() or not 1 <= int(item) <= MAX_INT:
            raise ApiError(400, f"revisions: {item[:50]!r} is not a revision number",
                           ["give revision numbers, comma-separated: revisions=1,2"])
        numbers.append(int(item))
    if not numbers:
        raise ApiError(400, "revisions: give at least one revision number")
    return sorted(set(numbers))


@router.get("/{namespace}/{flow_id}/tasks/{task_id}", response_model=dict[str, object])
def task(namespace: str, flow_id: str, task_id: str, revision: int | None = Query(None, ge=1, le=MAX_INT),
         tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> dict[str, object]:
    """One task of the flow (nested ones included), as written; 404 when the flow has none with this id."""
    from lanner.flows.graph import task_json

    with srv.engine.connect() as connection:
        found = flow_repository.get_flow(connection, namespace, flow_id, revision, tenant_id=tenant)
    if found is None or (found.deleted and revision is None):
        raise ApiError(404, f"flow {namespace}.{flow_id} not found")
    spec = flow_bodies.parsed(found).tasks_by_id.get(task_id)
    if spec is None:
        raise ApiError(404, f"flow {namespace}.{flow_id} has no task {task_id!r}")
    return task_json(spec)


@router.delete("/{namespace}/{flow_id}", status_code=204)
def delete(namespace: str, flow_id: str, tenant: str = Depends(tenants.tenant),
           srv: Server = Depends(server)) -> Response:
    """Deletes the flow (a revision marks it deleted) and its triggers."""
    with write_connection(srv.engine) as connection, connection.begin():
        if flow_repository.delete_flow(connection, namespace, flow_id, tenant) is None:
            raise ApiError(404, f"flow {namespace}.{flow_id} not found")
    return Response(status_code=204)
