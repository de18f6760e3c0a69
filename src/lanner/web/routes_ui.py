"""The web UI: server-rendered pages over the same services as the API (no build step, no framework).

Pages read through the services directly; their buttons and forms call the REST API
with ``fetch``, so the UI does nothing the API cannot.  Flow pages live in
``ui_flows``, execution pages in ``ui_executions``; the small scripts they load are in
``static/`` and write data into the page with ``textContent`` only, never as HTML.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from lanner.ops import maintenance
from lanner.store import migrator
from lanner.store.database import masked_url
from lanner.store.migration_scripts import head
from lanner.web import ui_cluster, ui_executions, ui_flows, ui_login, ui_triggers
from lanner.web.ui_render import HERE, Srv, page

router = APIRouter(prefix="/ui", include_in_schema=False)
router.include_router(ui_flows.router)
router.include_router(ui_executions.router)
router.include_router(ui_cluster.router)
router.include_router(ui_triggers.router)
router.include_router(ui_login.router)


# ``/``, as Kestra: a temporary redirect (307) to ``/ui/``.
root = APIRouter(include_in_schema=False)


@root.get("/")
def slash() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("")
@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/ui/executions")


@router.get("/instance")
def instance(request: Request, srv: Srv) -> HTMLResponse:
    state = migrator.current_state(srv.engine)
    return page(request, "instance.html", schema=state.current, head=head(), pending=state.pending,
                database=masked_url(srv.engine.url.render_as_string(hide_password=False)),
                m=maintenance.status(srv.engine))


def mount_static(app: Any) -> None:
    from fastapi.staticfiles import StaticFiles

    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="static")
