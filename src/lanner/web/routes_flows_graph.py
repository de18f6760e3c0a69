"""Flows drawn (Kestra's ``/api/v1/{tenant}/flows/.../graph`` and ``.../dependencies``).

``graph``: a flow's tasks as Kestra's FlowGraph (see :mod:`lanner.flows.graph`), of a stored
revision or of a source sent to be drawn.  ``dependencies``: which flows start or trigger which
(see :mod:`lanner.flows.dependencies`), as Kestra's FlowTopologyGraph, for one flow or a namespace.
``subflows`` (Kestra's expansion of Subflow tasks into their flows' graphs) is accepted and not done:
a Subflow task is one node.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from lanner.flows import dependencies
from lanner.flows.graph import flow_graph
from lanner.model.flow import Flow
from lanner.store import flow_repository
from lanner.web import flow_bodies, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.flow_bodies import MAX_INT, YAML
from lanner.web.limits import blocking
from lanner.web.schemas.flows import FlowGraph, FlowNode, FlowTopologyGraph, TopologyEdge

router = APIRouter(prefix="/flows", tags=["Flows"])
namespaces = APIRouter(prefix="/namespaces", tags=["Flows"])
SUBFLOWS = Query([], description="Accepted; Subflow tasks are not expanded")


@router.post("/graph", openapi_extra=YAML, response_model=FlowGraph)
async def graph_of_source(request: Request, subflows: list[str] = SUBFLOWS) -> FlowGraph:
    """The graph of a flow source, without saving it; 400 listing its problems when it is invalid."""
    source = await flow_bodies.source(request)
    return await blocking(lambda: FlowGraph.model_validate(flow_graph(flow_bodies.valid(source)[0])))


@router.get("/{namespace}/{flow_id}/graph", response_model=FlowGraph)
def graph(namespace: str, flow_id: str, revision: int | None = Query(None, ge=1, le=MAX_INT),
          subflows: list[str] = SUBFLOWS, tenant: str = Depends(tenants.tenant),
          srv: Server = Depends(server)) -> FlowGraph:
    """The graph of the flow's current revision, or of ``revision``."""
    with srv.engine.connect() as connection:
        found = flow_repository.get_flow(connection, namespace, flow_id, revision, tenant_id=tenant)
    if found is None or (found.deleted and revision is None):
        raise ApiError(404, f"flow {namespace}.{flow_id} not found")
    return FlowGraph.model_validate(flow_graph(flow_bodies.parsed(found)))


@router.get("/{namespace}/{flow_id}/dependencies", response_model=FlowTopologyGraph)
def flow_dependencies(namespace: str, flow_id: str, destination_only: bool = Query(False, alias="destinationOnly"),
                      expand_all: bool = Query(False, alias="expandAll"), tenant: str = Depends(tenants.tenant),
                      srv: Server = Depends(server)) -> FlowTopologyGraph:
    """The flows this one starts or triggers, and those that start or trigger it (``destinationOnly``: only
    those); ``expandAll``: theirs too, and so on."""
    flows = _all(srv, tenant)
    if not any((f.namespace, f.id) == (namespace, flow_id) for f in flows):
        raise ApiError(404, f"flow {namespace}.{flow_id} not found")
    edges = dependencies.around(dependencies.edges(flows), [(namespace, flow_id)], destination_only=destination_only,
                                expand=expand_all)
    return _topology(tenant, edges, [(namespace, flow_id)])


@namespaces.get("/{namespace}/dependencies", response_model=FlowTopologyGraph)
def namespace_dependencies(namespace: str, destination_only: bool = Query(False, alias="destinationOnly"),
                           tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> FlowTopologyGraph:
    """The dependencies of the namespace's flows (not its children's, as Kestra): to them with
    ``destinationOnly``, else both ways."""
    flows = _all(srv, tenant)
    mine = [(f.namespace, f.id) for f in flows if f.namespace == namespace]
    edges = dependencies.around(dependencies.edges(flows), mine, destination_only=destination_only, expand=False)
    return _topology(tenant, edges, mine)


def _all(srv: Server, tenant: str) -> list[Flow]:
    with srv.engine.connect() as connection:
        revisions = flow_repository.list_flows(connection, tenant_id=tenant)
    found = []
    for revision in revisions:
        try:
            found.append(flow_bodies.parsed(revision))
        except ApiError:
            continue  # a flow no longer valid draws no edge
    return found


def _topology(tenant: str, edges: list[dependencies.Edge], start: list[tuple[str, str]]) -> FlowTopologyGraph:
    def uid(key: tuple[str, str]) -> str:
        return f"{tenant}_{key[0]}_{key[1]}"

    keys = list(dict.fromkeys([*start, *(k for e in edges for k in (e.source, e.target))]))
    return FlowTopologyGraph(
        nodes=[FlowNode(uid=uid(k), namespace=k[0], id=k[1]) for k in keys],
        edges=[TopologyEdge(source=uid(e.source), target=uid(e.target), relation=e.relation) for e in edges])
