"""What someone starting or inspecting executions needs of flows (Kestra's ``/executions/namespaces``,
``/executions/flows/...``, ``/executions/{id}/flow``): the namespaces that hold flows, and a flow revision as
:class:`~lanner.web.schemas.flow_for_execution.FlowForExecution`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from lanner.store import flow_repository
from lanner.web import tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.schemas import flow_for_execution
from lanner.web.schemas.flow_for_execution import FlowForExecution

router = APIRouter(tags=["Executions"])


@router.get("/executions/namespaces", response_model=list[str])
def namespaces(tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> list[str]:
    """The namespaces holding at least one flow, sorted."""
    with srv.engine.connect() as connection:
        listed = flow_repository.list_for_search(connection, tenant_id=tenant)
    return sorted({flow.namespace for flow in listed})


@router.get("/executions/namespaces/{namespace}/flows", response_model=list[FlowForExecution])
def namespace_flows(namespace: str, tenant: str = Depends(tenants.tenant),
                    srv: Server = Depends(server)) -> list[FlowForExecution]:
    """The flows of the namespace (not of its children), by id."""
    with srv.engine.connect() as connection:
        found = flow_repository.list_flows(connection, namespace, tenant_id=tenant)
    return [flow_for_execution.of(revision) for revision in found]


@router.get("/executions/flows/{namespace}/{flow_id}", response_model=FlowForExecution)
def flow(namespace: str, flow_id: str, revision: int | None = Query(None, ge=1, le=2**31 - 1),
         tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> FlowForExecution:
    """The flow's current revision, or the one asked for."""
    with srv.engine.connect() as connection:
        found = flow_repository.get_flow(connection, namespace, flow_id, revision, tenant)
    if found is None:
        which = f" revision {revision}" if revision is not None else ""
        raise ApiError(404, f"flow {namespace}.{flow_id}{which} not found")
    return flow_for_execution.of(found)


@router.get("/executions/{execution_id}/flow", response_model=FlowForExecution)
def execution_flow(execution_id: str, tenant: str = Depends(tenants.tenant),
                   srv: Server = Depends(server)) -> FlowForExecution:
    """The flow revision the execution ran."""
    execution = srv.executions.get(execution_id, tenant)
    with srv.engine.connect() as connection:
        found = flow_repository.get_flow(connection, execution.namespace, execution.flow_id,
                                         execution.flow_revision, tenant)
    if found is None:
        raise ApiError(404, f"flow {execution.namespace}.{execution.flow_id} revision {execution.flow_revision} "
                            f"of execution {execution_id} not found")
    return flow_for_execution.of(found)
