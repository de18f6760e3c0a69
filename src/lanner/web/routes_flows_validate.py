"""Checking without saving (Kestra's ``/api/v1/{tenant}/flows/validate...``): flows, one task, one trigger;
and ``/flows/migrate``, a source rewritten to current syntax.

A task or trigger is checked as Kestra does, inside a flow made for the purpose: the task as the
flow's only task, the trigger beside a Log task.  Only the problems of the task or trigger are
reported, their paths relative to it.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from lanner.flows.problems import dotted
from lanner.flows.validator import Validation, validate_source
from lanner.store import flow_repository
from lanner.web import flow_bodies, tenants
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.flow_bodies import YAML
from lanner.web.limits import blocking
from lanner.web.schemas.flows import ValidateConstraintViolation

router = APIRouter(prefix="/flows", tags=["Flows"])
_HOST = "lanner_validate"  # the id of the flow (and task) wrapped around what is checked


@router.post("/validate", openapi_extra=YAML, response_model=list[ValidateConstraintViolation])
async def validate(request: Request, tenant: str = Depends(tenants.tenant),
                   srv: Server = Depends(server)) -> list[ValidateConstraintViolation]:
    """Each flow of a (multi-document) YAML body checked, without saving: ``constraints`` null when valid,
    ``outdated`` when the stored flow has a newer revision than the source's ``revision``."""
    source = await flow_bodies.source(request)
    return await blocking(_validate, srv, tenant, source)


def _validate(srv: Server, tenant: str, source: str) -> list[ValidateConstraintViolation]:
    documents = flow_bodies.documents(source) or [source]
    results = [validate_source(document, "flow.yaml") for document in documents]
    answers = []
    with srv.engine.connect() as connection:
        for index, result in enumerate(results):
            current = None
            if result.flow is not None:
                stored = flow_repository.get_flow(connection, result.flow.namespace, result.flow.id, tenant_id=tenant)
                current = stored.revision if stored is not None else None
            answers.append(flow_bodies.violation(result, index, current=current))
    return answers


OBJECT = Body(..., description="One task (or trigger) as JSON: {id, type, ...}")


@router.post("/validate/task", response_model=ValidateConstraintViolation)
def validate_task(body: Any = OBJECT) -> ValidateConstraintViolation:
    """One task checked as Kestra does; ``constraints`` null when it is valid."""
    task = _object(body, "task")
    return _part(_wrapped({"tasks": [task]}), ("tasks", 0))


@router.post("/validate/trigger", response_model=ValidateConstraintViolation)
def validate_trigger(body: Any = OBJECT) -> ValidateConstraintViolation:
    """One trigger checked as Kestra does; ``constraints`` null when it is valid."""
    trigger = _object(body, "trigger")
    log = {"id": _HOST, "type": "io.kestra.plugin.core.log.Log", "message": "validation"}
    return _part(_wrapped({"tasks": [log], "triggers": [trigger]}), ("triggers", 0))


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, f"the body is one {what} as a JSON object, with at least id and type")
    return body


def _wrapped(parts: dict[str, Any]) -> Validation:
    flow = {"id": _HOST, "namespace": _HOST, **parts}
    try:
        source = json.dumps(flow, allow_nan=False)  # JSON is YAML: the validator reads it as written
    except ValueError:
        raise ApiError(400, "the body holds a number JSON cannot carry (NaN or infinity)") from None
    return validate_source(source, None)


def _part(validation: Validation, prefix: tuple[Any, ...]) -> ValidateConstraintViolation:
    """The problems of the part at ``prefix``, relative to it."""
    mine = [p for p in validation.problems if p.path[:len(prefix)] == prefix]
    errors = [p for p in mine if p.is_error]
    lines = [f"{dotted(p.path[len(prefix):]) or '(root)'}: {p.message}" for p in errors]
    return ValidateConstraintViolation(
        constraints="\n".join(lines) or None,
        deprecation_paths=[dotted(p.path[len(prefix):]) for p in mine if str(p.severity) == "deprecation"],
        warnings=[f"{dotted(p.path[len(prefix):])}: {p.message}" for p in mine if str(p.severity) == "warning"],
        problems=[{"message": p.message, "path": dotted(p.path[len(prefix):]), "severity": str(p.severity)}
                  for p in mine])




@router.post("/migrate", openapi_extra=YAML, response_model=dict[str, Any])
async def migrate(request: Request) -> dict[str, Any]:
    """The source rewritten to current syntax (what ``lanner flow migrate`` does), without saving it.

    Answers ``{source, changes, refused}``: ``refused`` says why a flow was left alone.
    """
    from lanner.upgrade.rewrite import rewrite_source

    done = await blocking(rewrite_source, await flow_bodies.source(request))
    return {"source": done.new_source, "changes": done.changes, "refused": done.refused}
