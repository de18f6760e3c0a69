"""An operator's actions on one execution (Kestra's ``/executions/{executionId}/actions/...``).

Each action is served under Kestra 1.x's path and under the 0.2x one (``/executions/{id}/kill``,
``/executions/{id}/restart``, …).  An action the executor carries out (kill, pause, resume,
restart, unqueue, force-run, a task run's state) is queued in one transaction with the check
that the execution can take it; the answer is the execution as that action makes it at once
(RESTARTED, PAUSED, …), as Kestra answers.  Labels and status changes of an ended execution are
written at once, and the answer is the execution as saved.  A replay answers the new execution.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from lanner.errors import UsageError
from lanner.model.execution import Execution
from lanner.model.state import EXECUTION_TRANSITIONS, Cause, InvalidTransition, State
from lanner.store import flow_repository
from lanner.web import shapes, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking
from lanner.web.routes_executions import FORM, _form
from lanner.web.schemas.base import KestraModel
from lanner.web.schemas.executions import Execution as ExecutionBody

router = APIRouter(tags=["Executions"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such execution"}}


class StateRequest(KestraModel):
    """A task run and the state to set it to (Kestra's ExecutionControllerStateRequest)."""

    task_run_id: str
    state: State


class LabelBody(KestraModel):
    key: str
    value: str


class LegacyRoute(APIRoute):
    """A route for 0.2x paths only (``/api/v1/executions/...``, without a tenant).

    ``/executions/{id}/labels`` (Kestra 0.2x's action) has the shape of ``/executions/{namespace}/{flowId}``
    (creating an execution): a request in the tenant form goes to the creation, as Kestra 1.x does, and
    only a 0.2x request reaches the action, as Kestra 0.2x did.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and not scope.get(tenants.ALIASED):
            return Match.NONE, {}
        return match, child


def _paths(action: str) -> list[str]:
    return [f"/executions/{{execution_id}}/actions/{action}", f"/executions/{{execution_id}}/{action}"]


F = TypeVar("F", bound=Callable[..., Any])


def _route(method: str, action: str, **options: Any) -> Callable[[F], F]:
    """A decorator registering the function under both paths of ``action`` (the 0.2x one hidden from the docs)."""
    options.setdefault("response_model", ExecutionBody)  # what the action answers: the execution
    def register(function: F) -> F:
        first, legacy = _paths(action)
        router.add_api_route(first, function, methods=[method], responses=NOT_FOUND, **options)
        router.add_api_route(legacy, function, methods=[method], include_in_schema=False,
                             route_class_override=LegacyRoute, **options)
        return function
    return register


def _as(execution: Execution, state: State, cause: str) -> Execution:
    """The execution as the queued action makes it (the same, if it has moved on meanwhile)."""
    try:
        return execution.to(state, datetime.now(UTC), cause)
    except InvalidTransition:
        return execution


def _unprocessable(exc: ValueError) -> ApiError:
    return ApiError(422, str(exc))


@_route("DELETE", "kill", status_code=202)
def kill(execution_id: str, is_on_kill_cascade: bool = Query(True, alias="isOnKillCascade"),
         tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> dict[str, Any]:
    """Kill an execution (202: the kill is queued).  An ended one answers 202 as it is (Kestra's default,
    which passes the kill on to subflows), or 409 with ``isOnKillCascade=false``."""
    execution = srv.executions.get(execution_id, tenant)
    if execution.current.terminal:
        if not is_on_kill_cascade:
            raise ApiError(409, f"execution {execution_id} is already {execution.current}: it cannot be killed")
        return shapes.execution(execution)
    srv.executions.kill(execution_id, tenant)
    # As Kestra answers: the execution KILLING (the executor finishes the kill, which the queue carries).
    killing = execution.to(State.KILLING, datetime.now(UTC)) if State.KILLING in EXECUTION_TRANSITIONS.get(
        execution.current, ()) else execution
    return shapes.execution(killing)


@_route("POST", "pause")
def pause(execution_id: str, tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> dict[str, Any]:
    """Pause a RUNNING execution (409 otherwise): running tasks finish, nothing new starts until resumed."""
    execution = srv.executions.get(execution_id, tenant)
    srv.executions.pause(execution_id, tenant)
    return shapes.execution(_as(execution, State.PAUSED, Cause.PAUSED_BY_USER))


@_route("POST", "resume", openapi_extra=FORM)
async def resume(execution_id: str, request: Request, tenant: str = Depends(tenants.tenant),
                 srv: Server = Depends(server)) -> dict[str, Any]:
    """Resume a PAUSED execution (409 otherwise), with its Pause task's ``onResume`` inputs as a form."""
    inputs = await _form(request)
    await blocking(srv.executions.resume, execution_id, inputs, tenant)
    execution = await blocking(srv.executions.get, execution_id, tenant)
    return shapes.execution(_as(execution, State.RUNNING, Cause.RESUMED))


@_route("POST", "restart")
def restart(execution_id: str, revision: int | None = Query(None, ge=1, le=2**31 - 1),
            tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> dict[str, Any]:
    """Restart a FAILED or KILLED execution from its failed task runs (409 otherwise); answers it RESTARTED."""
    execution = srv.executions.get(execution_id, tenant)
    _check_revision(srv, execution, revision)
    if revision is not None and revision != execution.flow_revision:
        raise ApiError(422, f"execution {execution_id} runs revision {execution.flow_revision} of its flow: a restart "
                            f"keeps it; to run revision {revision}, replay the execution with revision={revision}")
    srv.executions.restart(execution_id, tenant)
    return shapes.execution(_as(execution, State.RESTARTED, Cause.RESTARTED))


def _check_revision(srv: Server, execution: Execution, revision: int | None) -> None:
    if revision is None:
        return
    with srv.engine.connect() as connection:
        found = flow_repository.get_flow(connection, execution.namespace, execution.flow_id, revision,
                                         execution.tenant_id)
    if found is None:
        raise ApiError(404, f"flow {execution.namespace}.{execution.flow_id} has no revision {revision}")


def _replay(srv: Server, tenant: str, execution_id: str, task_run_id: str | None, revision: int | None,
            breakpoints: str | None, inputs: dict[str, Any] | None) -> dict[str, Any]:
    if breakpoints:
        raise ApiError(422, "breakpoints are not supported by Lanner: replay without the breakpoints parameter")
    try:
        copy = srv.executions.replay(execution_id, task_run_id=task_run_id, revision=revision, inputs=inputs,
                                     tenant_id=tenant)
    except ValueError as exc:
        raise _unprocessable(exc) from None
    return shapes.execution(copy)


@_route("POST", "replay")
def replay(execution_id: str, task_run_id: str | None = Query(None, alias="taskRunId"),
           revision: int | None = Query(None, ge=1, le=2**31 - 1), breakpoints: str | None = None,
           tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> dict[str, Any]:
    """A new execution replaying an ended one (409 while it runs), from ``taskRunId`` (else from the start),
    on ``revision`` (else the same); the original gets the label ``system.replayed: true``."""
    return _replay(srv, tenant, execution_id, task_run_id, revision, breakpoints, None)


@_route("POST", "replay-with-inputs", openapi_extra=FORM)
async def replay_with_inputs(execution_id: str, request: Request,
                             task_run_id: str | None = Query(None, alias="taskRunId"),
                             revision: int | None = Query(None, ge=1, le=2**31 - 1), breakpoints: str | None = None,
                             tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> dict[str, Any]:
    """As ``replay``, with the new execution's inputs as a form (checked as a new execution's are)."""
    inputs = await _form(request)
    return await blocking(_replay, srv, tenant, execution_id, task_run_id, revision, breakpoints, inputs)


@_route("POST", "unqueue")
def unqueue(execution_id: str, state: State = Query(State.RUNNING), tenant: str = Depends(tenants.tenant),
            srv: Server = Depends(server)) -> dict[str, Any]:
    """Take a QUEUED execution out of its flow's concurrency queue (409 otherwise): it runs now (``state``
    RUNNING, the default) or ends CANCELLED or FAILED."""
    execution = srv.executions.get(execution_id, tenant)
    try:
        srv.executions.unqueue(execution_id, state, tenant)
    except ValueError as exc:
        raise _unprocessable(exc) from None
    return shapes.execution(_as(execution, state, Cause.UNQUEUED))


@_route("POST", "force-run")
def force_run(execution_id: str, tenant: str = Depends(tenants.tenant),
              srv: Server = Depends(server)) -> dict[str, Any]:
    """Run a QUEUED execution now, past its flow's concurrency limit (409 otherwise)."""
    execution = srv.executions.get(execution_id, tenant)
    srv.executions.force_run(execution_id, tenant)
    return shapes.execution(_as(execution, State.RUNNING, Cause.UNQUEUED))


@_route("POST", "labels")
def set_labels(execution_id: str, labels: list[LabelBody] = Body(...), tenant: str = Depends(tenants.tenant),
               srv: Server = Depends(server)) -> Any:
    """Set the labels of an ended execution (400 while it runs); its system labels stay."""
    try:
        execution = srv.executions.set_labels(execution_id, [(label.key, label.value) for label in labels],
                                              tenant_id=tenant)
    except ValueError as exc:
        raise _unprocessable(exc) from None
    except UsageError as exc:  # not ended: Kestra answers 400 here
        return JSONResponse({"message": str(exc), "details": []}, status_code=400)
    return shapes.execution(execution)


@_route("POST", "change-status")
def change_status(execution_id: str, status: State = Query(...), tenant: str = Depends(tenants.tenant),
                  srv: Server = Depends(server)) -> dict[str, Any]:
    """Mark an ended execution ``status``, an end state (422 for another state, or while it runs)."""
    if not status.terminal:
        raise ApiError(422, f"status {status}: an execution's status can only be changed to an end state "
                            f"({', '.join(s for s in State if s.terminal)})")
    try:
        return shapes.execution(srv.executions.change_status(execution_id, status, tenant))
    except UsageError as exc:
        raise ApiError(422, str(exc)) from None


@_route("POST", "state")
def task_run_state(execution_id: str, request: StateRequest, tenant: str = Depends(tenants.tenant),
                   srv: Server = Depends(server)) -> dict[str, Any]:
    """Set an ended task run of a FAILED or KILLED execution to ``state``; the execution goes on from there
    (answered RESTARTED, as a restart)."""
    try:
        execution = srv.executions.mark_task_run(execution_id, request.task_run_id, request.state, tenant)
    except ValueError as exc:
        raise _unprocessable(exc) from None
    return shapes.execution(_as(execution, State.RESTARTED, Cause.RESTARTED))
