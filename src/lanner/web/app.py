"""The FastAPI application: Kestra's REST API under ``/api/v1`` and the health endpoints.

Routes call the same services as the CLI (``Executions``, the flow repository); their
blocking work runs on the API's bounded thread pool, since the store is synchronous
SQLAlchemy (see :mod:`lanner.web.limits`).
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from lanner import version
from lanner.config.settings import BasicAuth
from lanner.web import (
    api_docs,
    errors,
    metrics,
    routes_blueprints,
    routes_cluster,
    routes_dashboards,
    routes_execution_actions,
    routes_execution_bulk,
    routes_execution_checks,
    routes_execution_files,
    routes_execution_flows,
    routes_execution_graph,
    routes_execution_reads,
    routes_executions,
    routes_flows,
    routes_flows_bulk,
    routes_flows_files,
    routes_flows_graph,
    routes_flows_validate,
    routes_health,
    routes_instance,
    routes_kv,
    routes_logs,
    routes_metrics,
    routes_namespace_files,
    routes_namespaces,
    routes_outputs,
    routes_plugins,
    routes_setup,
    routes_stats,
    routes_triggers,
    routes_triggers_bulk,
    routes_ui,
    routes_webhook,
    tenants,
)
from lanner.web.auth import BasicAuthMiddleware, FailedSignIns, RevokedSessions
from lanner.web.auth_users import UserSource
from lanner.web.context import Server
from lanner.web.limits import BodyLimitMiddleware, Limits
from lanner.web.security import SecurityMiddleware

# The routers of Kestra's tenant-scoped routes, in matching order.
TENANT_ROUTERS = (
    # /flows/search, /flows/validate, /flows/export/...: before /flows/{namespace}[/{id}]
    routes_flows_bulk.router,
    routes_flows_validate.router,
    routes_flows_files.router,
    routes_flows_graph.router,
    routes_flows.router,
    routes_flows_graph.namespaces,
    routes_webhook.router,  # /executions/webhook/...: before the /executions/{id} routes
    routes_execution_graph.router,
    routes_execution_bulk.router,  # /executions/{action}/by-ids: before /executions/{namespace}/{id}
    routes_execution_actions.router,  # /executions/{id}/{action}: before /executions/{namespace}/{id}
    routes_execution_flows.router,  # /executions/namespaces...: before GET /executions/{id}
    routes_execution_reads.router,
    routes_execution_files.router,
    routes_execution_checks.router,
    routes_executions.router,
    routes_logs.router,  # /logs/search: before /logs/{executionId}
    routes_triggers_bulk.router,  # literal paths (/set-disabled, /backfill/...) before /{namespace}/...
    routes_triggers.router,
    routes_kv.router,  # /namespaces/{namespace}/kv/...: before /namespaces/{id}
    routes_kv.every_key,
    routes_namespace_files.router,  # /namespaces/{namespace}/files...: before /namespaces/{id}
    routes_namespaces.router,
    routes_metrics.router,
    routes_stats.router,
    routes_outputs.router,
    routes_dashboards.router,  # literal paths (/validate, /charts/preview) before /dashboards/{id}
    routes_blueprints.router,  # /community/tags and /{id}/flow|graph before /community/{kind}/{id}
)


def create_app(server: Server, basic_auth: BasicAuth | None = None,
               allowed_hosts: frozenset[str] | None = None, limits: Limits | None = None) -> FastAPI:
    """The app; ``allowed_hosts``: the Host names it answers to (None: any; see :mod:`lanner.web.security`);
    ``limits``: how much it reads and answers (see :mod:`lanner.web.limits`)."""
    limits = limits or Limits()
    app = FastAPI(title="Lanner", version=version(), openapi_url="/api/v1/openapi.json", docs_url=None,
                  redoc_url=None)
    app.state.server = server
    app.state.limits = limits
    app.state.users = None  # authentication off; else where the user is found (configuration or database)
    app.state.failed_sign_ins = FailedSignIns()
    app.state.revoked_sessions = RevokedSessions(server.engine)
    app.add_middleware(tenants.TenantAliases)  # innermost: authentication sees the path as sent
    if basic_auth is not None and basic_auth.enabled:
        app.state.users = UserSource(basic_auth, server.engine)
        app.add_middleware(BasicAuthMiddleware, users=app.state.users)
    app.add_middleware(BodyLimitMiddleware, max_size=limits.max_request_size)
    app.add_middleware(SecurityMiddleware, allowed_hosts=allowed_hosts)  # outermost: before authentication
    errors.install(app)
    app.include_router(routes_health.router)
    app.include_router(routes_setup.api)
    app.include_router(routes_cluster.router)
    app.include_router(routes_instance.router)
    app.include_router(metrics.router)
    app.include_router(routes_plugins.router)  # tenant-free: before /api/v1/{tenant}/...
    for router in TENANT_ROUTERS:  # /api/v1/{tenant}/...; the 0.2x paths reach them through TenantAliases
        app.include_router(router, prefix=tenants.PREFIX, dependencies=[Depends(tenants.tenant)])
    app.include_router(routes_ui.root)
    app.include_router(routes_setup.ui)
    app.include_router(routes_ui.router)
    api_docs.install(app)  # Swagger UI from the package, not a CDN
    routes_ui.mount_static(app)
    return app
