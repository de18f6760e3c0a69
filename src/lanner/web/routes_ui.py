"""The web UI: server-rendered pages over the same services as the API (no build step, no framework).

Pages read through the services directly; their buttons and forms call the REST API
with ``fetch``, so the UI does nothing the API cannot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from lanner import version
from lanner.store import execution_repository as repo
from lanner.store import flow_repository, migrator
from lanner.store.engine import masked_url
from lanner.store.migration_scripts import head
from lanner.web import shapes
from lanner.web.context import Server
from lanner.web.deps import server
from lanner.web.errors import ApiError

HERE = Path(__file__).parent
_templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
router = APIRouter(prefix="/ui", include_in_schema=False)


def _page(name: str, **values: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(version=version(), **values))


@router.get("")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/executions")


@router.get("/flows")
def flows(q: str | None = None, srv: Server = Depends(server)) -> HTMLResponse:
    with srv.engine.connect() as connection:
        found = flow_repository.list_flows(connection)
    if q:
        found = [f for f in found if q.lower() in f"{f.namespace}.{f.flow_id}".lower()]
    return _page("flows.html", flows=found, q=q)


@router.get("/flows/{namespace}/{flow_id}")
def flow(namespace: str, flow_id: str, srv: Server = Depends(server)) -> HTMLResponse:
    with srv.engine.connect() as connection:
        found = flow_repository.get_flow(connection, namespace, flow_id)
        if found is None:
            raise ApiError(404, f"flow {namespace}.{flow_id} not found")
        definition, _ = srv.flows.current(connection, namespace, flow_id)
    inputs = [{"id": spec.id, "type": spec.TYPE_NAME, "required": spec.required,
               "default": spec.defaults if isinstance(spec.defaults, str | int | float) else None}
              for spec in definition.inputs]
    return _page("flow.html", flow=found, inputs=inputs)


@router.get("/executions")
def executions(srv: Server = Depends(server)) -> HTMLResponse:
    with srv.engine.connect() as connection:
        found = repo.list_executions(connection, limit=100)
    return _page("executions.html", executions=[shapes.execution(e) for e in found])


@router.get("/executions/{execution_id}")
def execution(execution_id: str, srv: Server = Depends(server)) -> HTMLResponse:
    found = srv.executions.get(execution_id)
    logs = [shapes.log(entry) for entry in srv.executions.logs(execution_id)]
    return _page("execution.html", e=shapes.execution(found), terminal=found.current.terminal, logs=logs)


def mount_static(app: Any) -> None:
    from fastapi.staticfiles import StaticFiles

    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="static")


@router.get("/instance")
def instance(srv: Server = Depends(server)) -> HTMLResponse:
    state = migrator.current_state(srv.engine)
    return _page("instance.html", schema=state.current, head=head(), pending=state.pending,
                 database=masked_url(srv.engine.url.render_as_string(hide_password=False)))
