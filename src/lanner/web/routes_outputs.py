"""Outputs read on their own (Kestra 2.0's ``/api/v1/{tenant}/outputs/...``, as kestrapy 2.0 reads them).

Lanner still sends outputs inside executions and task runs, as Kestra up to 1.x does; these routes give
the same values for clients that read them here.  Encrypted values (SECRET outputs) are masked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from lanner.encryption import masked
from lanner.web import tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.schemas.base import KestraModel

router = APIRouter(prefix="/outputs", tags=["Outputs"])


class TaskOutputInformation(KestraModel):
    """A task run of the execution that has outputs."""

    task_id: str
    task_run_id: str
    value: str | None = None
    iteration: int | None = None
    inline: bool = True  # Lanner keeps outputs in the execution, never in a separate file


@router.get("/executions/{executionId}")
def execution_outputs(executionId: str, tenant: str = Depends(tenants.tenant),  # noqa: N803 - Kestra's name
                      srv: Server = Depends(server)) -> dict[str, Any]:
    """The flow's outputs of the execution (``{}`` before it ends or when the flow declares none)."""
    shown: dict[str, Any] = masked(srv.executions.get(executionId, tenant).outputs or {})
    return shown


@router.get("/tasks/{executionId}")
def task_outputs(executionId: str, tenant: str = Depends(tenants.tenant),  # noqa: N803 - Kestra's name
                 srv: Server = Depends(server)) -> list[TaskOutputInformation]:
    execution = srv.executions.get(executionId, tenant)
    return [TaskOutputInformation(task_id=run.task_id, task_run_id=run.id,
                                  value=None if run.value is None else str(run.value), iteration=run.iteration)
            for run in execution.task_runs if run.outputs]


@router.get("/tasks/{executionId}/{taskRunId}")
def task_run_outputs(executionId: str, taskRunId: str, tenant: str = Depends(tenants.tenant),  # noqa: N803
                     srv: Server = Depends(server)) -> dict[str, Any]:
    execution = srv.executions.get(executionId, tenant)
    run = next((r for r in execution.task_runs if r.id == taskRunId), None)
    if run is None:
        raise ApiError(404, f"execution {executionId} has no task run {taskRunId}")
    shown: dict[str, Any] = masked(run.outputs or {})
    return shown
