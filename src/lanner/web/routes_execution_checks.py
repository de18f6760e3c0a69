"""Trying things against a flow or an execution without changing anything.

* ``POST /executions/{namespace}/{id}/validate``: the inputs (a form, as when starting it) checked against
  the flow's declarations, each with its value and problems; nothing is created (Kestra's
  ApiValidateExecutionInputsResponse).
* ``POST /executions/{id}/actions/eval`` and ``.../eval/{taskRunId}``: an expression (the request's text
  body) rendered with what the execution's tasks see (``inputs``, ``outputs``, ``labels``, ``trigger``...,
  plus ``task`` and ``taskrun`` for a task run), as Kestra's debugging console does.  A render that fails
  answers 200 with the ``error``: the expression is wrong, not the request.  Encrypted values stay masked
  and a ``secret()`` the expression reveals is shown as ``******``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from lanner.encryption import masked
from lanner.engine.core.creation import new_execution
from lanner.engine.core.inputs import InputsError, resolve_specs
from lanner.engine.core.variables import flow_variables, task_variables
from lanner.engine.shell.expression_services import ExecutorServices
from lanner.expr import ExpressionError, Services, render
from lanner.expr.errors import mask
from lanner.model.execution import Execution
from lanner.model.inputs import InputSpec, SecretInput
from lanner.web import params, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking
from lanner.web.routes_executions import FORM, _form
from lanner.web.schemas.base import KestraModel
from lanner.web.schemas.executions import EvalResult
from lanner.web.schemas.flow_for_execution import property_value

router = APIRouter(tags=["Executions"])
TEXT_BODY = {"requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}}
MAX_EXPRESSION = 100_000  # characters of an expression to evaluate


class InputError(KestraModel):
    message: str


class InputAndValue(KestraModel):
    input: dict[str, Any] = Field(description="The input as declared: id, type, description, required, defaults...")
    value: Any = None
    enabled: bool = True
    is_default: bool = False
    errors: list[InputError] = Field(default_factory=list)


class ValidatedInputs(KestraModel):
    """What starting the flow with these inputs would do with them (Kestra's ApiValidateExecutionInputsResponse)."""

    id: str
    namespace: str
    inputs: list[InputAndValue]
    checks: list[dict[str, Any]] = Field(default_factory=list, description="Flow checks that fail (Lanner has "
                                                                           "none: always empty)")


@router.post("/executions/{namespace}/{flow_id}/validate", response_model=ValidatedInputs, openapi_extra=FORM)
async def validate(namespace: str, flow_id: str, request: Request, labels: list[str] = Query(default=[]),
                   revision: int | None = Query(None, ge=1, le=2**31 - 1), tenant: str = Depends(tenants.tenant),
                   srv: Server = Depends(server)) -> ValidatedInputs:
    """The given inputs checked against the flow (its current revision, or ``revision``); nothing is created."""
    given = await _form(request)
    parsed_labels = params.labels(labels)
    return await blocking(_validated, srv, tenant, namespace, flow_id, revision, given, parsed_labels)


def _validated(srv: Server, tenant: str, namespace: str, flow_id: str, revision: int | None,
               given: dict[str, Any], labels: dict[str, str]) -> ValidatedInputs:
    with srv.engine.connect() as connection:
        if revision is None:
            flow, revision = srv.flows.current(connection, namespace, flow_id, tenant)
        else:
            flow = srv.flows.revision(connection, namespace, flow_id, revision, tenant)
    problems: tuple[str, ...] = ()
    resolved: dict[str, Any] | None = None
    try:
        resolved = new_execution(flow, revision, inputs=given, labels=labels, trigger=None, tenant_id=tenant,
                                 now=datetime.now(UTC)).inputs
    except InputsError as exc:
        problems = exc.problems
    answers = []
    for spec in flow.inputs:
        errors = [InputError(message=p) for p in problems if f"`{spec.id}`" in p]
        if resolved is not None:
            enabled, value = spec.id in resolved, resolved.get(spec.id)
        else:
            enabled, value = True, given.get(spec.id, spec.defaults)
            if isinstance(spec, SecretInput) and value is not None:
                value = "******"
        answers.append(InputAndValue(input=_declared(spec), value=masked(value), enabled=enabled,
                                     is_default=given.get(spec.id) is None and spec.defaults is not None,
                                     errors=errors))
    return ValidatedInputs(id=flow_id, namespace=namespace, inputs=answers)


def _declared(spec: InputSpec) -> dict[str, Any]:
    declared: dict[str, Any] = {"id": spec.id, "type": spec.TYPE_NAME, "description": spec.description,
                                "required": spec.required, "displayName": spec.display_name}
    if spec.defaults is not None:
        declared["defaults"] = "******" if isinstance(spec, SecretInput) else property_value(spec.defaults)
    return {key: value for key, value in declared.items() if value is not None}


@router.post("/executions/{execution_id}/actions/eval", response_model=EvalResult, openapi_extra=TEXT_BODY)
async def evaluate(execution_id: str, request: Request, tenant: str = Depends(tenants.tenant),
                   srv: Server = Depends(server)) -> EvalResult:
    """The expression rendered with the execution's variables."""
    expression = await _expression(request)
    return await blocking(_evaluated, srv, tenant, execution_id, None, expression)


@router.post("/executions/{execution_id}/actions/eval/{task_run_id}", response_model=EvalResult,
             openapi_extra=TEXT_BODY)
@router.post("/executions/{execution_id}/eval/{task_run_id}", response_model=EvalResult, openapi_extra=TEXT_BODY,
             include_in_schema=False)  # Kestra 0.21's path
async def evaluate_in_task_run(execution_id: str, task_run_id: str, request: Request,
                               tenant: str = Depends(tenants.tenant), srv: Server = Depends(server)) -> EvalResult:
    """The expression rendered as the task run's properties are (``task``, ``taskrun``, ``parent`` too)."""
    expression = await _expression(request)
    return await blocking(_evaluated, srv, tenant, execution_id, task_run_id, expression)


@router.post("/executions/{execution_id}/actions/resume/validate", response_model=list[InputAndValue],
             openapi_extra=FORM)
@router.post("/executions/{execution_id}/resume/validate", response_model=list[InputAndValue], openapi_extra=FORM,
             include_in_schema=False)  # Kestra 0.21's path
async def validate_resume(execution_id: str, request: Request, tenant: str = Depends(tenants.tenant),
                          srv: Server = Depends(server)) -> list[InputAndValue]:
    """The ``onResume`` inputs checked as resuming would check them, without resuming: each input with its
    value and errors.  409 when the execution is not PAUSED."""
    given = await _form(request)
    return await blocking(_validated_resume, srv, tenant, execution_id, given)


def _validated_resume(srv: Server, tenant: str, execution_id: str, given: dict[str, Any]) -> list[InputAndValue]:
    specs = srv.executions.resume_specs(execution_id, tenant)
    problems: tuple[str, ...] = ()
    resolved: dict[str, Any] = {}
    try:
        resolved = resolve_specs(specs, given) if specs else {}
    except InputsError as exc:
        problems = exc.problems
    unknown = sorted(set(given) - {spec.id for spec in specs})
    answers = [InputAndValue(input=_declared(spec), value=masked(resolved.get(spec.id, given.get(spec.id))),
                             enabled=True, is_default=given.get(spec.id) is None and spec.defaults is not None,
                             errors=[InputError(message=p) for p in problems if f"`{spec.id}`" in p])
               for spec in specs]
    answers += [InputAndValue(input={"id": name}, value=None, enabled=False,
                              errors=[InputError(message=f"`{name}`: the execution's Pause takes no such input")])
                for name in unknown]
    return answers


async def _expression(request: Request) -> str:
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the expression is not UTF-8 text: send it as the text/plain body") from None
    if not text.strip():
        raise ApiError(400, "no expression: send it as the request's text/plain body, e.g. {{ outputs }}")
    if len(text) > MAX_EXPRESSION:
        raise ApiError(400, f"the expression is longer than {MAX_EXPRESSION} characters")
    return text


def _evaluated(srv: Server, tenant: str, execution_id: str, task_run_id: str | None, expression: str) -> EvalResult:
    execution = _masked(srv.executions.get(execution_id, tenant))
    with srv.engine.connect() as connection:
        flow = srv.flows.revision(connection, execution.namespace, execution.flow_id, execution.flow_revision,
                                  tenant)
    variables = flow_variables(flow, execution, os.environ)
    if task_run_id is not None:
        try:
            run = execution.task_run(task_run_id)
        except KeyError:
            raise ApiError(404, f"execution {execution_id} has no task run {task_run_id[:100]}") from None
        task = flow.tasks_by_id.get(run.task_id)
        if task is None:
            raise ApiError(404, f"task {run.task_id} of task run {task_run_id} is not in flow "
                                f"{flow.namespace}.{flow.id} revision {execution.flow_revision}")
        variables = task_variables(variables, execution, task, run, {r.id: r for r in execution.task_runs})
    revealed: set[str] = set()
    try:
        services = cast(Services, ExecutorServices(srv.engine, tenant, execution.namespace))  # kv() only
        result = render(expression, variables, services, revealed)
    except ExpressionError as exc:
        return EvalResult(error=mask(exc.message, revealed))
    return EvalResult(result=mask(result, revealed))


def _masked(execution: Execution) -> Execution:
    """The execution with its encrypted values masked: what a render may show."""
    runs = tuple(replace(run, outputs=masked(run.outputs)) for run in execution.task_runs)
    return replace(execution, inputs=masked(execution.inputs), outputs=masked(execution.outputs), task_runs=runs,
                   trigger=masked(execution.trigger))


# /executions/{id}/resume/validate before /executions/{namespace}/{flowId}/validate, which would read it as
# the flow "resume" of the namespace {id} (Kestra's router prefers the literal segment too).
router.routes.sort(key=lambda route: "resume/validate" not in getattr(route, "path", ""))
