"""UI pages of flows: the list, the editor (new and existing flows), revisions and their diffs.

The editor saves through the API (``POST /api/v1/flows``, ``PUT /api/v1/flows/{ns}/{id}``)
and shows the validation problems it answers next to their lines.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from lanner.engine.shell.flow_cache import FlowNotFound
from lanner.store import flow_repository, trigger_repository
from lanner.web import ui_triggers
from lanner.web.errors import ApiError
from lanner.web.ui_render import Srv, input_field, page

router = APIRouter()
NEW_FLOW = """id: hello
namespace: company.team
inputs:
  - id: user
    type: STRING
    defaults: world
tasks:
  - id: greet
    type: io.kestra.plugin.core.log.Log
    message: "Hello {{ inputs.user }}"
"""


@router.get("/flows")
def flows(request: Request, srv: Srv, q: str | None = None, namespace: str | None = None) -> HTMLResponse:
    with srv.engine.connect() as connection:
        every = flow_repository.list_flows(connection)
    namespaces = sorted({f.namespace for f in every})
    found = [f for f in every if not namespace or f.namespace == namespace or f.namespace.startswith(namespace + ".")]
    if q:
        found = [f for f in found if q.lower() in f"{f.namespace}.{f.flow_id}".lower()]
    return page(request, "flows.html", flows=found, q=q or "", namespace=namespace or "", namespaces=namespaces,
                total=len(every))


@router.get("/flows/new")
def new_flow(request: Request) -> HTMLResponse:
    return page(request, "flow_new.html", source=NEW_FLOW)


@router.get("/flows/{namespace}/{flow_id}")
def flow(request: Request, namespace: str, flow_id: str, srv: Srv, saved: int | None = None) -> HTMLResponse:
    with srv.engine.connect() as connection:
        found = flow_repository.get_flow(connection, namespace, flow_id)
        if found is None:
            raise ApiError(404, f"flow {namespace}.{flow_id} not found")
        revisions = flow_repository.list_revisions(connection, namespace, flow_id)
        triggers = ui_triggers.rows(trigger_repository.list_triggers(connection, namespace=namespace, flow_id=flow_id,
                                                                     exact=True))
        try:
            definition, _ = srv.flows.current(connection, namespace, flow_id)
            fields = [input_field(spec) for spec in definition.inputs]
            problem = None
        except FlowNotFound as exc:  # stored before a validation rule tightened: still editable
            fields, problem = [], str(exc)
    return page(request, "flow.html", flow=found, fields=fields, problem=problem, saved=saved,
                revisions=list(reversed(revisions)), triggers=triggers)


@router.get("/flows/{namespace}/{flow_id}/revisions")
def revisions(request: Request, namespace: str, flow_id: str, srv: Srv, old: int | None = Query(None, alias="from"),
              new: int | None = Query(None, alias="to")) -> HTMLResponse:
    with srv.engine.connect() as connection:
        found = flow_repository.list_revisions(connection, namespace, flow_id)
    if not found:
        raise ApiError(404, f"flow {namespace}.{flow_id} not found")
    by_number = {r.revision: r for r in found}
    new = new if new in by_number else found[-1].revision
    old = old if old in by_number else max((n for n in by_number if n < new), default=new)
    text = flow_repository.diff(by_number[old], by_number[new]) if old != new else ""
    lines = [(_line_kind(line), line) for line in text.splitlines()]
    return page(request, "revisions.html", namespace=namespace, flow_id=flow_id, revisions=list(reversed(found)),
                old=old, new=new, diff=lines)


def _line_kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    return {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
