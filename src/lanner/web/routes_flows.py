"""Flows: create and update from YAML, read, delete, search, revisions, validate (Kestra's ``/api/v1/flows``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from lanner.flows.namespace_deploy import deploy, namespace_problems
from lanner.flows.problems import dotted
from lanner.flows.validator import Validation, validate_source
from lanner.model.flow import Flow
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.web import params, shapes
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError
from lanner.web.limits import blocking

if TYPE_CHECKING:
    from sqlalchemy import Connection

router = APIRouter(prefix="/flows", tags=["Flows"])
MAX_INT = 2**31 - 1  # what a database INTEGER holds: larger numbers are a 400, not an overflow
MAX_PAGE = 1_000_000
YAML = {"requestBody": {"content": {"application/x-yaml": {"schema": {"type": "string"}}}, "required": True}}


# What a flow source may be sent as.  Browsers' "simple" types (text/plain, forms) are
# refused: a page of another site can send those without asking (cross-site forgery).
SOURCE_TYPES = ("application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml", "application/json")


async def _source(request: Request) -> str:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type and content_type not in SOURCE_TYPES:
        raise ApiError(415, f"a flow source is sent as application/x-yaml, not {content_type[:100]}",
                       [f"set the Content-Type header to one of: {', '.join(SOURCE_TYPES)}"])
    raw = await request.body()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the flow source is not UTF-8 text") from None


def _problems(validation: Validation) -> list[dict[str, Any]]:
    return [{"message": p.message, "path": dotted(p.path), "line": p.line, "column": p.column,
             "severity": str(p.severity).lower()} for p in validation.problems]


def _valid(source: str) -> tuple[Flow, str]:
    """The flow ``source`` defines and the source as stored; a 400 listing every problem otherwise."""
    validation = validate_source(source, "flow.yaml")
    if validation.flow is None or validation.errors:
        raise ApiError(400, "invalid flow", _problems(validation))
    return validation.flow, validation.source


def _saved(connection: Connection, namespace: str, flow_id: str) -> flow_repository.FlowRevision:
    """The flow's current revision, just saved in this transaction."""
    saved = flow_repository.get_flow(connection, namespace, flow_id)
    if saved is None:
        raise ApiError(500, f"flow {namespace}.{flow_id} was saved but cannot be read back")
    return saved


def _shape(revision: flow_repository.FlowRevision, *, source: bool) -> dict[str, Any]:
    return {**revision.parsed(), **shapes.flow(revision, with_source=source)}


@router.post("", openapi_extra=YAML, status_code=200)
async def create(request: Request, srv: Server = Depends(server)) -> dict[str, Any]:
    return await blocking(_create, srv, await _source(request))  # the body is read here, the rest on a thread


def _create(srv: Server, source: str) -> dict[str, Any]:
    flow, stored = _valid(source)
    with write_connection(srv.engine) as connection, connection.begin():
        if (current := flow_repository.get_flow(connection, flow.namespace, flow.id)) and not current.deleted:
            raise ApiError(409, f"flow {flow.namespace}.{flow.id} already exists; update it with "
                                f"PUT /api/v1/flows/{flow.namespace}/{flow.id}")
        flow_repository.save_flow(connection, flow, stored)
        saved = _saved(connection, flow.namespace, flow.id)
    return _shape(saved, source=True)


@router.put("/{namespace}/{flow_id}", openapi_extra=YAML)
async def update(namespace: str, flow_id: str, request: Request, srv: Server = Depends(server)) -> dict[str, Any]:
    return await blocking(_update, srv, namespace, flow_id, await _source(request))


def _update(srv: Server, namespace: str, flow_id: str, source: str) -> dict[str, Any]:
    flow, stored = _valid(source)
    if (flow.namespace, flow.id) != (namespace, flow_id):
        raise ApiError(400, f"the source defines {flow.namespace}.{flow.id}, not {namespace}.{flow_id}")
    with write_connection(srv.engine) as connection, connection.begin():
        current = flow_repository.get_flow(connection, namespace, flow_id)
        if current is None or current.deleted:
            raise ApiError(404, f"flow {namespace}.{flow_id} not found; create it with POST /api/v1/flows")
        flow_repository.save_flow(connection, flow, stored)
        saved = _saved(connection, namespace, flow_id)
    return _shape(saved, source=True)


@router.post("/validate", openapi_extra=YAML)
async def validate(request: Request) -> list[dict[str, Any]]:
    validation = await blocking(validate_source, await _source(request), "flow.yaml")
    flow = validation.flow
    return [{"flow": flow.id if flow else None, "namespace": flow.namespace if flow else None,
             "constraints": "\n".join(p.format() for p in validation.errors) or None,
             "problems": _problems(validation)}]


@router.post("/migrate", openapi_extra=YAML)
async def migrate(request: Request) -> dict[str, Any]:
    """The source rewritten to current syntax (what ``lanner flow migrate`` does), without saving it.

    Answers ``{source, changes, refused}``: ``refused`` says why a flow was left alone.
    """
    from lanner.upgrade.rewrite import rewrite_source

    done = await blocking(rewrite_source, await _source(request))
    return {"source": done.new_source, "changes": done.changes, "refused": done.refused}


@router.post("/{namespace}", openapi_extra=YAML)
async def update_namespace(namespace: str, request: Request, delete: bool = True,
                           srv: Server = Depends(server)) -> list[dict[str, Any]]:
    """Deploy every flow of a multi-document YAML body (``---`` between flows) into the namespace, at once.

    ``delete`` (default true, as Kestra): the namespace's flows absent from the body are deleted.
    """
    return await blocking(_update_namespace, srv, namespace, await _source(request), delete)


def _update_namespace(srv: Server, namespace: str, source: str, delete: bool) -> list[dict[str, Any]]:
    documents = [part for part in re.split(r"(?m)^---[ \t]*$", source) if part.strip()]
    results = [validate_source(document, f"document {index + 1}") for index, document in enumerate(documents)]
    problems = [p for r in results for p in _problems(r) if p["severity"] == "error"]
    problems += [{"message": line, "path": "namespace", "line": None, "column": None, "severity": "error"}
                 for line in namespace_problems(namespace, results)]
    if problems or any(r.flow is None for r in results):
        raise ApiError(400, "invalid flows: nothing deployed", problems)
    with write_connection(srv.engine) as connection, connection.begin():
        done = deploy(connection, namespace, results, delete=delete)
    return [{"namespace": d.namespace, "id": d.flow_id, "revision": d.revision, "state": d.state} for d in done]


@router.get("/search")
def search(namespace: str | None = None, q: str | None = None, labels: list[str] = Query(default=[]),
           page: int = Query(1, ge=1, le=MAX_PAGE), size: int = Query(25, ge=1, le=1000),
           srv: Server = Depends(server)) -> dict[str, Any]:
    """Filters on what the flows table holds (no source); only the page's revisions are read, with the
    definitions parsed when they were saved."""
    wanted = params.labels(labels).items()
    with srv.engine.connect() as connection:
        found = flow_repository.list_for_search(connection, namespace, with_children=bool(namespace))
        if q:
            found = [f for f in found if q.lower() in f"{f.namespace}.{f.flow_id}".lower()]
        if wanted:
            found = [f for f in found if all(str(f.labels.get(key)) == value and key in f.labels
                                             for key, value in wanted)]
        shown = found[(page - 1) * size: page * size]
        keys = [(f.tenant_id, f.namespace, f.flow_id, f.revision) for f in shown]
        revisions = {(r.namespace, r.flow_id): r for r in flow_repository.get_revisions(connection, keys)}
    results = [_shape(revisions[f.namespace, f.flow_id], source=False) for f in shown
               if (f.namespace, f.flow_id) in revisions]
    return {"results": results, "total": len(found)}


@router.get("/{namespace}/{flow_id}")
def get(namespace: str, flow_id: str, source: bool = False, revision: int | None = Query(None, ge=1, le=MAX_INT),
        srv: Server = Depends(server)) -> dict[str, Any]:
    with srv.engine.connect() as connection:
        found = flow_repository.get_flow(connection, namespace, flow_id, revision)
    if found is None or (found.deleted and revision is None):
        raise ApiError(404, f"flow {namespace}.{flow_id} not found")
    return _shape(found, source=source)


@router.get("/{namespace}/{flow_id}/revisions")
def revisions(namespace: str, flow_id: str, srv: Server = Depends(server)) -> list[dict[str, Any]]:
    with srv.engine.connect() as connection:
        found = flow_repository.list_revisions(connection, namespace, flow_id)
    if not found:
        raise ApiError(404, f"flow {namespace}.{flow_id} not found")
    return [_shape(r, source=True) for r in found]


@router.delete("/{namespace}/{flow_id}", status_code=204)
def delete(namespace: str, flow_id: str, srv: Server = Depends(server)) -> Response:
    with write_connection(srv.engine) as connection, connection.begin():
        if flow_repository.delete_flow(connection, namespace, flow_id) is None:
            raise ApiError(404, f"flow {namespace}.{flow_id} not found")
    return Response(status_code=204)
