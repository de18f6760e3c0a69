"""The FastAPI application: Kestra's REST API under ``/api/v1`` and the health endpoints.

Routes call the same services as the CLI (``Executions``, the flow repository); they
run in FastAPI's thread pool, since the store is synchronous SQLAlchemy.
"""

from __future__ import annotations

from fastapi import FastAPI

from lanner import version
from lanner.config.settings import BasicAuth
from lanner.web.auth import BasicAuthMiddleware, Credentials
from lanner.web import (api_docs, errors, metrics, routes_cluster, routes_executions, routes_flows, routes_health,
                        routes_instance, routes_kv, routes_triggers, routes_ui, routes_webhook)
from lanner.web.context import Server


def create_app(server: Server, basic_auth: BasicAuth | None = None) -> FastAPI:
    app = FastAPI(title="Lanner", version=version(), openapi_url="/api/v1/openapi.json", docs_url=None,
                  redoc_url=None)
    app.state.server = server
    app.state.credentials = None
    if basic_auth is not None and basic_auth.enabled:
        app.add_middleware(BasicAuthMiddleware, settings=basic_auth)
        app.state.credentials = Credentials(basic_auth)  # the login form's
    errors.install(app)
    app.include_router(routes_health.router)
    app.include_router(routes_flows.router)
    app.include_router(routes_webhook.router)  # /executions/webhook/...: before the /executions/{id} routes
    app.include_router(routes_executions.router)
    app.include_router(routes_triggers.router)
    app.include_router(routes_kv.router)
    app.include_router(routes_cluster.router)
    app.include_router(routes_instance.router)
    app.include_router(metrics.router)
    app.include_router(routes_ui.root)
    app.include_router(routes_ui.router)
    api_docs.install(app)  # Swagger UI from the package, not a CDN
    routes_ui.mount_static(app)
    return app
