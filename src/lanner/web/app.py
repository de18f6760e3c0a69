"""The FastAPI application: Kestra's REST API under ``/api/v1`` and the health endpoints.

Routes call the same services as the CLI (``Executions``, the flow repository); they
run in FastAPI's thread pool, since the store is synchronous SQLAlchemy.
"""

from __future__ import annotations

from fastapi import FastAPI

from lanner import version
from lanner.web import errors, routes_executions, routes_flows, routes_health
from lanner.web.context import Server


def create_app(server: Server) -> FastAPI:
    app = FastAPI(title="Lanner", version=version(), openapi_url="/api/v1/openapi.json", docs_url="/api/docs",
                  redoc_url=None)
    app.state.server = server
    errors.install(app)
    app.include_router(routes_health.router)
    app.include_router(routes_flows.router)
    app.include_router(routes_executions.router)
    return app
