"""An execution drawn (Kestra's ``GET /api/v1/{tenant}/executions/{executionId}/graph``): the graph of the
flow revision it runs (:mod:`lanner.flows.graph`), each task's node carrying the task's latest run."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from lanner.flows.graph import flow_graph
from lanner.store import flow_repository
from lanner.web import flow_bodies, shapes, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.schemas.flows import FlowGraph

router = APIRouter(prefix="/executions", tags=["Executions"])


@router.get("/{execution_id}/graph", response_model=FlowGraph)
def execution_graph(execution_id: str, tenant: str = Depends(tenants.tenant),
                    srv: Server = Depends(server)) -> FlowGraph:
    """404 when the execution, or the flow revision it ran, is unknown."""
    execution = srv.executions.get(execution_id)
    if execution.tenant_id != tenant:
        raise ApiError(404, f"execution {execution_id} not found")
    with srv.engine.connect() as connection:
        revision = flow_repository.get_flow(connection, execution.namespace, execution.flow_id,
                                            execution.flow_revision, tenant_id=tenant)
    if revision is None:
        raise ApiError(404, f"revision {execution.flow_revision} of flow {execution.namespace}.{execution.flow_id}, "
                            f"which execution {execution_id} ran, no longer exists")
    runs = {run.task_id: shapes.task_run(execution, run) for run in execution.task_runs}  # the latest per task
    return FlowGraph.model_validate(flow_graph(flow_bodies.parsed(revision), runs, execution.id))
